package vault

import "context"

// loginMinChecks is the number of password checks every sign-in costs at
// least. An email has one account per firm that uses it; a sign-in checks
// the password against each of them and pads with checks against a dummy
// hash up to loginMinChecks, so that its work says nothing about how many
// accounts the email has, up to that number, nor about which of them the
// password opens. An email with more accounts than that costs one check
// per account (docs/THREAT-MODEL.md, "Accounts belong to their firm").
const loginMinChecks = 3

// checkCredentials finds the accounts of an email (account, normalised) in
// every region and checks password against each, with no early exit: every
// account's hash is checked, disabled or not, and dummy hashes pad the
// checks to loginMinChecks. It returns the one account to sign in to: the
// only one password opens, or the one of firm tenantID when tenantID is not
// "". Otherwise it returns unauthorized with the accounts the attempt was
// against (those of tenantID when it is given), for the record of the
// failure, or choose_firm listing the firms of the accounts password opens
// when there are several and no firm is chosen. Errors: unauthorized,
// choose_firm, and the store's and indexer's errors.
func (s *Service) checkCredentials(ctx context.Context, account, password, tenantID string) (*User, []*User, error) {
	candidates, err := s.usersByEmail(ctx, account)
	if err != nil {
		return nil, nil, err
	}
	var opened []*User
	dummy := s.dummyHash()
	for i := range max(len(candidates), loginMinChecks) {
		if i >= len(candidates) {
			CheckPassword(dummy, password)
			continue
		}
		u := candidates[i]
		if CheckPassword(u.PasswordHash, password) && !u.Disabled {
			opened = append(opened, u)
		}
	}

	targets := candidates
	if tenantID != "" {
		targets, opened = inFirm(candidates, tenantID), inFirm(opened, tenantID)
	}
	switch len(opened) {
	case 0:
		return nil, targets, Errorf(EUNAUTHORIZED, msgBadLogin)
	case 1:
		return opened[0], nil, nil
	}
	return nil, nil, s.chooseFirm(ctx, opened)
}

// usersByEmail returns the accounts of a normalised email in every firm of
// every region: it looks the email's index under each region's key up at
// once.
func (s *Service) usersByEmail(ctx context.Context, account string) ([]*User, error) {
	if s.Indexer == nil {
		return nil, Errorf(EINTERNAL, "Blind indexer is not configured.")
	}
	regions := s.Indexer.Regions()
	indexes := make([][]byte, 0, len(regions))
	for _, r := range regions {
		ix, err := EmailIndex(ctx, s.Indexer, r, account)
		if err != nil {
			return nil, err
		}
		indexes = append(indexes, ix)
	}
	return s.Store.UsersByEmailIndex(ctx, withDirectoryIndex(ctx, s.Indexer, account, indexes))
}

// withDirectoryIndex adds to indexes the email's index under the
// service-wide key: no user row has it, but a store that routes firms to
// cells (vault/cell) finds by it, in its directory, the regions whose cells
// have a user with that email, even regions whose keys this process does
// not hold. Without a service-wide key the indexes go as they are.
func withDirectoryIndex(ctx context.Context, ix Indexer, email string, indexes [][]byte) [][]byte {
	if d, err := DirectoryEmailIndex(ctx, ix, email); err == nil {
		return append(indexes, d)
	}
	return indexes
}

// DirectoryEmailIndex is the index by which a directory of cells finds an
// email: its IndexEmail index under the service-wide key (region "").
func DirectoryEmailIndex(ctx context.Context, ix Indexer, email string) ([]byte, error) {
	return EmailIndex(ctx, ix, "", email)
}

// inFirm returns the users of us that belong to tenantID.
func inFirm(us []*User, tenantID string) []*User {
	var out []*User
	for _, u := range us {
		if u.TenantID == tenantID {
			out = append(out, u)
		}
	}
	return out
}

// chooseFirm is the choose_firm answer for the accounts a password opened:
// their firms, oldest first, and nothing of any other. Only someone who
// knows the password of each of those accounts gets it.
func (s *Service) chooseFirm(ctx context.Context, opened []*User) error {
	firms := make([]FirmChoice, 0, len(opened))
	for _, u := range opened {
		t, err := s.Store.Tenant(ctx, u.TenantID)
		if err != nil {
			return err
		}
		firms = append(firms, FirmChoice{TenantID: t.ID, Name: t.Name})
	}
	e := Errorf(ECHOOSEFIRM, "This email and password open accounts in %d firms: choose one and sign in again with its tenant_id.", len(firms))
	e.Firms = firms
	return e
}
