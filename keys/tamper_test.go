package keys_test

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/casevault/casevault/keys"
	"github.com/casevault/casevault/vault"
)

// tamperFixture is a six-part document: five full parts of p bytes and a
// last part of 123 bytes.
type tamperFixture struct {
	*fixture
	p     int64
	c     int64
	ref   vault.DocRef
	plain []byte
	blob  []byte
	s     vault.Sealed
}

func newTamperFixture(t *testing.T) *tamperFixture {
	t.Helper()
	const p = 1000
	f := newFixture(t, keys.WithPartSize(p))
	tf := &tamperFixture{fixture: f, p: p, ref: newRef(f.newTenant(t, "us")), plain: randBytes(3, 5*p+123)}
	tf.blob, tf.s = mustEncrypt(t, f.m, tf.ref, tf.plain)
	tf.c = int64(tf.s.PartCipherSize)
	return tf
}

// part returns the ciphertext of part i of blob.
func (tf *tamperFixture) part(blob []byte, i int64) []byte {
	lo := headerSize + i*tf.c
	return blob[lo:min(lo+tf.c, int64(len(blob)))]
}

// join builds a blob from the header of tf.blob and the given parts.
func (tf *tamperFixture) join(parts ...[]byte) []byte {
	return slices.Concat(append([][]byte{tf.blob[:headerSize]}, parts...)...)
}

// expectFailure reads the whole document as s describes it and checks that
// it fails with cannot_decrypt after releasing exactly the authentic
// plaintext of the first release bytes.
func (tf *tamperFixture) expectFailure(t *testing.T, ref vault.DocRef, s vault.Sealed, blob []byte, release int64) {
	t.Helper()
	got, err := decrypt(tf.m, ref, s, blob, 0, s.Size)
	assertCode(t, err, vault.ECANNOTDECRYPT)
	if int64(len(got)) != release {
		t.Errorf("released %d bytes before failing, want %d", len(got), release)
	}
	if !bytes.HasPrefix(tf.plain, got) {
		t.Errorf("released bytes are not the document's plaintext")
	}
}

func TestManager_DecryptRange_Tampering(t *testing.T) {
	tf := newTamperFixture(t)
	p, c, s := tf.p, tf.c, tf.s
	all := func(blob []byte) [][]byte {
		var parts [][]byte
		for i := range int64(6) {
			parts = append(parts, tf.part(blob, i))
		}
		return parts
	}
	parts := all(tf.blob)
	with := func(f func(*vault.Sealed)) vault.Sealed { s2 := s; f(&s2); return s2 }

	// Other ciphertexts of the same plaintext to splice from.
	otherDoc, _ := mustEncrypt(t, tf.m, newRef(tf.ref.TenantID), tf.plain)
	v2 := tf.ref
	v2.Version = 2
	otherVersion, _ := mustEncrypt(t, tf.m, v2, tf.plain)

	for _, tt := range []struct {
		name    string
		ref     vault.DocRef
		s       vault.Sealed
		blob    []byte
		release int64
	}{
		{"TruncatedMidPart", tf.ref, s, tf.blob[:headerSize+2*c+c/2], 2 * p},
		{"TruncatedMidPartSizesAdjusted", tf.ref, with(func(s *vault.Sealed) { s.CiphertextSize = headerSize + 2*c + c/2 }), tf.blob[:headerSize+2*c+c/2], 0},
		{"TruncatedInHeader", tf.ref, s, tf.blob[:10], 0},
		{"DroppedFinalPart", tf.ref, s, tf.blob[:headerSize+5*c], 5 * p},
		{"DroppedFinalPartSizesAdjusted", tf.ref, with(func(s *vault.Sealed) { s.Size, s.CiphertextSize = 5*p, headerSize+5*c }), tf.blob[:headerSize+5*c], 4 * p},
		{"DroppedMiddlePart", tf.ref, s, tf.join(parts[0], parts[2], parts[3], parts[4], parts[5]), p},
		{"DroppedMiddlePartSizesAdjusted", tf.ref, with(func(s *vault.Sealed) { s.Size -= p; s.CiphertextSize -= c }), tf.join(parts[0], parts[2], parts[3], parts[4], parts[5]), p},
		{"ReorderedParts", tf.ref, s, tf.join(parts[0], parts[2], parts[1], parts[3], parts[4], parts[5]), p},
		{"PartFromOtherDocument", tf.ref, s, tf.join(parts[0], parts[1], tf.part(otherDoc, 2), parts[3], parts[4], parts[5]), 2 * p},
		{"PartFromOtherVersion", tf.ref, s, tf.join(parts[0], parts[1], parts[2], tf.part(otherVersion, 3), parts[4], parts[5]), 3 * p},
		{"FinalPartFromOtherVersion", tf.ref, s, tf.join(parts[0], parts[1], parts[2], parts[3], parts[4], tf.part(otherVersion, 5)), 5 * p},
		{"BlobOfOtherVersion", tf.ref, s, otherVersion, 0},
		{"SizeLieMorePartsOnly", tf.ref, with(func(s *vault.Sealed) { s.Size += p }), tf.blob, 0},
		{"SizeLieMoreParts", tf.ref, with(func(s *vault.Sealed) { s.Size += p; s.CiphertextSize += c }), tf.blob, 5 * p},
		{"SizeLieFewerPartsOnly", tf.ref, with(func(s *vault.Sealed) { s.Size -= p }), tf.blob, 0},
		{"SizeLieFewerParts", tf.ref, with(func(s *vault.Sealed) { s.Size -= p; s.CiphertextSize -= c }), tf.blob, 4 * p},
		{"SizeLieOneByteLess", tf.ref, with(func(s *vault.Sealed) { s.Size-- }), tf.blob, 5 * p},
		{"SizeLieOneByteMore", tf.ref, with(func(s *vault.Sealed) { s.Size++ }), tf.blob, 5 * p},
		{"PartSizeLie", tf.ref, with(func(s *vault.Sealed) { s.PartSize-- }), tf.blob, 0},
		{"PartCipherSizeLie", tf.ref, with(func(s *vault.Sealed) { s.PartCipherSize++ }), tf.blob, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tf.expectFailure(t, tt.ref, tt.s, tt.blob, tt.release)
		})
	}

	t.Run("MovedToOtherFirm", func(t *testing.T) {
		other := tf.ref
		other.TenantID = tf.newTenant(t, "us")
		tf.expectFailure(t, other, s, tf.blob, 0)
	})
	t.Run("MovedToOtherRegionFirm", func(t *testing.T) {
		other := tf.ref
		other.TenantID = tf.newTenant(t, "ca")
		tf.expectFailure(t, other, s, tf.blob, 0)
	})
	t.Run("ReadAsOtherDocument", func(t *testing.T) {
		tf.expectFailure(t, newRef(tf.ref.TenantID), s, tf.blob, 0)
	})
	t.Run("HeaderChanged", func(t *testing.T) {
		for i := range headerSize {
			blob := bytes.Clone(tf.blob)
			blob[i] ^= 0x80
			tf.expectFailure(t, tf.ref, s, blob, 0)
		}
	})
	t.Run("HeaderAndSealedAgreeOnLie", func(t *testing.T) {
		// Rewrite the header's part size to 999 and claim the same in
		// Sealed: the layout shifts and part 0 no longer authenticates.
		blob := bytes.Clone(tf.blob)
		blob[8], blob[9], blob[10], blob[11] = 0, 0, 0x03, 0xe7
		tf.expectFailure(t, tf.ref, with(func(s *vault.Sealed) { s.PartSize = 999 }), blob, 0)
	})
}

