package server

// This file is the SQLite implementation of Store (modernc.org/sqlite, no
// cgo). As in the field store: pragmas in the DSN, one writer connection
// (SQLite has one writer; requests queue here, not on the file lock) and a
// pool of read-only connections, so that pulls and exports never wait for
// a push. The hot statements are prepared once on the writer.

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/buergerkoffer/kit/internal/merge"
	"github.com/buergerkoffer/kit/internal/sqlitedsn"
	"github.com/buergerkoffer/kit/internal/sqlmigrate"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

var _ Store = (*sqliteStore)(nil)

//go:embed migrations/*.sql
var migrationFS embed.FS

// timeFormat has a fixed width, so stored times compare as strings.
const timeFormat = "2006-01-02T15:04:05.000000000Z"

func fmtTime(t time.Time) string { return t.UTC().Format(timeFormat) }

func fmtNullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return fmtTime(t)
}

func parseTime(s sql.NullString) time.Time {
	if !s.Valid || s.String == "" {
		return time.Time{}
	}
	t, err := time.Parse(timeFormat, s.String)
	if err != nil {
		return time.Time{}
	}
	return t
}

// Checkpoints copy the WAL into the database file and sync it: on a slow
// disk the sync costs more than a whole push. A background goroutine does
// them every checkpointEvery, so that requests do not; the writer checkpoints
// itself only when the WAL passes walBackstopPages (64 MiB).
const (
	checkpointEvery  = 250 * time.Millisecond
	walBackstopPages = 16384
)

// dsn is the kit's common SQLite connection string (sqlitedsn) with the
// server's own settings for writers.
func dsn(path string, readOnly bool) string {
	if readOnly {
		return sqlitedsn.DSN(path, true)
	}
	// Checkpoints run in the background (checkpointer); this one is the
	// backstop should they fall behind.
	// A push writes megabytes of pages in one transaction; a page cache
	// that holds them spares spilling them to the WAL midway. 8 MiB holds
	// a push of several thousand changes; a larger cache costs more than
	// it saves: every page it grows by is fresh memory from the driver's
	// allocator (an mmap and page faults), which made a 64 MiB cache ~40%
	// slower per pushed change.
	return sqlitedsn.DSN(path, false, fmt.Sprintf("_pragma=wal_autocheckpoint(%d)", walBackstopPages),
		"_pragma=cache_size(-8192)")
}

// The statements of the write path, prepared once on the writer.
const (
	qMeta          = `SELECT value FROM meta WHERE key = ?`
	qSetMeta       = `INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`
	qRecord        = `SELECT state FROM record WHERE tenant = ? AND id = ?`
	qRecordKey     = `SELECT seal_id, wrapped, origin_device, created_at FROM record_key WHERE tenant = ? AND record_id = ?`
	qSeal          = `SELECT jwe FROM seal WHERE tenant = ? AND id = ?`
	qChangeSecret  = `SELECT secret FROM change WHERE tenant = ? AND id = ?`
	qAttachmentOK  = `SELECT complete FROM attachment WHERE tenant = ? AND record_id = ? AND sha256 = ?`
	qTouchDevice   = `UPDATE device SET last_seen_at = ? WHERE id = ?`
	qDeviceByToken = `SELECT ` + deviceColumns + ` FROM device WHERE token_hash = ? AND revoked_at IS NULL`
	qFeed          = `SELECT c.seq, c.id, c.record_id, c.record_type, c.op, c.fields, c.plain, c.secret, c.base_version, c.version,
		c.hlc, c.device, c.clerk, c.created_at, c.state, c.deleted,
		k.record_id IS NOT NULL, coalesce(k.seal_id, ''), k.wrapped, coalesce(k.origin_device, ''), coalesce(r.status, '')
		FROM change c
		LEFT JOIN record_key k ON k.tenant = c.tenant AND k.record_id = c.record_id
		LEFT JOIN record r ON r.tenant = c.tenant AND r.id = c.record_id
		WHERE c.tenant = ? AND c.seq > ? ORDER BY c.seq LIMIT ?`
	qHeadSeq = `SELECT coalesce(max(seq), 0) FROM change WHERE tenant = ?`
)

