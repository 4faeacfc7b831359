package web_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"filippo.io/torchwood"
	"golang.org/x/mod/sumdb/note"

	"github.com/casevault/casevault/vault"
)

// The bundles of the in-browser verifier's tests: real exports of a real
// server's log, and tampered copies of them (the mutation ideas of
// audit/strict_test.go and audit/verify_test.go, on the bundle's text).

// verifyCase is one bundle the page and audit.Verify must judge alike.
type verifyCase struct {
	name      string
	b         []byte
	keys      []string // trusted keys; nil: the firm's key
	witnesses []string // --witness
	min       int      // --witnesses
	ok        bool     // it must verify (else: it must fail)
	input     bool     // the keys or options are malformed: a usage error, not a verdict
	maxAge    string   // --max-age
	at        string   // --at
}

// verifyFixture is a firm with events of several kinds, its bundles and
// its key.
type verifyFixture struct {
	e                             *env
	owner, auditor                *vault.User
	auditorEmail, auditorPassword string
	key                           string
	complete, filtered            []byte // filtered: actor_id = the lawyer
	lawyer                        *vault.User
}

// newVerifyFixture fills a firm's log: sign-ins, a matter, uploads, a
// download, a share, a denial, audit reads, with stored checkpoints in
// between; then exports a complete and a filtered bundle as the auditor.
func newVerifyFixture(t *testing.T) *verifyFixture {
	t.Helper()
	ctx := context.Background()
	e := newEnv(t)
	owner, _, _ := e.uiUser(t, "", "")
	lawyer, lawyerEmail, lawyerPassword := e.uiUser(t, owner.TenantID, vault.RoleLawyer)
	colleague, _, _ := e.uiUser(t, owner.TenantID, vault.RoleLawyer)
	auditor, auditorEmail, auditorPassword := e.uiUser(t, owner.TenantID, vault.RoleAuditor)
	if _, _, err := e.Svc.Login(ctx, lawyerEmail, lawyerPassword, "192.0.2.10"); err != nil {
		t.Fatal(err)
	}
	m, err := e.Svc.CreateMatter(ctx, lawyer, "Acme v. Widget", "Acme Corp")
	if err != nil {
		t.Fatal(err)
	}
	checkpoint := func() {
		if _, err := e.Svc.AuditCheckpoint(ctx, auditor); err != nil {
			t.Fatal(err)
		}
	}
	checkpoint()
	var docs []*vault.Document
	for _, name := range []string{"Lease.pdf", "Brief <draft> & notes.txt", "Exhibit ✓ A.png"} {
		body := "content of " + name
		d, err := e.Svc.PutDocument(ctx, lawyer, vault.NewDocument{MatterID: m.ID, Name: name, ContentType: "text/plain"}, strings.NewReader(body), int64(len(body)))
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, d)
	}
	checkpoint()
	c, err := e.Svc.OpenVersion(ctx, lawyer, docs[0].ID, 0, vault.PermDownload)
	if err != nil {
		t.Fatal(err)
	}
	finish, err := c.Opened(ctx, 0, c.Version.Size)
	if err != nil {
		t.Fatal(err)
	}
	finish(c.Version.Size, nil)
	if _, err := e.Svc.OpenVersion(ctx, colleague, docs[1].ID, 0, vault.PermRead); err == nil {
		t.Fatal("a colleague without a grant opened the document")
	}
	if _, _, err := e.Svc.CreateGrant(ctx, lawyer, vault.NewGrant{UserID: colleague.ID, DocumentID: docs[1].ID, Permissions: []vault.Permission{vault.PermRead}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Svc.RenameDocument(ctx, lawyer, docs[2].ID, "Exhibit A (final).png"); err != nil {
		t.Fatal(err)
	}
	checkpoint()
	keys, err := e.Svc.AuditKeys(ctx, auditor)
	if err != nil || len(keys) == 0 {
		t.Fatalf("AuditKeys: %v, %d keys", err, len(keys))
	}
	fx := &verifyFixture{e: e, owner: owner, auditor: auditor, auditorEmail: auditorEmail, auditorPassword: auditorPassword, lawyer: lawyer}
	for _, k := range keys {
		if k.State == vault.AuditKeyCurrent && k.Region != "service" {
			fx.key = k.VerifierKey
		}
	}
	fx.complete = fx.export(t, vault.AuditFilter{})
	fx.filtered = fx.export(t, vault.AuditFilter{ActorID: lawyer.ID})
	return fx
}

func (fx *verifyFixture) export(t *testing.T, f vault.AuditFilter) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := fx.e.Svc.ExportAudit(context.Background(), fx.auditor, vault.AuditFormatJSONL, f, &buf); err != nil {
		t.Fatalf("ExportAudit: %v", err)
	}
	return buf.Bytes()
}

