package vault

import (
	"context"
	"encoding/json"
)

// DetectionSettingsOf returns the actor's firm's detection settings (the
// defaults until an owner changes them). Owners and admins read them.
// Errors: unauthorized, forbidden, unavailable.
func (s *Service) DetectionSettingsOf(ctx context.Context, actor *User) (DetectionSettings, error) {
	if err := checkActor(actor); err != nil {
		return DetectionSettings{}, err
	}
	if !canAdminister(actor.Role) {
		return DetectionSettings{}, Errorf(EFORBIDDEN, "Only owners and admins see the detection settings.")
	}
	return s.LoadDetectionSettings(ctx, actor.TenantID)
}

// LoadDetectionSettings returns tenantID's detection settings, the
// defaults when none are stored. The detector reads them once per firm.
// Errors: unavailable.
func (s *Service) LoadDetectionSettings(ctx context.Context, tenantID string) (DetectionSettings, error) {
	ds, err := s.detectionStore()
	if err != nil {
		return DetectionSettings{}, err
	}
	st, ok, err := ds.DetectionSettings(ctx, tenantID)
	if err != nil {
		return DetectionSettings{}, err
	}
	if !ok {
		return DefaultDetectionSettings(), nil
	}
	return st.Normalize()
}

// SetDetectionSettings replaces the actor's firm's detection settings,
// recorded as detection.settings with the new settings in its details.
// Rules left out keep their defaults. Only the owner may. The Service's
// Detector, when given, applies them at once.
// Errors: unauthorized, forbidden, invalid, unavailable.
func (s *Service) SetDetectionSettings(ctx context.Context, actor *User, st DetectionSettings) (DetectionSettings, error) {
	if err := checkActor(actor); err != nil {
		return DetectionSettings{}, err
	}
	if actor.Role != RoleOwner {
		return DetectionSettings{}, Errorf(EFORBIDDEN, "Only the firm's owner changes the detection settings.")
	}
	st, err := st.Normalize()
	if err != nil {
		return DetectionSettings{}, err
	}
	ds, err := s.detectionStore()
	if err != nil {
		return DetectionSettings{}, err
	}
	b, err := json.Marshal(st)
	if err != nil {
		return DetectionSettings{}, WrapError(EINTERNAL, err, "Cannot encode the settings.")
	}
	ev := event(actor, ActDetectionSettings, "tenant", actor.TenantID)
	ev.Details["settings"] = string(b)
	if err := s.act(ctx, func() error { return ds.SetDetectionSettings(ctx, actor.TenantID, st, s.now()) }, ev); err != nil {
		return DetectionSettings{}, err
	}
	if s.Detector != nil {
		s.Detector.Configure(actor.TenantID, st)
	}
	return st, nil
}
