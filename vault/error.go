package vault

import (
	"errors"
	"fmt"
	"time"
)

// Error codes. They are stable: the HTTP API returns them to clients and
// maps each to one status in a single table (see package web).
const (
	EINVALID       = "invalid"        // the input is malformed or breaks a rule
	EUNAUTHORIZED  = "unauthorized"   // no valid credentials
	EFORBIDDEN     = "forbidden"      // authenticated but not allowed
	ENOTFOUND      = "not_found"      // does not exist, or belongs to another tenant
	ECONFLICT      = "conflict"       // clashes with existing state
	ETOOLARGE      = "too_large"      // a body or document exceeds a configured limit
	ERATELIMITED   = "rate_limited"   // too many attempts; try again later
	EUNAVAILABLE   = "unavailable"    // a dependency (store, audit log) cannot be reached
	ECANNOTDECRYPT = "cannot_decrypt" // ciphertext failed authentication: tampered, truncated or misplaced
	EINTERNAL      = "internal"       // anything else; shown to users as "Internal error."
	ECHOOSEFIRM    = "choose_firm"    // sign-in: the email and password open accounts in several firms; Error.Firms lists them
)

// EPASSWORDCHANGE is the code of every request but a password change or a
// sign-out from a user who signed in with a one-time password (after a
// reset) and has not changed it yet. Mapped to 403 like forbidden.
const EPASSWORDCHANGE = "password_change_required"

// EMFAREQUIRED is the code of a sign-in whose password was right but that
// needs a second factor: Error.MFA carries the challenge to answer with
// Service.CompleteMFA. Mapped to 200 by the sign-in route (it is a step,
// not a failure) and 401 elsewhere.
const EMFAREQUIRED = "mfa_required"

// EMFAENROL is the code of every request but enrolling a second factor,
// reading one's own account and signing out, from a user the firm's MFA
// policy applies to who has no second factor yet. Mapped to 403.
const EMFAENROL = "mfa_enrolment_required"

// ERETENTION is the code of a deletion refused because what it would delete
// must still be kept (a breach-register entry younger than 24 months).
// Mapped to 409 like conflict.
const ERETENTION = "retention"

// Error is the error type of the vault domain. Code is machine-readable,
// Message is safe to show to a user, and Err is the underlying cause, kept for
// logs and never shown.
type Error struct {
	Code    string
	Message string
	Err     error
	// RetryAfter, for rate_limited, is how long until another attempt can
	// succeed.
	RetryAfter time.Duration
	// Firms, for choose_firm, are the firms whose account the sign-in's
	// email and password open.
	Firms []FirmChoice
	// MFA, for mfa_required, is the challenge the sign-in's second step
	// answers (see Service.CompleteMFA).
	MFA *MFAChallenge
}

// Error returns the message, followed by the cause when there is one.
func (e *Error) Error() string {
	switch {
	case e.Err != nil && e.Message != "":
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	case e.Err != nil:
		return fmt.Sprintf("%s: %v", e.Code, e.Err)
	default:
		return fmt.Sprintf("%s: %s", e.Code, e.Message)
	}
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted user-safe message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// WrapError returns an *Error with the given code and message that wraps err.
func WrapError(code string, err error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// ErrorCode returns the code of the first *Error in err's chain, or EINTERNAL
// for any other non-nil error, or "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-safe message of the first *Error in err's
// chain, or "Internal error." for any other error.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) && e.Code != EINTERNAL && e.Message != "" {
		return e.Message
	}
	return "Internal error."
}

// IsCode reports whether err carries the given code.
func IsCode(err error, code string) bool { return ErrorCode(err) == code }

// RetryAfter returns the wait of the first *Error in err's chain that
// carries one, or 0.
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// FirmChoices returns the firms of the first *Error in err's chain that
// carries them (choose_firm), or nil.
func FirmChoices(err error) []FirmChoice {
	var e *Error
	if errors.As(err, &e) {
		return e.Firms
	}
	return nil
}

// MFAChallengeOf returns the challenge of the first *Error in err's chain
// that carries one (mfa_required), or nil.
func MFAChallengeOf(err error) *MFAChallenge {
	var e *Error
	if errors.As(err, &e) {
		return e.MFA
	}
	return nil
}
