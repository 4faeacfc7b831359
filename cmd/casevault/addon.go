package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/rs/zerolog"

	"github.com/casevault/casevault/vault"
)

// cmdTenantAddon turns a firm's add-on on or off: `casevault tenant addon
// --tenant ID --hipaa on|off`. The HIPAA add-on is refused to a firm whose
// region's country (regions.NAME.country) is not US. When a server runs on
// the data directory the change goes through its operator API, so that
// nothing writes the database behind it; otherwise it runs in this
// process, holding the data directory's lock.
func cmdTenantAddon(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := newFlagSet("tenant addon", stderr)
	tenant := fs.String("tenant", "", "the firm's `id`")
	hipaa := fs.String("hipaa", "", "`on` or off: the HIPAA add-on (business associate agreement)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := require(fs, "tenant", "hipaa"); err != nil {
		return err
	}
	var on bool
	switch *hipaa {
	case "on":
		on = true
	case "off":
	default:
		fmt.Fprintf(stderr, "casevault tenant addon: --hipaa must be on or off, not %q\n", *hipaa)
		return errUsage
	}
	m, err := cf.load(stderr)
	if err != nil {
		return err
	}
	var st *vault.TenantAddonState
	lock, err := lockDataDir(m.Config.DataDir, "tenant addon")
	switch {
	case errors.Is(err, errDataDirBusy):
		st, err = forwardAddon(ctx, m, *tenant, vault.AddonHIPAA, on)
	case err != nil:
		return err
	default:
		st, err = addonInProcess(ctx, m, *tenant, vault.AddonHIPAA, on)
		lock.Close()
	}
	if err != nil {
		return cliError(err)
	}
	if *asJSON {
		return writeJSON(stdout, st)
	}
	state := map[bool]string{true: "on", false: "off"}[st.HIPAA]
	if !st.Changed {
		fmt.Fprintf(stdout, "The HIPAA add-on of firm %s is %s already; nothing to do.\n", st.TenantID, state)
		return nil
	}
	fmt.Fprintf(stdout, "The HIPAA add-on of firm %s (region %s) is now %s.", st.TenantID, st.Region, state)
	if st.HIPAA {
		fmt.Fprint(stdout, " Its owner can now review and accept the business associate agreement.")
	}
	fmt.Fprintln(stdout)
	return nil
}

// addonInProcess opens the program and changes the add-on.
func addonInProcess(ctx context.Context, m *Main, tenant, addon string, on bool) (*vault.TenantAddonState, error) {
	m.Log = m.Log.Level(zerolog.WarnLevel)
	if err := m.Open(ctx); err != nil {
		m.Close()
		return nil, err
	}
	defer m.Close()
	return m.Service.SetTenantAddon(ctx, tenant, addon, on)
}

// forwardAddon sends the change to the running server's operator API.
func forwardAddon(ctx context.Context, m *Main, tenant, addon string, on bool) (*vault.TenantAddonState, error) {
	c, err := holderOperator(ctx, m, "change a firm's add-ons")
	if err != nil {
		return nil, err
	}
	var st vault.TenantAddonState
	if err := c.do(ctx, http.MethodPost, "/operator/v1/tenants/"+url.PathEscape(tenant)+"/addons",
		map[string]any{"addon": addon, "enabled": on}, &st); err != nil {
		return nil, err
	}
	return &st, nil
}
