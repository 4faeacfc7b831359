package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/casevault/casevault/sink"
	"github.com/casevault/casevault/vault/s3"
)

// sinkFlags say where a firm's checkpoint sink is and how to read it.
type sinkFlags struct {
	spec      string // DIR or s3://bucket/prefix
	endpoint  string
	region    string
	accessKey string
	secretKey string
	tenant    string
}

// add registers the flags on fs.
func (f *sinkFlags) add(fs *flag.FlagSet) {
	fs.StringVar(&f.spec, "sink", "", "the firm's checkpoint sink: a `DIR` holding a copy of its objects, or s3://bucket/prefix")
	fs.StringVar(&f.endpoint, "sink-endpoint", "https://s3.amazonaws.com", "the S3 `URL` of an s3:// sink (http:// only to a loopback address)")
	fs.StringVar(&f.region, "sink-region", "", "the S3 `region` of an s3:// sink (default: ask the server)")
	fs.StringVar(&f.accessKey, "sink-access-key", "", "the access key `id` for an s3:// sink (default $AWS_ACCESS_KEY_ID; none: anonymous)")
	fs.StringVar(&f.secretKey, "sink-secret-key", "", "the `secret` key for an s3:// sink (default $AWS_SECRET_ACCESS_KEY)")
	fs.StringVar(&f.tenant, "tenant", "", "the firm `ID` to check, when the sink holds the logs of several")
}

// read returns the objects of the sink's collection. Errors are the
// reader's: a missing directory, a bucket that cannot be listed.
func (f *sinkFlags) read(ctx context.Context) ([]sink.Named, error) {
	if rest, ok := strings.CutPrefix(f.spec, "s3://"); ok {
		return f.readBucket(ctx, rest)
	}
	var out []sink.Named
	err := filepath.WalkDir(f.spec, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), ".") && p != f.spec {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || !strings.HasSuffix(d.Name(), ".json") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(f.spec, p)
		out = append(out, sink.Named{Name: filepath.ToSlash(rel), Data: b})
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, err
}

// readBucket lists and reads bucket/prefix.
func (f *sinkFlags) readBucket(ctx context.Context, rest string) ([]sink.Named, error) {
	bucket, prefix, _ := strings.Cut(rest, "/")
	u, err := url.Parse(f.endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("--sink-endpoint %q is not an http(s) URL", f.endpoint)
	}
	ak, sk := f.accessKey, f.secretKey
	if ak == "" {
		ak, sk = os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	}
	o, err := s3.NewObjects(s3.ObjectsConfig{Endpoint: u.Host, Secure: u.Scheme == "https", Bucket: bucket,
		Region: f.region, AccessKey: ak, SecretKey: sk})
	if err != nil {
		return nil, err
	}
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	keys, err := o.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	var out []sink.Named
	for _, k := range keys {
		if !strings.HasSuffix(k, ".json") {
			continue
		}
		b, err := o.Get(ctx, k, sink.MaxObjectSize)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		out = append(out, sink.Named{Name: "s3://" + bucket + "/" + k, Data: b})
	}
	return out, nil
}

// check reads and checks the collection, and returns the log of the firm
// asked for (or the only one).
func (f *sinkFlags) check(keys ...string) (*sink.Log, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	objs, err := f.read(ctx)
	if err != nil {
		return nil, &sinkReadError{err}
	}
	logs, err := sink.Check(objs, keys...)
	if err != nil {
		return nil, err
	}
	var found []*sink.Log
	for _, l := range logs {
		if f.tenant == "" || l.Tenant == f.tenant {
			found = append(found, l)
		}
	}
	switch {
	case len(found) == 0:
		return nil, fmt.Errorf("the sink holds no checkpoint of firm %s", f.tenant)
	case len(found) > 1:
		return nil, &sinkReadError{fmt.Errorf("the sink holds the logs of %d firms; name one with --tenant", len(found))}
	}
	return found[0], nil
}

// sinkReadError is a sink that cannot be read, a usage error.
type sinkReadError struct{ err error }

func (e *sinkReadError) Error() string { return e.err.Error() }

// describe is the line that says a collection verified.
func describe(l *sink.Log) string {
	return fmt.Sprintf("Sink: %d checkpoints of firm %s, tree sizes %d to %d, signed by the key and each consistent with the one before.",
		l.Objects, l.Tenant, l.First, l.Newest.Size)
}

// auditSinkCheckCommand runs `casevault audit sink-check --key K --sink
// DIR|s3://bucket/prefix`: it checks a firm's checkpoint sink alone
// (docs/AUDIT-FORMAT.md, "Checkpoint sinks"), printing "OK: …" and
// returning 0 when every object is signed with --key and the objects form
// one chain of consistency proofs; "FAIL: object: reason" and 1 for a
// truncation, a rewritten history, a split view or a gap; 2 for a usage
// error (no --key, no --sink, a sink that cannot be read).
func auditSinkCheckCommand(args []string, stdout, stderr io.Writer) int {
	const name = "casevault audit sink-check"
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	key := fs.String("key", "", "the firm's verifier `key`, as published by the operator (casevault audit keys)")
	var sf sinkFlags
	sf.add(fs)
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: casevault audit sink-check --key VERIFIER_KEY --sink DIR|s3://bucket/prefix [--sink-endpoint URL]\n\n"+
			"Checks a firm's checkpoint sink offline: every checkpoint signed, one chain of consistency proofs.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	usageError := func(format string, a ...any) int {
		fmt.Fprintf(stderr, name+": "+format+"\n", a...)
		return 2
	}
	switch {
	case fs.NArg() > 0:
		return usageError("unexpected argument %q", fs.Arg(0))
	case *key == "":
		return usageError("--key is required: the firm's published verifier key (casevault audit keys prints it)")
	case sf.spec == "":
		return usageError("--sink is required")
	}
	if _, err := note.NewVerifier(*key); err != nil {
		return usageError("--key is not a note verifier key: %v", err)
	}
	l, err := sf.check(*key)
	var re *sinkReadError
	switch {
	case errors.As(err, &re):
		return usageError("--sink: %v", err)
	case err != nil:
		fmt.Fprintf(stderr, "FAIL: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "OK: %s\n", describe(l))
	fmt.Fprintf(stdout, "Newest: %s (tree size %d).\n", l.Newest.Name, l.Newest.Size)
	return 0
}
