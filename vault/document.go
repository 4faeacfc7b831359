package vault

import (
	"context"
	"errors"
	"io"
	"strconv"
	"time"
)

// NewDocument is the input for a document's first upload.
type NewDocument struct {
	MatterID    string
	Name        string
	ContentType string
}

// PutDocument streams r through the firm's document key into the firm's
// region store and commits a new document with it as version 1. size is the
// plaintext length when the caller knows it (a mismatch is invalid), or -1.
// Nothing is visible until the ciphertext is stored and the metadata
// committed; on any failure the blob is deleted (or left to CleanupPending
// if even that fails). Errors: unauthorized, forbidden, invalid, not_found
// (matter), conflict (matter closed), unavailable, and the error of r.
func (s *Service) PutDocument(ctx context.Context, actor *User, nd NewDocument, r io.Reader, size int64) (*Document, error) {
	if err := checkActor(actor); err != nil {
		return nil, err
	}
	if !canUpload(actor.Role) {
		return nil, Errorf(EFORBIDDEN, "Your role cannot upload documents.")
	}
	name, err := cleanName("Document name", nd.Name, false)
	if err != nil {
		return nil, err
	}
	ctype, err := cleanContentType(nd.ContentType)
	if err != nil {
		return nil, err
	}
	if _, err := s.openMatter(ctx, actor, nd.MatterID); err != nil {
		return nil, err
	}
	now := s.now()
	d := &Document{
		ID: NewID(PrefixDocument), TenantID: actor.TenantID, MatterID: nd.MatterID, Name: name,
		ContentType: ctype, CurrentVersion: 1, CreatedBy: actor.ID, CreatedAt: now, UpdatedAt: now,
	}
	v := &Version{TenantID: d.TenantID, DocumentID: d.ID, Number: 1, ContentType: ctype, CreatedBy: actor.ID, CreatedAt: now}
	store, err := s.putBlob(ctx, v, r, size)
	if err != nil {
		return nil, err
	}
	d.Size = v.Size
	ev := event(actor, ActDocumentUpload, "document", d.ID)
	ev.Details["matter_id"], ev.Details["version"], ev.Details["size"] = d.MatterID, "1", strconv.FormatInt(v.Size, 10)
	ev.Private["content_type"] = ctype
	ev.Private["name"] = d.Name
	if err := s.act(ctx, func() error { return s.Store.CreateDocument(ctx, d, v) }, ev); err != nil {
		s.discardBlob(ctx, store, v.BlobKey)
		return nil, err
	}
	return d, nil
}

// PutVersion streams r in as the next version of a document. contentType ""
// keeps the current one. Errors: as PutDocument, plus conflict when another
// version was committed first, the document is in the trash or its matter
// is closed.
func (s *Service) PutVersion(ctx context.Context, actor *User, documentID, contentType string, r io.Reader, size int64) (*Document, error) {
	d, err := s.accessDocument(ctx, actor, documentID, PermEdit)
	if err != nil {
		return nil, err
	}
	if d.Trashed {
		return nil, Errorf(ECONFLICT, "Document is in the trash; restore it first.")
	}
	if err := s.requireOpen(ctx, d); err != nil {
		return nil, err
	}
	ctype := d.ContentType
	if contentType != "" {
		if ctype, err = cleanContentType(contentType); err != nil {
			return nil, err
		}
	}
	v := &Version{TenantID: d.TenantID, DocumentID: d.ID, Number: d.CurrentVersion + 1, ContentType: ctype, CreatedBy: actor.ID, CreatedAt: s.now()}
	store, err := s.putBlob(ctx, v, r, size)
	if err != nil {
		return nil, err
	}
	ev := event(actor, ActDocumentVersion, "document", d.ID)
	ev.Details["matter_id"], ev.Details["version"] = d.MatterID, strconv.Itoa(v.Number)
	ev.Details["size"], ev.Private["content_type"] = strconv.FormatInt(v.Size, 10), ctype
	d.nameInto(ev.Private, "name")
	if err := s.act(ctx, func() error { return s.Store.AddVersion(ctx, v) }, ev); err != nil {
		s.discardBlob(ctx, store, v.BlobKey)
		return nil, err
	}
	return s.Store.Document(ctx, d.TenantID, d.ID)
}

