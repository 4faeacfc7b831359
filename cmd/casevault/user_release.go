package main

import (
	"context"
	"fmt"
	"io"
)

// cmdUserRelease ends a user's containment by breach detection, for a
// firm whose every owner and admin is contained (nobody in it can release
// anyone then). It is recorded in the firm's audit log as the operator's
// user.release.
func cmdUserRelease(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := newFlagSet("user release", stderr)
	tenant := fs.String("tenant", "", "firm `id`")
	userID := fs.String("user", "", "the contained user's `id`")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := require(fs, "tenant", "user"); err != nil {
		return err
	}
	m, err := cf.open(ctx, stderr)
	if err != nil {
		return err
	}
	defer m.Close()
	if err := m.Service.ReleaseUserAsOperator(ctx, *tenant, *userID); err != nil {
		return cliError(err)
	}
	fmt.Fprintf(stdout, "Released %s: their sessions and API tokens work again.\n", *userID)
	return nil
}
