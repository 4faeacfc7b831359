package vault

import "context"

// Colleague is how the UI names a user of the actor's firm: the email and
// name, nothing of the account's role, state or history.
type Colleague struct {
	ID    string `json:"id"`
	Email string `json:"email,omitempty"` // "" when it cannot be decrypted
	Name  string `json:"name,omitempty"`
}

// Label is the colleague's name and email as one line, or what of them
// can be read.
func (c Colleague) Label() string {
	switch {
	case c.Name != "" && c.Email != "":
		return c.Name + " <" + c.Email + ">"
	case c.Email != "":
		return c.Email
	case c.Name != "":
		return c.Name
	}
	return "(name unreadable)"
}

// Colleagues names the users of the actor's firm among ids: those who
// uploaded, changed or shared what the actor is shown. Ids that name no
// user of the firm (another firm's, garbage) are left out, so the answer
// says nothing of other firms. Every signed-in user of the firm may ask:
// people are not secret within their firm; documents and matters are.
// Errors: unauthorized.
func (s *Service) Colleagues(ctx context.Context, actor *User, ids []string) (map[string]Colleague, error) {
	if err := checkActor(actor); err != nil {
		return nil, err
	}
	out := make(map[string]Colleague, len(ids))
	for _, id := range ids {
		if _, done := out[id]; done || !ValidID(PrefixUser, id) {
			continue
		}
		u, err := s.Store.User(ctx, actor.TenantID, id)
		if IsCode(err, ENOTFOUND) {
			continue
		} else if err != nil {
			return nil, err
		}
		out[id] = Colleague{ID: u.ID, Email: u.Email, Name: u.Name}
	}
	return out, nil
}

// colleagueByEmail finds the user of the actor's firm with email, through
// the blind index of the firm's region only. Errors: not_found (no such
// user in this firm, whether or not another firm has one).
func (s *Service) colleagueByEmail(ctx context.Context, actor *User, email string) (*User, error) {
	if normalEmail(email) == "" {
		return nil, Errorf(EINVALID, "Email required.")
	}
	region, err := s.tenantRegion(ctx, actor.TenantID)
	if err != nil {
		return nil, err
	}
	ix, err := EmailIndex(ctx, s.Indexer, region, email)
	if err != nil {
		return nil, err
	}
	us, err := s.Store.UsersByEmailIndex(ctx, withDirectoryIndex(ctx, s.Indexer, email, [][]byte{ix}))
	if err != nil {
		return nil, err
	}
	if mine := inFirm(us, actor.TenantID); len(mine) == 1 {
		return mine[0], nil
	}
	return nil, Errorf(ENOTFOUND, "User not found.")
}
