package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/casevault/casevault/move"
	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/web"
)

// Polling of a forwarded move.
const (
	movePollEvery   = 200 * time.Millisecond
	lockInfoWait    = 10 * time.Second // a server starting writes its operator URL within this
	operatorTimeout = 30 * time.Second // one request to the operator API
)

// forwardMove sends the move to the server that holds the data directory's
// lock, through its operator API, and follows it until it ends. It returns
// the move's result as the in-process move does.
func forwardMove(ctx context.Context, m *Main, tenant, to string) (*move.Result, error) {
	c, err := holderOperator(ctx, m, "move a firm")
	if err != nil {
		return nil, err
	}
	var st forwardedStatus
	if err := c.do(ctx, http.MethodPost, "/operator/v1/moves", map[string]string{"tenant_id": tenant, "to": to}, &st); err != nil {
		return nil, err
	}
	t := time.NewTicker(movePollEvery)
	defer t.Stop()
	for st.Running {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("stopped following the move (it goes on in the server; run the same command again to follow it): %w", ctx.Err())
		case <-t.C:
		}
		if err := c.do(ctx, http.MethodGet, "/operator/v1/moves/"+tenant, nil, &st); err != nil {
			return &move.Result{TenantID: tenant, From: st.From, To: st.To, Step: move.Step(st.Step)},
				fmt.Errorf("the server stopped answering during the move: %w", err)
		}
	}
	res := st.Result
	if res == nil {
		res = &move.Result{TenantID: st.TenantID, From: st.From, To: st.To, Step: move.Step(st.Step)}
	}
	if st.ErrorCode != "" {
		return res, vault.Errorf(st.ErrorCode, "%s", st.Error)
	}
	return res, nil
}

// holderOperator returns a client of the operator API of the server that
// holds the data directory's lock; what says what needs it ("move a
// firm").
func holderOperator(ctx context.Context, m *Main, what string) (*operatorClient, error) {
	info, err := holderInfo(ctx, m.Config.DataDir)
	if err != nil {
		return nil, err
	}
	switch {
	case info.Command != "serve":
		return nil, fmt.Errorf("another casevault command (%q, pid %d) holds the data directory %s; wait for it to end", info.Command, info.PID, m.Config.DataDir)
	case info.OperatorURL == "":
		return nil, fmt.Errorf("a casevault server (pid %d) runs on the data directory %s with its operator API off (operator.addr); "+
			"turn the operator API on, or stop the server, to %s", info.PID, m.Config.DataDir, what)
	}
	tokenFile := info.TokenFile
	if tokenFile == "" {
		tokenFile = m.Config.OperatorTokenPath()
	}
	token, err := readOperatorToken(tokenFile)
	if err != nil {
		return nil, err
	}
	return &operatorClient{base: info.OperatorURL, token: token, hc: &http.Client{Timeout: operatorTimeout}}, nil
}

// forwardedStatus is a move's status as the operator API answers it, its
// result decoded as the mover's (web.MoveStatus holds it as any).
type forwardedStatus struct {
	web.MoveStatus
	Result *move.Result `json:"result,omitempty"`
}

// holderInfo reads what the lock's holder wrote, waiting a little for a
// server that is starting to write its operator URL.
func holderInfo(ctx context.Context, dataDir string) (lockInfo, error) {
	deadline := time.Now().Add(lockInfoWait)
	for {
		info, err := readLockInfo(dataDir)
		if err == nil && (info.Command != "serve" || info.OperatorURL != "" || info.Ready) {
			return info, nil
		}
		if time.Now().After(deadline) {
			if err != nil {
				return info, err
			}
			return info, nil
		}
		select {
		case <-ctx.Done():
			return info, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// operatorClient speaks the operator API.
type operatorClient struct {
	base, token string
	hc          *http.Client
}

// do sends one request and decodes the answer into out; an error answer
// becomes the vault error it names.
func (c *operatorClient) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return vault.WrapError(vault.EUNAVAILABLE, err, "The server's operator API at %s does not answer.", c.base)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return vault.WrapError(vault.EUNAVAILABLE, err, "The server's operator API at %s does not answer.", c.base)
	}
	if resp.StatusCode >= 300 {
		var e web.ErrorResponse
		if json.Unmarshal(b, &e) != nil || e.Error.Code == "" {
			return vault.Errorf(vault.EINTERNAL, "The operator API answered %d.", resp.StatusCode)
		}
		return vault.Errorf(e.Error.Code, "%s", e.Error.Message)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("operator API: %s %s: %w", method, path, err)
	}
	return nil
}
