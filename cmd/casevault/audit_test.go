package main

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

// exampleBundle returns the worked example of docs/AUDIT-FORMAT.md (which
// the audit package's tests keep in step with the code) and its key.
func exampleBundle(t *testing.T) (bundle, key string) {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "AUDIT-FORMAT.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "bundle (ten_example.jsonl):\n\n```\n")
	bundle, _, ok2 := strings.Cut(rest, "```\n")
	_, rest, ok3 := strings.Cut(rest, "verifier key: `")
	key, _, ok4 := strings.Cut(rest, "`")
	if !ok || !ok2 || !ok3 || !ok4 {
		t.Fatal("docs/AUDIT-FORMAT.md has no worked example bundle")
	}
	return bundle, key
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bundle.jsonl")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func auditVerify(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = auditVerifyCommand(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestCLI_AuditVerify(t *testing.T) {
	bundle, key := exampleBundle(t)
	path := writeFile(t, bundle)
	const ok = "OK: 4 events, 3 checkpoints, tree size 4, root kFR36HzL4TYVo5MUZa5YSM4BfR9DGnvpaEUMtdVGeCg=\n"

	t.Run("OK", func(t *testing.T) {
		for _, args := range [][]string{{"--key", key, path}, {path, "--key", key}, {"-key=" + key, path}} {
			code, out, errOut := auditVerify(args...)
			if code != 0 || !strings.HasPrefix(out, ok) || errOut != "" {
				t.Errorf("%q: exit %d\nstdout %q\nstderr %q", args, code, out, errOut)
			}
			if !strings.Contains(out, "Firm ten_example: every event") {
				t.Errorf("stdout %q does not name the firm", out)
			}
		}
	})

	t.Run("TrustBundleKeyWarns", func(t *testing.T) {
		code, out, errOut := auditVerify("--trust-bundle-key", path)
		if code != 0 || !strings.HasPrefix(out, ok) || !strings.Contains(errOut, "warning: --trust-bundle-key") {
			t.Errorf("exit %d\nstdout %q\nstderr %q", code, out, errOut)
		}
	})

	t.Run("Stdin", func(t *testing.T) {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		old := os.Stdin
		os.Stdin = f
		defer func() { os.Stdin = old }()
		if code, out, errOut := auditVerify("--key", key, "-"); code != 0 || !strings.HasPrefix(out, ok) {
			t.Errorf("exit %d\nstdout %q\nstderr %q", code, out, errOut)
		}
	})

	t.Run("FailAtSeq", func(t *testing.T) {
		lines := strings.SplitAfter(bundle, "\n")
		// Drop event 2 (line 4).
		if !strings.HasPrefix(lines[3], `{"type":"event","seq":2,`) {
			t.Fatalf("line 4 is %q", lines[3])
		}
		tampered := writeFile(t, strings.Join(append(lines[:3:3], lines[4:]...), ""))
		code, out, errOut := auditVerify("--key", key, tampered)
		if code != 1 || out != "" || !strings.HasPrefix(errOut, "FAIL at seq 2: event 2 is missing") {
			t.Errorf("exit %d\nstdout %q\nstderr %q", code, out, errOut)
		}
	})

	t.Run("FailOtherKey", func(t *testing.T) {
		_, other, err := note.GenerateKey(rand.Reader, "casevault-audit-elsewhere")
		if err != nil {
			t.Fatal(err)
		}
		code, out, errOut := auditVerify("--key", other, path)
		if code != 1 || out != "" || !strings.HasPrefix(errOut, "FAIL: the bundle's verifier key") {
			t.Errorf("exit %d\nstdout %q\nstderr %q", code, out, errOut)
		}
	})

	t.Run("FailCutShort", func(t *testing.T) {
		code, _, errOut := auditVerify("--key", key, writeFile(t, bundle[:len(bundle)-len(`{"type":"end","events":4}`+"\n")]))
		if code != 1 || errOut != "FAIL: the bundle has no end line: it is cut short\n" {
			t.Errorf("exit %d, stderr %q", code, errOut)
		}
	})

	t.Run("FailMissingFile", func(t *testing.T) {
		code, _, errOut := auditVerify("--key", key, filepath.Join(t.TempDir(), "none.jsonl"))
		if code != 1 || !strings.HasPrefix(errOut, "FAIL: open ") {
			t.Errorf("exit %d, stderr %q", code, errOut)
		}
	})

	t.Run("Usage", func(t *testing.T) {
		for _, tt := range []struct {
			args []string
			want string // in stderr
		}{
			{[]string{}, "--key is required"},
			{[]string{"--key", key}, "FILE is required"},
			{[]string{"--key", key, path, path}, "one FILE only"},
			{[]string{"--key"}, "flag needs an argument: -key"},
			{[]string{"--key", "not-a-key", path}, "--key is not a note verifier key"},
			{[]string{"--unknown", path}, "flag provided but not defined: -unknown"},
			{[]string{"-h"}, "Usage: casevault audit verify --key VERIFIER_KEY FILE"},
			// No key at all is not a silent fall-back to the bundle's own.
			{[]string{path}, "casevault audit verify: --key is required"},
			{[]string{"--key", "", path}, "casevault audit verify: --key must not be empty"},
			{[]string{path, "--key="}, "casevault audit verify: --key must not be empty"},
			{[]string{"--key", "", "--trust-bundle-key", path}, "--key must not be empty"},
			{[]string{"--key", key, "--trust-bundle-key", path}, "give --key or --trust-bundle-key, not both"},
		} {
			code, out, errOut := auditVerify(tt.args...)
			if code != 2 || out != "" || !strings.Contains(errOut, tt.want) {
				t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2 and %q", tt.args, code, out, errOut, tt.want)
			}
		}
	})
}