const deviceColumns = `id, tenant, name, local_id, public_pem, kid, enrolled_at, last_seen_at, revoked_at, version`

var writeQueries = []string{qMeta, qSetMeta, qRecord, qRecordKey, qSeal, qChangeSecret, qAttachmentOK, qTouchDevice}

// sqliteStore implements Store on one SQLite file.
type sqliteStore struct {
	w, r  *sql.DB
	cp    *sql.DB              // the checkpointer's connection
	stmts map[string]*sql.Stmt // prepared on w
	batch map[string]bool      // those of stmts that are batchQueries
	rst   map[string]*sql.Stmt // prepared on r

	stopCP func()        // stops the checkpointer
	cpDone chan struct{} // closed when it has stopped

	officeSQL  // the office's tables (office_sql.go)
	handoffSQL // the hand-off's tables (handoff_sql.go)
}

// openSQLite opens (creating if need be) the database at path and brings
// its schema up to date.
func openSQLite(ctx context.Context, path string) (*sqliteStore, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("open database %q: path must be non-empty and contain no ? or #", path)
	}
	s := &sqliteStore{stmts: map[string]*sql.Stmt{}, batch: map[string]bool{}, rst: map[string]*sql.Stmt{}}
	s.officeSQL = officeSQL{sqliteOffice{s}}
	s.handoffSQL = handoffSQL{sqliteOffice{s}}
	var err error
	if s.w, err = sql.Open("sqlite", dsn(path, false)); err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	s.w.SetMaxOpenConns(1)
	s.w.SetConnMaxIdleTime(0)
	steps, err := loadMigrations()
	if err != nil {
		s.Close()
		return nil, err
	}
	if err := sqlmigrate.Up(ctx, s.w, steps, len(steps)); err != nil {
		s.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	if s.r, err = sql.Open("sqlite", dsn(path, true)); err != nil {
		s.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	s.r.SetMaxOpenConns(8)
	s.r.SetMaxIdleConns(8)
	for _, q := range writeQueries {
		st, err := s.w.PrepareContext(ctx, q)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("open database %s: prepare: %w", path, err)
		}
		s.stmts[q] = st
	}
	for _, q := range batchQueries() {
		st, err := s.w.PrepareContext(ctx, q)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("open database %s: prepare: %w", path, err)
		}
		s.stmts[q], s.batch[q] = st, true
	}
	for _, q := range []string{qRecord, qRecordKey, qSeal, qChangeSecret, qDeviceByToken, qFeed, qHeadSeq, qMeta} {
		st, err := s.r.PrepareContext(ctx, q)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("open database %s: prepare: %w", path, err)
		}
		s.rst[q] = st
	}
	if s.cp, err = sql.Open("sqlite", dsn(path, false)); err != nil {
		s.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	s.cp.SetMaxOpenConns(1)
	s.startCheckpointer()
	return s, nil
}