// errPutReturned stops the encrypter when the store gave up reading.
var errPutReturned = errors.New("vault: blob store stopped reading")

// putBlob encrypts r into a new blob in the tenant's region store and fills
// v's blob key and sealed description. It records the blob as pending first,
// so that a crash anywhere after leaves a trace the janitor cleans up.
func (s *Service) putBlob(ctx context.Context, v *Version, r io.Reader, size int64) (BlobStore, error) {
	store, err := s.regionStore(ctx, v.TenantID)
	if err != nil {
		return nil, err
	}
	region, _ := s.regionOf.Load(v.TenantID)
	v.BlobKey = v.TenantID + "/" + NewID(PrefixBlob)
	if err := s.Store.CreatePendingBlob(ctx, PendingBlob{Key: v.BlobKey, TenantID: v.TenantID, Region: region.(string), CreatedAt: s.now()}); err != nil {
		return nil, err
	}
	if s.MaxDocumentSize > 0 && size > s.MaxDocumentSize {
		s.discardPending(ctx, v.BlobKey)
		return nil, Errorf(ETOOLARGE, "Document is larger than the %d bytes allowed.", s.MaxDocumentSize)
	}
	var src io.Reader = r
	switch {
	case size >= 0:
		src = &limitReader{r: r, n: size, err: Errorf(EINVALID, "Document is longer than the %d bytes announced.", size)}
	case s.MaxDocumentSize > 0:
		src = &limitReader{r: r, n: s.MaxDocumentSize, err: Errorf(ETOOLARGE, "Document is larger than the %d bytes allowed.", s.MaxDocumentSize)}
	}

	pr, pw := io.Pipe()
	type result struct {
		sealed Sealed
		err    error
	}
	done := make(chan result, 1)
	go func() {
		sealed, err := s.Keys.EncryptDocument(ctx, DocRef{TenantID: v.TenantID, DocumentID: v.DocumentID, Version: v.Number}, src, pw)
		pw.CloseWithError(err) // nil closes with EOF
		done <- result{sealed, err}
	}()
	n, putErr := store.Put(ctx, v.BlobKey, pr, -1)
	pr.CloseWithError(errPutReturned)
	res := <-done

	err = res.err // the source's or the cipher's error explains a failed Put best
	if err == nil || (putErr != nil && errors.Is(err, errPutReturned)) {
		// ...unless the cipher stopped only because the store gave up:
		// then the store's error says why (unavailable, not internal).
		err = putErr
	}
	if err == nil && n != res.sealed.CiphertextSize {
		err = Errorf(EINTERNAL, "Stored %d ciphertext bytes, sealed %d.", n, res.sealed.CiphertextSize)
	}
	if err == nil && size >= 0 && res.sealed.Size != size {
		err = Errorf(EINVALID, "Received %d bytes but %d were announced.", res.sealed.Size, size)
	}
	if err == nil && ctx.Err() != nil {
		err = WrapError(EINVALID, ctx.Err(), "Upload cancelled.")
	}
	if err != nil {
		s.discardBlob(ctx, store, v.BlobKey)
		return nil, err
	}
	v.Sealed = res.sealed
	return store, nil
}

// limitReader fails with err, rather than truncating, once more than n bytes
// are read.
type limitReader struct {
	r   io.Reader
	n   int64
	err error
}

