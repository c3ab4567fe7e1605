package server

// This file is the PostgreSQL implementation of Store (jackc/pgx, two
// pgxpools: writes and reads, see pgStore; no ORM), for a provider that runs one central service for many
// towns with several server processes on one database.
//
// Feed order. A sequence value is taken at insert but becomes visible at
// commit, so with a plain sequence a puller reading "seq > checkpoint" can
// pass over a change whose transaction commits late, for ever. Here every
// write transaction that names a tenant (Update(ctx, tenant, fn)) first
// takes that tenant's transaction advisory lock (pg_advisory_xact_lock),
// held until it commits or rolls back, and takes its feed positions from
// the tenant's counter row (feed_head) under that lock. So one tenant's
// writers run one at a time, across all processes, and its positions are
// gapless and in commit order: a reader sees seq n+1 only after seq n.
// The same lock keeps two processes from merging one record at once
// (each would read the record before the other's commit).
//
// Why this and not a visibility watermark: the lock costs one round trip
// per write transaction and serialises writers of one tenant only, which
// SQLite does for all tenants anyway; a town's pushes are small and come
// from a few dozen laptops. A watermark (pg_snapshot_xmin) would let one
// slow transaction of any tenant hold back every reader, and would still
// need the lock for merging. Cost: pushes of one tenant do not run in
// parallel on PostgreSQL either, and each one waiting for the lock holds
// a connection of the write pool; pushes of different tenants do, except
// for the short write of the server's clock (meta "hlc"), one row that
// every applying transaction updates at its end. That write keeps the
// greater of the stored and the new value, so two tenants' transactions
// never move the clock back.
//
// Update takes the tenant explicitly, rather than locking lazily before
// the first statement that names a tenant: the applier reads the server's
// clock first, and that read must already be under the lock; and a
// caller says what it locks where it can be read. It cost one argument at
// the six callers ("" for the meta table and devices' last seen, which
// need no order). Statements
// of a transaction that name another tenant than the one given take that
// tenant's lock too (a backstop; nothing does that today).
//
// Times are stored as the same fixed-width UTC text as in SQLite
// (timeFormat), so that they compare as strings in SQL and a town moved
// over keeps its values byte for byte. Attachments are bytea rows, one per
// piece appended (postgres_attach.go).
//
// Connection errors are returned wrapping ErrUnavailable, so that the
// HTTP layer can answer 503; pgxpool reconnects by itself once the
// database is back.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/buergerkoffer/kit/internal/merge"
	gojson "github.com/goccy/go-json"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

var _ Store = (*pgStore)(nil)