// startCheckpointer starts the goroutine that checkpoints the WAL; Close
// stops it and waits for it. A PASSIVE checkpoint never blocks the writer
// or readers; a failed one (busy) is simply tried again next time.
func (s *sqliteStore) startCheckpointer() {
	ctx, cancel := context.WithCancel(context.Background())
	s.stopCP, s.cpDone = cancel, make(chan struct{})
	go func() {
		defer close(s.cpDone)
		t := time.NewTicker(checkpointEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				s.cp.ExecContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`)
			}
		}
	}()
}

// loadMigrations returns the server's schema steps, which
// internal/sqlmigrate applies.
func loadMigrations() ([]sqlmigrate.Step, error) {
	steps, err := sqlmigrate.Load(migrationFS, "migrations/*.sql")
	if err != nil {
		return nil, fmt.Errorf("embedded migrations: %w", err)
	}
	return steps, nil
}

func (s *sqliteStore) Close() error {
	var errs []error
	if s.stopCP != nil {
		s.stopCP()
		<-s.cpDone
		s.stopCP = nil
	}
	if s.cp != nil {
		errs = append(errs, s.cp.Close())
	}
	for _, m := range []map[string]*sql.Stmt{s.stmts, s.rst} {
		for q, st := range m {
			errs = append(errs, st.Close())
			delete(m, q)
		}
	}
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	if s.w != nil {
		errs = append(errs, s.w.Close())
	}
	return errors.Join(errs...)
}

// writeTx runs fn in a write transaction on the writer connection.
func (s *sqliteStore) writeTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		if rerr := tx.Rollback(); rerr != nil {
			return errors.Join(err, fmt.Errorf("rollback: %w", rerr))
		}
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Update ignores tenant: SQLite has one writer, so every write
// transaction runs alone.
func (s *sqliteStore) Update(ctx context.Context, _ string, fn func(Tx) error) error {
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		t := &sqliteTx{s: s, tx: tx, bound: map[string]*sql.Stmt{}}
		return fn(t)
	})
}

// querier is a read connection pool or a transaction, with its statements.
type querier interface {
	stmt(ctx context.Context, q string) (*sql.Stmt, error)
}

func (s *sqliteStore) stmt(_ context.Context, q string) (*sql.Stmt, error) {
	st, ok := s.rst[q]
	if !ok {
		return nil, fmt.Errorf("statement not prepared")
	}
	return st, nil
}

// sqliteTx implements Tx.
type sqliteTx struct {
	s     *sqliteStore
	tx    *sql.Tx
	bound map[string]*sql.Stmt
}

func (t *sqliteTx) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if st, ok := t.bound[q]; ok {
		return st, nil
	}
	st, ok := t.s.stmts[q]
	if !ok {
		return nil, fmt.Errorf("statement not prepared")
	}
	st = t.tx.StmtContext(ctx, st)
	t.bound[q] = st
	return st, nil
}

// Statements run with a context that cannot be cancelled: a cancellable
// one makes the driver watch it with a goroutine per statement, which
// costs more than the statement. Transactions still end with their
// request's context.
func queryRow(ctx context.Context, q querier, query string, args ...any) (*sql.Row, error) {
	ctx = context.WithoutCancel(ctx)
	st, err := q.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryRowContext(ctx, args...), nil
}

func exec(ctx context.Context, q querier, query string, args ...any) (sql.Result, error) {
	ctx = context.WithoutCancel(ctx)
	st, err := q.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// Lookup, shared by the read side and the transaction.

func lookupRecord(ctx context.Context, q querier, tenant, id string) (*merge.Record, error) {
	row, err := queryRow(ctx, q, qRecord, tenant, id)
	if err != nil {
		return nil, err
	}
	var state string
	if err := row.Scan(&state); errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("read record %s: %w", id, err)
	}
	return decodeRecord(id, []byte(state))
}

func lookupRecordKey(ctx context.Context, q querier, tenant, id string) (RecordKey, bool, error) {
	row, err := queryRow(ctx, q, qRecordKey, tenant, id)
	if err != nil {
		return RecordKey{}, false, err
	}
	k := RecordKey{Tenant: tenant, RecordID: id}
	var created sql.NullString
	if err := row.Scan(&k.SealID, &k.Wrapped, &k.OriginDevice, &created); errors.Is(err, sql.ErrNoRows) {
		return RecordKey{}, false, nil
	} else if err != nil {
		return RecordKey{}, false, fmt.Errorf("read record key %s: %w", id, err)
	}
	k.CreatedAt = parseTime(created)
	return k, true, nil
}

func lookupSeal(ctx context.Context, q querier, tenant, id string) (string, bool, error) {
	row, err := queryRow(ctx, q, qSeal, tenant, id)
	if err != nil {
		return "", false, err
	}
	var jwe string
	if err := row.Scan(&jwe); errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	} else if err != nil {
		return "", false, fmt.Errorf("read seal %s: %w", id, err)
	}
	return jwe, true, nil
}

func lookupChangeSecret(ctx context.Context, q querier, tenant, id string) ([]byte, error) {
	row, err := queryRow(ctx, q, qChangeSecret, tenant, id)
	if err != nil {
		return nil, err
	}
	var secret []byte
	if err := row.Scan(&secret); errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("change %s: %w", id, ErrNotFound)
	} else if err != nil {
		return nil, fmt.Errorf("read change %s: %w", id, err)
	}
	return secret, nil
}

func lookupMeta(ctx context.Context, q querier, key string) (string, error) {
	row, err := queryRow(ctx, q, qMeta, key)
	if err != nil {
		return "", err
	}
	var v string
	if err := row.Scan(&v); errors.Is(err, sql.ErrNoRows) {
		return "", nil
	} else if err != nil {
		return "", fmt.Errorf("read meta %s: %w", key, err)
	}
	return v, nil
}

func (s *sqliteStore) Record(ctx context.Context, tenant, id string) (*merge.Record, error) {
	return lookupRecord(ctx, s, tenant, id)
}
func (s *sqliteStore) RecordKey(ctx context.Context, tenant, id string) (RecordKey, bool, error) {
	return lookupRecordKey(ctx, s, tenant, id)
}
func (s *sqliteStore) Seal(ctx context.Context, tenant, id string) (string, bool, error) {
	return lookupSeal(ctx, s, tenant, id)
}
func (s *sqliteStore) ChangeSecret(ctx context.Context, tenant, id string) ([]byte, error) {
	return lookupChangeSecret(ctx, s, tenant, id)
}
func (s *sqliteStore) Meta(ctx context.Context, key string) (string, error) {
	return lookupMeta(ctx, s, key)
}

func (t *sqliteTx) Record(ctx context.Context, tenant, id string) (*merge.Record, error) {
	return lookupRecord(ctx, t, tenant, id)
}
func (t *sqliteTx) RecordKey(ctx context.Context, tenant, id string) (RecordKey, bool, error) {
	return lookupRecordKey(ctx, t, tenant, id)
}
func (t *sqliteTx) Seal(ctx context.Context, tenant, id string) (string, bool, error) {
	return lookupSeal(ctx, t, tenant, id)
}
func (t *sqliteTx) ChangeSecret(ctx context.Context, tenant, id string) ([]byte, error) {
	return lookupChangeSecret(ctx, t, tenant, id)
}
func (t *sqliteTx) Meta(ctx context.Context, key string) (string, error) {
	return lookupMeta(ctx, t, key)
}

// Transaction writes.

func (t *sqliteTx) SetMeta(ctx context.Context, key, value string) error {
	if _, err := exec(ctx, t, qSetMeta, key, value); err != nil {
		return fmt.Errorf("write meta %s: %w", key, err)
	}
	return nil
}

func (t *sqliteTx) AttachmentComplete(ctx context.Context, ref AttachmentRef) (bool, error) {
	row, err := queryRow(ctx, t, qAttachmentOK, ref.Tenant, ref.RecordID, ref.SHA256)
	if err != nil {
		return false, err
	}
	var complete bool
	if err := row.Scan(&complete); errors.Is(err, sql.ErrNoRows) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("read attachment %s of record %s: %w", ref.SHA256, ref.RecordID, err)
	}
	return complete, nil
}

func (t *sqliteTx) SetDeviceVersion(ctx context.Context, id, version string) error {
	if _, err := t.tx.ExecContext(ctx, `UPDATE device SET version = ? WHERE id = ?`, version, id); err != nil {
		return fmt.Errorf("note version of device %s: %w", id, err)
	}
	return nil
}

func (t *sqliteTx) TouchDevice(ctx context.Context, id string, at time.Time) error {
	if _, err := exec(ctx, t, qTouchDevice, fmtTime(at), id); err != nil {
		return fmt.Errorf("touch device %s: %w", id, err)
	}
	return nil
}

// Tenants, devices, enrolment.

func (s *sqliteStore) CreateTenant(ctx context.Context, t Tenant, k TenantKey) error {
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM tenant WHERE id = ?`, t.ID).Scan(&n); err != nil {
			return fmt.Errorf("create tenant %s: %w", t.ID, err)
		}
		if n > 0 {
			return fmt.Errorf("tenant %s: %w", t.ID, ErrExists)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO tenant(id, name, created_at) VALUES (?, ?, ?)`,
			t.ID, t.Name, fmtTime(t.CreatedAt)); err != nil {
			return fmt.Errorf("create tenant %s: %w", t.ID, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO tenant_key(tenant, kid, public_pem, private_wrapped, created_at)
			VALUES (?, ?, ?, ?, ?)`, t.ID, k.KeyID, k.PublicPEM, k.PrivateWrapped, fmtTime(k.CreatedAt)); err != nil {
			return fmt.Errorf("create tenant %s: key: %w", t.ID, err)
		}
		return nil
	})
}

