package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"golang.org/x/mod/sumdb/note"

	"github.com/casevault/casevault/audit"
	"github.com/casevault/casevault/vault"
)

// auditVerifyCommand runs `casevault audit verify --key VERIFIER_KEY FILE`:
// it checks an audit bundle offline, with no server and no database (FILE
// "-" is standard input). It prints "OK: …" and returns 0 when the bundle
// verifies; it prints "FAIL at seq N: reason" (or "FAIL: reason") to stderr
// and returns 1 when it does not or cannot be read; it returns 2 on a usage
// error, which includes a missing or empty --key: a bundle checked only
// against the verifier key it names itself is proved consistent, not signed
// by the firm, so that takes an explicit --trust-bundle-key instead.
//
// Each --checkpoint FILE (repeatable; a directory stands for the files in
// it) is a signed checkpoint an auditor kept: verify checks its signature
// with --key, then that the bundle's log extends it (docs/AUDIT-FORMAT.md
// §7, "Kept checkpoints"), printing a line for each; one not signed with
// --key, of another log, longer than the bundle's tree, of a fork, or that a
// filtered bundle cannot check, fails (1) naming it. A --checkpoint path that
// cannot be read is a usage error (2), as is --checkpoint without --key.
func auditVerifyCommand(args []string, stdout, stderr io.Writer) int {
	const name = "casevault audit verify"
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	key := fs.String("key", "", "the firm's verifier `key`, as published by the operator (casevault audit keys); the bundle must be signed with it")
	trustBundle := fs.Bool("trust-bundle-key", false, "check the bundle against the verifier key it names itself, instead of --key: this proves it consistent, not that the firm signed it")
	var kept checkpointPaths
	fs.Var(&kept, "checkpoint", "a signed checkpoint `FILE` kept earlier (the note of GET /api/v1/audit/checkpoint), or a directory of them: the bundle's log must extend each; repeatable")
	var sf sinkFlags
	sf.add(fs)
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: casevault audit verify --key VERIFIER_KEY FILE\n"+
			"       casevault audit verify --key VERIFIER_KEY --checkpoint KEPT [--checkpoint KEPT]... FILE\n"+
			"       casevault audit verify --key VERIFIER_KEY --sink DIR|s3://bucket/prefix FILE\n"+
			"       casevault audit verify --trust-bundle-key FILE\n\n"+
			"Verifies an audit bundle offline (docs/AUDIT-FORMAT.md). FILE - reads standard input.\n\n")
		fs.PrintDefaults()
	}
	// Flags may come before or after FILE.
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		args = fs.Args()[1:]
	}
	usageError := func(format string, a ...any) int {
		fmt.Fprintf(stderr, name+": "+format+"\n", a...)
		return 2
	}
	keyGiven := false
	fs.Visit(func(f *flag.Flag) { keyGiven = keyGiven || f.Name == "key" })
	switch {
	case keyGiven && *key == "":
		return usageError("--key must not be empty: give the firm's published verifier key (casevault audit keys prints it)")
	case keyGiven && *trustBundle:
		return usageError("give --key or --trust-bundle-key, not both")
	case !keyGiven && !*trustBundle:
		return usageError("--key is required: the firm's published verifier key (casevault audit keys prints it); --trust-bundle-key checks against the key the bundle names itself instead")
	case len(files) == 0:
		return usageError("FILE is required (- reads standard input)")
	case len(files) > 1:
		return usageError("one FILE only, got %d", len(files))
	case len(kept) > 0 && !keyGiven:
		return usageError("--checkpoint needs --key: a kept checkpoint is checked against the firm's published key")
	case sf.spec != "" && !keyGiven:
		return usageError("--sink needs --key: the sink's checkpoints are checked against the firm's published key")
	}
	if keyGiven {
		if _, err := note.NewVerifier(*key); err != nil {
			return usageError("--key is not a note verifier key: %v", err)
		}
	}
	paths, err := keptFiles(kept)
	if err != nil {
		return usageError("--checkpoint: %v", err)
	}
	var opts = audit.VerifyOptions{TrustedKey: *key}
	for _, p := range paths {
		k, err := readKept(p, *key)
		if os.IsNotExist(err) || os.IsPermission(err) {
			return usageError("--checkpoint: %v", err)
		}
		if err != nil {
			fmt.Fprintf(stderr, "FAIL: %v\n", err)
			return 1
		}
		opts.Kept = append(opts.Kept, k)
	}
	var sinkLine string
	if sf.spec != "" {
		// The firm's own copies: checked as one chain, then the bundle
		// must extend the newest (a bundle cut back to an earlier
		// checkpoint is shorter than it).
		l, err := sf.check(*key)
		var re *sinkReadError
		switch {
		case errors.As(err, &re):
			return usageError("--sink: %v", err)
		case err != nil:
			fmt.Fprintf(stderr, "FAIL: sink: %v\n", err)
			return 1
		}
		sinkLine = describe(l)
		newest := *l.Newest
		newest.Name = "sink " + newest.Name
		opts.Kept = append(opts.Kept, &newest)
	}

	var r io.Reader = os.Stdin
	if files[0] != "-" {
		f, err := os.Open(files[0])
		if err != nil {
			fmt.Fprintf(stderr, "FAIL: %v\n", err)
			return 1
		}
		defer f.Close()
		r = f
	}
	res, err := audit.Verify(r, opts)
	var ve *audit.VerifyError
	switch {
	case errors.As(err, &ve) && ve.Seq != 0:
		fmt.Fprintf(stderr, "FAIL at seq %d: %s\n", ve.Seq, ve.Reason)
		return 1
	case errors.As(err, &ve):
		fmt.Fprintf(stderr, "FAIL: %s\n", ve.Reason)
		return 1
	case err != nil:
		fmt.Fprintf(stderr, "FAIL: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "OK: %d events, %d checkpoints, tree size %d, root %s\n", res.Events, res.Checkpoints, res.TreeSize, res.Root)
	firm := res.Tenant
	if firm == "" {
		firm = "(service log)"
	}
	if res.Complete {
		fmt.Fprintf(stdout, "Firm %s: every event of the tree, in order.\n", firm)
	} else {
		fmt.Fprintf(stdout, "Firm %s: a filtered bundle; it proves that these events are in the tree, not that no other event matches the filter.\n", firm)
	}
	if sinkLine != "" {
		fmt.Fprintln(stdout, sinkLine)
	}
	failed := false
	for _, k := range res.Kept {
		switch {
		case k.OK:
			fmt.Fprintf(stdout, "Checkpoint %s (tree size %d): OK, the bundle's log extends it.\n", k.Name, k.Size)
		case !k.Checked:
			fmt.Fprintf(stderr, "FAIL: checkpoint %s (tree size %d) cannot be checked: %s\n", k.Name, k.Size, k.Reason)
			failed = true
		default:
			fmt.Fprintf(stderr, "FAIL: checkpoint %s (tree size %d): %s\n", k.Name, k.Size, k.Reason)
			failed = true
		}
	}
	if failed {
		return 1
	}
	if *trustBundle {
		fmt.Fprintln(stderr, "warning: --trust-bundle-key: checked with the verifier key the bundle names itself; pass the firm's published key with --key to know the firm's log signed it.")
	}
	return 0
}

// cmdAuditHash runs `casevault audit hash --email EMAIL` or `--source IP`:
// it prints the keyed hash under which the service log keeps that email
// (details email_hash) or client address (source_hash), so that an operator
// investigating sign-in attempts can find their events. The hash needs the
// service index key, so it runs where the server's keys are.
func cmdAuditHash(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := newFlagSet("audit hash", stderr)
	email := fs.String("email", "", "the `email` to hash, as a sign-in was tried with it")
	source := fs.String("source", "", "the client `address` to hash (IPv6 stands for its /64)")
	if err := parse(fs, args); err != nil {
		return err
	}
	purpose, value := vault.IndexEmail, *email
	switch {
	case *email == "" && *source == "":
		fmt.Fprintln(stderr, "audit hash: --email or --source is required")
		return errUsage
	case *email != "" && *source != "":
		fmt.Fprintln(stderr, "audit hash: give one of --email and --source, not both")
		return errUsage
	case *source != "":
		purpose, value = vault.IndexSource, *source
	}
	m, err := cf.open(ctx, stderr)
	if err != nil {
		return err
	}
	defer m.Close()
	h, err := audit.IdentityHash(ctx, m.Service.Indexer, purpose, value)
	if err != nil {
		return cliError(err)
	}
	fmt.Fprintln(stdout, h)
	return nil
}
