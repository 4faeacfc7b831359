package move

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/sqlite"
)

// copyMetadata copies the firm's rows into the new cell: its keysets
// rewrapped under the new region's master key, every user's email index
// recomputed under the new region's index key (the email opened with the
// firm's field key, which the move does not change), and the new indexes
// entered in the directory for the new region, so that sign-in finds the
// users there once the switch is made.
func (r *run) copyMetadata(ctx context.Context) error {
	id, from, to := r.rec.TenantID, r.rec.From, r.rec.To
	region, ks, err := r.src.TenantKeysets(ctx, id)
	if err != nil {
		return err
	}
	if region != from {
		return vault.Errorf(vault.EINTERNAL, "The firm's row in cell %s names region %s.", from, region)
	}
	next, err := r.mv.Keys.RewrapTenantKeysets(ctx, id, from, to, ks)
	if err != nil {
		return err
	}
	users, err := r.src.Users(ctx, id)
	if err != nil {
		return err
	}
	c := sqlite.TenantCopy{Region: to, Keysets: next, EmailIndexes: make(map[string][]byte, len(users))}
	for _, u := range users {
		if u.Email == "" {
			// Without the email its index in the new region cannot be
			// made, and the user could not sign in there.
			return vault.Errorf(vault.ECANNOTDECRYPT, "The email of user %s cannot be opened; repair it before moving the firm.", u.ID)
		}
		ix, err := vault.EmailIndex(ctx, r.mv.Indexer, to, u.Email)
		if err != nil {
			return err
		}
		c.EmailIndexes[u.ID] = ix
	}
	n, err := r.dst.CopyTenantFrom(ctx, r.src, id, c)
	if err != nil {
		return err
	}
	r.res.Rows = n
	return r.mv.Cells.EnterEmails(ctx, r.mv.Indexer, to, emails(users))
}

// emails returns the users' emails.
func emails(us []*vault.User) []string {
	out := make([]string, 0, len(us))
	for _, u := range us {
		if u.Email != "" {
			out = append(out, u.Email)
		}
	}
	return out
}

// cleanup removes everything of the firm from the old cell: its rows (and
// the WAL frames that held them), its audit log, its blobs, its anchored
// checkpoint and the directory's email entries of the old region that no
// user there has any more. Each part is idempotent.
func (r *run) cleanup(ctx context.Context) error {
	id, from := r.rec.TenantID, r.rec.From
	// The users are read from the new cell, which holds them from now on,
	// so a rerun after the old rows are gone finds them still.
	users, err := r.dst.Users(ctx, id)
	if err != nil {
		return err
	}
	n, err := r.src.DeleteTenantRows(ctx, id)
	if err != nil {
		return err
	}
	r.res.Deleted = n
	if err := r.mv.Audit.Drop(ctx, id, from); err != nil {
		return err
	}
	if err := deleteAll(ctx, r.from, r.prefix); err != nil {
		return err
	}
	if r.mv.DropAnchor != nil {
		if err := r.mv.DropAnchor(ctx, from, id); err != nil {
			return err
		}
	}
	return r.mv.Cells.ForgetEmails(ctx, r.mv.Indexer, from, id, emails(users))
}

// deleteAll deletes every object under prefix from store, and, for a
// store on a local directory, the directories that held them, whose names
// carry the firm's id.
func deleteAll(ctx context.Context, store vault.BlobStore, prefix string) error {
	var keys []string
	err := store.List(ctx, prefix, func(b vault.BlobInfo) error {
		keys = append(keys, b.Key)
		if len(keys) >= 1000 {
			return errBatch
		}
		return nil
	})
	for {
		if err != nil && !errors.Is(err, errBatch) {
			return err
		}
		for _, k := range keys {
			if err := store.Delete(ctx, k); err != nil {
				return err
			}
		}
		if !errors.Is(err, errBatch) {
			break
		}
		keys = keys[:0]
		err = store.List(ctx, prefix, func(b vault.BlobInfo) error {
			keys = append(keys, b.Key)
			if len(keys) >= 1000 {
				return errBatch
			}
			return nil
		})
	}
	if d, ok := store.(interface{ Dir() string }); ok {
		return removeEmptyDirs(filepath.Join(d.Dir(), filepath.FromSlash(prefix)))
	}
	return nil
}

// errBatch stops a listing once a batch of keys is read.
var errBatch = errors.New("batch full")

// removeEmptyDirs removes dir and the directories below it, all empty
// once their objects are deleted; a missing dir is not an error.
func removeEmptyDirs(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return vault.WrapError(vault.EUNAVAILABLE, err, "Cannot list the firm's directory in the old store.")
	}
	for _, e := range entries {
		if e.IsDir() {
			if err := removeEmptyDirs(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		return vault.WrapError(vault.EUNAVAILABLE, fmt.Errorf("remove %s: %w", filepath.Base(dir), err), "Cannot remove the firm's directory in the old store.")
	}
	return nil
}