func (s *sqliteStore) Tenants(ctx context.Context) ([]Tenant, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, name, created_at FROM tenant ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	defer rows.Close()
	var out []Tenant
	for rows.Next() {
		var t Tenant
		var created sql.NullString
		if err := rows.Scan(&t.ID, &t.Name, &created); err != nil {
			return nil, fmt.Errorf("list tenants: %w", err)
		}
		t.CreatedAt = parseTime(created)
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	return out, nil
}

// A tenant's keys are never deleted: the newest seals new data, the older
// ones still open what was sealed for them. Newest is by created_at, then
// by insertion (rowid), so keys made within one clock tick keep their order.
const qTenantKeyCols = `SELECT kid, public_pem, private_wrapped, created_at FROM tenant_key`

func (s *sqliteStore) TenantKey(ctx context.Context, tenant string) (TenantKey, error) {
	return s.scanTenantKey(ctx, tenant, "", qTenantKeyCols+` WHERE tenant = ? ORDER BY created_at DESC, rowid DESC LIMIT 1`,
		tenant)
}

func (s *sqliteStore) TenantKeyByID(ctx context.Context, tenant, kid string) (TenantKey, error) {
	return s.scanTenantKey(ctx, tenant, kid, qTenantKeyCols+` WHERE tenant = ? AND kid = ?`, tenant, kid)
}

func (s *sqliteStore) scanTenantKey(ctx context.Context, tenant, kid, query string, args ...any) (TenantKey, error) {
	k := TenantKey{Tenant: tenant}
	var created sql.NullString
	err := s.r.QueryRowContext(ctx, query, args...).Scan(&k.KeyID, &k.PublicPEM, &k.PrivateWrapped, &created)
	if errors.Is(err, sql.ErrNoRows) {
		if kid != "" {
			return TenantKey{}, fmt.Errorf("key %s of tenant %s: %w", kid, tenant, ErrNotFound)
		}
		return TenantKey{}, fmt.Errorf("tenant %s: %w", tenant, ErrNotFound)
	}
	if err != nil {
		return TenantKey{}, fmt.Errorf("read key of tenant %s: %w", tenant, err)
	}
	k.CreatedAt = parseTime(created)
	return k, nil
}

func (s *sqliteStore) AddTenantKey(ctx context.Context, k TenantKey) error {
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		var tenants, keys int
		if err := tx.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM tenant WHERE id = ?),
			(SELECT count(*) FROM tenant_key WHERE tenant = ? AND kid = ?)`, k.Tenant, k.Tenant, k.KeyID).Scan(&tenants, &keys); err != nil {
			return fmt.Errorf("add key to tenant %s: %w", k.Tenant, err)
		}
		if tenants == 0 {
			return fmt.Errorf("tenant %s: %w", k.Tenant, ErrNotFound)
		}
		if keys > 0 {
			return fmt.Errorf("key %s of tenant %s: %w", k.KeyID, k.Tenant, ErrExists)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO tenant_key(tenant, kid, public_pem, private_wrapped, created_at)
			VALUES (?, ?, ?, ?, ?)`, k.Tenant, k.KeyID, k.PublicPEM, k.PrivateWrapped, fmtTime(k.CreatedAt)); err != nil {
			return fmt.Errorf("add key to tenant %s: %w", k.Tenant, err)
		}
		return nil
	})
}

