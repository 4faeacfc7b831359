package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rs/zerolog"

	"github.com/casevault/casevault/vault"
)

// errUsage marks an error whose message was already printed with usage.
var errUsage = errors.New("usage")

// errReported marks a failure the command already reported (exit code 1).
var errReported = errors.New("reported")

const usage = `casevault: an encrypted document vault with access tracking

Usage:
  casevault serve [--addr HOST:PORT] [--behind-tls-proxy] [--tls-cert F --tls-key F]
  casevault tenant create --name NAME --region REGION --owner-email EMAIL [--owner-name N] [--json]
  casevault tenant list [--json]
  casevault tenant move --tenant ID --to REGION [--json]   move a firm to another region's cell
  casevault tenant addon --tenant ID --hipaa on|off [--json]   the HIPAA add-on (BAA); US regions only
                                       (through a running server's operator API, else in process);
                                       rerun after a failure to resume
  casevault user add --tenant ID --email EMAIL [--role owner|admin|lawyer|auditor] [--name N] [--json]
  casevault user reset-password --tenant ID (--user ID | --email EMAIL) [--json]
  casevault user release --tenant ID --user ID
  casevault user reset-mfa --tenant ID (--user ID | --email EMAIL)   remove a locked-out user's
                                       second factors and end their sessions
  casevault keys rotate --tenant ID
  casevault audit keys [--region R] [--json]   the audit verifier keys to publish, current and
                                       retired: region, key, state, valid from, valid until
  casevault audit rotate-key --region R   (server stopped) replace a region's audit key; the
                                       old one is retired, its private half destroyed
  casevault audit verify --key VERIFIER_KEY [--key …] FILE   check an audit export offline
                                       (--trust-bundle-key instead of --key: only against the key it names;
                                       --sink DIR|s3://BUCKET/PREFIX: the bundle must extend the firm's sink)
  casevault audit sink-check --key VERIFIER_KEY --sink DIR|s3://BUCKET/PREFIX   check a firm's checkpoint sink
  casevault audit hash --email EMAIL | --source IP     the service log's hash of an email or address
  casevault audit accept-rollback --tenant ID | --service   after putting back an older audit.db (server
                                       stopped): record the gap in that log and sign it as it is
  casevault migrate cells [--json]   (server stopped) split a data directory written before cells
                                       into one cell per region (serve does it at its first start)
  casevault restore --region R --to DIR [--at TIME] [--json]   rebuild region R's cell databases
                                       from its backup (latest, or as of TIME, RFC 3339) into an
                                       empty DIR, then check every firm's audit log and blobs
  casevault scrub --region R [--deep] [--json]   compare region R's store and its mirror: copy
                                       what one site lacks, replace damaged copies (checked part by
                                       part), report lost objects; runs beside a running server
  casevault drill --region R [--json] [--out FILE]   restore region R's latest backup inside its
                                       cell, check it, decrypt a sample, delete it; record the result
                                       in each firm's audit log and as a signed record (through a
                                       running server's operator API, else in process)
  casevault drill verify --key VERIFIER_KEY [--key …] FILE   check a signed drill record offline
  casevault tenant shred --tenant ID --confirm NAME --bundle FILE|--no-bundle --out CERT [--json]
                                       crypto-shred a firm whose owner requested it: final audit bundle,
                                       then its keysets, blobs (every site), rows, audit log and older
                                       backup files destroyed; writes the signed destruction certificate
  casevault shred verify --key VERIFIER_KEY [--key …] FILE   check a destruction certificate offline
  casevault backup forget --region R --before TIME [--json]   delete from region R's backup what
                                       only a restore to before TIME needs (the first snapshot at or
                                       after TIME stays): e.g. a moved firm's last traces there
  casevault version

Every command but audit verify, audit sink-check, residency verify, drill verify and shred verify takes --config FILE and --data-dir DIR.
Environment: CASEVAULT_DATA_DIR, CASEVAULT_ADDR, CASEVAULT_TLS_CERT_FILE,
CASEVAULT_TLS_KEY_FILE, CASEVAULT_ACME_DOMAINS, CASEVAULT_ACME_EMAIL,
CASEVAULT_BEHIND_TLS_PROXY, CASEVAULT_LOG_LEVEL, CASEVAULT_METRICS_ADDR,
CASEVAULT_METRICS_TOKEN, CASEVAULT_REGION_<NAME>_ACCESS_KEY,
CASEVAULT_REGION_<NAME>_SECRET_KEY, CASEVAULT_REGION_<NAME>_BACKUP_ACCESS_KEY,
CASEVAULT_REGION_<NAME>_BACKUP_SECRET_KEY, CASEVAULT_REGION_<NAME>_MIRROR_ACCESS_KEY,
CASEVAULT_REGION_<NAME>_MIRROR_SECRET_KEY.

Exit codes: 0 success, 1 failure, 2 usage error (a missing or unknown flag,
named on stderr).
`

