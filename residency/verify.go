package residency

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/casevault/casevault/keys"
	"github.com/casevault/casevault/vault"
)

// MaxReport is the largest signed report Verify reads, in bytes: about
// 5 million objects.
const MaxReport = 1 << 30

// KeyName returns the note key name that signs the reports of region: its
// audit checkpoint key's, "casevault-audit-<region>".
func KeyName(region string) string { return keys.SignerName(region) }

// Sign returns the report as a signed note, signed by signer, which must be
// the audit checkpoint key of the report's region (named KeyName(region)).
// Errors: invalid (a signer of another name, a report that does not hold
// together), internal.
func (r *Report) Sign(signer note.Signer) ([]byte, error) {
	if signer.Name() != KeyName(r.Region) {
		return nil, vault.Errorf(vault.EINVALID, "Residency report of region %s must be signed by key %s, not %s.", r.Region, KeyName(r.Region), signer.Name())
	}
	if err := r.check(); err != nil {
		return nil, vault.WrapError(vault.EINVALID, err, "Residency report of firm %s: %v.", r.Tenant, err)
	}
	text, err := r.body()
	if err != nil {
		return nil, vault.WrapError(vault.EINTERNAL, err, "Cannot encode the residency report.")
	}
	msg, err := note.Sign(&note.Note{Text: string(text)}, signer)
	if err != nil {
		return nil, vault.WrapError(vault.EINTERNAL, err, "Cannot sign the residency report.")
	}
	return msg, nil
}

// VerifyError is the error of Verify: what failed, in words.
type VerifyError struct{ Reason string }

func (e *VerifyError) Error() string { return "residency report: " + e.Reason }

func fail(format string, a ...any) error {
	return &VerifyError{Reason: fmt.Sprintf(format, a...)}
}

// Verify checks a signed residency report (docs/RESIDENCY.md, "What a
// verifier checks") against verifierKeys, the published audit verifier keys
// of the region (any number; one must have signed it), and returns it. The
// error, a *VerifyError, says what failed: a malformed note, no signature
// by a given key, a signature that does not verify (the text was changed),
// a key that is not the report's region's, the format, the encoding, the
// object digest, or numbers that do not add up.
func Verify(file []byte, verifierKeys []string) (*Report, error) {
	if len(file) > MaxReport {
		return nil, fail("file is larger than %d bytes", MaxReport)
	}
	n, err := OpenNote(file, verifierKeys, "report")
	if err != nil {
		return nil, err
	}
	prefix := "{\n  \"format\": \"" + Format + "\",\n"
	if !strings.HasPrefix(n.Text, prefix) {
		return nil, fail("the text does not start with the format line of %s", Format)
	}
	var r Report
	dec := json.NewDecoder(strings.NewReader(n.Text))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, fail("body: %v", err)
	}
	if dec.More() {
		return nil, fail("body: text after the JSON object")
	}
	canon, err := r.body()
	if err != nil || !bytes.Equal(canon, []byte(n.Text)) {
		return nil, fail("body is not in the canonical encoding (docs/RESIDENCY.md §2)")
	}
	signed := false
	var names []string
	for _, s := range n.Sigs {
		names = append(names, s.Name)
		if s.Name == KeyName(r.Region) {
			signed = true
			r.SignedBy = append(r.SignedBy, fmt.Sprintf("%s+%08x", s.Name, s.Hash))
		}
	}
	if !signed {
		return nil, fail("signed by %s, not by region %s's key %s", strings.Join(names, ", "), r.Region, KeyName(r.Region))
	}
	if err := r.check(); err != nil {
		return nil, &VerifyError{Reason: err.Error()}
	}
	return &r, nil
}

// OpenNote opens a signed note (a residency report, a drill record) and
// checks its signatures against verifierKeys (any number; one must have
// signed it), strictly: canonical base64 in every signature line and every
// line of a known key verifying. what names the document in the reasons
// ("report"). The error is a *VerifyError.
func OpenNote(file []byte, verifierKeys []string, what string) (*note.Note, error) {
	if len(verifierKeys) == 0 {
		return nil, fail("no verifier key given")
	}
	var vs []note.Verifier
	for _, k := range verifierKeys {
		v, err := ParseVerifierKey(k)
		if err != nil {
			return nil, fail("verifier key %q: %v", k, err)
		}
		vs = append(vs, v)
	}
	known := note.VerifierList(vs...)
	n, err := note.Open(file, known)
	var unverified *note.UnverifiedNoteError
	var invalid *note.InvalidSignatureError
	switch {
	case errors.As(err, &unverified):
		var names []string
		for _, s := range unverified.Note.UnverifiedSigs {
			names = append(names, fmt.Sprintf("%s+%08x", s.Name, s.Hash))
		}
		if len(names) == 0 {
			return nil, fail("the note has no signature")
		}
		return nil, fail("not signed by any of the given keys (signed by %s)", strings.Join(names, ", "))
	case errors.As(err, &invalid):
		return nil, fail("the signature of key %s+%08x does not verify: the %s was changed after it was signed", invalid.Name, invalid.Hash, what)
	case err != nil:
		return nil, fail("not a signed note: %v", err)
	}
	if err := checkSigLines(file, known); err != nil {
		return nil, err
	}
	return n, nil
}

