package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/casevault/casevault/residency"
)

// cmdResidencyVerify runs `casevault residency verify FILE --key VKEY…`: it
// checks a signed residency report offline, with no server (FILE "-" is
// standard input), against the region's published audit verifier keys
// (--key, repeatable: current and retired keys of the region alike; one of
// them must have signed the report). It prints "OK: …" and a summary of
// what the report states and returns nil (exit 0) when the report
// verifies; it prints "FAIL: reason" to stderr and returns errReported
// (exit 1) when it does not or cannot be read; it returns errUsage (exit 2)
// on a usage error: no --key or an empty or malformed one, no FILE or more
// than one. docs/RESIDENCY.md says what is checked.
func cmdResidencyVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	keyList, b, err := verifyArgs("casevault residency verify",
		"Verifies a firm's signed residency report offline (docs/RESIDENCY.md).", args, stderr)
	if err != nil {
		return err
	}
	r, err := residency.Verify(b, keyList)
	var ve *residency.VerifyError
	switch {
	case errors.As(err, &ve):
		fmt.Fprintf(stderr, "FAIL: %s\n", ve.Reason)
		return errReported
	case err != nil:
		fmt.Fprintf(stderr, "FAIL: %v\n", err)
		return errReported
	}
	if err := r.WriteSummary(stdout); err != nil {
		return err
	}
	return nil
}

// verifyArgs parses the arguments of an offline verify command (residency
// verify, drill verify) — --key, repeatable, the region's published audit
// verifier keys, and one FILE, flags before or after it — and reads FILE.
// Errors: errUsage (no --key, an empty or malformed one, no FILE or more
// than one), errReported (FILE cannot be read; "FAIL: …" printed).
func verifyArgs(name, doc string, args []string, stderr io.Writer) ([]string, []byte, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var keyList verifierKeys
	fs.Var(&keyList, "key", "the region's audit verifier `key`, as published by the operator (casevault audit keys); repeatable")
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: "+name+" --key VERIFIER_KEY [--key VERIFIER_KEY]... FILE\n\n"+
			doc+" FILE - reads standard input.\n\n")
		fs.PrintDefaults()
	}
	files, err := parseWithFiles(fs, args)
	if err != nil {
		return nil, nil, errUsage
	}
	usageError := func(format string, a ...any) error {
		fmt.Fprintf(stderr, name+": "+format+"\n", a...)
		return errUsage
	}
	switch {
	case keyList.empty():
		return nil, nil, usageError("--key must not be empty: give the region's published verifier key (casevault audit keys prints it)")
	case len(keyList) == 0:
		return nil, nil, usageError("--key is required: the region's published audit verifier key (casevault audit keys prints it)")
	case len(files) == 0:
		return nil, nil, usageError("FILE is required (- reads standard input)")
	case len(files) > 1:
		return nil, nil, usageError("one FILE only, got %d", len(files))
	}
	for _, k := range keyList {
		if _, err := residency.ParseVerifierKey(k); err != nil {
			return nil, nil, usageError("--key %q is not a note verifier key: %v", k, err)
		}
	}
	b, err := readReport(files[0])
	if err != nil {
		fmt.Fprintf(stderr, "FAIL: %v\n", err)
		return nil, nil, errReported
	}
	return keyList, b, nil
}

// readReport reads a report file (standard input for "-"), at most one
// byte more than residency.MaxReport, which Verify then refuses.
func readReport(path string) ([]byte, error) {
	r := io.Reader(os.Stdin)
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	return io.ReadAll(io.LimitReader(r, residency.MaxReport+1))
}

// cmdTenantResidency runs `casevault tenant residency --tenant ID [--out
// FILE]`: the firm's residency report, signed by its region's audit key
// (docs/RESIDENCY.md), on stdout or in FILE.
func cmdTenantResidency(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := newFlagSet("tenant residency", stderr)
	tenant := fs.String("tenant", "", "firm `id`")
	out := fs.String("out", "", "write the report to `file` instead of stdout")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := require(fs, "tenant"); err != nil {
		return err
	}
	m, err := cf.open(ctx, stderr)
	if err != nil {
		return err
	}
	defer m.Close()
	report, err := m.ResidencyReport(ctx, *tenant)
	if err != nil {
		return cliError(err)
	}
	if *out == "" {
		_, err = stdout.Write(report)
		return err
	}
	return os.WriteFile(*out, report, 0o600)
}