// IsPostgresURL reports whether a database name is a PostgreSQL URL
// (postgres:// or postgresql://) rather than an SQLite file.
func IsPostgresURL(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// RedactDB returns a database name fit for logs and errors: a URL's
// password is replaced by "xxxxx"; a file path is returned as it is.
func RedactDB(db string) string {
	if !IsPostgresURL(db) {
		return db
	}
	u, err := url.Parse(db)
	if err != nil {
		return "postgres://(unparsable URL)"
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// pgStore implements Store on a PostgreSQL database.
//
// It has two pools: w for writes and r for reads. A write transaction may
// read through the store while it runs (a tenant key not yet opened), and
// transactions of one tenant wait for its lock holding a connection; were
// there one pool, enough of those waiting would leave the lock's holder
// no connection to read with, for ever. Reads never wait for a lock, so r
// always frees up; and pulls never queue behind pushes for a connection.
type pgStore struct {
	w, r *pgxpool.Pool
	name string // the URL without its password

	// unordered turns the tenant lock off and takes seqs from a plain
	// sequence (test_unordered_seq), as a BIGSERIAL feed would: only the
	// feed order test sets it, to show that it then finds a gap.
	unordered bool
	// afterSeqs, if set (tests), runs in AddChanges once the changes of
	// a tenant have their feed positions, before anything else: a test
	// holds a transaction there, with its positions taken and not yet
	// committed.
	afterSeqs func(tenant string)

	officeSQL  // the office's tables (office_sql.go)
	handoffSQL // the hand-off's tables (handoff_sql.go)
}

// openPostgres connects to the database at url and brings its schema up
// to date.
func openPostgres(ctx context.Context, dbURL string) (*pgStore, error) {
	name := RedactDB(dbURL)
	s := &pgStore{name: name}
	s.officeSQL = officeSQL{pgOffice{s}}
	s.handoffSQL = handoffSQL{pgOffice{s}}
	var err error
	if s.w, err = newPool(ctx, dbURL, name); err != nil {
		return nil, err
	}
	if s.r, err = newPool(ctx, dbURL, name); err != nil {
		s.w.Close()
		return nil, err
	}
	steps, err := loadPGMigrations()
	if err != nil {
		s.Close()
		return nil, err
	}
	if err := migratePG(ctx, s.w, steps); err != nil {
		s.Close()
		return nil, fmt.Errorf("open database %s: %w", name, err)
	}
	return s, nil
}

// poolMin is the size of each pool unless the URL sets pool_max_conns.
const poolMin = 8

func newPool(ctx context.Context, dbURL, name string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		// pgx's parse errors may quote the URL; do not pass them on.
		return nil, fmt.Errorf("open database %s: not a valid PostgreSQL URL", name)
	}
	if !strings.Contains(dbURL, "pool_max_conns") && cfg.MaxConns < poolMin {
		cfg.MaxConns = poolMin
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = "syncd"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", name, pgClassify(err))
	}
	return pool, nil
}

func (s *pgStore) Close() error {
	if s.r != nil {
		s.r.Close()
	}
	s.w.Close()
	return nil
}

func (s *pgStore) Ping(ctx context.Context) error {
	for _, p := range []*pgxpool.Pool{s.w, s.r} {
		if err := p.Ping(ctx); err != nil {
			return fmt.Errorf("ping database: %w", pgClassify(err))
		}
	}
	return nil
}

// unavailableError marks an error of a lost or refused connection.
type unavailableError struct{ err error }

func (e unavailableError) Error() string        { return "database unavailable: " + e.err.Error() }
func (e unavailableError) Unwrap() error        { return e.err }
func (e unavailableError) Is(target error) bool { return target == ErrUnavailable }

// pgClassify wraps err in ErrUnavailable if it says the database cannot
// be reached (connection refused or lost, server shutting down or
// starting); other errors are returned as they are.
func pgClassify(err error) error {
	if err == nil || errors.Is(err, ErrUnavailable) {
		return err
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"), // connection exception
			pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03", // shutdown, crash, starting
			pe.Code == "53300": // too many connections
			return unavailableError{err}
		}
		return err
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	switch {
	case errors.As(err, &ce), errors.As(err, &ne),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, net.ErrClosed), errors.Is(err, pgconn.ErrConnClosed),
		pgconn.SafeToRetry(err), pgconn.Timeout(err):
		return unavailableError{err}
	}
	return err
}

// qTenantLock takes a tenant's writer lock until the transaction ends; the
// key is a 64-bit hash of the tenant id (a collision only makes two
// tenants wait for each other).
const qTenantLock = `SELECT pg_advisory_xact_lock(hashtextextended('bk.tenant:' || $1, 0))`

func (s *pgStore) Update(ctx context.Context, tenant string, fn func(Tx) error) error {
	err := pgx.BeginFunc(ctx, s.w, func(tx pgx.Tx) error {
		t := &pgTx{s: s, tx: tx, locked: map[string]bool{}}
		if tenant != "" {
			if err := t.lock(ctx, tenant); err != nil {
				return err
			}
		}
		return fn(t)
	})
	return pgClassify(err)
}

// pgTx implements Tx.
type pgTx struct {
	s      *pgStore
	tx     pgx.Tx
	locked map[string]bool // tenants whose lock this transaction holds
}

// lock takes the tenant's writer lock unless the transaction holds it.
func (t *pgTx) lock(ctx context.Context, tenant string) error {
	if t.s.unordered || t.locked[tenant] {
		return nil
	}
	if _, err := t.tx.Exec(ctx, qTenantLock, tenant); err != nil {
		return fmt.Errorf("lock tenant %s: %w", tenant, err)
	}
	t.locked[tenant] = true
	return nil
}

// pgQuerier is the pool or a transaction.
type pgQuerier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// pgTime reads a stored time (NULL or "" is the zero time).
func pgTime(s *string) time.Time {
	if s == nil || *s == "" {
		return time.Time{}
	}
	t, err := time.Parse(timeFormat, *s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// Lookup, shared by the read side and the transaction.

const (
	pqMeta       = `SELECT value FROM meta WHERE key = $1`
	pqRecord     = `SELECT state FROM record WHERE tenant = $1 AND id = $2`
	pqRecordKey  = `SELECT seal_id, wrapped, origin_device, created_at FROM record_key WHERE tenant = $1 AND record_id = $2`
	pqSeal       = `SELECT jwe FROM seal WHERE tenant = $1 AND id = $2`
	pqSecret     = `SELECT secret FROM change WHERE tenant = $1 AND id = $2`
	pqDeviceCols = `id, tenant, name, local_id, public_pem, kid, enrolled_at, last_seen_at, revoked_at, version`
)

func pgRecord(ctx context.Context, q pgQuerier, tenant, id string) (*merge.Record, error) {
	var state []byte
	err := q.QueryRow(ctx, pqRecord, tenant, id).Scan(&state)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read record %s: %w", id, pgClassify(err))
	}
	return decodeRecord(id, state)
}

// decodeRecord reads a record's stored state (both stores). go-json: with
// encoding/json, reading the records of a push page of edits took a
// quarter of its write transaction.
func decodeRecord(id string, state []byte) (*merge.Record, error) {
	r := &merge.Record{}
	if err := gojson.Unmarshal(state, r); err != nil {
		return nil, fmt.Errorf("read record %s: %w", id, err)
	}
	if r.Fields == nil {
		r.Fields = map[string]merge.Field{}
	}
	return r, nil
}

func pgRecordKey(ctx context.Context, q pgQuerier, tenant, id string) (RecordKey, bool, error) {
	k := RecordKey{Tenant: tenant, RecordID: id}
	var created *string
	err := q.QueryRow(ctx, pqRecordKey, tenant, id).Scan(&k.SealID, &k.Wrapped, &k.OriginDevice, &created)
	if errors.Is(err, pgx.ErrNoRows) {
		return RecordKey{}, false, nil
	}
	if err != nil {
		return RecordKey{}, false, fmt.Errorf("read record key %s: %w", id, pgClassify(err))
	}
	k.CreatedAt = pgTime(created)
	return k, true, nil
}

func pgSeal(ctx context.Context, q pgQuerier, tenant, id string) (string, bool, error) {
	var jwe string
	err := q.QueryRow(ctx, pqSeal, tenant, id).Scan(&jwe)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read seal %s: %w", id, pgClassify(err))
	}
	return jwe, true, nil
}

func pgChangeSecret(ctx context.Context, q pgQuerier, tenant, id string) ([]byte, error) {
	var secret []byte
	err := q.QueryRow(ctx, pqSecret, tenant, id).Scan(&secret)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("change %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read change %s: %w", id, pgClassify(err))
	}
	return secret, nil
}

