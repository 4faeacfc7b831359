package vault

import (
	"sort"
	"strconv"
	"strings"
	"time"
)

// actionWordings says in words what each audit action records, as the
// audit pages and the PDF report show it. Every action of
// docs/AUDIT-FORMAT.md's table has one (a test checks).
var actionWordings = map[string]string{
	ActSetup:                  "Set up the firm",
	ActTenantCreate:           "Created the firm",
	ActLogin:                  "Signed in",
	ActLoginFailed:            "Failed to sign in",
	ActLogout:                 "Signed out",
	ActTokenCreate:            "Created an API token",
	ActTokenRevoke:            "Revoked an API token",
	ActUserCreate:             "Created a user account",
	ActUserUpdate:             "Changed a user account",
	ActUserRoleChange:         "Changed a user's role",
	ActUserDisable:            "Disabled a user account",
	ActUserEnable:             "Enabled a user account",
	ActUserPassword:           "Changed their own password",
	ActUserReset:              "Reset a user's password",
	ActMatterCreate:           "Opened a matter",
	ActMatterRename:           "Renamed a matter",
	ActMatterClose:            "Closed a matter",
	ActMatterReopen:           "Reopened a matter",
	ActCannotDecrypt:          "Found stored data that cannot be decrypted",
	ActDocumentUpload:         "Uploaded a document",
	ActDocumentVersion:        "Uploaded a new version",
	ActDocumentView:           "Viewed a document",
	ActDocumentDownload:       "Downloaded a document",
	ActReadComplete:           "Finished reading a document",
	ActReadAbort:              "Reading of a document was stopped",
	ActDocumentRename:         "Renamed a document",
	ActDocumentMove:           "Moved a document to another matter",
	ActDocumentTrash:          "Moved a document to the trash",
	ActDocumentRestore:        "Restored a document from the trash",
	ActGrantCreate:            "Granted access",
	ActGrantRevoke:            "Revoked access",
	ActGrantExpire:            "Access expired",
	ActWallAdd:                "Walled a user off a matter",
	ActWallRemove:             "Lifted a wall",
	ActAccessDenied:           "Was refused access",
	ActAuditRead:              "Read the audit log",
	ActAuditExport:            "Exported the audit log",
	ActKeysRotate:             "Rotated the firm's keys",
	ActAlertRaised:            "Breach detection raised an alert",
	ActAlertAcknowledge:       "Acknowledged an alert",
	ActAlertResolve:           "Resolved an alert",
	ActDetectionSettings:      "Changed the breach-detection settings",
	ActUserContain:            "Breach detection suspended a user's sign-ins",
	ActUserRelease:            "Released a suspended user",
	ActBackupDrill:            "A restore drill tested the region's backup",
	ActAuditSinkSet:           "Set the checkpoint sink",
	ActAuditSinkRemoved:       "Removed the checkpoint sink",
	"audit.key_rotated":       "The audit signing key was rotated",
	"audit.rollback_accepted": "The operator accepted a rollback of the audit log",
	"tenant.moved":            "The firm was moved to another region",
	ActShredRequest:           "Requested that the firm be shredded",
	ActShredCancel:            "Cancelled the request to shred the firm",
	ActShred:                  "The operator shredded the firm",
	ActNotifyChannelSet:       "Added a notification channel",
	ActNotifyChannelDelete:    "Deleted a notification channel",
	ActNotifyDelivered:        "A notification was delivered",
	ActNotifyDeadLetter:       "A notification could not be delivered (dead letter)",
	ActNotifyRedrive:          "Queued a dead-letter notification again",
	ActTenantAddon:            "The operator changed the firm's add-ons",
	ActBAAAccept:              "Accepted the business associate agreement",
	ActBAADecline:             "Declined the business associate agreement",
	ActBreachCreate:           "Entered an incident in the breach register",
	ActBreachUpdate:           "Changed a breach-register entry",
	ActBreachExport:           "Exported the breach register",
	ActBreachDelete:           "Deleted a breach-register entry",

	// Multi-factor sign-in (issue #16).
	ActMFATOTPEnrol:          "Enrolled an authenticator app",
	ActMFATOTPRemove:         "Removed their authenticator app",
	ActMFARecoveryUsed:       "Used a recovery code",
	ActMFARecoveryRegenerate: "Replaced their recovery codes",
	ActMFACodeFailed:         "Gave a wrong sign-in code",
	ActMFAPolicy:             "Changed the firm's MFA policy",
	ActMFAReset:              "Removed a user's second factors",
	ActTokenFirmRevoke:       "Revoked a user's API token",
	// Single sign-on (issue #16).
	ActSSOConfigure: "Configured single sign-on",
	ActSSODisable:   "Turned off single sign-on",
	ActSSORefused:   "Was refused by single sign-on",
	// Passkeys (issue #16).
	ActPasskeyRegister: "Registered a passkey",
	ActPasskeyRemove:   "Removed a passkey",
	ActPasskeyPolicy:   "Changed whether passkeys replace passwords",
}

