package audit

import (
	"context"
	"crypto"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/mod/sumdb/note"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver

	"github.com/casevault/casevault/internal/migrate"
	"github.com/casevault/casevault/internal/sqlitefile"
	"github.com/casevault/casevault/vault"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Defaults of Options.
const (
	DefaultCheckpointEvery    = 1000
	DefaultCheckpointInterval = 10 * time.Second
	DefaultBusyTimeout        = 10 * time.Second
	DefaultHeartbeat          = time.Hour
)

// maxBatch is the most events one group commit writes. It bounds the time
// the write lock is held and the memory of one batch.
const maxBatch = 512

// maxEventSize bounds the text of one event (all its strings together), so
// that one caller cannot make a huge leaf.
const maxEventSize = 64 << 10

// Options configure a Log. Signer is required; Sealer is required for
// events with private parts (every firm event with an actor, a source or a
// name), Indexer for service log events with an email or a source.
type Options struct {
	// Sealer seals the private part of each event with the firm's field
	// key, for the cell FieldRef{Table: "audit_events", Column: "private",
	// RowID: <event id>}.
	Sealer vault.FieldSealer

	// Indexer keys the hashes that stand for emails and client addresses
	// in the service log, which has no firm key to seal them with: the
	// service-wide index key (region "").
	Indexer vault.Indexer

	// Signer returns the note signer of the firm's region and the verifier
	// key that checks its signatures. The service log is tenant "".
	Signer func(ctx context.Context, tenant string) (signer note.Signer, verifierKey string, err error)

	// Keys, when set, returns every verifier key of the firm's region,
	// oldest first, the current one (Signer's) last, each retired one with
	// the signed statement of the rotation that retired it. The anchored
	// checkpoint may be signed by any of them; a log whose anchored
	// checkpoint a retired key signed gets an ActionKeyRotated event at
	// Open, before the new key signs anything of it (keyrotation.go).
	Keys func(ctx context.Context, tenant string) ([]vault.AuditKey, error)
	// Timestamper returns the Ed25519 private key behind Signer's note key
	// for tenant, as a crypto.Signer. With it, every checkpoint the log
	// signs carries, beside its note signature, a C2SP cosignature/v1
	// timestamp line made with that key under the same name, with the
	// log's clock (timestamp.go). Without it checkpoints carry no
	// timestamp, and the bundles of format /2 exported from them do not
	// verify; it is optional for tests of other parts only.
	Timestamper func(ctx context.Context, tenant string) (crypto.Signer, error)

	// Heartbeat is the longest a log goes without a freshly signed
	// timestamp while it is idle: its latest tree is then signed again, at
	// the same size, and stored, anchored and passed to OnSigned like any
	// checkpoint (default DefaultHeartbeat; see heartbeat.go).
	Heartbeat time.Duration

	// Anchor, when set, keeps each log's latest signed checkpoint outside
	// the database: a tree that does not extend it is never signed, and its
	// log takes no more appends (see anchor.go).
	Anchor Anchor

	// Now returns the current time; it defaults to time.Now. Times are
	// stored in UTC.
	Now func() time.Time

	// OnSigned, when set, is called with every checkpoint once it is newly
	// signed and stored (not when a stored one is returned again), for
	// those that pass checkpoints on: witnesses, a firm's sink. That
	// includes heartbeats and the checkpoints exports sign, so the same
	// size can come again with a newer Time, and an export's can be
	// smaller than one passed before. It must not block: it is called on
	// the signing path.
	OnSigned func(c *Checkpoint)

	// CheckpointEvery is the number of events of a firm after which a
	// checkpoint is signed (default DefaultCheckpointEvery).
	CheckpointEvery int

	// CheckpointInterval is the longest a firm's tree stays grown without a
	// signed checkpoint (default DefaultCheckpointInterval).
	CheckpointInterval time.Duration

	// BusyTimeout is how long a write waits for a lock held by another
	// connection to the file before the append fails unavailable (default
	// DefaultBusyTimeout).
	BusyTimeout time.Duration

	// MaxSize, when positive, caps the database file at about that many
	// bytes: an append that would grow it further fails unavailable, as on
	// a full disk.
	MaxSize int64

	// Log receives the log's own operational messages; it never gets event
	// contents. The zero value logs nothing.
	Log zerolog.Logger
}

// Log is the audit log on its own SQLite file: one Merkle tree per firm
// (tenant "" is the service log), with signed checkpoints. It implements
// vault.AuditLog and Source and is safe for concurrent use.
//
// All writes go through one goroutine that commits queued events in groups,
// one transaction and one sync for all of them. Only one process may write
// a file at a time: the next sequence number of each firm is kept in memory.
type Log struct {
	db   *sql.DB
	path string
	opts Options

	// Counters for Stats.
	appended, failed, batches atomic.Int64
	log                       zerolog.Logger

	// mu guards closed and sends on reqs, so that Close never closes reqs
	// under a sender.
	mu     sync.RWMutex
	closed bool
	reqs   chan *request

	writerDone chan struct{}
	// tips is each firm's last sequence number and the Prev of its next
	// event, loaded lazily. Only the writer goroutine touches it.
	tips map[string]tip

	// Checkpoint state; see tree.go.
	ckMu    sync.Mutex           // serialises Checkpoint, so a size is signed once
	stMu    sync.Mutex           // guards the four maps below
	signed  map[string]int64     // size of each firm's latest checkpoint, once known
	grown   map[string]struct{}  // firms appended to since the last timer pass
	urgent  map[string]struct{}  // firms CheckpointEvery events past their checkpoint
	failing map[string]struct{}  // firms whose last signing failed
	logs    map[string]struct{}  // firms known to have events, for heartbeats
	lastSig map[string]time.Time // newest timestamp signed of each log, once known
	kick    chan struct{}
	stop    chan struct{}
	ckDone  chan struct{}

	// Logs that do not extend their anchored checkpoint; see anchor.go.
	divMu       sync.RWMutex
	diverged    map[string]string // tenant → why
	anyDiverged atomic.Bool
	// Logs held by a move between cells (handover_hold.go): no appends
	// and no signing of them but the move's own. Guarded by divMu.
	held    map[string]string // tenant → why a move holds its log (handover_hold.go)
	anyHeld atomic.Bool

	closeOnce sync.Once
	closeErr  error
}

var (
	_ vault.AuditLog = (*Log)(nil)
	_ Source         = (*Log)(nil)
)

// errClosed is the cause of appends to a closed log.
var errClosed = errors.New("audit log is closed")

// tip is where a firm's tree ends.
type tip struct {
	seq  int64  // last sequence number; 0 for an empty tree
	prev string // PrevOf(leaf of seq); "" for an empty tree
	time string // Time of the event seq (TimeLayout); "" for an empty tree
}

// request is one item of work for the writer: an event to append or a
// signed checkpoint to store.
type request struct {
	ctx    context.Context
	entry  *Entry // complete but for Seq and Prev, which the writer assigns
	matter string // the matter_id column
	ck     *Checkpoint
	// hold, with entry, holds the entry's log in the same transaction
	// (the handover of a move: nothing follows it here).
	hold string
	// fn, alone, runs on the writer goroutine in place of a batch: the
	// writes of a move that are not appends (handover_hold.go).
	fn   func(ctx context.Context) error
	done chan result
}

type result struct {
	seq int64
	err error
}

// unavailable is the error of every append that cannot be written.
func unavailable(err error) error {
	return vault.WrapError(vault.EUNAVAILABLE, err, "Audit log unavailable.")
}

// Open opens the audit log at path, creating the file and its directory if
// needed, applies pending migrations, and starts the writer and the
// checkpoint signer. Errors: invalid (unusable path or options),
// unavailable, internal.
func Open(ctx context.Context, path string, opts Options) (*Log, error) {
	if opts.Signer == nil {
		return nil, vault.Errorf(vault.EINVALID, "Audit log needs a checkpoint signer.")
	}
	if opts.CheckpointEvery < 0 || opts.CheckpointInterval < 0 || opts.BusyTimeout < 0 || opts.MaxSize < 0 || opts.Heartbeat < 0 {
		return nil, vault.Errorf(vault.EINVALID, "Invalid audit log options.")
	}
	if opts.CheckpointEvery == 0 {
		opts.CheckpointEvery = DefaultCheckpointEvery
	}
	if opts.CheckpointInterval == 0 {
		opts.CheckpointInterval = DefaultCheckpointInterval
	}
	if opts.BusyTimeout == 0 {
		opts.BusyTimeout = DefaultBusyTimeout
	}
	if opts.Heartbeat == 0 {
		opts.Heartbeat = DefaultHeartbeat
	}
	if err := sqlitefile.Create(path, "audit log"); err != nil {
		return nil, err
	}

	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.FormatInt(opts.BusyTimeout.Milliseconds(), 10)+")")
	q.Add("_pragma", "journal_mode(WAL)")
	// FULL syncs the WAL at every commit: an append that returned survives
	// a power loss (DESIGN.md invariant 4).
	q.Add("_pragma", "synchronous(FULL)")
	// The append-only triggers make every insert keep a statement journal;
	// in memory it costs a copy, in a temp file a write per page.
	q.Add("_pragma", "temp_store(MEMORY)")
	if opts.MaxSize > 0 {
		// The default page size; the cap is per connection, so every
		// connection of the pool sets it.
		q.Add("_pragma", "max_page_count("+strconv.FormatInt(max(opts.MaxSize/4096, 1), 10)+")")
	}
	// Write transactions take the write lock at BEGIN, so the writer never
	// reads under a shared lock and then fails to upgrade.
	q.Set("_txlock", "immediate")
	sdb, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open audit log: %w", err)
	}
	// WAL lets readers (exports, proofs) run beside the one writer.
	sdb.SetMaxIdleConns(4)
	sdb.SetConnMaxIdleTime(5 * time.Minute)

	l := &Log{
		db:         sdb,
		path:       path,
		opts:       opts,
		log:        opts.Log.With().Str("component", "audit").Logger(),
		reqs:       make(chan *request, 4*maxBatch),
		writerDone: make(chan struct{}),
		tips:       map[string]tip{},
		signed:     map[string]int64{},
		grown:      map[string]struct{}{},
		urgent:     map[string]struct{}{},
		failing:    map[string]struct{}{},
		logs:       map[string]struct{}{},
		lastSig:    map[string]time.Time{},
		diverged:   map[string]string{},
		held:       map[string]string{},
		kick:       make(chan struct{}, 1),
		stop:       make(chan struct{}),
		ckDone:     make(chan struct{}),
	}
	if err := l.init(ctx); err != nil {
		sdb.Close()
		return nil, err
	}
	if err := l.loadHeld(ctx); err != nil {
		sdb.Close()
		return nil, err
	}
	if err := l.checkAnchors(ctx); err != nil {
		sdb.Close()
		return nil, err
	}
	go l.write()
	if err := l.recordRotations(ctx); err != nil {
		close(l.ckDone) // no checkpointer: Close must not sign anything
		l.Close()
		return nil, err
	}
	go l.checkpointer()
	return l, nil
}

