package web_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/casevault/casevault/audit"
	"github.com/casevault/casevault/audit/handovertest"
)

// moveCases are the corpus's bundles of firms that moved from us to ca
// (docs/AUDIT-FORMAT.md §5, "Moving a firm"), made by real moves between
// cells: one verifies with both regions' keys and fails with either alone;
// one has a checkpoint of a tree after the handover signed by the old
// region's key alone (as an operator who kept the us key could sign), one
// a handover naming another new key (eu's) than the one that signs after
// it.
func moveCases(t *testing.T) []verifyCase {
	t.Helper()
	c := handovertest.New(t, "us", "ca", "eu")
	us, ca, eu := c.Key("us"), c.Key("ca"), c.Key("eu")
	moved := func(named string, during func(tenant string)) []byte {
		tenant := c.Firm(t, "us", 6)
		c.Move(t, tenant, "ca", named)
		c.Events(t, "ca", tenant, 2)
		if during != nil {
			during(tenant)
		}
		c.Events(t, "ca", tenant, 2)
		return c.Export(t, tenant)
	}
	spans := moved("ca", nil)
	oldAfter := moved("ca", func(tenant string) {
		c.SetRegion(tenant, "us") // the us key signs the ca log's tree
		c.Events(t, "ca", tenant, 1)
		c.SetRegion(tenant, "ca")
	})
	other := moved("eu", nil)
	return []verifyCase{
		{name: "MoveSpansBothKeys", b: spans, keys: []string{us, ca}, ok: true},
		{name: "MoveNewKeyOnly", b: spans, keys: []string{ca}},
		{name: "MoveOldKeyOnly", b: spans, keys: []string{us}},
		{name: "MoveOldKeyAfterHandover", b: oldAfter, keys: []string{us, ca}},
		{name: "MoveNamesAnotherKey", b: other, keys: []string{us, ca}},
		{name: "MoveNamesAnotherKeyTrusted", b: other, keys: []string{us, ca, eu}},
	}
}

// TestVerify_MoveCases checks the move cases against audit.Verify alone
// (TestUIVerify_Corpus runs them in the browser too): each passes or fails
// as the case says, for the reason it is about.
func TestVerify_MoveCases(t *testing.T) {
	want := map[string]string{
		"MoveNewKeyOnly":             "not signed by the verifier key",
		"MoveOldKeyOnly":             "not the trusted key",
		"MoveOldKeyAfterHandover":    "signed only by a retired key",
		"MoveNamesAnotherKey":        "not a trusted key",
		"MoveNamesAnotherKeyTrusted": "the new key of the move",
	}
	for _, vc := range moveCases(t) {
		_, err := audit.Verify(bytes.NewReader(vc.b), audit.VerifyOptions{TrustedKeys: vc.keys})
		switch {
		case vc.ok && err != nil:
			t.Errorf("%s: %v, want it to verify", vc.name, err)
		case !vc.ok && (err == nil || !strings.Contains(err.Error(), want[vc.name])):
			t.Errorf("%s: %v, want a failure saying %q", vc.name, err, want[vc.name])
		}
	}
}