func exitCode(err error) int {
	if errors.Is(err, errUsage) {
		return 2
	}
	return 1
}

// run dispatches a command line. It is main without the process: tests call it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	cmd, rest := args[0], args[1:]
	sub := ""
	if (cmd == "tenant" || cmd == "user" || cmd == "keys" || cmd == "audit" || cmd == "residency" || cmd == "migrate" || cmd == "backup" || cmd == "shred") && len(rest) > 0 {
		sub, rest = rest[0], rest[1:]
	}
	switch cmd + " " + sub {
	case "serve ":
		return cmdServe(ctx, rest, stdout, stderr)
	case "tenant create":
		return cmdTenantCreate(ctx, rest, stdout, stderr)
	case "tenant list":
		return cmdTenantList(ctx, rest, stdout, stderr)
	case "tenant move":
		return cmdTenantMove(ctx, rest, stdout, stderr)
	case "tenant shred":
		return cmdTenantShred(ctx, rest, stdout, stderr)
	case "shred verify":
		return cmdShredVerify(ctx, rest, stdout, stderr)
	case "tenant residency":
		return cmdTenantResidency(ctx, rest, stdout, stderr)
	case "tenant addon":
		return cmdTenantAddon(ctx, rest, stdout, stderr)
	case "migrate cells":
		return cmdMigrateCells(ctx, rest, stdout, stderr)
	case "restore ":
		return cmdRestore(ctx, rest, stdout, stderr)
	case "scrub ":
		return cmdScrub(ctx, rest, stdout, stderr)
	case "drill ":
		if len(rest) > 0 && rest[0] == "verify" {
			return cmdDrillVerify(ctx, rest[1:], stdout, stderr)
		}
		return cmdDrill(ctx, rest, stdout, stderr)
	case "backup forget":
		return cmdBackupForget(ctx, rest, stdout, stderr)
	case "residency verify":
		return cmdResidencyVerify(ctx, rest, stdout, stderr)
	case "user add":
		return cmdUserAdd(ctx, rest, stdout, stderr)
	case "user reset-password":
		return cmdUserResetPassword(ctx, rest, stdout, stderr)
	case "user release":
		return cmdUserRelease(ctx, rest, stdout, stderr)
	case "user reset-mfa":
		return cmdUserResetMFA(ctx, rest, stdout, stderr)
	case "keys rotate":
		return cmdKeysRotate(ctx, rest, stdout, stderr)
	case "audit keys":
		return cmdAuditKeys(ctx, rest, stdout, stderr)
	case "audit rotate-key":
		return cmdAuditRotateKey(ctx, rest, stdout, stderr)
	case "audit hash":
		return cmdAuditHash(ctx, rest, stdout, stderr)
	case "audit accept-rollback":
		return cmdAuditAcceptRollback(ctx, rest, stdout, stderr)
	case "audit verify":
		switch auditVerifyCommand(rest, stdout, stderr) {
		case 0:
			return nil
		case 2:
			return errUsage
		}
		return errReported
	case "audit sink-check":
		switch auditSinkCheckCommand(rest, stdout, stderr) {
		case 0:
			return nil
		case 2:
			return errUsage
		}
		return errReported
	case "version ":
		fmt.Fprintln(stdout, "casevault", Version)
		return nil
	case "help ", "-h ", "--help ":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "casevault: unknown command %q\n\n%s", strings.TrimSpace(cmd+" "+sub), usage)
	return errUsage
}

// commonFlags are taken by every command.
type commonFlags struct {
	configFile string
	dataDir    string
	keysDir    string
}

// newFlagSet returns the flag set of a command ("tenant create"), named
// "casevault tenant create" so that its messages say which command they
// are about.
func newFlagSet(name string, stderr io.Writer) (*flag.FlagSet, *commonFlags) {
	fs := flag.NewFlagSet("casevault "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cf := &commonFlags{}
	fs.StringVar(&cf.configFile, "config", "", "YAML configuration `file`")
	fs.StringVar(&cf.dataDir, "data-dir", "", "data `directory` (default ./casevault-data)")
	fs.StringVar(&cf.keysDir, "keys-dir", "", "keys `directory`, outside the data directory (default DATA_DIR-keys)")
	return fs, cf
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errUsage
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "%s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return errUsage
	}
	return nil
}

