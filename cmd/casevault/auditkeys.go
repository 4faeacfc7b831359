package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"time"

	"github.com/rs/zerolog"

	"github.com/casevault/casevault/audit"
	"github.com/casevault/casevault/keys"
	"github.com/casevault/casevault/vault"
)

// cmdAuditKeys prints every note verifier key of the audit checkpoints,
// current and retired, of each region (or of --region) and of the service
// log: what the operator publishes so that auditors can pin them
// (casevault audit verify --key, once per key of a bundle spanning a
// rotation). One line per key, tab-separated: region, verifier key, state,
// valid from, valid until ("-" while current).
func cmdAuditKeys(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := newFlagSet("audit keys", stderr)
	region := fs.String("region", "", "only this `region`'s keys (service: the service-wide log's)")
	asJSON := fs.Bool("json", false, "print a JSON array of keys")
	if err := parse(fs, args); err != nil {
		return err
	}
	m, err := cf.open(ctx, stderr)
	if err != nil {
		return err
	}
	defer m.Close()
	names := append(m.Config.RegionNames(), keys.ServiceSigner)
	if *region != "" {
		if !slices.Contains(names, *region) {
			return fmt.Errorf("no region %q (regions: %s)", *region, joinAnd(names))
		}
		names = []string{*region}
	}
	list := []vault.AuditKey{}
	for _, name := range names {
		list = append(list, m.AuditKeyHistory[name]...)
	}
	if *asJSON {
		return writeJSON(stdout, list)
	}
	for _, k := range list {
		until := "-"
		if k.ValidUntil != nil {
			until = k.ValidUntil.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(stdout, "%s\t%s\t%s\t%s\t%s\n", k.Region, k.VerifierKey, k.State, k.ValidFrom.UTC().Format(time.RFC3339), until)
	}
	return nil
}

// cmdAuditRotateKey runs `casevault audit rotate-key --region R` (or
// service): it replaces the region's audit signing key with a new one of
// the same name, keeps the old one's verifier key as retired (valid until
// now) with a rotation statement signed by both, and destroys the old
// private half. Then it opens the audit log as a start does, which records
// an audit.key_rotated event in every log of the region whose last
// checkpoint the old key signed and signs it with the new key. Run it with
// the server stopped, as accept-rollback: a running server keeps the key
// it loaded, and would sign after the rotation with the old one.
func cmdAuditRotateKey(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags, cf := newFlagSet("audit rotate-key", stderr)
	region := flags.String("region", "", "the `region` whose audit key to rotate (service: the service-wide log's)")
	if err := parse(flags, args); err != nil {
		return err
	}
	if err := require(flags, "region"); err != nil {
		return err
	}
	m, err := cf.load(stderr)
	if err != nil {
		return err
	}
	m.Log = m.Log.Level(zerolog.WarnLevel)
	if err := m.Config.Validate(); err != nil {
		return err
	}
	if err := checkLegacyKeys(&m.Config); err != nil {
		return err
	}
	names := m.Config.RegionNames()
	wrapper := *region
	switch {
	case *region == keys.ServiceSigner:
		wrapper = names[0]
	case !slices.Contains(names, *region):
		return fmt.Errorf("no region %q (regions: %s, and %s)", *region, joinAnd(names), keys.ServiceSigner)
	}
	path := m.Config.AuditSignerPath(*region)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("region %s has no audit key yet (%s): there is nothing to rotate", *region, path)
	}
	mk, err := keys.LoadOrCreateFileMasterKey(m.Config.MasterKeyPath(wrapper))
	if err != nil {
		return fmt.Errorf("region %s: master key: %w", wrapper, err)
	}
	s, statement, err := keys.RotateAuditSigner(ctx, path, *region, mk, time.Now())
	if err != nil {
		return cliError(err)
	}
	old := s.Retired[len(s.Retired)-1]
	fmt.Fprintf(stdout, "Rotated the audit key of region %s.\nRetired: %s (valid %s to %s; its private half is destroyed)\nCurrent: %s (valid from %s)\n",
		*region, old.VerifierKey, old.ValidFrom.Format(time.RFC3339), old.ValidUntil.Format(time.RFC3339), s.VerifierKey, s.ValidFrom.Format(time.RFC3339))
	fmt.Fprintf(stdout, "Rotation statement, signed by both keys (sha256 %s):\n%s", audit.StatementHash(statement), statement)
	// Open as a start does: the rotation goes into every log of the region.
	if err := m.Open(ctx); err != nil {
		m.Close()
		return fmt.Errorf("the key is rotated, but recording it in the audit logs failed (the next start records it): %w", err)
	}
	defer m.Close()
	fmt.Fprintf(stdout, "Recorded as audit.key_rotated in each log of region %s that the old key signed. Publish the new key beside the old one: bundles spanning the rotation verify with both (--key OLD --key NEW).\n", *region)
	return nil
}
