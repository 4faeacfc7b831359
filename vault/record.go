package vault

import (
	"context"
	"strconv"
)

// Audit actions. docs/AUDIT-FORMAT.md lists them with their details.
const (
	ActSetup            = "setup"
	ActLogin            = "login"
	ActLoginFailed      = "login_failed"
	ActLogout           = "logout"
	ActTokenCreate      = "token.create"
	ActTokenRevoke      = "token.revoke"
	ActTenantCreate     = "tenant.create"
	ActUserCreate       = "user.create"
	ActUserUpdate       = "user.update"
	ActUserRoleChange   = "user.role_change"
	ActUserDisable      = "user.disable"
	ActUserEnable       = "user.enable"
	ActUserPassword     = "user.password_change"
	ActUserReset        = "user.password_reset"
	ActMatterCreate     = "matter.create"
	ActMatterRename     = "matter.rename"
	ActMatterClose      = "matter.close"
	ActMatterReopen     = "matter.reopen"
	ActCannotDecrypt    = "cannot_decrypt"
	ActDocumentUpload   = "document.upload"
	ActDocumentVersion  = "document.version"
	ActDocumentView     = "document.view"
	ActDocumentDownload = "document.download"
	ActReadComplete     = "document.read_complete"
	ActReadAbort        = "document.read_abort"
	ActDocumentRename   = "document.rename"
	ActDocumentMove     = "document.move"
	ActDocumentTrash    = "document.trash"
	ActDocumentRestore  = "document.restore"
	ActGrantCreate      = "grant.create"
	ActGrantRevoke      = "grant.revoke"
	ActGrantExpire      = "grant.expire"
	ActWallAdd          = "wall.add"
	ActWallRemove       = "wall.remove"
	ActAccessDenied     = "access.denied"
	ActAuditRead        = "audit.read"
	ActAuditExport      = "audit.export"
	ActKeysRotate       = "keys.rotate"
)

// Audit actions of multi-factor sign-in (issue #16).
const (
	ActMFATOTPEnrol          = "mfa.totp_enrol"          // confirmed an authenticator app
	ActMFATOTPRemove         = "mfa.totp_remove"         // removed their authenticator app
	ActMFARecoveryUsed       = "mfa.recovery_used"       // spent a recovery code
	ActMFARecoveryRegenerate = "mfa.recovery_regenerate" // replaced their recovery codes
	ActMFACodeFailed         = "mfa.code_failed"         // a wrong, reused or late code or recovery code
	ActMFAPolicy             = "mfa.policy"              // the owner changed the firm's MFA policy
	ActMFAReset              = "mfa.reset"               // an admin or the operator removed a user's factors

	// Passkeys (issue #16).
	ActPasskeyRegister = "passkey.register"  // registered a passkey
	ActPasskeyRemove   = "passkey.remove"    // removed their passkey
	ActPasskeyPolicy   = "passkey.policy"    // the owner turned passkey sign-in on or off
	ActTokenFirmRevoke = "token.firm_revoke" // an admin revoked another user's API token
)

// Audit actions of single sign-on (issue #16, vault/sso.go).
const (
	ActSSOConfigure = "sso.configure" // an owner saved the firm's OpenID Connect provider
	ActSSODisable   = "sso.disable"   // an owner removed it
	ActSSORefused   = "sso.refused"   // a sign-in callback was refused; details.reason says why
)

// Audit outcomes.
const (
	OutcomeOK     = "ok"
	OutcomeDenied = "denied"
	OutcomeError  = "error"
)

// event starts an audit event caused by actor (nil: anonymous).
func event(actor *User, action, objectType, objectID string) AuditEvent {
	ev := AuditEvent{Action: action, ObjectType: objectType, ObjectID: objectID, Outcome: OutcomeOK,
		Details: map[string]string{}, Private: map[string]string{}}
	if actor != nil {
		ev.TenantID, ev.ActorID, ev.ActorEmail = actor.TenantID, actor.ID, actor.Email
	}
	return ev
}

// operatorEvent starts an audit event caused from the command line.
func operatorEvent(tenantID, action, objectType, objectID string) AuditEvent {
	ev := event(nil, action, objectType, objectID)
	ev.TenantID, ev.ActorID = tenantID, ActorOperator
	return ev
}

// record appends ev to the audit log before the action it describes takes
// effect. When the log cannot be written the action must not happen: the
// error is unavailable and says so.
func (s *Service) record(ctx context.Context, ev AuditEvent) (int64, error) {
	if s.Audit == nil {
		return 0, Errorf(EUNAVAILABLE, "The audit log is not configured, so nothing was done.")
	}
	m := RequestMetaFrom(ctx)
	if ev.Source == "" {
		ev.Source = m.Source
	}
	ev.UserAgent = m.UserAgent
	if ev.Time.IsZero() {
		ev.Time = s.now()
	}
	if len(ev.Private) == 0 {
		ev.Private = nil
	}
	seq, err := s.Audit.Append(ctx, &ev)
	if err != nil {
		s.Log.Error().Err(err).Str("action", ev.Action).Str("tenant_id", ev.TenantID).Msg("audit log unavailable")
		return 0, WrapError(EUNAVAILABLE, err, "The audit log cannot be written, so nothing was done. Try again later.")
	}
	return seq, nil
}

// act records events and then does the action they describe: do runs only
// once every event is on record, and nothing runs when one cannot be
// recorded (unavailable). When do fails, each event is followed by its
// failure, so the log never claims an effect that did not happen.
func (s *Service) act(ctx context.Context, do func() error, events ...AuditEvent) error {
	seqs := make([]int64, 0, len(events))
	fail := func(err error) {
		for i, seq := range seqs {
			s.recordFailure(ctx, events[i], seq, err)
		}
	}
	for _, ev := range events {
		seq, err := s.record(ctx, ev)
		if err != nil {
			fail(err)
			return err
		}
		seqs = append(seqs, seq)
	}
	if err := do(); err != nil {
		fail(err)
		return err
	}
	return nil
}

// recordFailure notes that the action of the event recorded as seq failed
// after all, so the log never claims an effect that did not happen. It is
// best effort: the action has already failed with err.
func (s *Service) recordFailure(ctx context.Context, ev AuditEvent, seq int64, err error) {
	ev.Outcome = OutcomeError
	ev.Time = s.now()
	if ev.Details == nil {
		ev.Details = map[string]string{}
	}
	ev.Details["failed_seq"] = strconv.FormatInt(seq, 10)
	ev.Details["error"] = ErrorCode(err)
	if _, rerr := s.record(ctx, ev); rerr != nil {
		s.Log.Error().Err(rerr).Str("tenant_id", ev.TenantID).Str("action", ev.Action).Msg("cannot record a failed action")
	}
}

// denial records that actor was refused perm on an object and returns err,
// the refusal, or unavailable when even the refusal cannot be recorded.
func (s *Service) denial(ctx context.Context, actor *User, objectType, objectID string, perm Permission, err error) error {
	ev := event(actor, ActAccessDenied, objectType, objectID)
	ev.Outcome = OutcomeDenied
	if perm != "" {
		ev.Details["permission"] = string(perm)
	}
	if _, rerr := s.record(ctx, ev); rerr != nil {
		return rerr
	}
	return err
}