func (s *sqliteStore) AddEnrolment(ctx context.Context, e Enrolment) error {
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM tenant WHERE id = ?`, e.Tenant).Scan(&n); err != nil {
			return fmt.Errorf("issue enrolment: %w", err)
		}
		if n == 0 {
			return fmt.Errorf("tenant %s: %w", e.Tenant, ErrNotFound)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO enrolment(code_hash, tenant, created_at, expires_at) VALUES (?, ?, ?, ?)`,
			e.CodeHash, e.Tenant, fmtTime(e.CreatedAt), fmtTime(e.ExpiresAt)); err != nil {
			return fmt.Errorf("issue enrolment: %w", err)
		}
		return nil
	})
}

func (s *sqliteStore) Redeem(ctx context.Context, codeHash, tokenHash string, d Device) (string, error) {
	var tenant string
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		now := fmtTime(d.EnrolledAt)
		err := tx.QueryRowContext(ctx, `UPDATE enrolment SET used_at = ?, device_id = ?
			WHERE code_hash = ? AND used_at IS NULL AND expires_at > ? RETURNING tenant`,
			now, d.ID, codeHash, now).Scan(&tenant)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("enrolment code: %w", ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("redeem enrolment: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO device(id, tenant, name, local_id, token_hash, public_pem, kid, enrolled_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, d.ID, tenant, d.Name, d.LocalID, tokenHash, d.PublicKeyPEM, d.KeyID, now); err != nil {
			return fmt.Errorf("add device: %w", err)
		}
		return nil
	})
	return tenant, err
}

