package web_test

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"testing"

	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/web"
)

// refusedRunes are the characters every name refuses, one of each class:
// bidirectional embeddings, overrides, isolates and marks; other format
// characters (category Cf); other default-ignorable fillers; and controls.
var refusedRunes = []struct {
	class string
	r     rune
	// message is what the error message must contain.
	message string
}{
	{"LeftToRightEmbedding", '\u202A', "U+202A"},
	{"RightToLeftEmbedding", '\u202B', "U+202B"},
	{"PopDirectionalFormatting", '\u202C', "U+202C"},
	{"LeftToRightOverride", '\u202D', "U+202D"},
	{"RightToLeftOverride", '\u202E', "U+202E"},
	{"LeftToRightIsolate", '\u2066', "U+2066"},
	{"RightToLeftIsolate", '\u2067', "U+2067"},
	{"FirstStrongIsolate", '\u2068', "U+2068"},
	{"PopDirectionalIsolate", '\u2069', "U+2069"},
	{"LeftToRightMark", '\u200E', "U+200E"},
	{"RightToLeftMark", '\u200F', "U+200F"},
	{"ArabicLetterMark", '\u061C', "U+061C"},
	{"ZeroWidthSpace", '\u200B', "U+200B"},
	{"ZeroWidthNonJoiner", '\u200C', "U+200C"},
	{"ZeroWidthJoiner", '\u200D', "U+200D"},
	{"WordJoiner", '\u2060', "U+2060"},
	{"ByteOrderMark", '\uFEFF', "U+FEFF"},
	{"SoftHyphen", '\u00AD', "U+00AD"},
	{"MongolianVowelSeparator", '\u180E', "U+180E"},
	{"InterlinearAnnotation", '\uFFF9', "U+FFF9"},
	{"TagCharacter", '\U000E0041', "U+E0041"},
	{"HangulFiller", '\u3164', "U+3164"},
	{"CombiningGraphemeJoiner", '\u034F', "U+034F"},
	{"Bell", '\a', "control characters"},
	{"Delete", '\u007F', "control characters"},
	{"NextLine", '\u0085', "control characters"},
	{"LineSeparator", '\u2028', "control characters"},
}

// acceptedNames are names with characters that look unusual but are fine:
// they must keep working.
var acceptedNames = []string{
	"Mémoire – 2026 ✓.pdf",
	"عقد الإيجار.pdf", // right-to-left letters are text, not controls
	"契約書 (final).pdf",
	"❤️ notes.txt", // an emoji with its variation selector
	"O'Brien & Co #2 [draft] 100%.pdf",
}

// nameSurface is one place a name enters over HTTP: send submits name
// there and returns the answer.
type nameSurface struct {
	name string
	send func(t *testing.T, name string) (*http.Response, []byte)
}