// ParseVerifierKey reads a note verifier key strictly: name+hash+key, the
// hash 8 lowercase hex digits, the key canonical base64 of an Ed25519 key
// whose key hash is hash (docs/AUDIT-FORMAT.md §5).
func ParseVerifierKey(vkey string) (note.Verifier, error) {
	_, rest, ok1 := strings.Cut(vkey, "+")
	hash, key, ok2 := strings.Cut(rest, "+")
	if !ok1 || !ok2 {
		return nil, errors.New("a verifier key is name+hash+key")
	}
	if len(hash) != 8 || strings.Trim(hash, "0123456789abcdef") != "" {
		return nil, errors.New("the key hash is not 8 lowercase hex digits")
	}
	if b, err := base64.StdEncoding.DecodeString(key); err != nil || base64.StdEncoding.EncodeToString(b) != key {
		return nil, errors.New("the key is not canonical base64")
	}
	return note.NewVerifier(vkey)
}

// checkSigLines checks what note.Open leaves loose: each signature line's
// base64 is canonical, and every line of a given key verifies (note.Open
// checks the first line of each key and skips repeats).
func checkSigLines(msg []byte, known note.Verifiers) error {
	i := bytes.LastIndex(msg, []byte("\n\n"))
	text, sigs := msg[:i+1], strings.TrimSuffix(string(msg[i+2:]), "\n")
	for _, line := range strings.Split(sigs, "\n") {
		rest, _ := strings.CutPrefix(line, "\u2014 ")
		name, b64, _ := strings.Cut(rest, " ")
		sig, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || base64.StdEncoding.EncodeToString(sig) != b64 {
			return fail("a signature line of %s is not canonical base64", name)
		}
		v, err := known.Verifier(name, binary.BigEndian.Uint32(sig))
		if err != nil {
			continue // another key's line
		}
		if !v.Verify(text, sig[4:]) {
			return fail("a signature line of key %s does not verify", name)
		}
	}
	return nil
}

// check makes the checks of a report's meaning (docs/RESIDENCY.md §4, steps
// 5 to 9): what Build promises and Verify checks again.
func (r *Report) check() error {
	switch {
	case r.Format != Format:
		return fmt.Errorf("format %q is not %s", r.Format, Format)
	case r.Tenant == "":
		return errors.New("no tenant")
	case !regionName.MatchString(r.Region) || r.Region == keys.ServiceSigner:
		return fmt.Errorf("region %q is not a region name", r.Region)
	case r.Stores == nil || r.OtherCells == nil || r.Moves == nil:
		return errors.New("stores, other_cells and moves must be lists (maybe empty), not null")
	case len(r.Stores) == 0:
		return errors.New("no store")
	}
	var objects, size int64
	for i, s := range r.Stores {
		if err := s.StoreDesc.check(); err != nil {
			return fmt.Errorf("store %d: %v", i, err)
		}
		if !vault.ValidBlobPrefix(s.Prefix) || !strings.HasSuffix("/"+s.Prefix, "/"+r.Tenant+"/") {
			return fmt.Errorf("store %d: prefix %q is not firm %s's key prefix (its id and a slash)", i, s.Prefix, r.Tenant)
		}
		if s.List == nil {
			return fmt.Errorf("store %d: object_list must be a list, not null", i)
		}
		var n int64
		for j, o := range s.List {
			switch {
			case !vault.ValidBlobKey(o.Key) || !strings.HasPrefix(o.Key, s.Prefix):
				return fmt.Errorf("store %d: object %d: key %q is not a blob key under prefix %q", i, j, o.Key, s.Prefix)
			case j > 0 && o.Key <= s.List[j-1].Key:
				return fmt.Errorf("store %d: object %d: key %q is not after %q: the list must be in byte order of keys, without repeats", i, j, o.Key, s.List[j-1].Key)
			case o.Size < 0 || o.Size > maxSize:
				return fmt.Errorf("store %d: object %s has size %d, not between 0 and 2^53", i, o.Key, o.Size)
			case !isSHA256(o.SHA256):
				return fmt.Errorf("store %d: object %s: sha256 %q is not 64 lowercase hex digits", i, o.Key, o.SHA256)
			}
			n += o.Size
		}
		if int64(len(s.List)) != s.Objects {
			return fmt.Errorf("store %d (%s) says %d objects but lists %d", i, s.StoreDesc, s.Objects, len(s.List))
		}
		if n != s.Bytes {
			return fmt.Errorf("store %d (%s) says %d bytes but its objects add up to %d", i, s.StoreDesc, s.Bytes, n)
		}
		objects += s.Objects
		size += s.Bytes
	}
	if objects != r.Objects || size != r.Bytes {
		return fmt.Errorf("the report says %d objects and %d bytes but its stores add up to %d objects and %d bytes", r.Objects, r.Bytes, objects, size)
	}
	if d := ObjectsDigest(r.Stores); d != r.ObjectsSHA256 {
		return fmt.Errorf("objects_sha256 is %s but the object list hashes to %s", r.ObjectsSHA256, d)
	}
	seen := map[string]bool{r.Region: true}
	for i, c := range r.OtherCells {
		if err := c.check(r.Region, seen); err != nil {
			return fmt.Errorf("other cell %d: %v", i, err)
		}
	}
	return r.checkMoves()
}

