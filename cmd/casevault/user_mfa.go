package main

import (
	"context"
	"fmt"
	"io"
)

// cmdUserResetMFA removes a user's second factors (authenticator app and
// recovery codes) and ends their sessions and API tokens, for a user locked
// out of their second factor when no owner or admin of the firm can sign in
// to do it (POST /api/v1/users/{id}/mfa-reset). It is recorded in the
// firm's audit log as the operator's mfa.reset.
func cmdUserResetMFA(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := newFlagSet("user reset-mfa", stderr)
	who := addUserFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := who.check(fs); err != nil {
		return err
	}
	m, err := cf.open(ctx, stderr)
	if err != nil {
		return err
	}
	defer m.Close()
	u, err := m.Service.OperatorResetMFA(ctx, *who.tenant, *who.userID, *who.email)
	if err != nil {
		return cliError(err)
	}
	fmt.Fprintf(stdout, "Reset the second factors of %s: their sessions and API tokens are ended; they sign in with their password and enrol again.\n", u.ID)
	return nil
}