// TestNames_Refused sends a name with each refused character to every
// route that takes a name, over HTTP: each answers 400 invalid naming the
// character, and nothing is created or changed.
func TestNames_Refused(t *testing.T) {
	e := newEnv(t)
	owner, o := e.firm(t, "us")
	_, lawyerU := e.user(t, o.TenantID, vault.RoleLawyer)
	// Hundreds of requests: a server without the per-user rate limit.
	owner.base = e.server(t, func(s *web.Server) { s.UserRate, s.UserBurst = 1e6, 1e6 }).URL()
	mid := owner.matter(t, "Names")
	doc := owner.upload(t, mid, "original.pdf", "application/pdf", []byte("x"))
	surfaces := nameSurfaces(owner, mid, doc.ID, lawyerU.ID)

	before := nameState(t, e, owner, mid, doc.ID, lawyerU.ID)
	for _, s := range surfaces {
		t.Run(s.name, func(t *testing.T) {
			for _, rc := range refusedRunes {
				control := rc.message == "control characters"
				if control && s.name == "UploadMultipartRaw" {
					continue // raw control bytes are not what a client sends in a part header
				}
				name := "invoice" + string(rc.r) + "fdp.exe"
				resp, b := s.send(t, name)
				got := wantError(t, resp, b, http.StatusBadRequest, "invalid")
				if !strings.Contains(got.Error.Message, rc.message) {
					t.Errorf("%s: message %q does not say %q", rc.class, got.Error.Message, rc.message)
				}
				// Invisible characters first or last are refused too:
				// trimming white space does not remove them. (Controls
				// that are white space, like U+0085, are trimmed.)
				if control {
					continue
				}
				for _, edge := range []string{string(rc.r) + "x.pdf", "x.pdf" + string(rc.r)} {
					if resp, b := s.send(t, edge); resp.StatusCode != http.StatusBadRequest {
						t.Errorf("%s at the edge: %d %s", rc.class, resp.StatusCode, b)
					}
				}
			}
		})
	}
	if after := nameState(t, e, owner, mid, doc.ID, lawyerU.ID); after != before {
		t.Errorf("refused names changed the vault:\nbefore %s\nafter  %s", before, after)
	}

	t.Run("MultipartLikeQuery", func(t *testing.T) {
		// A multipart filename is refused with the very answer ?name= gets.
		for _, rc := range refusedRunes {
			name := "invoice" + string(rc.r) + "fdp.exe"
			_, q := surfaces[0].send(t, name)
			_, m := surfaces[1].send(t, name)
			if !bytes.Equal(q, m) {
				t.Errorf("%s: ?name= answers %s, multipart %s", rc.class, q, m)
			}
		}
	})

	t.Run("Accepted", func(t *testing.T) {
		for _, s := range surfaces {
			for _, name := range acceptedNames {
				if resp, b := s.send(t, name); resp.StatusCode/100 != 2 {
					t.Errorf("%s %q = %d %s, want success", s.name, name, resp.StatusCode, b)
				}
			}
		}
	})
}

// nameSurfaces are the routes that take a name, for owner of a firm with
// matter mid, document docID and user userID.
func nameSurfaces(owner *client, mid, docID, userID string) []nameSurface {
	post := func(method, path string, body func(name string) any) func(t *testing.T, name string) (*http.Response, []byte) {
		return func(t *testing.T, name string) (*http.Response, []byte) {
			return owner.read(t, method, path, jsonReader(t, body(name)), http.Header{"Content-Type": {"application/json"}})
		}
	}
	n := 0
	return []nameSurface{
		{"UploadQuery", func(t *testing.T, name string) (*http.Response, []byte) {
			return owner.read(t, "POST", "/api/v1/matters/"+mid+"/documents?name="+url.QueryEscape(name),
				strings.NewReader("bytes"), http.Header{"Content-Type": {"application/pdf"}})
		}},
		{"UploadMultipart", func(t *testing.T, name string) (*http.Response, []byte) {
			// RFC 2231 filename*, so any character can be carried.
			body, ctype := multipartFile(t, `filename*=UTF-8''`+extValue(name), []byte("bytes"))
			return owner.read(t, "POST", "/api/v1/matters/"+mid+"/documents", body, http.Header{"Content-Type": {ctype}})
		}},
		{"UploadMultipartRaw", func(t *testing.T, name string) (*http.Response, []byte) {
			// What a browser sends: the filename's UTF-8 as it is.
			body, ctype := multipartFile(t, `filename="`+name+`"`, []byte("bytes"))
			return owner.read(t, "POST", "/api/v1/matters/"+mid+"/documents", body, http.Header{"Content-Type": {ctype}})
		}},
		{"DocumentRename", post("PATCH", "/api/v1/documents/"+docID, func(name string) any { return map[string]string{"name": name} })},
		{"MatterName", post("POST", "/api/v1/matters", func(name string) any { return map[string]string{"name": name, "client": "C"} })},
		{"MatterClient", post("POST", "/api/v1/matters", func(name string) any { return map[string]string{"name": "M", "client": name} })},
		{"MatterRename", post("PATCH", "/api/v1/matters/"+mid, func(name string) any { return map[string]string{"name": name} })},
		{"MatterRenameClient", post("PATCH", "/api/v1/matters/"+mid, func(name string) any { return map[string]string{"client": name} })},
		{"UserName", post("POST", "/api/v1/users", func(name string) any {
			n++
			return map[string]string{"email": fmt.Sprintf("named%d@example.com", n), "name": name, "role": "lawyer"}
		})},
		{"UserRename", post("PATCH", "/api/v1/users/"+userID, func(name string) any { return map[string]string{"name": name} })},
		{"TokenName", post("POST", "/api/v1/tokens", func(name string) any { return map[string]string{"name": name} })},
	}
}