// init checks the connection settings and applies migrations.
func (l *Log) init(ctx context.Context) error {
	var mode string
	if err := l.db.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
		return unavailable(err)
	}
	if !strings.EqualFold(mode, "wal") {
		return vault.Errorf(vault.EINTERNAL, "Audit log journal mode is %q, want wal.", mode)
	}
	var sync int
	if err := l.db.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&sync); err != nil {
		return unavailable(err)
	}
	if sync != 2 {
		return vault.Errorf(vault.EINTERNAL, "Audit log synchronous mode is %d, want 2 (FULL).", sync)
	}
	if err := l.migrate(ctx); err != nil {
		return unavailable(fmt.Errorf("migrate audit log: %w", err))
	}
	return nil
}

// migrate applies the embedded migrations not yet recorded.
func (l *Log) migrate(ctx context.Context) error {
	return migrate.Apply(ctx, l.db, migrationFS, "migrations/*.sql", func() string { return l.now().Format(TimeLayout) })
}

// Close signs a last checkpoint of every firm whose tree grew, waits for
// queued appends to be written, and closes the file. Appends after Close
// fail unavailable.
func (l *Log) Close() error {
	l.closeOnce.Do(func() {
		close(l.stop)
		<-l.ckDone
		l.mu.Lock()
		l.closed = true
		close(l.reqs)
		l.mu.Unlock()
		<-l.writerDone
		l.closeErr = l.db.Close()
	})
	return l.closeErr
}

