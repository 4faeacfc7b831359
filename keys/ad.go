package keys

import "encoding/binary"

// Domain labels open every associated-data string, so that a value bound for
// one purpose can never be confused with one bound for another. Changing one
// makes everything written under it unreadable: they are part of the format.
const (
	labelKeyset = "casevault/keyset/v1"
	labelField  = "casevault/field/v1"
	labelBlob   = "casevault/blob/v1"
)

// Keyset purposes, bound into the wrapping associated data so that the
// document keyset cannot be unwrapped as the field keyset or the reverse.
const (
	purposeDocument = "document"
	purposeField    = "field"
)

// encodeAD returns the unambiguous encoding of fields: each one as a 4-byte
// big-endian length followed by its bytes. Because every field carries its
// length, no two different field lists encode to the same bytes, whatever
// the fields contain.
func encodeAD(fields ...[]byte) []byte {
	n := 0
	for _, f := range fields {
		n += 4 + len(f)
	}
	b := make([]byte, 0, n)
	for _, f := range fields {
		b = binary.BigEndian.AppendUint32(b, uint32(len(f)))
		b = append(b, f...)
	}
	return b
}

// keysetAD binds a wrapped keyset to its purpose, tenant and region.
func keysetAD(purpose, tenantID, region string) []byte {
	return encodeAD([]byte(labelKeyset), []byte(purpose), []byte(tenantID), []byte(region))
}

// fieldAD binds a sealed field to the database cell it belongs to.
func fieldAD(tenantID, table, column, rowID string) []byte {
	return encodeAD([]byte(labelField), []byte(tenantID), []byte(table), []byte(column), []byte(rowID))
}

// partAD binds one part of a document blob to the document version, its
// position and whether it is the last part.
func partAD(tenantID, documentID string, version int, index uint64, final bool) []byte {
	var v, i [8]byte
	binary.BigEndian.PutUint64(v[:], uint64(int64(version)))
	binary.BigEndian.PutUint64(i[:], index)
	f := []byte{0}
	if final {
		f[0] = 1
	}
	return encodeAD([]byte(labelBlob), []byte(tenantID), []byte(documentID), v[:], i[:], f)
}