// nameState summarizes what the refused requests must not change.
func nameState(t *testing.T, e *env, owner *client, mid, docID, userID string) string {
	t.Helper()
	var m vault.Matter
	owner.json(t, "GET", "/api/v1/matters/"+mid, nil, http.StatusOK, &m)
	var d docJSON
	owner.json(t, "GET", "/api/v1/documents/"+docID, nil, http.StatusOK, &d)
	var u vault.User
	owner.json(t, "GET", "/api/v1/users/"+userID, nil, http.StatusOK, &u)
	var ms, docs, users, toks []any
	owner.json(t, "GET", "/api/v1/matters", nil, http.StatusOK, &ms)
	owner.json(t, "GET", "/api/v1/matters/"+mid+"/documents?trashed=true", nil, http.StatusOK, &docs)
	owner.json(t, "GET", "/api/v1/users", nil, http.StatusOK, &users)
	owner.json(t, "GET", "/api/v1/tokens", nil, http.StatusOK, &toks)
	return fmt.Sprintf("matter %q/%q, document %q, user %q, %d matters, %d documents, %d users, %d tokens, %d blobs",
		m.Name, m.Client, d.Name, u.Name, len(ms), len(docs), len(users), len(toks), e.blobCount(t))
}

// multipartFile builds a multipart/form-data body whose "file" part has
// the Content-Disposition parameters disposition.
func multipartFile(t testing.TB, disposition string, content []byte) (*bytes.Buffer, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="file"; `+disposition)
	h.Set("Content-Type", "application/pdf")
	part, err := mw.CreatePart(h)
	if err != nil {
		t.Fatal(err)
	}
	part.Write(content)
	mw.Close()
	return &buf, mw.FormDataContentType()
}

// extValue percent-encodes s as the value part of an RFC 8187 ext-value.
func extValue(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if c < 0x80 && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0) {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// TestUpload_MultipartFilenamePath checks that a multipart filename with
// path parts is refused with the answer the same ?name= gets, and is never
// cut down to its last part.
func TestUpload_MultipartFilenamePath(t *testing.T) {
	e := newEnv(t)
	owner, _ := e.firm(t, "us")
	mid := owner.matter(t, "Paths")
	blobs := e.blobCount(t)
	for _, name := range []string{"../../etc/passwd", "a/b.pdf", `C:\x\y.pdf`, `..\..\boot.ini`, "/etc/passwd", "..", ".", "dir/"} {
		_, want := owner.read(t, "POST", "/api/v1/matters/"+mid+"/documents?name="+url.QueryEscape(name),
			strings.NewReader("bytes"), http.Header{"Content-Type": {"application/pdf"}})
		forms := map[string]string{
			// As browsers send it (backslashes unescaped, as old IE did).
			"Raw": `filename="` + name + `"`,
			// As Go's multipart writer and curl escape it.
			"Escaped": `filename="` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(name) + `"`,
			"RFC2231": `filename*=UTF-8''` + extValue(name),
		}
		for form, disp := range forms {
			body, ctype := multipartFile(t, disp, []byte("bytes"))
			resp, b := owner.read(t, "POST", "/api/v1/matters/"+mid+"/documents", body, http.Header{"Content-Type": {ctype}})
			wantError(t, resp, b, http.StatusBadRequest, "invalid")
			if !bytes.Equal(b, want) {
				t.Errorf("%s %q: multipart answers %s, ?name= %s", form, name, b, want)
			}
		}
	}
	if docs := owner.rows(t, "/api/v1/matters/"+mid+"/documents"); len(docs) != 0 {
		t.Errorf("documents = %v", docs)
	}
	if got := e.blobCount(t); got != blobs {
		t.Errorf("blobs = %d, want %d", got, blobs)
	}
	// ?name= still overrides the filename, which then does not matter.
	body, ctype := multipartFile(t, `filename="../../etc/passwd"`, []byte("bytes"))
	resp, b := owner.read(t, "POST", "/api/v1/matters/"+mid+"/documents?name=passwd.txt", body, http.Header{"Content-Type": {ctype}})
	var d docJSON
	decodeInto(t, resp, b, http.StatusCreated, &d)
	if d.Name != "passwd.txt" {
		t.Errorf("name = %q", d.Name)
	}
}
