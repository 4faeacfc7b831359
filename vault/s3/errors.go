package s3

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"syscall"

	"github.com/minio/minio-go/v7"

	"github.com/casevault/casevault/vault"
)

// s3Code returns the S3 error code in err's chain, or "".
func s3Code(err error) string {
	var er minio.ErrorResponse
	if errors.As(err, &er) {
		return er.Code
	}
	return ""
}

// mapError translates a minio-go error into a *vault.Error with message msg:
// a missing key or bucket is not_found, an unsatisfiable range invalid, and
// anything that says the server is unreachable, overloaded or refuses our
// credentials is unavailable (to a user of the vault, all of these mean the
// store cannot be used right now). The rest is internal.
func mapError(err error, msg string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return ctxError(err)
	}
	var er minio.ErrorResponse
	if errors.As(err, &er) {
		switch er.Code {
		case minio.NoSuchKey, minio.NoSuchBucket, "NotFound", "NoSuchVersion":
			return vault.WrapError(vault.ENOTFOUND, err, "Object not found.")
		case minio.InvalidRange:
			return vault.WrapError(vault.EINVALID, err, "The range starts beyond the end of the object.")
		case minio.AccessDenied, "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken",
			"InvalidToken", "RequestTimeTooSkewed", "SlowDown", "ServiceUnavailable",
			"InternalError", "RequestTimeout", "XMinioServerNotInitialized", "XMinioStorageFull",
			// The bytes arrived otherwise than they were sent: another try may not.
			"BadDigest", "XAmzContentChecksumMismatch", "XAmzContentSHA256Mismatch", "InvalidChecksum":
			return vault.WrapError(vault.EUNAVAILABLE, err, "%s", msg)
		}
		switch {
		case er.StatusCode == http.StatusNotFound:
			return vault.WrapError(vault.ENOTFOUND, err, "Object not found.")
		case er.StatusCode == http.StatusRequestedRangeNotSatisfiable:
			return vault.WrapError(vault.EINVALID, err, "The range starts beyond the end of the object.")
		case er.StatusCode == http.StatusForbidden, er.StatusCode >= 500:
			return vault.WrapError(vault.EUNAVAILABLE, err, "%s", msg)
		}
		return vault.WrapError(vault.EINTERNAL, err, "%s", msg)
	}
	var ue *url.Error
	var ne net.Error
	if errors.As(err, &ue) || errors.As(err, &ne) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.ErrUnexpectedEOF) {
		return vault.WrapError(vault.EUNAVAILABLE, err, "%s", msg)
	}
	return vault.WrapError(vault.EINTERNAL, err, "%s", msg)
}

func ctxError(err error) error {
	return vault.WrapError(vault.EUNAVAILABLE, err, "The operation was cancelled.")
}