// bundleLines splits a bundle into its lines, without their LF.
func bundleLines(b []byte) []string { return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") }

func joinLines(ls []string) []byte { return []byte(strings.Join(ls, "\n") + "\n") }

// lineOfSeq is the index of the event line of seq.
func lineOfSeq(t *testing.T, ls []string, seq int64) int {
	t.Helper()
	want := `"seq":` + jsonNumber(seq) + `,`
	for i, l := range ls {
		if strings.HasPrefix(l, `{"type":"event",`) && strings.Contains(l, want) {
			return i
		}
	}
	t.Fatalf("no event line of seq %d", seq)
	return 0
}

func jsonNumber(n int64) string { b, _ := json.Marshal(n); return string(b) }

// obj decodes a line; set re-encodes it.
func obj(t *testing.T, l string) map[string]any {
	t.Helper()
	var m map[string]any
	d := json.NewDecoder(strings.NewReader(l))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func enc(t *testing.T, m map[string]any) string {
	t.Helper()
	var buf bytes.Buffer
	en := json.NewEncoder(&buf)
	en.SetEscapeHTML(false)
	if err := en.Encode(m); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

// editLine returns b with line i passed through f.
func editLine(b []byte, i int, f func(string) string) []byte {
	ls := bundleLines(b)
	ls[i] = f(ls[i])
	return joinLines(ls)
}

// editLeaf returns b with the leaf of event seq edited by f (and
// re-encoded in base64).
func editLeaf(t *testing.T, b []byte, seq int64, f func(string) string) []byte {
	t.Helper()
	ls := bundleLines(b)
	i := lineOfSeq(t, ls, seq)
	m := obj(t, ls[i])
	leaf, err := base64.StdEncoding.DecodeString(m["leaf"].(string))
	if err != nil {
		t.Fatal(err)
	}
	edited := f(string(leaf))
	if edited == string(leaf) {
		t.Fatalf("edit of leaf %d changed nothing: %s", seq, leaf)
	}
	m["leaf"] = base64.StdEncoding.EncodeToString([]byte(edited))
	ls[i] = enc(t, m)
	return joinLines(ls)
}

// sub replaces the first match of expr.
func sub(expr, with string) func(string) string {
	re := regexp.MustCompile(expr)
	return func(s string) string {
		loc := re.FindStringIndex(s)
		if loc == nil {
			return s
		}
		return s[:loc[0]] + with + s[loc[1]:]
	}
}

// flipPad sets a padding bit of the base64 value after key on a line: it
// decodes to the same bytes with a lenient decoder.
func flipPad(key string) func(string) string {
	re := regexp.MustCompile(`"` + key + `":"([A-Za-z0-9+/]*)([A-Za-z0-9+/])(=+)"`)
	return func(l string) string {
		m := re.FindStringSubmatchIndex(l)
		if m == nil {
			return l
		}
		const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
		c := strings.IndexByte(alphabet, l[m[4]])
		return l[:m[4]] + string(alphabet[c|1]) + l[m[5]:]
	}
}

// witness is a witness's cosigning key.
type witness struct {
	signer *torchwood.CosignatureSigner
	vkey   string
}

func newWitness(t *testing.T, name string) *witness {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := torchwood.NewCosignatureSigner(name, priv)
	if err != nil {
		t.Fatal(err)
	}
	return &witness{signer: s, vkey: s.Verifier().String()}
}

// cosign returns b with every checkpoint note cosigned by w.
func (w *witness) cosign(t *testing.T, b []byte) []byte {
	t.Helper()
	ls := bundleLines(b)
	for i, l := range ls {
		if !strings.HasPrefix(l, `{"type":"checkpoint"`) {
			continue
		}
		m := obj(t, l)
		n := m["note"].(string)
		text := n[:strings.LastIndex(n, "\n\n")+1]
		signed, err := note.Sign(&note.Note{Text: text}, w.signer)
		if err != nil {
			t.Fatal(err)
		}
		m["note"] = n + string(signed[len(text)+1:])
		ls[i] = enc(t, m)
	}
	return joinLines(ls)
}

// otherKey is a verifier key of another signer.
func otherKey(t *testing.T, name string) string {
	t.Helper()
	_, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		t.Fatal(err)
	}
	return vkey
}
