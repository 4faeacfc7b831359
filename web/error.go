package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/casevault/casevault/vault"
)

// MaxJSONBodySize is the largest JSON request body accepted; larger ones
// answer 413 too_large.
const MaxJSONBodySize = 1 << 20

// codeMethodNotAllowed is an error code of the HTTP layer alone: a known
// path asked with a method it does not answer. (So is codeTimeout.)
const codeMethodNotAllowed = "method_not_allowed"

// statusOf is the one table from error codes to HTTP statuses. A code
// missing here is shown to clients as internal.
var statusOf = map[string]int{
	vault.EINVALID:       http.StatusBadRequest,
	vault.EUNAUTHORIZED:  http.StatusUnauthorized,
	vault.EFORBIDDEN:     http.StatusForbidden,
	vault.ENOTFOUND:      http.StatusNotFound,
	codeMethodNotAllowed: http.StatusMethodNotAllowed,
	codeTimeout:          http.StatusRequestTimeout,
	vault.ECONFLICT:      http.StatusConflict,
	vault.ECHOOSEFIRM:    http.StatusConflict,
	vault.ETOOLARGE:      http.StatusRequestEntityTooLarge,
	vault.ERATELIMITED:   http.StatusTooManyRequests,
	vault.EUNAVAILABLE:   http.StatusServiceUnavailable,
	vault.ECANNOTDECRYPT: http.StatusInternalServerError,
	vault.EINTERNAL:      http.StatusInternalServerError,

	// Signed in with a one-time password that must be changed first.
	vault.EPASSWORDCHANGE: http.StatusForbidden,
	// Contained by breach detection until an admin releases the user.
	vault.ESUSPENDED: http.StatusForbidden,
	// A deletion refused by a retention rule (the breach register's 24 months).
	vault.ERETENTION: http.StatusConflict,
	// Multi-factor sign-in: a second factor is needed (the sign-in route
	// answers 200 with the challenge instead), or must be enrolled first.
	vault.EMFAREQUIRED: http.StatusUnauthorized,
	vault.EMFAENROL:    http.StatusForbidden,
	// Single sign-on (issue #16): the firm requires it for password sign-in.
	vault.ESSOREQUIRED: http.StatusForbidden,
}

// ErrorStatusCode returns the HTTP status for an error code; unknown codes
// are 500.
func ErrorStatusCode(code string) int {
	if status, ok := statusOf[code]; ok {
		return status
	}
	return http.StatusInternalServerError
}

// ErrorResponse is the one JSON shape of every error:
// {"error":{"code":"not_found","message":"Document not found."}}.
type ErrorResponse struct {
	Error ErrorBody `json:"error"`
}

// ErrorBody is the inside of an ErrorResponse: a stable machine-readable code
// and a message safe to show to a user, and for choose_firm the firms to
// choose from.
type ErrorBody struct {
	Code    string             `json:"code"`
	Message string             `json:"message"`
	Firms   []vault.FirmChoice `json:"firms,omitempty"`
}

// Messages for codes whose details are never shown.
const (
	msgInternal      = "Internal error."
	msgCannotDecrypt = "Stored ciphertext failed authentication and cannot be decrypted. The incident has been logged."
)

// publicError returns the code and user-safe message shown for err. Causes
// are never shown; codes the table does not know become internal. A
// cannot_decrypt keeps its message, which names what cannot be decrypted
// ("Matter name cannot be decrypted.", "Document cannot be decrypted: part
// 3 failed authentication.").
func publicError(err error) (code, message string) {
	code, message = vault.ErrorCode(err), vault.ErrorMessage(err)
	switch _, known := statusOf[code]; {
	case !known, code == vault.EINTERNAL:
		return vault.EINTERNAL, msgInternal
	case code == vault.ECANNOTDECRYPT && message == msgInternal:
		return code, msgCannotDecrypt
	}
	return code, message
}

// Error writes err as a JSON error response with the status of its code and
// aborts the handler chain. Internal and decryption errors are logged here,
// once, with the request id; their causes are never sent.
func (s *Server) Error(c *gin.Context, err error) {
	code, message := publicError(err)
	s.writeError(c, ErrorStatusCode(code), code, message, err)
}

