package main

import (
	"strings"
	"testing"

	"github.com/casevault/casevault/audit/handovertest"
)

// TestCLI_AuditVerifyMove verifies, with `casevault audit verify`, the
// bundle of a firm exported after its log moved from the us cell to the ca
// cell (docs/AUDIT-FORMAT.md §5, "Moving a firm"): it verifies with both
// regions' keys named, and not with either alone.
func TestCLI_AuditVerifyMove(t *testing.T) {
	c := handovertest.New(t, "us", "ca")
	tenant := c.Firm(t, "us", 5)
	c.Move(t, tenant, "ca", "ca")
	c.Events(t, "ca", tenant, 3)
	path := writeFile(t, string(c.Export(t, tenant)))
	us, ca := c.Key("us"), c.Key("ca")

	if code, out, errOut := auditVerify("--key", us, "--key", ca, path); code != 0 || !strings.HasPrefix(out, "OK: ") {
		t.Errorf("both keys: exit %d\nstdout %q\nstderr %q", code, out, errOut)
	}
	for _, key := range []string{us, ca} {
		if code, out, errOut := auditVerify("--key", key, path); code != 1 || !strings.HasPrefix(errOut, "FAIL") {
			t.Errorf("--key %s alone: exit %d\nstdout %q\nstderr %q", key, code, out, errOut)
		}
	}
}
