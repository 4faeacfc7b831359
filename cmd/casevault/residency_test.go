package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/casevault/casevault/keys"
	"github.com/casevault/casevault/residency"
	"github.com/casevault/casevault/vault/fs"
)

// residencyReport builds a ca firm's residency report over real fs stores
// and signs it with the ca region's real audit key
// (keys.LoadOrCreateAuditSigners); it returns the file and the signers.
func residencyReport(t *testing.T) (string, keys.AuditSigners) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	masters := map[string]keys.MasterKey{}
	for _, region := range []string{"us", "ca"} {
		mk, err := keys.LoadOrCreateFileMasterKey(filepath.Join(dir, "keys", region+"-master.json"))
		if err != nil {
			t.Fatal(err)
		}
		masters[region] = mk
	}
	signers, err := keys.LoadOrCreateAuditSigners(ctx, masters, "us", func(name string) string {
		return filepath.Join(dir, "keys", name+"-audit-signer.json")
	})
	if err != nil {
		t.Fatal(err)
	}
	store := func(p string) *fs.Store {
		st, err := fs.New(p)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	caBlobs, usDir := filepath.Join(dir, "regions", "ca", "blobs"), filepath.Join(dir, "regions", "us")
	ca, us := store(caBlobs), store(filepath.Join(usDir, "blobs"))
	for key, st := range map[string]*fs.Store{"ten_ca1/doc_1/v1": ca, "ten_ca1/doc_2/v1": ca, "ten_us1/doc_1/v1": us} {
		if _, err := st.Put(ctx, key, strings.NewReader("ciphertext of "+key), -1); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(usDir, "casevault.db"), []byte("rows of ten_us1"), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := residency.Build(ctx, residency.Input{
		Tenant: "ten_ca1", Region: "ca",
		Stores: []residency.StoreInput{{Desc: residency.StoreDesc{Kind: residency.KindFS, Path: caBlobs}, Store: ca, Prefix: "ten_ca1/"}},
		OtherCells: []residency.CellInput{{Region: "us", Dir: usDir, Stores: []residency.StoreInput{
			{Desc: residency.StoreDesc{Kind: residency.KindFS, Path: filepath.Join(usDir, "blobs")}, Store: us}}}},
		Needles: [][]byte{[]byte("owner@ca.example")},
		Moves: []residency.Move{{From: "us", To: "ca", HandoverSeq: 12,
			Started:  residency.Time{Time: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)},
			Finished: residency.Time{Time: time.Date(2026, 3, 1, 10, 2, 0, 0, time.UTC)}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	signed, err := r.Sign(signers["ca"].Signer)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "residency-ten_ca1.note")
	if err := os.WriteFile(path, signed, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, signers
}

// TestResidencyVerify: `casevault residency verify` prints what a report
// states and exits 0 for a report signed by the region's key; 1 with the
// reason for a tampered one or one checked against another region's key;
// 2 on a usage error.
func TestResidencyVerify(t *testing.T) {
	ctx := context.Background()
	path, signers := residencyReport(t)
	caKey, usKey := signers["ca"].VerifierKey, signers["us"].VerifierKey
	signed, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tampered := write("tampered", bytes.Replace(signed, []byte(`"objects": 2`), []byte(`"objects": 3`), 1))
	i := bytes.LastIndex(signed, []byte("\n\n"))
	unsigned := write("unsigned", signed[:i+1])

	for _, tc := range []struct {
		name       string
		args       []string
		wantErr    error
		wantOut    []string
		wantStderr string
	}{
		{"OK", []string{path, "--key", caKey}, nil, []string{
			"OK: residency report of firm ten_ca1, region ca, generated ",
			"Signed by casevault-audit-ca+",
			"prefix ten_ca1/: 2 objects, ",
			"Region us: nothing of the firm in 2 files (45 bytes)",
			"and 1 object (",
			"2 byte strings looked for.",
			"Moved from us to ca: started 2026-03-01T10:00:00Z, finished 2026-03-01T10:02:00Z, handover at audit event 12.",
		}, ""},
		{"KeyFirst", []string{"--key", usKey, "--key", caKey, path}, nil, []string{"OK: "}, ""},
		{"Tampered", []string{tampered, "--key", caKey}, errReported, nil, "FAIL: the signature of key casevault-audit-ca+"},
		{"Unsigned", []string{unsigned, "--key", caKey}, errReported, nil, "FAIL: not a signed note"},
		{"OtherRegionKey", []string{path, "--key", usKey}, errReported, nil, "FAIL: not signed by any of the given keys (signed by casevault-audit-ca+"},
		{"Missing", []string{filepath.Join(t.TempDir(), "nope"), "--key", caKey}, errReported, nil, "FAIL: "},
		{"NoKey", []string{path}, errUsage, nil, "--key is required"},
		{"EmptyKey", []string{path, "--key", ""}, errUsage, nil, "--key must not be empty"},
		{"BadKey", []string{path, "--key", "casevault-audit-ca+XYZ+abc"}, errUsage, nil, "is not a note verifier key"},
		{"NoFile", []string{"--key", caKey}, errUsage, nil, "FILE is required"},
		{"TwoFiles", []string{path, path, "--key", caKey}, errUsage, nil, "one FILE only"},
		{"UnknownFlag", []string{path, "--key", caKey, "--nope"}, errUsage, nil, "flag provided but not defined: -nope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			err := run(ctx, append([]string{"residency", "verify"}, tc.args...), &out, &errb)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("run: got %v, want %v; stderr:\n%s", err, tc.wantErr, errb.String())
			}
			if got, want := exitCode(err), map[error]int{nil: 0, errReported: 1, errUsage: 2}[tc.wantErr]; err != nil && got != want {
				t.Errorf("exit code: got %d, want %d", got, want)
			}
			for _, w := range tc.wantOut {
				if !strings.Contains(out.String(), w) {
					t.Errorf("stdout: got\n%s\nwant it to hold %q", out.String(), w)
				}
			}
			if !strings.Contains(errb.String(), tc.wantStderr) {
				t.Errorf("stderr: got %q, want it to hold %q", errb.String(), tc.wantStderr)
			}
		})
	}
}

// TestCLI_ResidencyVerify runs the real binary: exit 0 and the summary on
// stdout for a good report (read from standard input too), 1 and the
// reason on stderr for a tampered one, 2 for a usage error.
func TestCLI_ResidencyVerify(t *testing.T) {
	path, signers := residencyReport(t)
	caKey := signers["ca"].VerifierKey
	signed, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tampered := filepath.Join(t.TempDir(), "tampered")
	if err := os.WriteFile(tampered, bytes.Replace(signed, []byte(`"tenant": "ten_ca1"`), []byte(`"tenant": "ten_ca2"`), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		args       []string
		stdin      []byte
		code       int
		wantStdout string
		wantStderr string
	}{
		{"OK", []string{"residency", "verify", "--key", caKey, path}, nil, 0, "OK: residency report of firm ten_ca1, region ca", ""},
		{"Stdin", []string{"residency", "verify", "--key", caKey, "-"}, signed, 0, "OK: residency report of firm ten_ca1", ""},
		{"Tampered", []string{"residency", "verify", "--key", caKey, tampered}, nil, 1, "", "FAIL: the signature of key casevault-audit-ca+"},
		{"NoKey", []string{"residency", "verify", path}, nil, 2, "", "casevault residency verify: --key is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(binary(t), tc.args...)
			cmd.Stdin = bytes.NewReader(tc.stdin)
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				code = exit.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.code {
				t.Errorf("exit code: got %d, want %d; stderr %q", code, tc.code, stderr.String())
			}
			if !strings.Contains(stdout.String(), tc.wantStdout) || !strings.Contains(stderr.String(), tc.wantStderr) {
				t.Errorf("got stdout %q and stderr %q, want %q and %q in them", stdout.String(), stderr.String(), tc.wantStdout, tc.wantStderr)
			}
		})
	}
}