// One flipped bit anywhere fails, releasing only the parts before it.
func TestManager_DecryptRange_FlippedByte(t *testing.T) {
	tf := newTamperFixture(t)
	n := int64(len(tf.blob))
	positions := []int64{0, 4, 8, 15}
	for i := range int64(6) {
		lo := headerSize + i*tf.c
		hi := min(lo+tf.c, n)
		// Tink's header length byte, its salt, its nonce prefix, the first
		// ciphertext byte and the last tag byte of the part.
		positions = append(positions, lo, lo+1, lo+39, lo+40, hi-1, hi-16)
	}
	rng := rand.New(rand.NewPCG(42, 7))
	for len(positions) < 60 {
		positions = append(positions, rng.Int64N(n))
	}
	for _, pos := range positions {
		blob := bytes.Clone(tf.blob)
		blob[pos] ^= byte(1 << rng.IntN(8))
		release := int64(0)
		if pos >= headerSize {
			release = (pos - headerSize) / tf.c * tf.p
		}
		t.Logf("flip at %d", pos)
		tf.expectFailure(t, tf.ref, tf.s, blob, release)
	}
}

// Parts authenticate independently: damage in one part does not stop
// ranges elsewhere, and a range touching it fails.
func TestManager_DecryptRange_DamageIsLocal(t *testing.T) {
	tf := newTamperFixture(t)
	blob := bytes.Clone(tf.blob)
	blob[headerSize+4*tf.c+500] ^= 1

	got, err := decrypt(tf.m, tf.ref, tf.s, blob, tf.p+10, tf.p)
	if err != nil {
		t.Fatalf("range away from damage: %v", err)
	}
	if !bytes.Equal(got, tf.plain[tf.p+10:2*tf.p+10]) {
		t.Fatalf("range away from damage returned the wrong bytes")
	}
	_, err = decrypt(tf.m, tf.ref, tf.s, blob, 4*tf.p+999, 1)
	assertCode(t, err, vault.ECANNOTDECRYPT)
}

// With 1 MiB parts a part spans two of Tink's segments, and Tink's reader
// would hand out the first segment before the second authenticates. Damage
// at the end of a part must still withhold the whole part.
func TestManager_DecryptRange_NoEarlyRelease(t *testing.T) {
	f := newFixture(t)
	ref := newRef(f.newTenant(t, "us"))
	p := int64(keys.DefaultPartSize)
	plain := randBytes(5, int(2*p+10))
	blob, s := mustEncrypt(t, f.m, ref, plain)
	c := int64(s.PartCipherSize)

	for _, tt := range []struct {
		name    string
		pos     int64
		release int64
	}{
		{"EndOfFirstPart", headerSize + c - 1, 0},
		{"EndOfSecondPart", headerSize + 2*c - 1, p},
		{"StartOfLastPart", headerSize + 2*c + 50, 2 * p},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decrypt(f.m, ref, s, flip(blob, int(tt.pos)), 0, s.Size)
			assertCode(t, err, vault.ECANNOTDECRYPT)
			if int64(len(got)) != tt.release {
				t.Errorf("released %d bytes before failing, want %d", len(got), tt.release)
			}
			if !bytes.HasPrefix(plain, got) {
				t.Errorf("released bytes are not the document's plaintext")
			}
		})
	}
}