func (l *limitReader) Read(p []byte) (int, error) {
	if int64(len(p)) > l.n+1 {
		p = p[:l.n+1]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	if l.n < 0 {
		return 0, l.err
	}
	return n, err
}

// discardPending forgets the pending record of a blob never written.
func (s *Service) discardPending(ctx context.Context, key string) {
	if err := s.Store.DeletePendingBlob(context.WithoutCancel(ctx), key); err != nil {
		s.Log.Warn().Err(err).Str("tenant_id", blobTenant(key)).Str("blob_key", key).Msg("cannot clear pending blob record")
	}
}

// discardBlob deletes a blob that will never be committed and forgets its
// pending record. It runs even when ctx is cancelled (the client went away).
// When the delete fails, the pending record stays for CleanupPending.
func (s *Service) discardBlob(ctx context.Context, store BlobStore, key string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := store.Delete(ctx, key); err != nil {
		s.Log.Warn().Err(err).Str("tenant_id", blobTenant(key)).Str("blob_key", key).Msg("cannot delete discarded blob; left for cleanup")
		return
	}
	if err := s.Store.DeletePendingBlob(ctx, key); err != nil {
		s.Log.Warn().Err(err).Str("tenant_id", blobTenant(key)).Str("blob_key", key).Msg("cannot clear pending blob record")
	}
}

// CleanupPending deletes the blobs of uploads that never committed and are
// older than PendingGrace: what a crash or a failed delete left behind.
// It returns how many it removed.
func (s *Service) CleanupPending(ctx context.Context) (int, error) {
	pending, err := s.Store.PendingBlobs(ctx, s.now().Add(-s.PendingGrace))
	if err != nil {
		return 0, err
	}
	removed := 0
	for _, p := range pending {
		store := s.Regions[p.Region]
		if store == nil {
			continue
		}
		// Claim the record first: a commit that comes later fails instead
		// of pointing at a blob that is being deleted.
		if err := s.Store.DeletePendingBlob(ctx, p.Key); err != nil {
			return removed, err
		}
		if err := store.Delete(ctx, p.Key); err != nil {
			s.Log.Warn().Err(err).Str("tenant_id", p.TenantID).Str("blob_key", p.Key).Msg("cleanup: cannot delete blob; will retry")
			if err := s.Store.CreatePendingBlob(ctx, p); err != nil {
				s.Log.Error().Err(err).Str("tenant_id", p.TenantID).Str("blob_key", p.Key).Msg("cleanup: cannot re-record pending blob")
			}
			continue
		}
		removed++
	}
	return removed, nil
}

// accessDocument loads a document of the actor's firm and checks perm, or
// for perm "" that the actor may see it at all.
func (s *Service) accessDocument(ctx context.Context, actor *User, id string, perm Permission) (*Document, error) {
	d, _, err := s.loadAuthorized(ctx, actor, id, perm)
	return d, err
}

// loadAuthorized is accessDocument that also returns what the actor holds.
func (s *Service) loadAuthorized(ctx context.Context, actor *User, id string, perm Permission) (*Document, permSet, error) {
	if err := checkActor(actor); err != nil {
		return nil, 0, err
	}
	if !ValidID(PrefixDocument, id) {
		return nil, 0, Errorf(ENOTFOUND, "Document not found.")
	}
	d, err := s.Store.Document(ctx, actor.TenantID, id)
	if err != nil {
		return nil, 0, err
	}
	set, err := s.authorize(ctx, actor, d, perm)
	if err != nil {
		return nil, 0, err
	}
	return d, set, nil
}

// Document returns a document's metadata to a user holding any permission
// on it. Errors: not_found, forbidden, cannot_decrypt ("Document name
// cannot be decrypted.").
func (s *Service) Document(ctx context.Context, actor *User, id string) (*Document, error) {
	d, _, err := s.DocumentPermissions(ctx, actor, id)
	return d, err
}

// DocumentPermissions returns a document's metadata with the permissions
// actor holds on it now, to a user holding any, from one authorization
// check. Errors: not_found, forbidden, cannot_decrypt.
func (s *Service) DocumentPermissions(ctx context.Context, actor *User, id string) (*Document, []Permission, error) {
	d, set, err := s.loadAuthorized(ctx, actor, id, "")
	if err != nil {
		return nil, nil, err
	}
	if d.Damaged() {
		s.reportDamage(ctx, actor, "document", d.ID, d.MatterID, &d.Damage)
		return nil, nil, d.err("Document")
	}
	return d, set.list(), nil
}

// nameInto puts the document's name into an event's private part under
// key, unless the name cannot be decrypted.
func (d *Document) nameInto(private map[string]string, key string) {
	if d.Readable("name") {
		private[key] = d.Name
	}
}

// Documents lists the documents of a matter (or of the firm, for "") on
// which the actor holds any permission, without trashed ones unless
// includeTrashed. A document whose name does not open is listed with its id
// and "error":"cannot_decrypt", and reported (logged and audited) once; so
// is a listing of a matter whose own name is damaged. Errors: unauthorized,
// forbidden (walled off the matter), not_found (matter).
func (s *Service) Documents(ctx context.Context, actor *User, matterID string, includeTrashed bool) ([]*Document, error) {
	if err := checkActor(actor); err != nil {
		return nil, err
	}
	if matterID != "" {
		if _, err := s.matter(ctx, actor, matterID); err != nil {
			return nil, err
		}
	}
	vis, err := s.newVisibility(ctx, actor, s.now())
	if err != nil {
		return nil, err
	}
	all, err := s.Store.Documents(ctx, actor.TenantID, DocumentFilter{MatterID: matterID, IncludeTrashed: includeTrashed})
	if err != nil {
		return nil, err
	}
	visible := all[:0]
	for _, d := range all {
		if vis.document(d) {
			s.reportDamage(ctx, actor, "document", d.ID, d.MatterID, &d.Damage)
			visible = append(visible, d)
		}
	}
	return visible, nil
}

// Versions lists a document's versions to a user holding any permission on
// it. Errors: not_found, forbidden.
func (s *Service) Versions(ctx context.Context, actor *User, id string) ([]*Version, error) {
	d, err := s.accessDocument(ctx, actor, id, "")
	if err != nil {
		return nil, err
	}
	return s.Store.Versions(ctx, d.TenantID, d.ID)
}

// Content is an authorized, opened document version whose bytes can be read
// by range.
type Content struct {
	Document *Document
	Version  *Version

	keys  DocumentCipher
	store BlobStore
	svc   *Service
	actor *User
	perm  Permission
	guard *readGuard
}

// Range returns plaintext bytes [offset, offset+length) of the version;
// length < 0 means to the end. Only the parts the range overlaps are fetched
// and decrypted. Authorization is decided again before each part after the
// first and, once Opened, at least every RecheckInterval: when it no longer
// holds, Read fails with forbidden (or unavailable when it cannot be
// decided) and not one more byte is read out. Errors: invalid (out of
// range), unavailable, and cannot_decrypt from Read when the ciphertext
// fails authentication.
func (c *Content) Range(ctx context.Context, offset, length int64) (io.ReadCloser, error) {
	if length < 0 {
		length = c.Version.Size - offset
	}
	v := c.Version
	ref := DocRef{TenantID: v.TenantID, DocumentID: v.DocumentID, Version: v.Number}
	if alt, ok := c.store.(AlternateReader); ok {
		// A part that fails to authenticate is read again from the
		// other site than the one that served it; the damaged copy is
		// repaired from that other one.
		ctx = WithReadTrace(ctx, &ReadTrace{})
		traced := ctx
		ctx = WithAlternateFetch(ctx, AlternateFetch{
			Fetch: func(ctx context.Context, off, n int64) (io.ReadCloser, error) {
				return alt.GetAlternate(ctx, v.BlobKey, off, n)
			},
			Served: func() { alt.RepairFromAlternate(traced, v.BlobKey) },
		})
	}
	rc, err := c.keys.DecryptRange(ctx, ref, v.Sealed, offset, length, func(ctx context.Context, off, n int64) (io.ReadCloser, error) {
		return c.store.Get(ctx, v.BlobKey, off, n)
	})
	if err != nil {
		return nil, err
	}
	return c.guard.reader(rc, offset), nil
}

// OnLapse arranges for f to run, once and in its own goroutine, when
// authorization of the read lapses in flight, so that the caller can cut a
// write blocked on a slow client at once. stop cancels it.
func (c *Content) OnLapse(f func()) (stop func() bool) {
	return context.AfterFunc(c.guard.lapsed, f)
}

// OpenVersion authorizes perm (read for an inline view, download for a
// file) on version n of a document (0 for the current one) and returns it
// ready to read. Errors: not_found (also for trashed documents and unknown
// versions), forbidden, unavailable.
func (s *Service) OpenVersion(ctx context.Context, actor *User, id string, n int, perm Permission) (*Content, error) {
	d, err := s.accessDocument(ctx, actor, id, perm)
	if err != nil {
		return nil, err
	}
	if d.Trashed {
		return nil, Errorf(ENOTFOUND, "Document is in the trash.")
	}
	if n == 0 {
		n = d.CurrentVersion
	}
	if n < 0 || n > d.CurrentVersion {
		return nil, Errorf(ENOTFOUND, "Version not found.")
	}
	v, err := s.Store.Version(ctx, d.TenantID, d.ID, n)
	if err != nil {
		return nil, err
	}
	store, err := s.regionStore(ctx, d.TenantID)
	if err != nil {
		return nil, err
	}
	return &Content{Document: d, Version: v, keys: s.Keys, store: store, svc: s, actor: actor, perm: perm,
		guard: s.newReadGuard(ctx, actor, d, v, perm)}, nil
}

// Opened records, before the first byte is served, that the actor is
// reading bytes [offset, offset+length) of c (a view or a download), starts
// re-checking its authorization at least every RecheckInterval, and
// returns a finish to call when serving ends with the bytes sent and the
// error that ended it, if any. finish records the end, with the reason of
// an abort, and returns the error that ended the read as the vault sees it:
// a lapse of authorization rather than the broken write it caused.
// Errors: unavailable (the read must not start).
func (c *Content) Opened(ctx context.Context, offset, length int64) (finish func(sent int64, err error) error, err error) {
	action := ActDocumentDownload
	if c.perm == PermRead {
		action = ActDocumentView
	}
	ev := event(c.actor, action, "document", c.Document.ID)
	ev.Details["matter_id"], ev.Details["version"] = c.Document.MatterID, strconv.Itoa(c.Version.Number)
	ev.Details["offset"], ev.Details["length"] = strconv.FormatInt(offset, 10), strconv.FormatInt(length, 10)
	c.Document.nameInto(ev.Private, "name")
	seq, err := c.svc.record(ctx, ev)
	if err != nil {
		return nil, err
	}
	c.guard.watch(ctx)
	return func(sent int64, err error) error {
		c.guard.stop()
		done := event(c.actor, ActReadComplete, "document", c.Document.ID)
		done.Details["matter_id"], done.Details["opened_seq"] = c.Document.MatterID, strconv.FormatInt(seq, 10)
		done.Details["bytes_sent"] = strconv.FormatInt(sent, 10)
		if err != nil || sent != length {
			reason := AbortInterrupted
			if e := (*Error)(nil); errors.As(err, &e) {
				reason = e.Code
			}
			if lapse := c.guard.lapseReason(); lapse != "" {
				reason, err = lapse, c.guard.err()
			}
			done.Action, done.Outcome, done.Details["reason"] = ActReadAbort, OutcomeError, reason
		}
		// The read is over; a failure here can only be logged. Recorded
		// with a context of its own, since the request's may be gone.
		if _, rerr := c.svc.record(context.WithoutCancel(ctx), done); rerr != nil {
			c.svc.Log.Error().Err(rerr).Str("tenant_id", c.Document.TenantID).Str("document_id", c.Document.ID).Msg("cannot record the end of a read")
		}
		return err
	}, nil
}
