package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/casevault/casevault/audit"
	"github.com/casevault/casevault/vault"
)

// auditVerifyCommand runs `casevault audit verify --key VERIFIER_KEY FILE`
// (--key repeatable: every key given is trusted for the firm's log, as for a
// bundle spanning a rotation of the region's key):
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
//
// --max-age D (a Go duration: 2h, 90m) rejects (1) a bundle whose newest
// checkpoint timestamp, the log's own, verified with --key, is more than D
// before --at TIME (RFC 3339, default now); a timestamp more than
// audit.MaxClockSkew after TIME is rejected whenever --at or --max-age is
// given, and a bundle of format /1, which has no timestamps, fails
// --max-age. For a bundle of format /2, verify prints the export id, who
// exported it (the actor id, and the email when the bundle carries the
// event's private part) and when.
//
// Each --witness KEY (repeatable) is a witness's cosignature verifier key:
// the bundle's checkpoint must be cosigned by at least --witnesses K of them
// (default all), and every cosignature line of one of them must verify
// (docs/AUDIT-FORMAT.md §7, "Witnesses"); verify prints who cosigned when.
func auditVerifyCommand(args []string, stdout, stderr io.Writer) int {
	const name = "casevault audit verify"
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var keyList verifierKeys
	fs.Var(&keyList, "key", "the firm's verifier `key`, as published by the operator (casevault audit keys); the bundle must be signed with it; repeatable: give every key of a bundle that spans a rotation of the region's key (old and new) or a move of the firm between regions (both regions' keys), all trusted for the firm's log")
	trustBundle := fs.Bool("trust-bundle-key", false, "check the bundle against the verifier key it names itself, instead of --key: this proves it consistent, not that the firm signed it")
	atFlag := fs.String("at", "", "judge the bundle's age at `TIME` (RFC 3339, e.g. 2026-03-02T17:30:00Z; default now)")
	maxAge := fs.Duration("max-age", 0, "reject the bundle when its newest checkpoint timestamp is older than `D` at --at (e.g. 2h)")
	var kept checkpointPaths
	fs.Var(&kept, "checkpoint", "a signed checkpoint `FILE` kept earlier (the note of GET /api/v1/audit/checkpoint), or a directory of them: the bundle's log must extend each; repeatable")
	var wf witnessFlags
	wf.register(fs)
	var sf sinkFlags
	sf.add(fs)
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: casevault audit verify --key VERIFIER_KEY FILE\n"+
			"       casevault audit verify --key OLD_KEY --key NEW_KEY FILE   (a bundle spanning a key rotation)\n"+
			"       casevault audit verify --key VERIFIER_KEY --checkpoint KEPT [--checkpoint KEPT]... FILE\n"+
			"       casevault audit verify --key VERIFIER_KEY --max-age D [--at TIME] FILE\n"+
			"       casevault audit verify --key VERIFIER_KEY --witness WITNESS_KEY [--witness WITNESS_KEY]... [--witnesses K] FILE\n"+
			"       casevault audit verify --key VERIFIER_KEY --sink DIR|s3://bucket/prefix FILE\n"+
			"       casevault audit verify --trust-bundle-key FILE\n\n"+
			"Verifies an audit bundle offline (docs/AUDIT-FORMAT.md). FILE - reads standard input.\n\n")
		fs.PrintDefaults()
	}
	// Flags may come before or after FILE.
	files, err := parseWithFiles(fs, args)
	if err != nil {
		return 2
	}
	usageError := func(format string, a ...any) int {
		fmt.Fprintf(stderr, name+": "+format+"\n", a...)
		return 2
	}
	keyGiven := len(keyList) > 0
	switch {
	case keyList.empty():
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
	if msg := wf.check(); msg != "" {
		return usageError("%s", msg)
	}
	for _, k := range keyList {
		if _, err := audit.NewNoteVerifier(k); err != nil {
			return usageError("--key is not a note verifier key: %v", err)
		}
	}
	paths, err := keptFiles(kept)
	if err != nil {
		return usageError("--checkpoint: %v", err)
	}
	var opts = audit.VerifyOptions{TrustedKeys: keyList, MaxAge: *maxAge}
	if *maxAge < 0 {
		return usageError("--max-age must not be negative")
	}
	if *atFlag != "" {
		at, err := time.Parse(time.RFC3339, *atFlag)
		if err != nil {
			return usageError("--at is not an RFC 3339 time such as 2026-03-02T17:30:00Z: %v", err)
		}
		opts.At = at
	} else if *maxAge > 0 {
		opts.At = time.Now()
	}
	wf.apply(&opts)
	for _, p := range paths {
		k, err := readKept(p, keyList)
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
		l, err := sf.check(keyList...)
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
	printExport(stdout, res)
	printCosigners(stdout, res, &wf)
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

// printExport says who exported a bundle, when, and how fresh its
// timestamps are; or that a bundle of format /1 has neither.
func printExport(w io.Writer, res *audit.VerifyResult) {
	if x := res.Export; x != nil {
		who := x.ActorID
		if x.ActorEmail != "" {
			who += " <" + x.ActorEmail + ">"
		}
		fmt.Fprintf(w, "Export %s by %s at %s (event %d, which ends the bundle).\n", x.ID, who, x.Time, x.Seq)
	} else {
		fmt.Fprintf(w, "Format %s: this bundle carries no export event and no timestamps, so neither who exported it nor when is proved.\n", res.Format)
	}
	if res.Timestamps > 0 {
		fmt.Fprintf(w, "Newest checkpoint timestamp: %s (the log's own, signed with --key; %d of %d checkpoints timestamped).\n",
			res.Newest.UTC().Format(time.RFC3339), res.Timestamps, res.Checkpoints)
	}
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

// parseWithFiles parses args with fs, flags and file arguments in any
// order (`verify FILE --key K` as well as `verify --key K FILE`), and
// returns the file arguments in order.
func parseWithFiles(fs *flag.FlagSet, args []string) ([]string, error) {
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return files, nil
		}
		files = append(files, fs.Arg(0))
		args = fs.Args()[1:]
	}
}
