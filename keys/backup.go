package keys

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/streamingaead"
	"github.com/tink-crypto/tink-go/v2/tink"

	"github.com/casevault/casevault/vault"
)

// Backup objects (docs/BACKUP-FORMAT.md) are laid out as document blobs
// are: a 16-byte header, then independently authenticated parts of
// BackupPartSize plaintext bytes, each a complete Tink streaming-AEAD
// ciphertext of one segment. Only the magic and the associated data differ.
const (
	// BackupPartSize is the plaintext size of every part but the last.
	BackupPartSize = 64 << 10
	backupMagic    = "CVBK"
	labelBackup    = "casevault/backup/v1"
	purposeBackup  = "backup"
)

// backupTemplate has segments (1 MiB) larger than a part, so that each part
// is one segment and its ciphertext is its plaintext plus a fixed overhead.
var backupTemplate = streamingaead.AES256GCMHKDF1MBKeyTemplate

// BackupObject names one backup object: the database it copies, the
// Litestream level and TXID range of the LTX file it holds, and when that
// file was created. All of it is bound into every part's associated data,
// with the region, so an object copied to another name, database or region
// fails to decrypt.
type BackupObject struct {
	DB        string // "casevault" or "audit"
	Level     int
	MinTXID   uint64
	MaxTXID   uint64
	CreatedMS int64 // Unix milliseconds
}

// backupPartAD binds one part of a backup object to its region, its object
// and its position.
func backupPartAD(region string, o BackupObject, index uint64, final bool) []byte {
	var lv, mn, mx, ts, ix [8]byte
	binary.BigEndian.PutUint64(lv[:], uint64(int64(o.Level)))
	binary.BigEndian.PutUint64(mn[:], o.MinTXID)
	binary.BigEndian.PutUint64(mx[:], o.MaxTXID)
	binary.BigEndian.PutUint64(ts[:], uint64(o.CreatedMS))
	binary.BigEndian.PutUint64(ix[:], index)
	f := []byte{0}
	if final {
		f[0] = 1
	}
	return encodeAD([]byte(labelBackup), []byte(region), []byte(o.DB), lv[:], mn[:], mx[:], ts[:], ix[:], f)
}

// backupKeyFile is the on-disk form of a region's backup key: a Tink
// streaming-AEAD keyset wrapped by the region's master key.
type backupKeyFile struct {
	Region  string `json:"region"`
	Wrapped []byte `json:"wrapped_keyset"`
}

// BackupKey encrypts and decrypts one region's backup objects. Its keyset
// never leaves this package and is never written unwrapped.
type BackupKey struct {
	region string
	sa     tink.StreamingAEAD
	// overhead is the ciphertext bytes a part adds to its plaintext.
	overhead int64
}

// Region is the region whose backups k encrypts.
func (k *BackupKey) Region() string { return k.region }

// LoadOrCreateBackupKey loads region's backup key from path, creating it
// (wrapped by master, mode 0600) on first use; an existing file is never
// replaced. Errors: invalid (a file of another region, or one that does not
// unwrap with master), unavailable, internal.
func LoadOrCreateBackupKey(ctx context.Context, path, region string, master MasterKey) (*BackupKey, error) {
	return loadOrCreate(ctx, path, region, master, loadBackupKey, createBackupKey)
}

// LoadBackupKey loads region's existing backup key from path, as restore
// does: a missing key is an error, never replaced by a new one.
// Errors: not_found, invalid, unavailable, internal.
func LoadBackupKey(ctx context.Context, path, region string, master MasterKey) (*BackupKey, error) {
	k, err := loadBackupKey(ctx, path, region, master)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, vault.Errorf(vault.ENOTFOUND, "No backup key at %s.", path)
	}
	return k, err
}

func loadBackupKey(ctx context.Context, path, region string, master MasterKey) (*BackupKey, error) {
	b, err := readKeyFile(path, "backup key file")
	if err != nil {
		return nil, err
	}
	var kf backupKeyFile
	if err := json.Unmarshal(b, &kf); err != nil || kf.Region != region {
		return nil, vault.Errorf(vault.EINVALID, "Backup key file %s is not region %s's backup key.", path, region)
	}
	a, err := master.AEAD(ctx)
	if err != nil {
		return nil, err
	}
	h, err := keyset.ReadWithAssociatedData(keyset.NewBinaryReader(bytes.NewReader(kf.Wrapped)), a, keysetAD(purposeBackup, "", region))
	if err != nil {
		return nil, vault.WrapError(vault.EINVALID, err, "Backup key file %s does not unwrap with region %s's master key.", path, region)
	}
	sa, err := streamingaead.New(h)
	if err != nil {
		return nil, vault.WrapError(vault.EINVALID, err, "Backup key file %s holds no streaming AEAD key.", path)
	}
	k := &BackupKey{region: region, sa: sa}
	empty, err := k.sealedLen(0)
	if err != nil {
		return nil, err
	}
	full, err := k.sealedLen(BackupPartSize)
	if err != nil {
		return nil, err
	}
	if full-BackupPartSize != empty {
		return nil, vault.Errorf(vault.EINVALID, "Backup key file %s holds a key whose parts span segments.", path)
	}
	k.overhead = empty
	return k, nil
}