func (s *sqliteStore) EnrolmentOpen(ctx context.Context, codeHash string, at time.Time) (bool, error) {
	var one int
	err := s.r.QueryRowContext(ctx, `SELECT 1 FROM enrolment WHERE code_hash = ? AND used_at IS NULL AND expires_at > ?`,
		codeHash, fmtTime(at)).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("look up enrolment code: %w", err)
	}
	return true, nil
}

func scanDevice(sc interface{ Scan(...any) error }) (Device, error) {
	var d Device
	var enrolled, seen, revoked sql.NullString
	if err := sc.Scan(&d.ID, &d.Tenant, &d.Name, &d.LocalID, &d.PublicKeyPEM, &d.KeyID, &enrolled, &seen, &revoked, &d.Version); err != nil {
		return Device{}, err
	}
	d.EnrolledAt, d.LastSeenAt, d.RevokedAt = parseTime(enrolled), parseTime(seen), parseTime(revoked)
	return d, nil
}

func (s *sqliteStore) DeviceByToken(ctx context.Context, tokenHash string) (Device, error) {
	row, err := queryRow(ctx, s, qDeviceByToken, tokenHash)
	if err != nil {
		return Device{}, err
	}
	d, err := scanDevice(row)
	if errors.Is(err, sql.ErrNoRows) {
		return Device{}, fmt.Errorf("device: %w", ErrNotFound)
	}
	if err != nil {
		return Device{}, fmt.Errorf("read device: %w", err)
	}
	return d, nil
}

func (s *sqliteStore) Devices(ctx context.Context, tenant string) ([]Device, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+deviceColumns+` FROM device WHERE tenant = ? ORDER BY enrolled_at, id`, tenant)
	if err != nil {
		return nil, fmt.Errorf("list devices: %w", err)
	}
	defer rows.Close()
	var out []Device
	for rows.Next() {
		d, err := scanDevice(rows)
		if err != nil {
			return nil, fmt.Errorf("list devices: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list devices: %w", err)
	}
	return out, nil
}

