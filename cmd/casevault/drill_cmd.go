package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/rs/zerolog"

	"github.com/casevault/casevault/drill"
	"github.com/casevault/casevault/web"
)

// drillPollEvery is how often a forwarded drill is polled.
const drillPollEvery = 250 * time.Millisecond

// cmdDrill runs `casevault drill --region R [--json] [--out FILE]`: a
// restore drill of region R's latest backup (drill.go). When a server runs
// on the data directory the drill runs in it, through its operator API,
// because a drill writes to the firms' audit logs, which only the process
// that owns the cell may; otherwise it runs in this process, holding the
// directory's lock meanwhile. It prints the record (--json: its JSON; --out
// also writes the signed record to FILE) and fails (exit 1) when the drill
// did not pass.
func cmdDrill(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := newFlagSet("drill", stderr)
	region := fs.String("region", "", "the `region` whose backup to drill")
	asJSON := fs.Bool("json", false, "print the record as JSON")
	out := fs.String("out", "", "also write the signed record to `file`")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := require(fs, "region"); err != nil {
		return err
	}
	m, err := cf.loadRegion(stderr, *region)
	if err != nil {
		return err
	}
	if !m.Config.BackupEnabled(*region) {
		return fmt.Errorf("region %s: backups are off: there is nothing to drill", *region)
	}
	var rec *drill.Record
	var signed []byte
	lock, err := lockDataDir(m.Config.DataDir, "drill")
	switch {
	case errors.Is(err, errDataDirBusy):
		rec, signed, err = forwardDrill(ctx, m, *region)
	case err != nil:
		return err
	default:
		rec, signed, err = drillInProcess(ctx, m, *region)
		lock.Close()
	}
	if err != nil {
		return cliError(err)
	}
	if *out != "" {
		if err := os.WriteFile(*out, signed, 0o600); err != nil {
			return err
		}
	}
	if *asJSON {
		if err := writeJSON(stdout, rec); err != nil {
			return err
		}
	} else {
		printDrill(stdout, rec)
	}
	if !rec.OK {
		return errReported
	}
	return nil
}

// drillInProcess opens the program, runs one drill and closes it again.
func drillInProcess(ctx context.Context, m *Main, region string) (*drill.Record, []byte, error) {
	slog.SetDefault(slog.New(&zerologHandler{log: m.Log.With().Str("component", "drill").Logger()}))
	m.Log = m.Log.Level(zerolog.WarnLevel)
	if err := m.Open(ctx); err != nil {
		m.Close()
		return nil, nil, err
	}
	defer m.Close()
	return m.runDrill(ctx, region, drill.NewID())
}

// forwardDrill asks the server that holds the data directory's lock to
// run the drill and follows it until it ends.
func forwardDrill(ctx context.Context, m *Main, region string) (*drill.Record, []byte, error) {
	c, err := holderOperator(ctx, m, "run a drill")
	if err != nil {
		return nil, nil, err
	}
	var st forwardedDrill
	if err := c.do(ctx, http.MethodPost, "/operator/v1/drills", map[string]string{"region": region}, &st); err != nil {
		return nil, nil, err
	}
	id := st.ID
	t := time.NewTicker(drillPollEvery)
	defer t.Stop()
	for st.Running || st.ID != id {
		select {
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("stopped following drill %s (it goes on in the server): %w", id, ctx.Err())
		case <-t.C:
		}
		if err := c.do(ctx, http.MethodGet, "/operator/v1/drills/"+region, nil, &st); err != nil {
			return nil, nil, fmt.Errorf("the server stopped answering during drill %s: %w", id, err)
		}
	}
	if st.ErrorCode != "" {
		return st.Drill, []byte(st.Record), fmt.Errorf("drill %s: %s", id, st.Error)
	}
	if st.Drill == nil || st.Record == "" {
		return nil, nil, fmt.Errorf("drill %s: the server answered no record", id)
	}
	return st.Drill, []byte(st.Record), nil
}

// forwardedDrill is a drill's status as the operator API answers it, its
// record decoded (web.DrillStatus holds it as any).
type forwardedDrill struct {
	web.DrillStatus
	Drill *drill.Record `json:"drill,omitempty"`
}

func printDrill(w io.Writer, r *drill.Record) {
	verdict := "PASSED"
	if !r.OK {
		verdict = "FAILED"
	}
	fmt.Fprintf(w, "Drill %s of region %s %s at %s.\n", r.ID, r.Region, verdict, r.Finished.UTC().Format(time.RFC3339))
	if r.RPOms != nil {
		fmt.Fprintf(w, "  RPO %s (newest backup file %s)\n", time.Duration(*r.RPOms)*time.Millisecond, r.BackupNewest.UTC().Format(time.RFC3339))
	}
	if r.RTOms != nil {
		fmt.Fprintf(w, "  RTO %s (start to a restored cell that passed its checks)\n", time.Duration(*r.RTOms)*time.Millisecond)
	}
	fmt.Fprintf(w, "  %d firms, %d documents, %d versions (%d blobs missing); %d audit events, %d logs fail to verify, %d behind their anchored checkpoint, %d not signed yet; %d versions decrypted end to end (%d failed)\n",
		r.Firms, r.Documents, r.Versions, r.MissingBlobs, r.AuditEvents, r.AuditFailures, r.AuditBehind, r.AuditUnsigned, r.Sampled, r.SampleFailures)
	if r.Failure != "" {
		fmt.Fprintf(w, "  FAILURE: %s\n", r.Failure)
	}
}

// cmdDrillVerify runs `casevault drill verify --key VKEY… FILE`: it checks
// a signed drill record offline (docs/DRILL-FORMAT.md §4), as `residency
// verify` checks a report: "OK: …" and exit 0 when it verifies, "FAIL:
// reason" on stderr and exit 1 when it does not, exit 2 on a usage error.
// A record that verifies but says the drill failed prints OK (the record
// is authentic) and says FAILED.
func cmdDrillVerify(_ context.Context, args []string, stdout, stderr io.Writer) error {
	keyList, b, err := verifyArgs("casevault drill verify",
		"Verifies a signed restore drill record offline (docs/DRILL-FORMAT.md).", args, stderr)
	if err != nil {
		return err
	}
	r, err := drill.Verify(b, keyList)
	var ve *drill.VerifyError
	switch {
	case errors.As(err, &ve):
		fmt.Fprintf(stderr, "FAIL: %s\n", ve.Reason)
		return errReported
	case err != nil:
		fmt.Fprintf(stderr, "FAIL: %v\n", err)
		return errReported
	}
	fmt.Fprintf(stdout, "OK: drill record %s of region %s, signed by %s\n", r.ID, r.Region, r.SignedBy[0])
	printDrill(stdout, r)
	return nil
}
