package vault_test

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/casevault/casevault/vault"
)

// Issue #4: with 10,000 grants and 1,000 walls in the database, what does
// one authorization check cost (target p99 < 1 ms), and what does listing
// a matter of 1,000 documents cost a lawyer? Run it with
//
//	go test -run '^$' -bench Authorization -benchtime 1x ./vault/
//
// The fixture takes a while to build (thousands of real uploads and
// single-row commits, each synced), and is built once per run: the measured
// part is inside b.Loop. TestAuthorization_Fixture builds a small fixture
// the same way and checks the service's answers against the fixture's own
// records, so the figures are of a data set whose answers are known right.

// authzSize is the shape of an authorization fixture. Users come besides the
// firm's owner; Lawyers includes the benchmark lawyer.
type authzSize struct {
	Lawyers, Admins, Auditors, Disabled int
	Matters                             int // including the big matter
	BigDocs                             int // documents in the big matter
	OtherDocs                           int // documents spread over the other matters
	Grants                              int // every grant, revoked and expired included
	Walls                               int
	Trashed                             int
}

var (
	// benchAuthzSize is the data set issue #4 asks for: about 200 users,
	// 100 matters, a big matter of 1,000 documents among 4,000, 10,000
	// grants and 1,000 walls.
	benchAuthzSize = authzSize{
		Lawyers: 180, Admins: 15, Auditors: 2, Disabled: 2,
		Matters: 100, BigDocs: 1000, OtherDocs: 3000,
		Grants: 10000, Walls: 1000, Trashed: 60,
	}
	// smallAuthzSize is small enough to check every (user, document) pair.
	smallAuthzSize = authzSize{
		Lawyers: 14, Admins: 2, Auditors: 1, Disabled: 2,
		Matters: 5, BigDocs: 20, OtherDocs: 30,
		Grants: 200, Walls: 20, Trashed: 4,
	}
)

// authzFixture is one firm with users, matters, documents, grants and walls,
// and the records it made, from which it computes the expected answers
// itself.
type authzFixture struct {
	e       *env
	tenant  *vault.Tenant
	owner   *vault.User
	users   []*vault.User // everyone, owner first, with their final Disabled flag
	lawyers []*vault.User // enabled lawyers, the benchmark lawyer first
	lawyer  *vault.User   // the benchmark lawyer
	matters []*vault.Matter
	big     *vault.Matter // matters[0]
	docs    []*vault.Document
	grants  []*vault.Grant // as stored, RevokedAt set on revoked ones
	walls   []*vault.Wall
	now     time.Time

	walled      map[[2]string]bool // (matter id, user id)
	phases      []string           // how long each part of the build took
	grantsOf    map[string][]*vault.Grant
	trashed     int
	matterGrant int
	revoked     int
	expired     int
}

// permOrder is the canonical order of permissions, restated here so the
// expected answers do not lean on the package's own helpers.
var permOrder = []vault.Permission{vault.PermRead, vault.PermDownload, vault.PermEdit}

// permList returns the permissions of a bit mask over permOrder.
func permList(mask int) []vault.Permission {
	out := []vault.Permission{}
	for i, p := range permOrder {
		if mask&(1<<i) != 0 {
			out = append(out, p)
		}
	}
	return out
}

// permMask is the inverse of permList.
func permMask(ps []vault.Permission) int {
	m := 0
	for _, p := range ps {
		m |= 1 << slices.Index(permOrder, p)
	}
	return m
}

