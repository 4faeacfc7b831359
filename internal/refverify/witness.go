package refverify

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Witnesses are the witness keys a bundle's checkpoints are checked
// against (AUDIT-FORMAT.md §5 "Witness cosignature lines", §7 "Witnesses").
type Witnesses struct {
	Keys []string // cosignature verifier keys
	K    int      // how many must have cosigned line 2; 0: all
}

// Cosigner is a given witness that cosigned the checkpoint on line 2.
type Cosigner struct {
	Name string
	Time int64 // seconds since the Unix epoch
}

// wkey is one parsed witness key.
type wkey struct {
	name string
	hash uint32
	pub  ed25519.PublicKey
}

// parseWitnessKey parses name+hash+base64(0x04 ‖ key) and checks the hash.
func parseWitnessKey(s string) (wkey, error) {
	parts := strings.SplitN(s, "+", 3)
	if len(parts) != 3 || parts[0] == "" || len(parts[1]) != 8 || strings.ToLower(parts[1]) != parts[1] {
		return wkey{}, errors.New("malformed witness key")
	}
	h, err := strconv.ParseUint(parts[1], 16, 32)
	if err != nil {
		return wkey{}, errors.New("malformed witness key hash")
	}
	raw, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(raw) != 33 || raw[0] != 0x04 {
		return wkey{}, errors.New("witness key is not algorithm 0x04 with 32 bytes")
	}
	sum := sha256.Sum256(append([]byte(parts[0]+"\n"), raw...))
	if binary.BigEndian.Uint32(sum[:4]) != uint32(h) {
		return wkey{}, errors.New("witness key hash does not match")
	}
	return wkey{name: parts[0], hash: uint32(h), pub: ed25519.PublicKey(raw[1:])}, nil
}

// VerifyWitnessed is Verify that also checks witness cosignatures: every
// cosignature line of a given witness key, in every checkpoint note, must
// verify, and line 2 must be cosigned by at least w.K distinct given keys.
func VerifyWitnessed(r io.Reader, trustedKey string, w Witnesses) (*Result, error) {
	return VerifyWith(r, Options{TrustedKey: trustedKey, Witnesses: w})
}

// cosignatures checks a checkpoint note's cosignature lines (§7,
// "Witnesses"), returning the given witnesses that cosigned.
func (v *verifier) cosignatures(note string) ([]Cosigner, error) {
	i := strings.LastIndex(note, "\n\n")
	text, sigs := []byte(note[:i+1]), note[i+2:]
	var out []Cosigner
	seen := map[int]bool{}
	for _, line := range strings.Split(strings.TrimSuffix(sigs, "\n"), "\n") {
		rest, _ := strings.CutPrefix(line, "\u2014 ")
		name, b64, _ := strings.Cut(rest, " ")
		sig, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(sig) < 4 {
			continue
		}
		for ki, k := range v.wkeys {
			if k.name != name || k.hash != binary.BigEndian.Uint32(sig) {
				continue
			}
			if len(sig) != 4+8+64 {
				return nil, fmt.Errorf("cosignature of %s has %d bytes", name, len(sig))
			}
			t := binary.BigEndian.Uint64(sig[4:12])
			var msg bytes.Buffer
			fmt.Fprintf(&msg, "cosignature/v1\ntime %d\n", t)
			msg.Write(text)
			if !ed25519.Verify(k.pub, msg.Bytes(), sig[12:]) {
				return nil, fmt.Errorf("cosignature of %s does not verify", name)
			}
			if !seen[ki] {
				seen[ki] = true
				out = append(out, Cosigner{Name: name, Time: int64(t)})
			}
		}
	}
	return out, nil
}

// witnessCheck runs the witness checks on the checkpoint of the current
// line.
func (v *verifier) witnessCheck(note string) error {
	if len(v.wkeys) == 0 {
		return nil
	}
	cs, err := v.cosignatures(note)
	if err != nil {
		return v.failAt(0, "checkpoint on line %d: %v", v.line, err)
	}
	if v.line == 2 {
		if len(cs) < v.wneed {
			return fail(0, "line 2 is cosigned by %d witnesses, %d required", len(cs), v.wneed)
		}
		v.cosigners = cs
	}
	return nil
}