func pgMeta(ctx context.Context, q pgQuerier, key string) (string, error) {
	var v string
	err := q.QueryRow(ctx, pqMeta, key).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read meta %s: %w", key, pgClassify(err))
	}
	return v, nil
}

func (s *pgStore) Record(ctx context.Context, tenant, id string) (*merge.Record, error) {
	return pgRecord(ctx, s.r, tenant, id)
}
func (s *pgStore) RecordKey(ctx context.Context, tenant, id string) (RecordKey, bool, error) {
	return pgRecordKey(ctx, s.r, tenant, id)
}
func (s *pgStore) Seal(ctx context.Context, tenant, id string) (string, bool, error) {
	return pgSeal(ctx, s.r, tenant, id)
}
func (s *pgStore) ChangeSecret(ctx context.Context, tenant, id string) ([]byte, error) {
	return pgChangeSecret(ctx, s.r, tenant, id)
}
func (s *pgStore) Meta(ctx context.Context, key string) (string, error) {
	return pgMeta(ctx, s.r, key)
}

func (t *pgTx) Record(ctx context.Context, tenant, id string) (*merge.Record, error) {
	if err := t.lock(ctx, tenant); err != nil {
		return nil, err
	}
	return pgRecord(ctx, t.tx, tenant, id)
}
func (t *pgTx) RecordKey(ctx context.Context, tenant, id string) (RecordKey, bool, error) {
	if err := t.lock(ctx, tenant); err != nil {
		return RecordKey{}, false, err
	}
	return pgRecordKey(ctx, t.tx, tenant, id)
}
func (t *pgTx) Seal(ctx context.Context, tenant, id string) (string, bool, error) {
	if err := t.lock(ctx, tenant); err != nil {
		return "", false, err
	}
	return pgSeal(ctx, t.tx, tenant, id)
}
func (t *pgTx) ChangeSecret(ctx context.Context, tenant, id string) ([]byte, error) {
	if err := t.lock(ctx, tenant); err != nil {
		return nil, err
	}
	return pgChangeSecret(ctx, t.tx, tenant, id)
}
func (t *pgTx) Meta(ctx context.Context, key string) (string, error) {
	return pgMeta(ctx, t.tx, key)
}