// now returns the clock's time in UTC.
func (l *Log) now() time.Time {
	if l.opts.Now == nil {
		return time.Now().UTC()
	}
	return l.opts.Now().UTC()
}

// Append records e durably and returns its sequence number in its firm's
// log. It seals e.Private in the caller's goroutine, then waits for the
// writer to commit the event with others queued beside it. A zero e.Time is
// the clock's time; an empty Source or UserAgent is taken from the
// vault.RequestMeta of ctx. A firm's event keeps the actor's email, source
// and user agent in its sealed private part; a service log event keeps the
// email and source as keyed hashes (Options.Indexer) and no user agent.
// Errors: invalid (malformed event, details naming a person or a client, a
// private part other than an email in the service log), unavailable (the
// event cannot be sealed, hashed or written, or its log does not extend the
// checkpoint signed last; the action must not happen). When ctx ends while the event is
// queued, Append returns unavailable, though the event may still be written.
func (l *Log) Append(ctx context.Context, e *vault.AuditEvent) (int64, error) {
	if e != nil {
		if err := l.appendError(e.TenantID); err != nil {
			l.failed.Add(1)
			return 0, err
		}
	}
	ent, matter, err := l.newEntry(ctx, e)
	if err != nil {
		return 0, err
	}
	req := &request{ctx: ctx, entry: ent, matter: matter, done: make(chan result, 1)}
	if err := l.send(ctx, req); err != nil {
		return 0, err
	}
	select {
	case r := <-req.done:
		return r.seq, r.err
	case <-ctx.Done():
		return 0, unavailable(ctx.Err())
	}
}

// send queues req for the writer.
func (l *Log) send(ctx context.Context, req *request) error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return unavailable(errClosed)
	}
	select {
	case l.reqs <- req:
		return nil
	case <-ctx.Done():
		return unavailable(ctx.Err())
	}
}
