package main

import (
	"context"
	"errors"
	"io"
)

// cmdResidencyVerify runs `casevault residency verify FILE --key VKEY…`.
func cmdResidencyVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("residency verify: not built yet")
}

// cmdTenantResidency runs `casevault tenant residency --tenant ID`.
func cmdTenantResidency(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("tenant residency: not built yet")
}