// SetMeta writes a meta value. The server's clock is written as the
// greater of the stored and the given value (both fixed-width, so they
// compare as text): transactions of different tenants run at once here,
// and the one that commits last must not move the clock back.
func (t *pgTx) SetMeta(ctx context.Context, key, value string) error {
	q := `INSERT INTO meta(key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`
	if key == metaClock {
		q = `INSERT INTO meta(key, value) VALUES ($1, $2)
			ON CONFLICT (key) DO UPDATE SET value = greatest(meta.value, excluded.value)`
	}
	if _, err := t.tx.Exec(ctx, q, key, value); err != nil {
		return fmt.Errorf("write meta %s: %w", key, err)
	}
	return nil
}

func (t *pgTx) TouchDevice(ctx context.Context, id string, at time.Time) error {
	if _, err := t.tx.Exec(ctx, `UPDATE device SET last_seen_at = $1 WHERE id = $2`, fmtTime(at), id); err != nil {
		return fmt.Errorf("touch device %s: %w", id, err)
	}
	return nil
}

func (t *pgTx) SetDeviceVersion(ctx context.Context, id, version string) error {
	if _, err := t.tx.Exec(ctx, `UPDATE device SET version = $1 WHERE id = $2`, version, id); err != nil {
		return fmt.Errorf("note version of device %s: %w", id, pgClassify(err))
	}
	return nil
}

// Tenants, devices, enrolment.