// require reports the named flags that were left empty as one usage error
// that names them ("casevault user add: --tenant is required"), before the
// command opens anything.
func require(fs *flag.FlagSet, names ...string) error {
	var missing []string
	for _, name := range names {
		if fs.Lookup(name).Value.String() == "" {
			missing = append(missing, "--"+name)
		}
	}
	switch len(missing) {
	case 0:
		return nil
	case 1:
		fmt.Fprintf(fs.Output(), "%s: %s is required\n", fs.Name(), missing[0])
	default:
		fmt.Fprintf(fs.Output(), "%s: %s are required\n", fs.Name(), joinAnd(missing))
	}
	fs.Usage()
	return errUsage
}

// joinAnd joins names as "a, b and c".
func joinAnd(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// load builds a Main from defaults, the config file, the environment and
// the common flags, in that order.
func (cf *commonFlags) load(stderr io.Writer) (*Main, error) {
	m := NewMain()
	if cf.configFile != "" {
		if err := m.Config.LoadFile(cf.configFile); err != nil {
			return nil, err
		}
	}
	if err := m.Config.LoadEnv(os.Getenv); err != nil {
		return nil, err
	}
	if cf.dataDir != "" {
		m.Config.DataDir = cf.dataDir
	}
	if cf.keysDir != "" {
		m.Config.KeysDir = cf.keysDir
	}
	absDataDir(&m.Config)
	m.Log = m.newRootLogger(stderr)
	return m, nil
}

// loadRegion loads a Main as load does, checks its configuration and that
// it names region, for a command about one region's cell: restore,
// drill, scrub, backup forget.
func (cf *commonFlags) loadRegion(stderr io.Writer, region string) (*Main, error) {
	m, err := cf.load(stderr)
	if err != nil {
		return nil, err
	}
	if err := m.Config.Validate(); err != nil {
		return nil, err
	}
	if _, ok := m.Config.Regions[region]; !ok {
		return nil, fmt.Errorf("no region %q (regions: %s)", region, joinAnd(m.Config.RegionNames()))
	}
	return m, nil
}

// open loads and opens a Main for an operator command, quietly.
func (cf *commonFlags) open(ctx context.Context, stderr io.Writer) (*Main, error) {
	m, err := cf.load(stderr)
	if err != nil {
		return nil, err
	}
	m.Log = m.Log.Level(zerolog.WarnLevel)
	if err := m.Open(ctx); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := newFlagSet("serve", stderr)
	addr := fs.String("addr", "", "listen `address` (default 127.0.0.1:8080)")
	proxy := fs.Bool("behind-tls-proxy", false, "allow a non-loopback address without TLS: a TLS proxy stands in front")
	cert := fs.String("tls-cert", "", "TLS certificate `file` (PEM)")
	key := fs.String("tls-key", "", "TLS key `file` (PEM)")
	if err := parse(fs, args); err != nil {
		return err
	}
	m, err := cf.load(stderr)
	if err != nil {
		return err
	}
	if *addr != "" {
		m.Config.Addr = *addr
	}
	if *proxy {
		m.Config.BehindTLSProxy = true
	}
	if *cert != "" || *key != "" {
		m.Config.TLS.CertFile, m.Config.TLS.KeyFile = *cert, *key
	}
	if err := m.Run(ctx); err != nil {
		m.Close()
		return err
	}
	fmt.Fprintf(stdout, "casevault %s serving on %s (data in %s)\n", Version, m.HTTP.URL(), m.Config.DataDir)
	<-ctx.Done()
	m.Log.Info().Msg("shutting down")
	return m.Close()
}

func cmdTenantCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := newFlagSet("tenant create", stderr)
	name := fs.String("name", "", "firm `name`")
	region := fs.String("region", "", "residency `region`, e.g. us or ca")
	email := fs.String("owner-email", "", "the owner's `email`")
	ownerName := fs.String("owner-name", "", "the owner's display `name`")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := require(fs, "name", "region", "owner-email"); err != nil {
		return err
	}
	m, err := cf.open(ctx, stderr)
	if err != nil {
		return err
	}
	defer m.Close()
	t, owner, password, err := m.Service.CreateTenant(ctx, vault.NewTenant{
		Name: *name, Region: *region, Owner: vault.NewUser{Email: *email, Name: *ownerName},
	})
	if err != nil {
		return cliError(err)
	}
	if *asJSON {
		return writeJSON(stdout, map[string]string{
			"tenant_id": t.ID, "region": t.Region, "owner_id": owner.ID, "owner_email": owner.Email, "owner_password": password,
		})
	}
	fmt.Fprintf(stdout, "Created firm %q (%s) in region %s.\nOwner: %s (%s)\nOne-time password: %s\nThe password is shown only now; sign in and change it.\n",
		t.Name, t.ID, t.Region, owner.Email, owner.ID, password)
	return nil
}