// check checks one of a report's other cells.
func (c Cell) check(region string, seen map[string]bool) error {
	switch {
	case c.Region == region:
		return fmt.Errorf("region %s is the firm's own region, not another cell", c.Region)
	case !regionName.MatchString(c.Region):
		return fmt.Errorf("region %q is not a region name", c.Region)
	case seen[c.Region]:
		return fmt.Errorf("region %s is listed twice", c.Region)
	case c.Hits != 0:
		return fmt.Errorf("the scan of region %s found %d trace(s) of the firm", c.Region, c.Hits)
	case c.Needles < 1:
		return fmt.Errorf("the scan of region %s looked for nothing", c.Region)
	case c.Files < 0 || c.FileBytes < 0:
		return fmt.Errorf("region %s: negative file counts", c.Region)
	case c.Stores == nil:
		return fmt.Errorf("region %s: stores must be a list, not null", c.Region)
	}
	seen[c.Region] = true
	var objects, size int64
	for j, s := range c.Stores {
		if err := s.StoreDesc.check(); err != nil {
			return fmt.Errorf("region %s: store %d: %v", c.Region, j, err)
		}
		if !vault.ValidBlobPrefix(s.Prefix) || s.Objects < 0 || s.Bytes < 0 {
			return fmt.Errorf("region %s: store %d: bad prefix or counts", c.Region, j)
		}
		objects += s.Objects
		size += s.Bytes
	}
	if objects != c.Objects || size != c.ObjectBytes {
		return fmt.Errorf("region %s says %d objects and %d bytes were scanned but its stores add up to %d objects and %d bytes", c.Region, c.Objects, c.ObjectBytes, objects, size)
	}
	return nil
}

// check checks a store description: a known kind, its place named, no
// credentials in the endpoint.
func (d StoreDesc) check() error {
	switch d.Kind {
	case KindFS:
		if d.Path == "" || d.Endpoint != "" || d.Bucket != "" {
			return errors.New("an fs store has a path and no endpoint or bucket")
		}
	case KindS3:
		if d.Endpoint == "" || d.Bucket == "" {
			return errors.New("an s3 store has an endpoint and a bucket")
		}
		if strings.Contains(d.Endpoint, "@") {
			return errors.New("the endpoint must not carry credentials")
		}
	default:
		return fmt.Errorf("kind %q is not fs or s3", d.Kind)
	}
	return nil
}

// checkMoves checks that the moves form one chain that ends in the
// report's region, in time order, each before the report.
func (r *Report) checkMoves() error {
	for i, m := range r.Moves {
		switch {
		case !regionName.MatchString(m.From) || !regionName.MatchString(m.To) || m.From == m.To:
			return fmt.Errorf("move %d: from %q to %q is not a move between two regions", i, m.From, m.To)
		case m.Started.IsZero() || m.Finished.Before(m.Started.Time):
			return fmt.Errorf("move %d: finished %s before it started %s", i, m.Finished.Format(TimeLayout), m.Started.Format(TimeLayout))
		case m.HandoverSeq < 1:
			return fmt.Errorf("move %d: handover_seq %d is not an audit sequence number", i, m.HandoverSeq)
		case r.GeneratedAt.Before(m.Finished.Time):
			return fmt.Errorf("move %d finished at %s, after the report was generated", i, m.Finished.Format(TimeLayout))
		}
		if i > 0 {
			p := r.Moves[i-1]
			switch {
			case m.From != p.To:
				return fmt.Errorf("move %d is from %s, but move %d went to %s", i, m.From, i-1, p.To)
			case m.Started.Before(p.Finished.Time):
				return fmt.Errorf("move %d started before move %d finished", i, i-1)
			case m.HandoverSeq <= p.HandoverSeq:
				return fmt.Errorf("move %d's handover_seq %d is not after move %d's %d", i, m.HandoverSeq, i-1, p.HandoverSeq)
			}
		}
	}
	if k := len(r.Moves); k > 0 && r.Moves[k-1].To != r.Region {
		return fmt.Errorf("the last move went to %s, but the firm's region is %s", r.Moves[k-1].To, r.Region)
	}
	return nil
}

// maxSize is the largest size a report states (2^53, the largest integer
// every JSON reader holds exactly); sums of sizes stay far from overflow.
const maxSize = 1 << 53

func isSHA256(s string) bool {
	b, err := hex.DecodeString(s)
	return err == nil && len(b) == 32 && hex.EncodeToString(b) == s
}