func (s *pgStore) CreateTenant(ctx context.Context, t Tenant, k TenantKey) error {
	err := pgx.BeginFunc(ctx, s.w, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO tenant(id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
			t.ID, t.Name, fmtTime(t.CreatedAt))
		if err != nil {
			return fmt.Errorf("create tenant %s: %w", t.ID, err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("tenant %s: %w", t.ID, ErrExists)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO tenant_key(tenant, kid, public_pem, private_wrapped, created_at)
			VALUES ($1, $2, $3, $4, $5)`, t.ID, k.KeyID, k.PublicPEM, k.PrivateWrapped, fmtTime(k.CreatedAt)); err != nil {
			return fmt.Errorf("create tenant %s: key: %w", t.ID, err)
		}
		return nil
	})
	return pgClassify(err)
}

func (s *pgStore) Tenants(ctx context.Context) ([]Tenant, error) {
	rows, err := s.r.Query(ctx, `SELECT id, name, created_at FROM tenant ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", pgClassify(err))
	}
	var out []Tenant
	var created *string
	var t Tenant
	_, err = pgx.ForEachRow(rows, []any{&t.ID, &t.Name, &created}, func() error {
		t.CreatedAt = pgTime(created)
		out = append(out, t)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", pgClassify(err))
	}
	return out, nil
}

const pqTenantKeyCols = `SELECT kid, public_pem, private_wrapped, created_at FROM tenant_key`

func (s *pgStore) TenantKey(ctx context.Context, tenant string) (TenantKey, error) {
	return s.scanTenantKey(ctx, tenant, "", pqTenantKeyCols+` WHERE tenant = $1 ORDER BY created_at DESC, ord DESC LIMIT 1`,
		tenant)
}

func (s *pgStore) TenantKeyByID(ctx context.Context, tenant, kid string) (TenantKey, error) {
	return s.scanTenantKey(ctx, tenant, kid, pqTenantKeyCols+` WHERE tenant = $1 AND kid = $2`, tenant, kid)
}

func (s *pgStore) scanTenantKey(ctx context.Context, tenant, kid, query string, args ...any) (TenantKey, error) {
	k := TenantKey{Tenant: tenant}
	var created *string
	err := s.r.QueryRow(ctx, query, args...).Scan(&k.KeyID, &k.PublicPEM, &k.PrivateWrapped, &created)
	if errors.Is(err, pgx.ErrNoRows) {
		if kid != "" {
			return TenantKey{}, fmt.Errorf("key %s of tenant %s: %w", kid, tenant, ErrNotFound)
		}
		return TenantKey{}, fmt.Errorf("tenant %s: %w", tenant, ErrNotFound)
	}
	if err != nil {
		return TenantKey{}, fmt.Errorf("read key of tenant %s: %w", tenant, pgClassify(err))
	}
	k.CreatedAt = pgTime(created)
	return k, nil
}

func (s *pgStore) AddTenantKey(ctx context.Context, k TenantKey) error {
	err := pgx.BeginFunc(ctx, s.w, func(tx pgx.Tx) error {
		var tenants int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM tenant WHERE id = $1`, k.Tenant).Scan(&tenants); err != nil {
			return fmt.Errorf("add key to tenant %s: %w", k.Tenant, err)
		}
		if tenants == 0 {
			return fmt.Errorf("tenant %s: %w", k.Tenant, ErrNotFound)
		}
		tag, err := tx.Exec(ctx, `INSERT INTO tenant_key(tenant, kid, public_pem, private_wrapped, created_at)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`, k.Tenant, k.KeyID, k.PublicPEM, k.PrivateWrapped,
			fmtTime(k.CreatedAt))
		if err != nil {
			return fmt.Errorf("add key to tenant %s: %w", k.Tenant, err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("key %s of tenant %s: %w", k.KeyID, k.Tenant, ErrExists)
		}
		return nil
	})
	return pgClassify(err)
}

func (s *pgStore) AddEnrolment(ctx context.Context, e Enrolment) error {
	tag, err := s.w.Exec(ctx, `INSERT INTO enrolment(code_hash, tenant, created_at, expires_at)
		SELECT $1, id, $3, $4 FROM tenant WHERE id = $2`, e.CodeHash, e.Tenant, fmtTime(e.CreatedAt), fmtTime(e.ExpiresAt))
	if err != nil {
		return fmt.Errorf("issue enrolment: %w", pgClassify(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("tenant %s: %w", e.Tenant, ErrNotFound)
	}
	return nil
}

// Redeem uses the code and adds the device in one transaction. Two
// processes redeeming one code at once: the second's UPDATE waits for the
// first's row lock, then finds used_at set and matches nothing.
func (s *pgStore) Redeem(ctx context.Context, codeHash, tokenHash string, d Device) (string, error) {
	var tenant string
	err := pgx.BeginFunc(ctx, s.w, func(tx pgx.Tx) error {
		now := fmtTime(d.EnrolledAt)
		err := tx.QueryRow(ctx, `UPDATE enrolment SET used_at = $1, device_id = $2
			WHERE code_hash = $3 AND used_at IS NULL AND expires_at > $1 RETURNING tenant`,
			now, d.ID, codeHash).Scan(&tenant)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("enrolment code: %w", ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("redeem enrolment: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO device(id, tenant, name, local_id, token_hash, public_pem, kid, enrolled_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, d.ID, tenant, d.Name, d.LocalID, tokenHash, d.PublicKeyPEM, d.KeyID,
			now); err != nil {
			return fmt.Errorf("add device: %w", err)
		}
		return nil
	})
	return tenant, pgClassify(err)
}

func (s *pgStore) EnrolmentOpen(ctx context.Context, codeHash string, at time.Time) (bool, error) {
	var one int
	err := s.r.QueryRow(ctx, `SELECT 1 FROM enrolment WHERE code_hash = $1 AND used_at IS NULL AND expires_at > $2`,
		codeHash, fmtTime(at)).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("look up enrolment code: %w", pgClassify(err))
	}
	return true, nil
}

func pgScanDevice(row pgx.Row) (Device, error) {
	var d Device
	var enrolled, seen, revoked *string
	if err := row.Scan(&d.ID, &d.Tenant, &d.Name, &d.LocalID, &d.PublicKeyPEM, &d.KeyID, &enrolled, &seen, &revoked, &d.Version); err != nil {
		return Device{}, err
	}
	d.EnrolledAt, d.LastSeenAt, d.RevokedAt = pgTime(enrolled), pgTime(seen), pgTime(revoked)
	return d, nil
}

// DeviceByToken reads the database on every request: a device revoked by
// one process is refused by all at once.
func (s *pgStore) DeviceByToken(ctx context.Context, tokenHash string) (Device, error) {
	d, err := pgScanDevice(s.r.QueryRow(ctx, `SELECT `+pqDeviceCols+` FROM device
		WHERE token_hash = $1 AND revoked_at IS NULL`, tokenHash))
	if errors.Is(err, pgx.ErrNoRows) {
		return Device{}, fmt.Errorf("device: %w", ErrNotFound)
	}
	if err != nil {
		return Device{}, fmt.Errorf("read device: %w", pgClassify(err))
	}
	return d, nil
}

func (s *pgStore) Devices(ctx context.Context, tenant string) ([]Device, error) {
	rows, err := s.r.Query(ctx, `SELECT `+pqDeviceCols+` FROM device WHERE tenant = $1 ORDER BY enrolled_at, id`, tenant)
	if err != nil {
		return nil, fmt.Errorf("list devices: %w", pgClassify(err))
	}
	defer rows.Close()
	var out []Device
	for rows.Next() {
		d, err := pgScanDevice(rows)
		if err != nil {
			return nil, fmt.Errorf("list devices: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list devices: %w", pgClassify(err))
	}
	return out, nil
}

func (s *pgStore) Revoke(ctx context.Context, id string, at time.Time) error {
	tag, err := s.w.Exec(ctx, `UPDATE device SET revoked_at = coalesce(revoked_at, $1) WHERE id = $2`, fmtTime(at), id)
	if err != nil {
		return fmt.Errorf("revoke device %s: %w", id, pgClassify(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("device %s: %w", id, ErrNotFound)
	}
	return nil
}

// The feed.

// pqFeed takes the page of changes first, by the (tenant, seq) key, and
// only then joins each row's key and record: joined first, the planner
// (often with stale statistics right after a bulk push) sorted the whole
// tail of the feed for every page.
const pqFeed = `SELECT c.seq, c.id, c.record_id, c.record_type, c.op, c.fields, c.plain, c.secret, c.base_version, c.version,
		c.hlc, c.device, c.clerk, c.created_at, c.state, c.deleted,
		k.record_id IS NOT NULL, coalesce(k.seal_id, ''), k.wrapped, coalesce(k.origin_device, ''), coalesce(r.status, '')
		FROM (SELECT * FROM change WHERE tenant = $1 AND seq > $2 ORDER BY seq LIMIT $3) c
		LEFT JOIN LATERAL (SELECT * FROM record_key WHERE tenant = c.tenant AND record_id = c.record_id) k ON true
		LEFT JOIN LATERAL (SELECT status FROM record WHERE tenant = c.tenant AND id = c.record_id) r ON true
		ORDER BY c.seq`

func (s *pgStore) Feed(ctx context.Context, tenant string, after int64, n int) ([]FeedRow, error) {
	rows, err := s.r.Query(ctx, pqFeed, tenant, after, n)
	if err != nil {
		return nil, fmt.Errorf("read feed: %w", pgClassify(err))
	}
	defer rows.Close()
	out := make([]FeedRow, 0, min(n, 1024))
	for rows.Next() {
		var f FeedRow
		if err := rows.Scan(&f.Seq, &f.ID, &f.RecordID, &f.RecordType, &f.Op, &f.Fields, &f.Plain, &f.Secret,
			&f.BaseVersion, &f.Version, &f.HLC, &f.Device, &f.Clerk, &f.CreatedAt, &f.State, &f.Deleted,
			&f.HasKey, &f.Key.SealID, &f.Key.Wrapped, &f.Key.OriginDevice, &f.RecordStatus); err != nil {
			return nil, fmt.Errorf("read feed: %w", pgClassify(err))
		}
		f.Tenant = tenant
		f.Key.Tenant, f.Key.RecordID = tenant, f.RecordID
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read feed: %w", pgClassify(err))
	}
	return out, nil
}

func (s *pgStore) HeadSeq(ctx context.Context, tenant string) (int64, error) {
	var head int64
	if err := s.r.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM change WHERE tenant = $1`, tenant).Scan(&head); err != nil {
		return 0, fmt.Errorf("read head of %s: %w", tenant, pgClassify(err))
	}
	return head, nil
}

func (s *pgStore) AllRecords(ctx context.Context, tenant string, fn func(*merge.Record) error) error {
	rows, err := s.r.Query(ctx, `SELECT id, state FROM record WHERE tenant = $1 ORDER BY id`, tenant)
	if err != nil {
		return fmt.Errorf("read records: %w", pgClassify(err))
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var state []byte
		if err := rows.Scan(&id, &state); err != nil {
			return fmt.Errorf("read records: %w", pgClassify(err))
		}
		r, err := decodeRecord(id, state)
		if err != nil {
			return err
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read records: %w", pgClassify(err))
	}
	return nil
}