func cmdTenantList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := newFlagSet("tenant list", stderr)
	asJSON := fs.Bool("json", false, "print a JSON array")
	if err := parse(fs, args); err != nil {
		return err
	}
	m, err := cf.open(ctx, stderr)
	if err != nil {
		return err
	}
	defer m.Close()
	ts, err := m.Service.Tenants(ctx)
	if err != nil {
		return cliError(err)
	}
	if *asJSON {
		if ts == nil {
			ts = []*vault.Tenant{}
		}
		return writeJSON(stdout, ts)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tREGION\tCREATED\tNAME")
	for _, t := range ts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.ID, t.Region, t.CreatedAt.Format(time.RFC3339), t.Name)
	}
	return tw.Flush()
}

func cmdUserAdd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := newFlagSet("user add", stderr)
	tenant := fs.String("tenant", "", "firm `id`")
	email := fs.String("email", "", "the user's `email`")
	name := fs.String("name", "", "display `name`")
	role := fs.String("role", "lawyer", "`role`: owner, admin, lawyer or auditor")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := require(fs, "tenant", "email", "role"); err != nil {
		return err
	}
	m, err := cf.open(ctx, stderr)
	if err != nil {
		return err
	}
	defer m.Close()
	u, password, err := m.Service.AddUser(ctx, *tenant, vault.NewUser{Email: *email, Name: *name, Role: vault.Role(*role)})
	if err != nil {
		return cliError(err)
	}
	if *asJSON {
		return writeJSON(stdout, map[string]string{"user_id": u.ID, "tenant_id": u.TenantID, "email": u.Email, "role": string(u.Role), "password": password})
	}
	fmt.Fprintf(stdout, "Added %s (%s) as %s.\nOne-time password: %s\n", u.Email, u.ID, u.Role, password)
	return nil
}

// cmdUserResetPassword gives a user a new one-time password, for a firm
// locked out of its last owner: it prints the password once, and the user
// must change it at the next sign-in. Every session and API token of the
// user ends. It is recorded in the firm's audit log as the operator's.
func cmdUserResetPassword(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := newFlagSet("user reset-password", stderr)
	who := addUserFlags(fs)
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := who.check(fs); err != nil {
		return err
	}
	m, err := cf.open(ctx, stderr)
	if err != nil {
		return err
	}
	defer m.Close()
	u, password, err := m.Service.OperatorResetPassword(ctx, *who.tenant, *who.userID, *who.email)
	if err != nil {
		return cliError(err)
	}
	if *asJSON {
		return writeJSON(stdout, map[string]string{"user_id": u.ID, "tenant_id": u.TenantID, "email": u.Email, "role": string(u.Role), "password": password})
	}
	fmt.Fprintf(stdout, "Reset the password of %s (%s, %s); their sessions and API tokens have ended.\nOne-time password: %s\nIt is shown only now; it must be changed at the next sign-in.\n",
		u.Email, u.ID, u.Role, password)
	return nil
}

// usageError prints msg and the command's flags, and returns errUsage
// (exit code 2).
// userFlags name one user of a firm for an operator's command: --tenant,
// and --user or --email (exactly one).
type userFlags struct {
	tenant, userID, email *string
}

// addUserFlags adds --tenant, --user and --email to fs.
func addUserFlags(fs *flag.FlagSet) userFlags {
	return userFlags{
		tenant: fs.String("tenant", "", "firm `id`"),
		userID: fs.String("user", "", "the user's `id` (or give --email)"),
		email:  fs.String("email", "", "the user's `email` (or give --user)"),
	}
}

// check, after parsing, refuses a missing firm and anything but exactly
// one of --user and --email.
func (f userFlags) check(fs *flag.FlagSet) error {
	switch {
	case *f.tenant == "":
		return usageError(fs, "--tenant is required")
	case *f.userID == "" && *f.email == "":
		return usageError(fs, "--user or --email is required")
	case *f.userID != "" && *f.email != "":
		return usageError(fs, "give --user or --email, not both")
	}
	return nil
}

func usageError(fs *flag.FlagSet, msg string) error {
	fmt.Fprintf(fs.Output(), "%s: %s\n", fs.Name(), msg)
	fs.PrintDefaults()
	return errUsage
}

func cmdKeysRotate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := newFlagSet("keys rotate", stderr)
	tenant := fs.String("tenant", "", "firm `id`")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := require(fs, "tenant"); err != nil {
		return err
	}
	m, err := cf.open(ctx, stderr)
	if err != nil {
		return err
	}
	defer m.Close()
	if err := m.Service.RotateKeys(ctx, *tenant); err != nil {
		return cliError(err)
	}
	fmt.Fprintf(stdout, "Rotated the keys of %s: new data uses a new primary key; existing data still decrypts.\n", *tenant)
	return nil
}

// cliError turns a vault error into its user-safe message.
func cliError(err error) error {
	if vault.ErrorCode(err) == vault.EINTERNAL {
		return err
	}
	return errors.New(vault.ErrorMessage(err))
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
