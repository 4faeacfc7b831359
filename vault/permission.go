package vault

// Permission is one right on a document: view it inline, download it, or
// edit it (new version, rename, move, trash, restore).
type Permission string

// The permissions a grant can give.
const (
	PermRead     Permission = "read"
	PermDownload Permission = "download"
	PermEdit     Permission = "edit"
)

// Valid reports whether p is a known permission.
func (p Permission) Valid() bool {
	switch p {
	case PermRead, PermDownload, PermEdit:
		return true
	}
	return false
}

// checkActor fails unless actor is a signed-in, enabled user.
func checkActor(actor *User) error {
	switch {
	case actor == nil || actor.ID == "" || actor.TenantID == "":
		return Errorf(EUNAUTHORIZED, "Sign in first.")
	case actor.Disabled:
		return Errorf(EFORBIDDEN, "Your account is disabled.")
	}
	return nil
}

// authorize decides whether actor may exercise perm on d. It is the one
// place where document access is decided; everything that reads or changes a
// document goes through it. Until explicit grants exist, a document is
// accessible to its uploader only. The caller has already scoped d to the
// actor's firm, so another firm's document never reaches here.
func authorize(actor *User, d *Document, perm Permission) error {
	if err := checkActor(actor); err != nil {
		return err
	}
	if !perm.Valid() {
		return Errorf(EINTERNAL, "Unknown permission.")
	}
	if actor.TenantID != d.TenantID {
		return Errorf(ENOTFOUND, "Document not found.")
	}
	if actor.Role == RoleAuditor {
		return Errorf(EFORBIDDEN, "Auditors cannot open document contents.")
	}
	if d.CreatedBy == actor.ID {
		return nil
	}
	return Errorf(EFORBIDDEN, "You do not have %s permission on this document.", perm)
}

// canCreateMatter reports whether the role may open matters.
func canCreateMatter(r Role) bool { return r == RoleOwner || r == RoleAdmin || r == RoleLawyer }

// canUpload reports whether the role may upload documents.
func canUpload(r Role) bool { return r == RoleOwner || r == RoleAdmin || r == RoleLawyer }