func (s *sqliteStore) Revoke(ctx context.Context, id string, at time.Time) error {
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE device SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?`, fmtTime(at), id)
		if err != nil {
			return fmt.Errorf("revoke device %s: %w", id, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("revoke device %s: %w", id, err)
		} else if n == 0 {
			return fmt.Errorf("device %s: %w", id, ErrNotFound)
		}
		return nil
	})
}

// The feed.

func (s *sqliteStore) Feed(ctx context.Context, tenant string, after int64, n int) ([]FeedRow, error) {
	st, err := s.stmt(ctx, qFeed)
	if err != nil {
		return nil, err
	}
	rows, err := st.QueryContext(context.WithoutCancel(ctx), tenant, after, n)
	if err != nil {
		return nil, fmt.Errorf("read feed: %w", err)
	}
	defer rows.Close()
	out := make([]FeedRow, 0, n)
	for rows.Next() {
		var f FeedRow
		if err := rows.Scan(&f.Seq, &f.ID, &f.RecordID, &f.RecordType, &f.Op, &f.Fields, &f.Plain, &f.Secret,
			&f.BaseVersion, &f.Version, &f.HLC, &f.Device, &f.Clerk, &f.CreatedAt, &f.State, &f.Deleted,
			&f.HasKey, &f.Key.SealID, &f.Key.Wrapped, &f.Key.OriginDevice, &f.RecordStatus); err != nil {
			return nil, fmt.Errorf("read feed: %w", err)
		}
		f.Tenant = tenant
		f.Key.Tenant, f.Key.RecordID = tenant, f.RecordID
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read feed: %w", err)
	}
	return out, nil
}

func (s *sqliteStore) HeadSeq(ctx context.Context, tenant string) (int64, error) {
	row, err := queryRow(ctx, s, qHeadSeq, tenant)
	if err != nil {
		return 0, err
	}
	var head int64
	if err := row.Scan(&head); err != nil {
		return 0, fmt.Errorf("read head of %s: %w", tenant, err)
	}
	return head, nil
}

func (s *sqliteStore) AllRecords(ctx context.Context, tenant string, fn func(*merge.Record) error) error {
	rows, err := s.r.QueryContext(ctx, `SELECT state FROM record WHERE tenant = ? ORDER BY id`, tenant)
	if err != nil {
		return fmt.Errorf("read records: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var state []byte
		if err := rows.Scan(&state); err != nil {
			return fmt.Errorf("read records: %w", err)
		}
		r := &merge.Record{}
		if err := json.Unmarshal(state, r); err != nil {
			return fmt.Errorf("read records: %w", err)
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read records: %w", err)
	}
	return nil
}

// Attachments.

// refWhere selects one attachment (or its pieces) by its AttachmentRef.
const refWhere = `tenant = ? AND record_id = ? AND sha256 = ?`

func refArgs(ref AttachmentRef, more ...any) []any {
	return append([]any{ref.Tenant, ref.RecordID, ref.SHA256}, more...)
}

func (s *sqliteStore) Attachment(ctx context.Context, ref AttachmentRef) (Attachment, error) {
	a := Attachment{AttachmentRef: ref}
	var created sql.NullString
	err := s.r.QueryRowContext(ctx, `SELECT length, sealed_sha256, received, complete, created_at
		FROM attachment WHERE `+refWhere, refArgs(ref)...).
		Scan(&a.Length, &a.SealedSHA256, &a.Offset, &a.Complete, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return Attachment{}, fmt.Errorf("attachment %s: %w", ref, ErrNotFound)
	}
	if err != nil {
		return Attachment{}, fmt.Errorf("read attachment %s: %w", ref, err)
	}
	a.CreatedAt = parseTime(created)
	return a, nil
}

func (s *sqliteStore) StartAttachment(ctx context.Context, a Attachment) error {
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO attachment(tenant, record_id, sha256, length, sealed_sha256, received,
			complete, created_at) VALUES (?, ?, ?, ?, ?, 0, 0, ?) ON CONFLICT DO NOTHING`,
			refArgs(a.AttachmentRef, a.Length, a.SealedSHA256, fmtTime(a.CreatedAt))...); err != nil {
			return fmt.Errorf("start attachment %s: %w", a.AttachmentRef, err)
		}
		return nil
	})
}

