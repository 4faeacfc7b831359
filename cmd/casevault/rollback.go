package main

import (
	"context"
	"fmt"
	"io"
)

// cmdAuditAcceptRollback runs `casevault audit accept-rollback --tenant ID`
// (or --service): the operator's explicit step after putting back an older
// audit.db, whose logs no longer extend the checkpoints the server signed
// last. It records the gap in the log as an audit.rollback_accepted event
// and makes the log as it is now the one the server extends. Run it with
// the server stopped.
func cmdAuditAcceptRollback(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := newFlagSet("audit accept-rollback", stderr)
	tenant := fs.String("tenant", "", "firm `id` whose log was rolled back")
	service := fs.Bool("service", false, "the service-wide log instead of a firm's")
	if err := parse(fs, args); err != nil {
		return err
	}
	switch {
	case *service && *tenant != "":
		return usageError(fs, "give one of --tenant and --service, not both")
	case !*service:
		if err := require(fs, "tenant"); err != nil {
			return err
		}
	}
	m, err := cf.open(ctx, stderr)
	if err != nil {
		return err
	}
	defer m.Close()
	c, err := m.Audit.AcceptRollback(ctx, *tenant)
	if err != nil {
		return cliError(err)
	}
	name := *tenant
	if *service {
		name = "the service log"
	}
	fmt.Fprintf(stdout, "Recorded the rollback of %s (audit.rollback_accepted, then audit.key_rotated for any rotation of the region's key since); new checkpoint of size %d signed.\n", name, c.Size)
	return nil
}
