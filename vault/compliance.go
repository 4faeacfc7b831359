package vault

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/casevault/casevault/compliance"
)

// Compliance audit actions (issue #15): docs/AUDIT-FORMAT.md lists them.
const (
	ActTenantAddon = "tenant.addon" // the operator turned a firm's add-on on or off
	ActBAAAccept   = "baa.accept"   // the owner accepted a BAA version
	ActBAADecline  = "baa.decline"  // the owner declined a BAA version
)

// AddonHIPAA is the HIPAA add-on: the firm may accept a business associate
// agreement. Only firms in a region whose country is the United States may
// have it.
const AddonHIPAA = "hipaa"

// CountryUS is the ISO 3166-1 code of the one country whose firms may have
// the HIPAA add-on.
const CountryUS = "US"

// BAA statuses, as the owner sees them.
const (
	BAAPending    = "pending"    // the current version, not decided yet
	BAAAccepted   = "accepted"   // the owner accepted this version
	BAADeclined   = "declined"   // the owner declined this version
	BAASuperseded = "superseded" // an older version nobody decided on
)

// BAADecision is the owner's last decision on one BAA version.
type BAADecision struct {
	TenantID   string
	Version    string
	Decision   string // BAAAccepted or BAADeclined
	TextSHA256 string // hex SHA-256 of the exact text served
	DecidedBy  string // the owner's user id
	DecidedAt  time.Time
	Seq        int64 // the audit event that recorded it
}

// ComplianceStore keeps firms' add-ons and BAA decisions. Implemented by
// vault/sqlite; vault/cell routes it to the firm's cell.
type ComplianceStore interface {
	// TenantAddons returns the add-ons that are on for tenantID.
	// Errors: unavailable.
	TenantAddons(ctx context.Context, tenantID string) ([]string, error)
	// SetTenantAddon turns addon on or off for tenantID.
	// Errors: not_found (tenant), invalid.
	SetTenantAddon(ctx context.Context, tenantID, addon string, on bool) error
	// BAADecisions returns tenantID's decisions, by version.
	// Errors: unavailable.
	BAADecisions(ctx context.Context, tenantID string) ([]*BAADecision, error)
	// PutBAADecision records d, replacing an earlier decision on the same
	// version. Errors: not_found (tenant), invalid.
	PutBAADecision(ctx context.Context, d *BAADecision) error
}

// complianceStore returns the store's ComplianceStore. Errors: unavailable.
func (s *Service) complianceStore() (ComplianceStore, error) {
	cs, ok := s.Store.(ComplianceStore)
	if !ok {
		return nil, Errorf(EUNAVAILABLE, "Compliance records are not supported by this store.")
	}
	return cs, nil
}

// TenantAddonState is a firm's add-ons as the operator sees them.
type TenantAddonState struct {
	TenantID string `json:"tenant_id"`
	Region   string `json:"region"`
	Country  string `json:"country,omitempty"`
	HIPAA    bool   `json:"hipaa"`
	// Changed is false when the add-on already was as asked.
	Changed bool `json:"changed"`
}

// regionCountry returns the ISO 3166-1 country of region, "" when the
// configuration names none.
func (s *Service) regionCountry(region string) string {
	return strings.ToUpper(s.RegionCountries[region])
}