func createBackupKey(ctx context.Context, path, region string, master MasterKey) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return vault.WrapError(vault.EINTERNAL, err, "Cannot create directory of backup key file %s.", path)
	}
	h, err := keyset.NewHandle(backupTemplate())
	if err != nil {
		return vault.WrapError(vault.EINTERNAL, err, "Cannot generate backup key.")
	}
	a, err := master.AEAD(ctx)
	if err != nil {
		return err
	}
	wrapped, err := wrap(h, a, keysetAD(purposeBackup, "", region))
	if err != nil {
		return err
	}
	b, err := json.Marshal(backupKeyFile{Region: region, Wrapped: wrapped})
	if err != nil {
		return vault.WrapError(vault.EINTERNAL, err, "Cannot encode backup key file.")
	}
	return publishFile(path, b, "backup key file")
}

// sealedLen is the ciphertext size of a part of n plaintext bytes: Tink's
// size depends only on the key's parameters and n.
func (k *BackupKey) sealedLen(n int) (int64, error) {
	cw := &countWriter{w: io.Discard}
	w, err := k.sa.NewEncryptingWriter(cw, backupPartAD("", BackupObject{}, 0, false))
	if err == nil {
		_, err = w.Write(make([]byte, n))
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		return 0, vault.WrapError(vault.EINTERNAL, err, "Cannot size backup parts.")
	}
	return cw.n, nil
}

// backupHeader is the first 16 bytes of every backup object.
func (k *BackupKey) backupHeader() []byte {
	b := make([]byte, headerSize)
	copy(b, backupMagic)
	b[4] = formatVersion
	binary.BigEndian.PutUint32(b[8:], BackupPartSize)
	binary.BigEndian.PutUint32(b[12:], uint32(BackupPartSize+k.overhead))
	return b
}

// Encrypt reads src to its end and writes object o's ciphertext to dst,
// returning the plaintext and ciphertext sizes. Memory stays at about one
// part. Errors: internal, or the error of src or dst as is.
func (k *BackupKey) Encrypt(ctx context.Context, o BackupObject, src io.Reader, dst io.Writer) (plain, cipher int64, err error) {
	cw := &countWriter{w: dst}
	if _, err := cw.Write(k.backupHeader()); err != nil {
		return 0, 0, err
	}
	buf := make([]byte, BackupPartSize+1)
	have := 0
	src = &sourceReader{r: src}
	for index := uint64(0); ; index++ {
		if err := ctx.Err(); err != nil {
			return 0, 0, err
		}
		n, err := io.ReadFull(src, buf[have:])
		have += n
		final := false
		var se *sourceError
		switch {
		case errors.As(err, &se):
			return 0, 0, se.err
		case err == nil:
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			final = true
		default:
			return 0, 0, err
		}
		part := buf[:min(have, BackupPartSize)]
		if err := k.sealPart(cw, part, backupPartAD(k.region, o, index, final)); err != nil {
			return 0, 0, err
		}
		plain += int64(len(part))
		if final {
			return plain, cw.n, nil
		}
		buf[0] = buf[BackupPartSize]
		have = 1
	}
}

// sealPart writes one part as a complete streaming-AEAD ciphertext.
func (k *BackupKey) sealPart(cw *countWriter, part, ad []byte) error {
	return sealPart(k.sa, cw, part, ad, "Cannot encrypt backup.")
}

// PlainSize returns the plaintext size of an object of cipherSize bytes:
// every part but the last is full, and every part adds the same overhead,
// so the size needs no read. Errors: cannot_decrypt (no object of this key
// has that size).
func (k *BackupKey) PlainSize(cipherSize int64) (int64, error) {
	c := BackupPartSize + k.overhead
	body := cipherSize - headerSize
	if body < k.overhead {
		return 0, vault.Errorf(vault.ECANNOTDECRYPT, "Backup object of %d bytes is too short.", cipherSize)
	}
	parts := (body + c - 1) / c
	last := body - (parts-1)*c
	if last < k.overhead {
		return 0, vault.Errorf(vault.ECANNOTDECRYPT, "Backup object of %d bytes has a torn last part.", cipherSize)
	}
	return body - parts*k.overhead, nil
}

// String names the key without revealing it.
func (k *BackupKey) String() string { return fmt.Sprintf("backup key of region %s", k.region) }