// writeError writes an error with an explicit status (416 needs one that
// its code, invalid, does not map to).
func (s *Server) writeError(c *gin.Context, status int, code, message string, cause error) {
	s.metrics.errors.WithLabelValues(code).Inc()
	c.Set(ctxErrorCode, code)
	if code == vault.EINTERNAL || code == vault.ECANNOTDECRYPT {
		withFirm(s.Log.Error(), c).Err(cause).Str("request_id", requestID(c)).Str("code", code).
			Str("route", routeOf(c)).Msg("request failed")
	}
	if code == vault.EUNAUTHORIZED {
		c.Header("WWW-Authenticate", `Bearer realm="casevault"`)
	}
	if d := vault.RetryAfter(cause); code == vault.ERATELIMITED && d > 0 {
		c.Header("Retry-After", strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10))
	}
	c.Abort()
	if c.Writer.Written() {
		return // too late for a body; the caller aborts the connection
	}
	body := ErrorBody{Code: code, Message: message}
	if code == vault.ECHOOSEFIRM {
		body.Firms = vault.FirmChoices(cause)
	}
	writeJSON(c, status, ErrorResponse{Error: body})
}

// writeJSON writes v as the JSON response body with status.
func writeJSON(c *gin.Context, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only a programming error gets here; nothing is written yet.
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"error":{"code":"internal","message":"Internal error."}}` + "\n")
	}
	h := c.Writer.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", fmt.Sprint(buf.Len()))
	c.Status(status)
	if c.Request.Method == http.MethodHead || status == http.StatusNoContent || status == http.StatusNotModified {
		c.Writer.WriteHeaderNow()
		return
	}
	c.Writer.Write(buf.Bytes())
}

// decodeJSON reads a JSON request body of at most MaxJSONBodySize bytes
// into v: one object, no unknown fields, nothing after it. Errors: invalid,
// too_large.
func decodeJSON(c *gin.Context, v any) error {
	body := http.MaxBytesReader(rawWriter(c), c.Request.Body, MaxJSONBodySize)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return jsonError(err)
		}
		return vault.Errorf(vault.EINVALID, "Request body must hold one JSON object and nothing after it.")
	}
	return nil
}

// rawWriter returns the net/http ResponseWriter under gin's. MaxBytesReader
// needs it: only the server's own writer learns that the limit was hit, and
// then closes the connection instead of draining the rest of the body.
func rawWriter(c *gin.Context) http.ResponseWriter {
	if u, ok := c.Writer.(interface{ Unwrap() http.ResponseWriter }); ok {
		return u.Unwrap()
	}
	return c.Writer
}

// jsonError turns an encoding/json error into a clear invalid or too_large.
func jsonError(err error) error {
	var (
		tooLarge *http.MaxBytesError
		syntax   *json.SyntaxError
		typ      *json.UnmarshalTypeError
		when     *time.ParseError
	)
	switch {
	case errors.As(err, &tooLarge):
		return vault.Errorf(vault.ETOOLARGE, "Request body is larger than %d bytes.", MaxJSONBodySize)
	case errors.Is(err, io.EOF):
		return vault.Errorf(vault.EINVALID, "Request body must be a JSON object.")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return vault.Errorf(vault.EINVALID, "Request body is not valid JSON: it ends too early.")
	case errors.As(err, &syntax):
		return vault.Errorf(vault.EINVALID, "Request body is not valid JSON (at byte %d).", syntax.Offset)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return vault.Errorf(vault.EINVALID, "Request body must be a JSON object.")
		}
		return vault.Errorf(vault.EINVALID, "Field %q must be %s.", typ.Field, jsonKind(typ.Type.Kind().String()))
	case errors.As(err, &when):
		return vault.Errorf(vault.EINVALID, "Times must be RFC 3339, like \"2026-12-31T23:59:59Z\".")
	}
	if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return vault.Errorf(vault.EINVALID, "Unknown field %s.", field)
	}
	return vault.WrapError(vault.EINVALID, err, "Request body is not valid JSON.")
}

// jsonKind names a Go kind as a JSON type, for messages.
func jsonKind(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "struct", "map":
		return "an object"
	case "slice", "array":
		return "an array"
	case "ptr":
		return "a value of another type"
	}
	return "a number"
}