// SetTenantAddon turns add-on addon of firm tenantID on or off, for the
// operator. The HIPAA add-on is refused (forbidden, recorded as a denied
// tenant.addon, nothing changes) to a firm whose region is not in the
// United States. The change is recorded as tenant.addon before it takes
// effect. Errors: not_found, invalid, forbidden, unavailable.
func (s *Service) SetTenantAddon(ctx context.Context, tenantID, addon string, on bool) (*TenantAddonState, error) {
	if addon != AddonHIPAA {
		return nil, Errorf(EINVALID, "Unknown add-on %q (known: %s).", addon, AddonHIPAA)
	}
	cs, err := s.complianceStore()
	if err != nil {
		return nil, err
	}
	t, err := s.Store.Tenant(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	st := &TenantAddonState{TenantID: t.ID, Region: t.Region, Country: s.regionCountry(t.Region)}
	have, err := cs.TenantAddons(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	for _, a := range have {
		st.HIPAA = st.HIPAA || a == AddonHIPAA
	}
	ev := operatorEvent(t.ID, ActTenantAddon, "tenant", t.ID)
	ev.Details["addon"], ev.Details["enabled"], ev.Details["region"] = addon, strconv.FormatBool(on), t.Region
	if on && st.Country != CountryUS {
		ev.Outcome = OutcomeDenied
		ev.Details["country"] = st.Country
		if _, err := s.record(ctx, ev); err != nil {
			return nil, err
		}
		country := st.Country
		if country == "" {
			country = "none configured"
		}
		return nil, Errorf(EFORBIDDEN, "The HIPAA add-on is available only to firms in a US region: firm %s is in region %s (country: %s). Nothing was changed.",
			t.ID, t.Region, country)
	}
	if st.HIPAA == on {
		return st, nil
	}
	if err := s.act(ctx, func() error { return cs.SetTenantAddon(ctx, t.ID, addon, on) }, ev); err != nil {
		return nil, err
	}
	st.HIPAA, st.Changed = on, true
	s.Log.Info().Str("tenant_id", t.ID).Str("addon", addon).Bool("enabled", on).Msg("tenant add-on changed")
	return st, nil
}

// Agreement is one version of the business associate agreement as the
// firm's owner sees it.
type Agreement struct {
	Version string `json:"version"`
	Title   string `json:"title"`
	// SHA256 is the hex SHA-256 of Text, the exact bytes served; an
	// acceptance must carry it.
	SHA256 string `json:"sha256"`
	// Current is set on the newest version, the one to accept.
	Current bool   `json:"current"`
	Status  string `json:"status"`
	// DecidedAt and DecidedBy say when and by whom, once decided.
	DecidedAt *time.Time `json:"decided_at,omitempty"`
	DecidedBy string     `json:"decided_by,omitempty"`
	// Text is the full text (markdown), on a single agreement's answer.
	Text string `json:"text,omitempty"`
}

// baaText is one shipped version.
type baaText struct {
	version string
	num     int
	text    string
}

// baaTexts reads the shipped BAA versions (s.AgreementTexts, default
// compliance.BAA), oldest first: files baa/vN.md.
func (s *Service) baaTexts() ([]baaText, error) {
	fsys := s.AgreementTexts
	if fsys == nil {
		fsys = compliance.BAA
	}
	names, err := fs.Glob(fsys, "baa/v*.md")
	if err != nil {
		return nil, WrapError(EINTERNAL, err, "Cannot list the agreement texts.")
	}
	var out []baaText
	for _, n := range names {
		v := strings.TrimSuffix(path.Base(n), ".md")
		num, err := strconv.Atoi(v[1:])
		if err != nil || num < 1 {
			continue
		}
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, WrapError(EINTERNAL, err, "Cannot read agreement %s.", v)
		}
		out = append(out, baaText{version: v, num: num, text: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].num < out[j].num })
	return out, nil
}

// TextSHA256 returns the hex SHA-256 of text, as acceptances record it.
func TextSHA256(text string) string {
	sum := sha256.Sum256([]byte(text))
	return hex.EncodeToString(sum[:])
}

func baaTitle(text, version string) string {
	first, _, _ := strings.Cut(text, "\n")
	if t := strings.TrimSpace(strings.TrimLeft(first, "#")); t != "" {
		return t
	}
	return "Business Associate Agreement " + version
}

// checkOwner allows the firm's owner only.
func checkOwner(actor *User, what string) error {
	if err := checkActor(actor); err != nil {
		return err
	}
	if actor.Role != RoleOwner {
		return Errorf(EFORBIDDEN, "Only the firm's owner can %s.", what)
	}
	return nil
}

// agreements returns the firm's view of every version, oldest first, and
// whether the HIPAA add-on is on.
func (s *Service) agreements(ctx context.Context, tenantID string) ([]*Agreement, []baaText, bool, error) {
	cs, err := s.complianceStore()
	if err != nil {
		return nil, nil, false, err
	}
	addons, err := cs.TenantAddons(ctx, tenantID)
	if err != nil {
		return nil, nil, false, err
	}
	on := false
	for _, a := range addons {
		on = on || a == AddonHIPAA
	}
	if !on {
		return nil, nil, false, nil
	}
	texts, err := s.baaTexts()
	if err != nil {
		return nil, nil, false, err
	}
	decs, err := cs.BAADecisions(ctx, tenantID)
	if err != nil {
		return nil, nil, false, err
	}
	byVersion := map[string]*BAADecision{}
	for _, d := range decs {
		byVersion[d.Version] = d
	}
	out := make([]*Agreement, 0, len(texts))
	for i, t := range texts {
		a := &Agreement{Version: t.version, Title: baaTitle(t.text, t.version), SHA256: TextSHA256(t.text), Current: i == len(texts)-1}
		switch d := byVersion[t.version]; {
		case d != nil:
			at := d.DecidedAt
			a.Status, a.DecidedAt, a.DecidedBy = d.Decision, &at, d.DecidedBy
		case a.Current:
			a.Status = BAAPending
		default:
			a.Status = BAASuperseded
		}
		out = append(out, a)
	}
	return out, texts, true, nil
}

// Agreements lists the versions of the business associate agreement for
// the firm's owner, newest first; status "pending" keeps only the one
// waiting for a decision. A firm without the HIPAA add-on has none.
// Errors: unauthorized, forbidden (not the owner), invalid, unavailable.
func (s *Service) Agreements(ctx context.Context, actor *User, status string) ([]*Agreement, bool, error) {
	if err := checkOwner(actor, "see the firm's business associate agreements"); err != nil {
		return nil, false, err
	}
	if status != "" && status != BAAPending {
		return nil, false, Errorf(EINVALID, "status must be pending or empty (all).")
	}
	all, _, on, err := s.agreements(ctx, actor.TenantID)
	if err != nil {
		return nil, false, err
	}
	out := []*Agreement{}
	for i := len(all) - 1; i >= 0; i-- {
		if status == "" || all[i].Status == status {
			out = append(out, all[i])
		}
	}
	return out, on, nil
}

// Agreement returns one version with its full text, exactly as shipped.
// Errors: unauthorized, forbidden, not_found (no such version, or no
// HIPAA add-on), unavailable.
func (s *Service) Agreement(ctx context.Context, actor *User, version string) (*Agreement, error) {
	if err := checkOwner(actor, "read the firm's business associate agreements"); err != nil {
		return nil, err
	}
	all, texts, _, err := s.agreements(ctx, actor.TenantID)
	if err != nil {
		return nil, err
	}
	for i, a := range all {
		if a.Version == version {
			a.Text = texts[i].text
			return a, nil
		}
	}
	return nil, Errorf(ENOTFOUND, "Agreement not found.")
}

// AcceptAgreement records that the owner accepts version, whose text they
// were served with SHA-256 textSHA256 (hex): a hash that is not the
// text's is refused (conflict), so what is recorded is what was read. Only
// the current version may be accepted. The baa.accept event carries the
// version and hash, with the owner, time, source and user agent of every
// event, before the decision is stored. Errors: unauthorized, forbidden,
// not_found, conflict, unavailable.
func (s *Service) AcceptAgreement(ctx context.Context, actor *User, version, textSHA256 string) (*Agreement, error) {
	return s.decideAgreement(ctx, actor, version, textSHA256, BAAAccepted)
}

// DeclineAgreement records that the owner declines version (hash as for
// AcceptAgreement). An accepted version cannot be declined afterwards.
// Errors: as AcceptAgreement.
func (s *Service) DeclineAgreement(ctx context.Context, actor *User, version, textSHA256 string) (*Agreement, error) {
	return s.decideAgreement(ctx, actor, version, textSHA256, BAADeclined)
}

func (s *Service) decideAgreement(ctx context.Context, actor *User, version, textSHA256, decision string) (*Agreement, error) {
	verb := map[string]string{BAAAccepted: "accept", BAADeclined: "decline"}[decision]
	if err := checkOwner(actor, verb+" the firm's business associate agreement"); err != nil {
		return nil, err
	}
	a, err := s.Agreement(ctx, actor, version)
	if err != nil {
		return nil, err
	}
	switch {
	case !a.Current:
		return nil, Errorf(ECONFLICT, "Version %s has been replaced by a newer one: read and %s the current version.", version, verb)
	case a.Status == BAAAccepted:
		return nil, Errorf(ECONFLICT, "Version %s is accepted already.", version)
	case a.Status == decision:
		return nil, Errorf(ECONFLICT, "Version %s is declined already.", version)
	case !strings.EqualFold(strings.TrimSpace(textSHA256), a.SHA256):
		return nil, Errorf(ECONFLICT, "The text's SHA-256 you sent is not that of version %s as served: reload it and read it again.", version)
	}
	cs, err := s.complianceStore()
	if err != nil {
		return nil, err
	}
	action := ActBAAAccept
	if decision == BAADeclined {
		action = ActBAADecline
	}
	ev := event(actor, action, "agreement", "baa/"+version)
	ev.Details["version"], ev.Details["sha256"] = version, a.SHA256
	ev.Time = s.now()
	seq, err := s.record(ctx, ev)
	if err != nil {
		return nil, err
	}
	d := &BAADecision{TenantID: actor.TenantID, Version: version, Decision: decision, TextSHA256: a.SHA256,
		DecidedBy: actor.ID, DecidedAt: ev.Time, Seq: seq}
	if err := cs.PutBAADecision(ctx, d); err != nil {
		s.recordFailure(ctx, ev, seq, err)
		return nil, err
	}
	a.Status, a.DecidedAt, a.DecidedBy = decision, &d.DecidedAt, actor.ID
	return a, nil
}