// parallel runs fn(0..n-1) on a few goroutines and returns the first error.
// Uploads spend most of their time in fsync, which overlaps.
func parallel(n, workers int, fn func(i int) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		next  = make(chan int)
	)
	for range workers {
		wg.Go(func() {
			for i := range next {
				if err := fn(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return first
}

// newAuthzFixture builds a fixture of size sz, deterministically for seed
// apart from ids. Documents go in through the service; grants and walls
// through the store, so that grants can be created already expired and
// walls can stand over existing grants and uploads.
func newAuthzFixture(tb testing.TB, sz authzSize, seed uint64) *authzFixture {
	tb.Helper()
	ctx := context.Background()
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	e := newEnv(tb, nil)
	tenant, owner := e.firm(tb, "Authz LLP", "us")
	f := &authzFixture{
		e: e, tenant: tenant, owner: owner, users: []*vault.User{owner}, now: e.clock.Now(),
		walled: map[[2]string]bool{}, grantsOf: map[string][]*vault.Grant{},
	}

	// Users. uploaders may upload (owner, admins, lawyers, the disabled-to-be);
	// grantees are everyone but the benchmark lawyer, whose grants are
	// placed by hand below.
	phase := time.Now()
	lap := func(name string) {
		f.phases = append(f.phases, fmt.Sprintf("%s %.1fs", name, time.Since(phase).Seconds()))
		phase = time.Now()
	}
	var admins, auditors, disabled []*vault.User
	for range sz.Lawyers {
		u := e.user(tb, tenant.ID, vault.RoleLawyer)
		f.users, f.lawyers = append(f.users, u), append(f.lawyers, u)
	}
	for range sz.Admins {
		u := e.user(tb, tenant.ID, vault.RoleAdmin)
		f.users, admins = append(f.users, u), append(admins, u)
	}
	for range sz.Auditors {
		u := e.user(tb, tenant.ID, vault.RoleAuditor)
		f.users, auditors = append(f.users, u), append(auditors, u)
	}
	for range sz.Disabled {
		u := e.user(tb, tenant.ID, vault.RoleLawyer)
		f.users, disabled = append(f.users, u), append(disabled, u)
	}
	f.lawyer = f.lawyers[0]
	uploaders := slices.Concat([]*vault.User{owner}, f.lawyers, admins, disabled)
	grantees := slices.Concat([]*vault.User{owner}, f.lawyers[1:], admins, auditors, disabled)
	pick := func(us []*vault.User) *vault.User { return us[r.IntN(len(us))] }

	// Matters, opened by various users (opening one gives no access).
	for i := range sz.Matters {
		f.matters = append(f.matters, e.matter(tb, pick(uploaders), fmt.Sprintf("Matter %d", i)))
	}
	f.big = f.matters[0]
	others := f.matters[1:]
	lap("users and matters")

	// Documents: the big matter's first, a fiftieth of them the benchmark
	// lawyer's own, then the rest spread over the other matters.
	type upload struct {
		by     *vault.User
		matter string
	}
	plan := make([]upload, 0, sz.BigDocs+sz.OtherDocs)
	for i := range sz.BigDocs {
		by := pick(uploaders)
		if i%50 == 0 {
			by = f.lawyer
		}
		plan = append(plan, upload{by, f.big.ID})
	}
	for range sz.OtherDocs {
		plan = append(plan, upload{pick(uploaders), others[r.IntN(len(others))].ID})
	}
	f.docs = make([]*vault.Document, len(plan))
	err := parallel(len(plan), 8, func(i int) error {
		p := plan[i]
		content := bytes.Repeat([]byte{byte(i)}, 16)
		d, err := e.Svc.PutDocument(ctx, p.by, vault.NewDocument{MatterID: p.matter, Name: fmt.Sprintf("doc-%d.pdf", i), ContentType: "application/pdf"}, bytes.NewReader(content), int64(len(content)))
		f.docs[i] = d
		return err
	})
	if err != nil {
		tb.Fatalf("PutDocument: %v", err)
	}
	// A few in the trash, one of them the benchmark lawyer's.
	for i, j := range r.Perm(len(f.docs))[:sz.Trashed] {
		d := f.docs[j]
		if i == 0 {
			d = f.docs[0] // the big matter's first: the benchmark lawyer's
		}
		if d.Trashed {
			continue
		}
		d.Trashed, d.TrashedAt, d.UpdatedAt = true, &f.now, f.now
		if err := e.DB.UpdateDocument(ctx, d); err != nil {
			tb.Fatalf("UpdateDocument: %v", err)
		}
		f.trashed++
	}
	bigDocs, otherDocs := f.docs[:sz.BigDocs], f.docs[sz.BigDocs:]
	lap("documents")

	// Grants. state: "" active without expiry, "future" active until a
	// later time, "expired", "revoked", "now" expiring at this instant
	// (and so expired: a grant gives nothing from its ExpiresAt on).
	seen := map[string]bool{}
	add := func(u *vault.User, documentID, matterID string, mask int, state string) {
		g := &vault.Grant{
			TenantID: tenant.ID, UserID: u.ID, DocumentID: documentID, MatterID: matterID,
			Permissions: permList(mask), CreatedBy: owner.ID, CreatedAt: f.now.Add(-60 * 24 * time.Hour),
		}
		switch state {
		case "future":
			t := f.now.Add(time.Duration(1+r.IntN(90*24)) * time.Hour)
			g.ExpiresAt = &t
		case "expired":
			t := f.now.Add(-time.Duration(1+r.IntN(30*24)) * time.Hour)
			g.ExpiresAt = &t
		case "now":
			t := f.now
			g.ExpiresAt = &t
		}
		// The store refuses a second unrevoked grant with the same user,
		// object, permissions and expiry; revoked ones are unrevoked when
		// inserted.
		exp := ""
		if g.ExpiresAt != nil {
			exp = g.ExpiresAt.Format(time.RFC3339Nano)
		}
		key := u.ID + "|" + documentID + "|" + matterID + "|" + fmt.Sprint(mask) + "|" + exp
		if seen[key] {
			return
		}
		seen[key] = true
		if err := e.DB.CreateGrant(ctx, g); err != nil {
			tb.Fatalf("CreateGrant: %v", err)
		}
		if state == "revoked" {
			at := f.now.Add(-time.Hour)
			if err := e.DB.RevokeGrant(ctx, tenant.ID, g.ID, owner.ID, at); err != nil {
				tb.Fatalf("RevokeGrant: %v", err)
			}
			g.RevokedAt, g.RevokedBy = &at, owner.ID
		}
		f.grants = append(f.grants, g)
		f.grantsOf[u.ID] = append(f.grantsOf[u.ID], g)
	}
	randomState := func() string {
		switch r.IntN(10) {
		case 0:
			return "revoked"
		case 1:
			return "expired"
		case 2:
			return "future"
		}
		return ""
	}
	notMine := func(ds []*vault.Document) *vault.Document {
		for {
			if d := ds[r.IntN(len(ds))]; d.CreatedBy != f.lawyer.ID {
				return d
			}
		}
	}
	// The benchmark lawyer: document grants on a tenth of the big matter
	// in every state, one on a document of theirs, matter grants on two
	// other matters (one of which walls them off, below), and matter
	// grants on the big matter that give nothing: expired, expiring now,
	// revoked. A bug that ignored either would show them all 1,000.
	for i := range max(sz.BigDocs/10, 5) {
		state := randomState()
		if i < 3 {
			state = []string{"expired", "revoked", "now"}[i]
		}
		add(f.lawyer, notMine(bigDocs).ID, "", 1+r.IntN(7), state)
	}
	add(f.lawyer, bigDocs[0].ID, "", 1, "")
	add(f.lawyer, "", others[0].ID, 1, "")
	add(f.lawyer, "", others[1].ID, 7, "future")
	add(f.lawyer, "", f.big.ID, 7, "expired")
	add(f.lawyer, "", f.big.ID, 1, "now")
	add(f.lawyer, "", f.big.ID, 3, "revoked")
	// Auditors and the disabled hold grants that must give nothing.
	for _, u := range slices.Concat(auditors, disabled) {
		add(u, "", others[r.IntN(len(others))].ID, 7, "")
		add(u, otherDocs[r.IntN(len(otherDocs))].ID, "", 7, "")
	}
	// The rest at random: a fifth on matters, the rest on documents.
	for tries := 0; len(f.grants) < sz.Grants && tries < 4*sz.Grants; tries++ {
		u, state, mask := pick(grantees), randomState(), 1+r.IntN(7)
		if r.IntN(5) == 0 {
			add(u, "", f.matters[r.IntN(len(f.matters))].ID, mask, state)
		} else {
			add(u, f.docs[r.IntN(len(f.docs))].ID, "", mask, state)
		}
	}
	lap("grants")
	for _, g := range f.grants {
		switch {
		case g.RevokedAt != nil:
			f.revoked++
		case g.ExpiresAt != nil && !f.now.Before(*g.ExpiresAt):
			f.expired++
		}
		if g.MatterID != "" {
			f.matterGrant++
		}
	}

	// Walls: half over someone's access (the matter of a grant or upload,
	// and its holder), half at random; never the benchmark lawyer off the
	// big matter, always off the second matter they hold a grant on.
	addWall := func(matterID string, u *vault.User) {
		k := [2]string{matterID, u.ID}
		if f.walled[k] || (matterID == f.big.ID && u.ID == f.lawyer.ID) {
			return
		}
		w := &vault.Wall{TenantID: tenant.ID, MatterID: matterID, UserID: u.ID, CreatedBy: owner.ID}
		if err := e.DB.CreateWall(ctx, w); err != nil {
			tb.Fatalf("CreateWall: %v", err)
		}
		f.walled[k] = true
		f.walls = append(f.walls, w)
	}
	addWall(others[1].ID, f.lawyer)
	byID := map[string]*vault.User{}
	for _, u := range f.users {
		byID[u.ID] = u
	}
	docByID := map[string]*vault.Document{}
	for _, d := range f.docs {
		docByID[d.ID] = d
	}
	for tries := 0; len(f.walls) < sz.Walls && tries < 20*sz.Walls; tries++ {
		switch r.IntN(3) {
		case 0:
			g := f.grants[r.IntN(len(f.grants))]
			m := g.MatterID
			if m == "" {
				m = docByID[g.DocumentID].MatterID
			}
			addWall(m, byID[g.UserID])
		case 1:
			d := f.docs[r.IntN(len(f.docs))]
			addWall(d.MatterID, byID[d.CreatedBy])
		default:
			addWall(f.matters[r.IntN(len(f.matters))].ID, f.users[r.IntN(len(f.users))])
		}
	}

	lap("walls")

	// Disable last: the disabled uploaded and were granted while enabled.
	yes := true
	for _, u := range disabled {
		got, err := e.Svc.UpdateUser(ctx, owner, u.ID, vault.UserUpdate{Disabled: &yes})
		if err != nil {
			tb.Fatalf("UpdateUser: %v", err)
		}
		*u = *got
	}
	return f
}

// access is the fixture's own answer to what u may do with d now, from its
// records alone, and why: "auditor", "disabled", "wall" (over an upload or
// an active grant), "uploader", "grant", "inactive" (only revoked or expired
// grants) or "none".
func (f *authzFixture) access(u *vault.User, d *vault.Document) (mask int, why string) {
	held, inactive := 0, false
	if d.CreatedBy == u.ID {
		held = 7
	}
	for _, g := range f.grantsOf[u.ID] {
		if g.DocumentID != d.ID && g.MatterID != d.MatterID {
			continue
		}
		if g.RevokedAt != nil || (g.ExpiresAt != nil && !f.now.Before(*g.ExpiresAt)) {
			inactive = true
			continue
		}
		held |= permMask(g.Permissions)
	}
	switch {
	case u.Role == vault.RoleAuditor:
		return 0, "auditor"
	case u.Disabled:
		return 0, "disabled"
	case f.walled[[2]string{d.MatterID, u.ID}]:
		if held != 0 {
			return 0, "wall"
		}
		return 0, "none"
	case d.CreatedBy == u.ID:
		return held, "uploader"
	case held != 0:
		return held, "grant"
	case inactive:
		return 0, "inactive"
	}
	return 0, "none"
}

// visible returns the ids the fixture expects u to see listed in matterID
// ("" for every matter).
func (f *authzFixture) visible(u *vault.User, matterID string, includeTrashed bool) []string {
	var ids []string
	for _, d := range f.docs {
		if (matterID == "" || d.MatterID == matterID) && (includeTrashed || !d.Trashed) {
			if mask, _ := f.access(u, d); mask != 0 {
				ids = append(ids, d.ID)
			}
		}
	}
	sort.Strings(ids)
	return ids
}

// TestAuthorization_Fixture checks, on a small fixture, that the
// per-document check (Service.Document, DocumentPermissions) and the
// listing (Service.Documents, which decides from preloaded grants and
// walls) both give exactly the fixture's own answers, for every user and
// every document.
func TestAuthorization_Fixture(t *testing.T) {
	f := newAuthzFixture(t, smallAuthzSize, 1)
	ctx := context.Background()
	whys := map[string]int{}
	for _, u := range f.users {
		for _, d := range f.docs {
			mask, why := f.access(u, d)
			whys[why]++
			got, err := f.e.Svc.Document(ctx, u, d.ID)
			if mask == 0 {
				if code := vault.ErrorCode(err); code != vault.EFORBIDDEN {
					t.Errorf("Document(%s %s, %s): error = %v (code %q), want forbidden (%s)", u.Role, u.ID, d.ID, err, code, why)
				}
				continue
			}
			if err != nil || got.ID != d.ID {
				t.Errorf("Document(%s %s, %s) = %v, %v; want the document (%s)", u.Role, u.ID, d.ID, got, err, why)
				continue
			}
			got, ps, err := f.e.Svc.DocumentPermissions(ctx, u, d.ID)
			if want := permList(mask); err != nil || got == nil || got.ID != d.ID || !slices.Equal(ps, want) {
				t.Errorf("DocumentPermissions(%s %s, %s) = %v, %v; want %v (%s)", u.Role, u.ID, d.ID, ps, err, want, why)
			}
		}

		// The listings: the whole firm, with and without the trash, and
		// each matter, which a wall closes altogether.
		list := func(matterID string, includeTrashed bool) {
			t.Helper()
			ds, err := f.e.Svc.Documents(ctx, u, matterID, includeTrashed)
			if u.Disabled || f.walled[[2]string{matterID, u.ID}] {
				if code := vault.ErrorCode(err); code != vault.EFORBIDDEN {
					t.Errorf("Documents(%s %s, %q): error = %v (code %q), want forbidden", u.Role, u.ID, matterID, err, code)
				}
				return
			}
			if err != nil {
				t.Errorf("Documents(%s %s, %q): %v", u.Role, u.ID, matterID, err)
				return
			}
			var got []string
			for _, d := range ds {
				got = append(got, d.ID)
			}
			sort.Strings(got)
			if want := f.visible(u, matterID, includeTrashed); !slices.Equal(got, want) {
				t.Errorf("Documents(%s %s, %q, trashed %v): got %d documents, want %d\ngot  %v\nwant %v", u.Role, u.ID, matterID, includeTrashed, len(got), len(want), got, want)
			}
		}
		list("", false)
		list("", true)
		for _, m := range f.matters {
			list(m.ID, false)
		}
	}

	// The fixture must exercise every rule, or the checks above prove
	// little.
	for _, why := range []string{"auditor", "disabled", "wall", "uploader", "grant", "inactive", "none"} {
		if whys[why] == 0 {
			t.Errorf("fixture has no (user, document) pair decided by %q: %v", why, whys)
		}
	}
	if f.trashed == 0 {
		t.Error("fixture has no trashed document")
	}
	t.Logf("%d users × %d documents: %v", len(f.users), len(f.docs), whys)
}

// BenchmarkService_Authorization measures, on the issue #4 data set, single
// authorization checks by random lawyers on random documents (through
// Service.Document and OpenVersion for read, which decide once each) and the
// benchmark lawyer's listing of the big matter. Latencies are per call:
// p50, p99 and max.
func BenchmarkService_Authorization(b *testing.B) {
	const (
		checks   = 5000 // per kind, per iteration
		listings = 200  // of the big matter, per iteration
		firmList = 20   // of the whole firm, per iteration
	)
	start := time.Now()
	f := newAuthzFixture(b, benchAuthzSize, 4)
	setup := time.Since(start)
	fmt.Fprintf(os.Stderr, "authorization fixture: %d users, %d matters, %d documents (%d in the big matter, %d trashed), %d grants (%d on matters; %d revoked, %d expired), %d walls; built in %.1fs (%s)\n",
		len(f.users), len(f.matters), len(f.docs), benchAuthzSize.BigDocs, f.trashed, len(f.grants), f.matterGrant, f.revoked, f.expired, len(f.walls), setup.Seconds(), strings.Join(f.phases, ", "))

	ctx := context.Background()
	r := rand.New(rand.NewPCG(7, 7))
	var live []*vault.Document
	for _, d := range f.docs {
		if !d.Trashed {
			live = append(live, d)
		}
	}
	wantBig := len(f.visible(f.lawyer, f.big.ID, false))
	wantFirm := len(f.visible(f.lawyer, "", false))

	type pair struct {
		u *vault.User
		d *vault.Document
	}
	pairs := func() []pair {
		ps := make([]pair, checks)
		for i := range ps {
			ps[i] = pair{f.lawyers[r.IntN(len(f.lawyers))], live[r.IntN(len(live))]}
		}
		return ps
	}
	// check times one decision per pair and counts the answers, which must
	// agree with the fixture's.
	check := func(name string, ps []pair, call func(u *vault.User, id string) error) (yes, no []time.Duration) {
		for _, p := range ps {
			t0 := time.Now()
			err := call(p.u, p.d.ID)
			d := time.Since(t0)
			mask, why := f.access(p.u, p.d)
			if name == "open" {
				mask &= 1 // read
			}
			switch {
			case err == nil && mask != 0:
				yes = append(yes, d)
			case vault.ErrorCode(err) == vault.EFORBIDDEN && mask == 0:
				no = append(no, d)
			default:
				b.Fatalf("%s(%s, %s): %v; fixture says %v (%s)", name, p.u.ID, p.d.ID, err, permList(mask), why)
			}
		}
		return yes, no
	}
	document := func(u *vault.User, id string) error { _, err := f.e.Svc.Document(ctx, u, id); return err }
	open := func(u *vault.User, id string) error {
		_, err := f.e.Svc.OpenVersion(ctx, u, id, 0, vault.PermRead)
		return err
	}
	listing := func(matterID string, n, want int) []time.Duration {
		lat := make([]time.Duration, 0, n)
		for range n {
			t0 := time.Now()
			ds, err := f.e.Svc.Documents(ctx, f.lawyer, matterID, false)
			lat = append(lat, time.Since(t0))
			if err != nil || len(ds) != want {
				b.Fatalf("Documents(%q) = %d documents, %v; want %d", matterID, len(ds), err, want)
			}
		}
		return lat
	}
	// Warm the connection pool and the key cache.
	check("document", pairs()[:200], document)
	listing(f.big.ID, 5, wantBig)

	var docYes, docNo, openYes, openNo, listLat, firmLat []time.Duration
	for b.Loop() {
		yes, no := check("document", pairs(), document)
		docYes, docNo = append(docYes, yes...), append(docNo, no...)
		yes, no = check("open", pairs(), open)
		openYes, openNo = append(openYes, yes...), append(openNo, no...)
		listLat = append(listLat, listing(f.big.ID, listings, wantBig)...)
		firmLat = append(firmLat, listing("", firmList, wantFirm)...)
	}
	if len(docYes) == 0 || len(docNo) == 0 || len(openYes) == 0 || len(openNo) == 0 {
		b.Fatalf("checks allowed %d, denied %d (Document); allowed %d, denied %d (OpenVersion): the data set must give both answers", len(docYes), len(docNo), len(openYes), len(openNo))
	}
	if wantBig == 0 || wantBig >= benchAuthzSize.BigDocs {
		b.Fatalf("the lawyer sees %d of the big matter's %d documents, want some but not all", wantBig, benchAuthzSize.BigDocs)
	}

	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	docLat, openLat := slices.Concat(docYes, docNo), slices.Concat(openYes, openNo)
	dp50, dp99, dmax := percentiles(docLat)
	op50, op99, omax := percentiles(openLat)
	yp50, yp99, _ := percentiles(docYes)
	np50, np99, _ := percentiles(docNo)
	lp50, lp99, lmax := percentiles(listLat)
	fp50, fp99, fmax := percentiles(firmLat)
	b.ReportMetric(us(dp50), "authz_p50_us")
	b.ReportMetric(us(dp99), "authz_p99_us")
	b.ReportMetric(us(dmax), "authz_max_us")
	b.ReportMetric(us(op50), "open_p50_us")
	b.ReportMetric(us(op99), "open_p99_us")
	b.ReportMetric(ms(lp50), "list_p50_ms")
	b.ReportMetric(ms(lp99), "list_p99_ms")
	b.ReportMetric(float64(wantBig), "list_visible")
	b.ReportMetric(ms(fp50), "firm_list_p50_ms")
	b.ReportMetric(setup.Seconds(), "setup_s")
	fmt.Fprintf(os.Stderr, "authorization check, Service.Document: %d checks by %d lawyers: p50 %.0fµs, p99 %.0fµs, max %.0fµs; %d allowed (p50 %.0fµs, p99 %.0fµs), %d denied (p50 %.0fµs, p99 %.0fµs)\n",
		len(docLat), len(f.lawyers), us(dp50), us(dp99), us(dmax), len(docYes), us(yp50), us(yp99), len(docNo), us(np50), us(np99))
	fmt.Fprintf(os.Stderr, "authorization check, Service.OpenVersion(read): %d checks (%d allowed, %d denied): p50 %.0fµs, p99 %.0fµs, max %.0fµs\n",
		len(openLat), len(openYes), len(openNo), us(op50), us(op99), us(omax))
	fmt.Fprintf(os.Stderr, "listing the big matter (%d documents) as a lawyer, Service.Documents: %d listings, %d visible: p50 %.2fms, p99 %.2fms, max %.2fms\n",
		benchAuthzSize.BigDocs, len(listLat), wantBig, ms(lp50), ms(lp99), ms(lmax))
	fmt.Fprintf(os.Stderr, "listing the whole firm (%d live documents) as that lawyer: %d listings, %d visible: p50 %.2fms, p99 %.2fms, max %.2fms\n",
		len(live), len(firmLat), wantFirm, ms(fp50), ms(fp99), ms(fmax))
}

// percentiles returns the nearest-rank p50 and p99 of ds, and its maximum.
func percentiles(ds []time.Duration) (p50, p99, maxd time.Duration) {
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := func(q float64) time.Duration { return s[max(int(math.Ceil(q*float64(len(s))))-1, 0)] }
	return rank(0.50), rank(0.99), s[len(s)-1]
}
