package refverify

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// Format /2 (AUDIT-FORMAT.md §5 "The log's timestamp", §7 steps 1, 2, 4, 5,
// 6 and 7), written from the page.

const (
	format1 = "casevault-audit-bundle/1"
	format2 = "casevault-audit-bundle/2"
)

// Options are Verify's inputs beyond the bundle.
type Options struct {
	TrustedKey  string        // the firm's verifier key, obtained out of band
	TrustedKeys []string      // more of them: the keys of its region before and after a rotation
	Witnesses   Witnesses     // §7 "Witnesses": the witness keys, and how many must cosign line 2
	At          time.Time     // §7 step 7: the time to judge the age at (now when zero)
	MaxAge      time.Duration // §7 step 7: the oldest the newest timestamp may be (0: not checked)
}

// tsVerifier checks the log's cosignature/v1 timestamp lines (§5).
type tsVerifier struct {
	name string
	hash uint32
	pub  ed25519.PublicKey
}

// newTSVerifier derives the timestamp key from a verifier key
// "<name>+<hash>+<base64(0x01 ‖ key)>".
func newTSVerifier(vkey string) (*tsVerifier, error) {
	parts := strings.SplitN(vkey, "+", 3)
	if len(parts) != 3 {
		return nil, fmt.Errorf("malformed verifier key")
	}
	b, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(b) != 33 || b[0] != 1 {
		return nil, fmt.Errorf("not an Ed25519 verifier key")
	}
	h := sha256.Sum256(append(append([]byte(parts[0]+"\n"), 0x04), b[1:]...))
	return &tsVerifier{name: parts[0], hash: binary.BigEndian.Uint32(h[:4]), pub: ed25519.PublicKey(b[1:])}, nil
}

func (t *tsVerifier) Name() string    { return t.name }
func (t *tsVerifier) KeyHash() uint32 { return t.hash }
func (t *tsVerifier) Verify(msg, sig []byte) bool {
	if len(sig) != 8+ed25519.SignatureSize {
		return false
	}
	ts := binary.BigEndian.Uint64(sig[:8])
	m := "cosignature/v1\ntime " + strconv.FormatUint(ts, 10) + "\n" + string(msg)
	return ed25519.Verify(t.pub, []byte(m), sig[8:])
}

// timeOf returns the T of n's (verified) timestamp line, if it has one.
func (v *verifier) timeOf(n *note.Note) (int64, bool) {
	for _, s := range n.Sigs {
		if slices.ContainsFunc(v.ts, func(t *tsVerifier) bool { return s.Name == t.name && s.Hash == t.hash }) {
			b, err := base64.StdEncoding.DecodeString(s.Base64)
			if err != nil || len(b) < 12 {
				return 0, false
			}
			return int64(binary.BigEndian.Uint64(b[4:12])), true
		}
	}
	return 0, false
}

// stamp applies §5's rule to a checkpoint line's note.
func (v *verifier) stamp(n *note.Note) error {
	t, ok := v.timeOf(n)
	if !ok {
		if v.format == format2 {
			return v.failAt(0, "checkpoint on line %d has no timestamp", v.line)
		}
		return nil
	}
	if !v.stamped || t > v.newest {
		v.newest = t
	}
	v.stamped = true
	return nil
}

// filterMap is §7 step 4's table: header filter member → event detail.
var filterMap = map[string]string{
	"actor_id": "filter_actor_id", "object_type": "filter_object_type", "object_id": "filter_object_id",
	"matter_id": "filter_matter_id", "action": "filter_action", "outcome": "filter_outcome",
	"from": "filter_from", "to": "filter_to", "after_seq": "after_seq", "limit": "filter_limit",
}

// exportEvent is §7 step 4's export event checks, for event S of format /2.
func (v *verifier) exportEvent(l *leaf) error {
	switch {
	case l.action != "audit.export":
		return v.failAt(0, "the last event is %q, not audit.export", l.action)
	case l.outcome != "ok":
		return v.failAt(0, "the export event's outcome is %q", l.outcome)
	case l.details["export_id"] != v.exportID:
		return v.failAt(0, "export_id %q is not the event's %q", v.exportID, l.details["export_id"])
	case l.time != v.exported:
		return v.failAt(0, "exported_at %q is not the event's time %q", v.exported, l.time)
	case l.details["format"] != "jsonl":
		return v.failAt(0, "the export event's format is %q", l.details["format"])
	}
	for member, detail := range filterMap {
		raw, set := v.filter[member]
		var want string
		if set {
			var s string
			var n int64
			if json.Unmarshal(raw, &s) == nil {
				want = s
			} else if json.Unmarshal(raw, &n) == nil && n != 0 {
				want = strconv.FormatInt(n, 10)
			}
		}
		got, has := l.details[detail]
		if (want != "") != has || want != got {
			return v.failAt(0, "filter member %s (%q) does not match the event's %s (%q)", member, want, detail, got)
		}
	}
	for k := range l.details {
		if strings.HasPrefix(k, "filter_") {
			known := false
			for _, d := range filterMap {
				known = known || d == k
			}
			if !known {
				return v.failAt(0, "the export event has %s, which no filter member states", k)
			}
		}
	}
	v.sawExport = true
	return nil
}

// age is §7 step 7.
func (v *verifier) age(o Options) error {
	if o.At.IsZero() && o.MaxAge == 0 {
		return nil
	}
	at := o.At
	if at.IsZero() {
		at = time.Now()
	}
	if v.stamped && time.Unix(v.newest, 0).After(at.Add(5*time.Minute)) {
		return fail(0, "a checkpoint's time is more than 5 minutes after %s", at.UTC().Format(time.RFC3339))
	}
	if o.MaxAge <= 0 {
		return nil
	}
	if v.format != format2 || !v.stamped {
		return fail(0, "a bundle of format %s has no time to bound", v.format)
	}
	if at.Sub(time.Unix(v.newest, 0)) > o.MaxAge {
		return fail(0, "the newest timestamp is more than %s before %s", o.MaxAge, at.UTC().Format(time.RFC3339))
	}
	return nil
}
