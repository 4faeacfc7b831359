package vault

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"sync/atomic"

	"golang.org/x/crypto/argon2"
)

// PasswordParams are argon2id cost parameters.
type PasswordParams struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
}

// DefaultPasswordParams are OWASP's recommended argon2id minimum: 19 MiB,
// 2 passes, 1 lane. At most maxConcurrentHashes run at once, so parallel
// sign-ins cannot exhaust the server's memory.
var DefaultPasswordParams = PasswordParams{Memory: 19 * 1024, Time: 2, Threads: 1}

// maxConcurrentHashes bounds the argon2id computations in flight.
const maxConcurrentHashes = 2

var hashSlots = make(chan struct{}, maxConcurrentHashes)

// hashRuns counts argon2id computations, so that tests can check that the
// work of a sign-in does not depend on the accounts behind its email.
var hashRuns atomic.Uint64

// argon2id runs one bounded argon2id computation.
func argon2id(password, salt []byte, p PasswordParams, n uint32) []byte {
	hashSlots <- struct{}{}
	defer func() { <-hashSlots }()
	hashRuns.Add(1)
	return argon2.IDKey(password, salt, p.Time, p.Memory, p.Threads, n)
}

// MinPasswordLength is the shortest password accepted.
const MinPasswordLength = 12

// HashPassword returns an argon2id hash of password in the PHC string
// format: $argon2id$v=19$m=…,t=…,p=…$salt$hash.
func HashPassword(password string, p PasswordParams) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	sum := argon2id([]byte(password), salt, p, 32)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, enc.EncodeToString(salt), enc.EncodeToString(sum)), nil
}

// CheckPassword reports whether password matches the PHC-format hash, in
// constant time with respect to the hash value.
func CheckPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return false
	}
	var p PasswordParams
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return false
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[4])
	want, err2 := enc.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2id([]byte(password), salt, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// GeneratePassword returns a random password of 26 base32 characters
// (128 bits), for one-time display to its owner.
func GeneratePassword() string { return rand.Text() }
