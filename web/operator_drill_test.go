package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/web"
)

// fakeDrills answers drills from a table: the web layer's unit test. The
// real drills are tested over the real binary (cmd/casevault,
// TestDrill_Serve).
type fakeDrills struct{ started []string }

func (f *fakeDrills) StartDrill(_ context.Context, region string) (web.DrillStatus, error) {
	if region != "ca" {
		return web.DrillStatus{}, vault.Errorf(vault.EINVALID, "Region %q is not served here.", region)
	}
	f.started = append(f.started, region)
	return web.DrillStatus{Region: region, ID: "drl_x", Running: true}, nil
}

func (f *fakeDrills) Drills(context.Context) ([]web.DrillStatus, error) {
	return []web.DrillStatus{{Region: "ca", ID: "drl_x", Drill: map[string]bool{"ok": true}, Record: "signed"}}, nil
}

func (f *fakeDrills) Drill(_ context.Context, region string) (web.DrillStatus, error) {
	if region != "ca" {
		return web.DrillStatus{}, vault.Errorf(vault.ENOTFOUND, "No drill of region %s yet.", region)
	}
	return web.DrillStatus{Region: "ca", ID: "drl_x", Drill: map[string]bool{"ok": true}, Record: "signed"}, nil
}

// TestServer_OperatorDrills checks the operator API's drill routes: the
// token only, their answers and error codes, and unavailable on a server
// that runs no drills.
func TestServer_OperatorDrills(t *testing.T) {
	e := newEnv(t)
	owner, _ := e.firm(t, "ca")
	d := &fakeDrills{}
	srv := e.server(t, func(s *web.Server) {
		s.Operator = web.OperatorListener{Addr: "127.0.0.1:0", Token: operatorToken, Moves: &fakeOperator{}, Drills: d}
	})
	opc := &client{base: srv.OperatorURL(), token: operatorToken, hc: http.DefaultClient}
	for _, c := range []*client{{base: srv.OperatorURL(), hc: http.DefaultClient}, {base: srv.OperatorURL(), token: owner.token, hc: http.DefaultClient}} {
		resp, b := c.read(t, "POST", "/operator/v1/drills", strings.NewReader(`{"region":"ca"}`), nil)
		wantError(t, resp, b, http.StatusUnauthorized, vault.EUNAUTHORIZED)
	}
	if len(d.started) != 0 {
		t.Fatalf("drills started without the token: %v", d.started)
	}
	var st web.DrillStatus
	opc.json(t, "POST", "/operator/v1/drills", map[string]string{"region": "ca"}, http.StatusAccepted, &st)
	if st.Region != "ca" || !st.Running || st.ID == "" {
		t.Errorf("POST /operator/v1/drills = %+v, want ca's running drill", st)
	}
	for _, tc := range []struct {
		body   string
		status int
		code   string
	}{{`{}`, http.StatusBadRequest, vault.EINVALID}, {`{"region":"eu"}`, http.StatusBadRequest, vault.EINVALID}, {`{"region":"ca","x":1}`, http.StatusBadRequest, vault.EINVALID}} {
		resp, b := opc.read(t, "POST", "/operator/v1/drills", strings.NewReader(tc.body), http.Header{"Content-Type": {"application/json"}})
		wantError(t, resp, b, tc.status, tc.code)
	}
	var list struct{ Drills []web.DrillStatus }
	opc.json(t, "GET", "/operator/v1/drills", nil, http.StatusOK, &list)
	if len(list.Drills) != 1 || list.Drills[0].Record != "signed" {
		t.Errorf("GET /operator/v1/drills = %+v", list)
	}
	opc.json(t, "GET", "/operator/v1/drills/ca", nil, http.StatusOK, &st)
	resp, b := opc.read(t, "GET", "/operator/v1/drills/us", nil, nil)
	wantError(t, resp, b, http.StatusNotFound, vault.ENOTFOUND)
	// The main listener does not know the routes.
	resp, b = (&client{base: srv.URL(), token: operatorToken, hc: http.DefaultClient}).read(t, "GET", "/operator/v1/drills", nil, nil)
	wantError(t, resp, b, http.StatusNotFound, vault.ENOTFOUND)

	t.Run("NoDrills", func(t *testing.T) {
		srv := e.server(t, func(s *web.Server) {
			s.Operator = web.OperatorListener{Addr: "127.0.0.1:0", Token: operatorToken, Moves: &fakeOperator{}}
		})
		resp, b := (&client{base: srv.OperatorURL(), token: operatorToken, hc: http.DefaultClient}).read(t, "GET", "/operator/v1/drills", nil, nil)
		wantError(t, resp, b, http.StatusServiceUnavailable, vault.EUNAVAILABLE)
	})
}