// AuditActions returns every action that has a wording, sorted.
func AuditActions() []string {
	out := make([]string, 0, len(actionWordings))
	for a := range actionWordings {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// ActionWording returns what action records, in words; an action it does
// not know is shown as it is.
func ActionWording(action string) string {
	if w, ok := actionWordings[action]; ok {
		return w
	}
	return action
}

// reasonWordings say why something was refused or stopped.
var reasonWordings = map[string]string{
	"bad_credentials":         "wrong email or password",
	"rate_limited":            "too many attempts",
	"bad_current_password":    "wrong current password",
	"actor_walled":            "the actor is walled off the matter",
	"grant_revoked":           "the grant was revoked",
	"grant_expired":           "the grant expired",
	"permission_lost":         "the permission was lost",
	"user_disabled":           "the user was disabled",
	"walled":                  "the user was walled off",
	"signed_out":              "the session was signed out",
	"token_revoked":           "the API token was revoked",
	"token_expired":           "the API token expired",
	"document_trashed":        "the document was trashed",
	"document_gone":           "the document is gone",
	"check_failed":            "authorization could not be decided",
	"interrupted":             "the connection failed",
	"inherited":               "inherited",
	"role":                    "the actor's role may not",
	"walled_user":             "the actor is the walled user",
	"controlled_account":      "the account is controlled by the walled user",
	"created_after_wall":      "the account was created after the wall",
	"promoted_by_walled_user": "promoted by the walled user",
	"no_grant":                "no grant",
	"cannot_decrypt":          "data could not be decrypted",
	"unavailable":             "a store was unavailable",
	"internal":                "an internal error",
	"disabled":                "the account is disabled",
	"forbidden":               "not allowed",
	"not_found":               "not found",
	"wall":                    "an ethical wall",
	"auditor":                 "auditors never see contents",
	"unknown_account":         "unknown account",
	// Single sign-on refusals (issue #16, vault/sso.go).
	"sso_required":     "the firm requires single sign-on",
	"state":            "the sign-in's state was unknown, used or expired",
	"nonce":            "the ID token's nonce was not this sign-in's",
	"issuer":           "the ID token came from another issuer",
	"audience":         "the ID token was for another client",
	"expired":          "the ID token had expired",
	"email_unverified": "the provider has not verified the email",
	"domain":           "the email is outside the firm's allowed domains",
	"unknown_user":     "no account of the firm has the email",
}

// UserNamer names a user id in words (an email), or returns "" when it
// does not know it.
type UserNamer func(id string) string

// DescribeAuditEvent says in one sentence what r records: the action in
// words, the name of its object when the reader may see it, and its
// details. names (which may be nil) names the users the details mention.
func DescribeAuditEvent(r *AuditRecord, names UserNamer) string {
	var b strings.Builder
	b.WriteString(ActionWording(r.Action))
	if r.Action == ActAccessDenied && r.Details["permission"] != "" {
		b.WriteString(" (asked to " + r.Details["permission"] + ")")
	}
	switch name := r.Private["name"]; {
	case r.Withheld:
		b.WriteString(" [name withheld: walled]")
	case r.Sealed:
		b.WriteString(" [name sealed]")
	case name != "":
		if old := r.Private["old_name"]; old != "" {
			b.WriteString(" \u201c" + old + "\u201d to")
		}
		b.WriteString(" \u201c" + name + "\u201d")
		if c := r.Private["client"]; c != "" {
			b.WriteString(" (client \u201c" + c + "\u201d)")
		}
	}
	if parts := detailWords(r, names); len(parts) > 0 {
		b.WriteString(": " + strings.Join(parts, "; "))
	}
	return b.String()
}

// user names a user id for a sentence.
func user(id string, names UserNamer) string {
	if names != nil {
		if n := names(id); n != "" {
			return n
		}
	}
	return "user " + id
}

// detailWords says an event's details in words, in a fixed order.
func detailWords(r *AuditRecord, names UserNamer) []string {
	d := r.Details
	var out []string
	add := func(s string) { out = append(out, s) }
	done := map[string]bool{"matter_id": true, "permission": true}
	if v := d["version"]; v != "" {
		add("version " + v)
	}
	if v := d["size"]; v != "" {
		add(bytesInWords(v))
	}
	if v := d["length"]; v != "" {
		s := bytesInWords(v)
		if o := d["offset"]; o != "" && o != "0" {
			s += " from byte " + o
		}
		add(s)
	}
	if v := d["bytes_sent"]; v != "" {
		add(bytesInWords(v) + " sent")
	}
	if v := d["reason"]; v != "" {
		if w, ok := reasonWordings[v]; ok {
			v = w
		} else {
			v = strings.ReplaceAll(v, "_", " ")
		}
		add("reason: " + v)
	}
	if v := d["old_role"]; v != "" && d["role"] != "" {
		add("role " + v + " \u2192 " + d["role"])
		done["role"] = true
	} else if v := d["role"]; v != "" {
		add("role " + v)
		done["role"] = true
	}
	if v := d["user_id"]; v != "" {
		switch r.Action {
		case ActGrantCreate, ActGrantRevoke, ActGrantExpire:
			add("to " + user(v, names))
		default:
			add(user(v, names))
		}
	}
	if v := d["permissions"]; v != "" {
		add(strings.ReplaceAll(v, ",", ", "))
	}
	if v := d["kind"]; v != "" {
		add(strings.ReplaceAll(v, "_", " "))
	}
	if v := d["opened_seq"]; v != "" {
		add("opened by event #" + v)
	}
	if v := d["expires_at"]; v != "" {
		add("until " + readableTime(v))
	}
	if v := d["to_matter_id"]; v != "" {
		add("to matter " + v)
	}
	if v := d["format"]; v != "" {
		add("as " + strings.ToUpper(v))
	}
	if v := d["read"]; v != "" {
		add("read the " + v)
	}
	if v := d["email"]; v != "" {
		add(v)
	}
	if v := d["owner_email"]; v != "" {
		add("owner " + v)
	}
	if v := d["failed_seq"]; v != "" {
		add("failed after event #" + v)
	}
	var filter []string
	for _, k := range sortedKeys(d) {
		if strings.HasPrefix(k, "filter_") {
			v := d[k]
			if k == "filter_from" || k == "filter_to" {
				v = readableTime(v)
			}
			filter = append(filter, strings.TrimPrefix(k, "filter_")+" "+v)
			done[k] = true
		}
	}
	if len(filter) > 0 {
		add("filter " + strings.Join(filter, ", "))
	}
	for _, k := range []string{"version", "size", "length", "offset", "bytes_sent", "reason", "old_role", "user_id",
		"permissions", "kind", "opened_seq", "expires_at", "to_matter_id", "format", "read", "email", "owner_email", "failed_seq", "document_id"} {
		done[k] = true
	}
	for _, k := range sortedKeys(d) {
		if done[k] || d[k] == "" {
			continue
		}
		add(strings.ReplaceAll(k, "_", " ") + " " + d[k])
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// readableTime shows an RFC 3339 time as "2 Jan 2006 15:04 UTC", or as it is.
func readableTime(s string) string {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return s
	}
	return t.UTC().Format("2 Jan 2006 15:04 UTC")
}

// bytesInWords shows a decimal byte count in words ("48.2 kB", "1 byte").
func bytesInWords(s string) string {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return s + " bytes"
	}
	switch {
	case n == 1:
		return "1 byte"
	case n < 1000:
		return strconv.FormatInt(n, 10) + " bytes"
	}
	f := float64(n)
	for _, u := range []string{"kB", "MB", "GB", "TB"} {
		f /= 1000
		if f < 1000 || u == "TB" {
			return strconv.FormatFloat(f, 'f', 1, 64) + " " + u
		}
	}
	return s + " bytes"
}