func (s *sqliteStore) AppendAttachment(ctx context.Context, ref AttachmentRef, at int64, piece []byte) (int64, error) {
	var off int64
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		var length int64
		var complete bool
		err := tx.QueryRowContext(ctx, `SELECT received, length, complete FROM attachment WHERE `+refWhere,
			refArgs(ref)...).Scan(&off, &length, &complete)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("attachment %s: %w", ref, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("append attachment %s: %w", ref, err)
		}
		if off != at || complete || at+int64(len(piece)) > length {
			return fmt.Errorf("attachment %s at %d, piece at %d: %w", ref, off, at, ErrOffset)
		}
		if len(piece) == 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO attachment_piece(tenant, record_id, sha256, pos, data) VALUES (?, ?, ?, ?, ?)`,
			refArgs(ref, at, piece)...); err != nil {
			return fmt.Errorf("append attachment %s: %w", ref, err)
		}
		off = at + int64(len(piece))
		if _, err := tx.ExecContext(ctx, `UPDATE attachment SET received = ? WHERE `+refWhere,
			append([]any{off}, refArgs(ref)...)...); err != nil {
			return fmt.Errorf("append attachment %s: %w", ref, err)
		}
		return nil
	})
	return off, err
}

func (s *sqliteStore) CompleteAttachment(ctx context.Context, ref AttachmentRef, at time.Time) error {
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE attachment SET complete = 1, completed_at = ? WHERE `+refWhere+`
			AND received = length`, append([]any{fmtTime(at)}, refArgs(ref)...)...); err != nil {
			return fmt.Errorf("complete attachment %s: %w", ref, err)
		}
		return nil
	})
}

func (s *sqliteStore) DiscardAttachment(ctx context.Context, ref AttachmentRef) error {
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{`DELETE FROM attachment_piece WHERE ` + refWhere,
			`DELETE FROM attachment WHERE ` + refWhere} {
			if _, err := tx.ExecContext(ctx, q, refArgs(ref)...); err != nil {
				return fmt.Errorf("discard attachment %s: %w", ref, err)
			}
		}
		return nil
	})
}

func (s *sqliteStore) SharedAttachments(ctx context.Context, fn func(missing, donor AttachmentRef) error) error {
	rows, err := s.r.QueryContext(ctx, `SELECT tenant, id, sha, donor FROM (
		SELECT r.tenant, r.id, json_extract(f.value, '$.val') AS sha,
			(SELECT a.record_id FROM attachment a WHERE a.tenant = r.tenant AND a.sha256 = json_extract(f.value, '$.val')
				AND a.complete ORDER BY a.created_at LIMIT 1) AS donor
		FROM record r, json_each(r.state, '$.fields') f
		WHERE r.type = 'case' AND f.key LIKE 'attachment.%' AND coalesce(json_extract(f.value, '$.val'), '') <> ''
		AND NOT EXISTS (SELECT 1 FROM attachment a WHERE a.tenant = r.tenant AND a.record_id = r.id
			AND a.sha256 = json_extract(f.value, '$.val'))
	) WHERE donor IS NOT NULL ORDER BY tenant, id`)
	if err != nil {
		return fmt.Errorf("shared attachments: %w", err)
	}
	type pair struct{ missing, donor AttachmentRef }
	var ps []pair
	for rows.Next() {
		var p pair
		if err := rows.Scan(&p.missing.Tenant, &p.missing.RecordID, &p.missing.SHA256, &p.donor.RecordID); err != nil {
			rows.Close()
			return fmt.Errorf("shared attachments: %w", err)
		}
		p.donor.Tenant, p.donor.SHA256 = p.missing.Tenant, p.missing.SHA256
		ps = append(ps, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("shared attachments: %w", err)
	}
	for _, p := range ps {
		if err := fn(p.missing, p.donor); err != nil {
			return err
		}
	}
	return nil
}

// AttachmentData reads the pieces one at a time, each in its own query, so
// that no read transaction stays open while fn writes to the network.
func (s *sqliteStore) AttachmentData(ctx context.Context, ref AttachmentRef, fn func([]byte) error) error {
	var pos int64
	for {
		var data []byte
		err := s.r.QueryRowContext(ctx, `SELECT data FROM attachment_piece WHERE `+refWhere+` AND pos = ?`,
			refArgs(ref, pos)...).Scan(&data)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read attachment %s: %w", ref, err)
		}
		if err := fn(data); err != nil {
			return err
		}
		pos += int64(len(data))
	}
}
