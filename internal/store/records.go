package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/buergerkoffer/kit/internal/crypto"
	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/hlc"
)

// Record is a synced record as an unlocked session sees it.
type Record struct {
	ID        string
	Type      domain.RecordType
	Version   int64 // 1 after create, +1 per change
	Fields    domain.Fields
	Deleted   bool
	HLC       hlc.Timestamp // of the last change
	CreatedAt time.Time
	UpdatedAt time.Time
	// Sealed is set by List for a record whose content this laptop can no
	// longer open (a sealed case shredded after the town hall acknowledged
	// it, or another laptop's signed case): Fields then holds only its
	// plain fields (status, service, dates).
	Sealed bool
}

// FieldChange is the old and new value of one field in a change entry.
type FieldChange struct {
	Old string `json:"old"`
	New string `json:"new"`
}

// Op is what a change did to its record.
type Op string

// Change operations.
const (
	OpCreate Op = "create"
	OpUpdate Op = "update"
	OpDelete Op = "delete"
)

// AnyVersion, as a base version, skips the check that the record is still
// at the version the caller read.
const AnyVersion int64 = -1

// aad strings bind each ciphertext to its place: a blob copied into another
// row or column does not decrypt.
func recordAAD(id string) []byte      { return []byte("record:" + id) }
func changeAAD(id string) []byte      { return []byte("change:" + id) }
func keyAAD(id string) []byte         { return []byte("record_key:" + id) }
func attachmentAAD(sha string) []byte { return []byte("attachment:" + sha) }

// mutation describes one write of a record.
type mutation struct {
	op          Op
	typ         domain.RecordType // for create
	id          string
	baseVersion int64
	set         domain.Fields // fields to set; "" clears a field
	// action overrides the audit action, which is otherwise
	// "<type>.<op>", e.g. "case.update".
	action string
	// extra runs inside the transaction after the record is written, with
	// its content key (attachments use it).
	extra func(tx *sql.Tx, ck crypto.ContentKey) error
}

// apply writes a mutation: the record, its change entry and its audit
// entry, all in one transaction. A mutation that changes nothing writes
// nothing and returns the record as it is.
func (ss *Session) apply(ctx context.Context, m mutation) (Record, error) {
	var out Record
	err := ss.st.writeTx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = ss.applyTx(ctx, tx, &m)
		return err
	})
	if err != nil {
		if m.action == "" { // failed before the record's type was known
			m.action = string(m.op)
		}
		return Record{}, fmt.Errorf("store: %s: %w", m.action, err)
	}
	return out, nil
}

// CreateBatch creates many records in one transaction (an import, a load
// test): each gets its record key, change entry and audit entry as with
// Create, at a fraction of the cost per record. All or none are written.
func (ss *Session) CreateBatch(ctx context.Context, t domain.RecordType, fs []domain.Fields) ([]Record, error) {
	if !t.Valid() {
		return nil, fmt.Errorf("store: create: unknown record type %q", t)
	}
	out := make([]Record, 0, len(fs))
	err := ss.st.writeTx(ctx, func(tx *sql.Tx) error {
		for _, f := range fs {
			r, err := ss.applyTx(ctx, tx, &mutation{op: OpCreate, typ: t, set: f})
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: create batch: %w", err)
	}
	return out, nil
}

// applyTx writes one mutation inside tx; see apply.
func (ss *Session) applyTx(ctx context.Context, tx *sql.Tx, mp *mutation) (Record, error) {
	m := mp
	dk, err := ss.dataKey()
	if err != nil {
		return Record{}, err
	}
	for name := range m.set {
		if err := domain.CheckFieldName(name); err != nil {
			return Record{}, err
		}
	}
	st := ss.st
	var out Record
	err = func() error {
		now := st.now()
		var (
			old     domain.Fields
			cur     Record
			keyID   string
			ck      crypto.ContentKey
			version int64
			sr      storedRecord
		)
		changeID := domain.NewID()
		if m.op == OpCreate {
			if m.id == "" {
				m.id = domain.NewID()
			}
			cur = Record{ID: m.id, Type: m.typ, CreatedAt: now}
			var err error
			if ck, err = crypto.NewContentKey(); err != nil {
				return err
			}
			keyID = m.id
			wrapped, err := crypto.WrapKey(dk, ck[:], keyAAD(keyID))
			if err != nil {
				return fmt.Errorf("wrap record key: %w", err)
			}
			sealID, serverWrapped, err := ss.sealForServer(ctx, tx, keyID, ck)
			if err != nil {
				return err
			}
			if _, err := st.txExec(ctx, tx, `INSERT INTO record_key(id, local_wrapped, created_at, seal_id, server_wrapped)
				VALUES (?, ?, ?, ?, ?)`, keyID, wrapped, fmtTime(now), sealID, serverWrapped); err != nil {
				return fmt.Errorf("insert record key: %w", err)
			}
		} else {
			var err error
			sr, err = scanRecord(st.txQueryRow(ctx, tx, `SELECT `+recordColumns+` FROM record WHERE id = ?`, m.id))
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("record %s: %w", m.id, ErrNotFound)
			}
			if err != nil {
				return fmt.Errorf("read record %s: %w", m.id, err)
			}
			cur, keyID, old, ck, err = ss.open(ctx, tx, sr)
			if err != nil {
				return err
			}
			if err := ss.adoptKey(ctx, tx, keyID, ck); err != nil {
				return err
			}
			if cur.Deleted {
				return fmt.Errorf("%s %s: %w", cur.Type, m.id, ErrNotFound)
			}
			if m.baseVersion != AnyVersion && m.baseVersion != cur.Version {
				return fmt.Errorf("%s %s at version %d, change based on %d: %w", cur.Type, m.id, cur.Version, m.baseVersion, ErrStale)
			}
			version = cur.Version
		}
		if m.action == "" {
			m.action = string(cur.Type) + "." + string(m.op)
		}
		if cur.Type == domain.TypeCase && m.op != OpCreate {
			if err := checkCaseMutation(m.op, old, m.set); err != nil {
				return err
			}
		}
		if cur.Type == domain.TypeCase {
			if err := ss.checkFourEyes(ctx, tx, m, old); err != nil {
				return err
			}
		}

		next := old.Clone()
		changes := map[string]FieldChange{}
		if m.op == OpDelete {
			next = domain.Fields{}
		}
		for k, v := range m.set {
			if old[k] == v {
				continue
			}
			changes[k] = FieldChange{Old: old[k], New: v}
			if v == "" {
				delete(next, k)
			} else {
				next[k] = v
			}
		}
		if m.op == OpUpdate && len(changes) == 0 && m.extra == nil {
			out = cur
			return nil
		}

		ts, err := st.nextHLC(ctx, tx, now)
		if err != nil {
			return err
		}
		plain, personal := domain.Split(cur.Type, next)
		plainJSON, _ := json.Marshal(plain) // map[string]string cannot fail
		src := sr.src
		if src == nil {
			src = map[string]string{}
		}
		for k := range changes {
			if domain.IsPersonal(cur.Type, k) {
				src[k] = changeID
			}
		}
		srcJSON, _ := json.Marshal(src)
		var secret []byte
		if len(personal) > 0 {
			pj, _ := json.Marshal(personal)
			if secret, err = crypto.SealValue(ck, pj, recordAAD(m.id)); err != nil {
				return fmt.Errorf("encrypt record: %w", err)
			}
		}
		deleted := m.op == OpDelete
		if m.op == OpCreate {
			_, err = st.txExec(ctx, tx, `INSERT INTO record(id, type, version, key_id, plain, secret, deleted, hlc, created_at, updated_at,
				src, secret_src) VALUES (?, ?, 1, ?, ?, ?, 0, ?, ?, ?, ?, ?)`, m.id, string(cur.Type), keyID, string(plainJSON), secret,
				ts.String(), fmtTime(now), fmtTime(now), string(srcJSON), string(srcJSON))
		} else {
			_, err = st.txExec(ctx, tx, `UPDATE record SET version = ?, plain = ?, secret = ?, deleted = ?, hlc = ?, updated_at = ?,
				src = ?, secret_src = ? WHERE id = ?`, version+1, string(plainJSON), secret, deleted, ts.String(), fmtTime(now),
				string(srcJSON), string(srcJSON), m.id)
		}
		if err != nil {
			return fmt.Errorf("write %s: %w", cur.Type, err)
		}

		if err := ss.writeChange(ctx, tx, *m, changeID, cur.Type, keyID, ck, sr.serverVersion, ts, now, changes); err != nil {
			return err
		}
		if m.extra != nil {
			if err := m.extra(tx, ck); err != nil {
				return err
			}
		}
		if err := ss.appendAudit(ctx, tx, AuditEntry{At: now, DeviceID: st.deviceID, ClerkID: ss.clerk.ID,
			Action: m.action, RecordType: string(cur.Type), RecordID: m.id}); err != nil {
			return err
		}
		out = Record{ID: m.id, Type: cur.Type, Version: version + 1, Fields: next, Deleted: deleted,
			HLC: ts, CreatedAt: cur.CreatedAt, UpdatedAt: now}
		return nil
	}()
	return out, err
}

func (ss *Session) writeChange(ctx context.Context, tx *sql.Tx, m mutation, changeID string, typ domain.RecordType, keyID string,
	ck crypto.ContentKey, baseVersion int64, ts hlc.Timestamp, now time.Time, changes map[string]FieldChange) error {
	names := make([]string, 0, len(changes))
	plainVals, secretVals := map[string]FieldChange{}, map[string]FieldChange{}
	for k, c := range changes {
		names = append(names, k)
		if domain.IsPersonal(typ, k) {
			secretVals[k] = c
		} else {
			plainVals[k] = c
		}
	}
	sort.Strings(names)
	var sealed []byte
	if len(secretVals) > 0 {
		b, _ := json.Marshal(secretVals)
		var err error
		if sealed, err = crypto.SealValue(ck, b, changeAAD(changeID)); err != nil {
			return fmt.Errorf("encrypt change: %w", err)
		}
	}
	namesJSON, _ := json.Marshal(names)
	plainJSON, _ := json.Marshal(plainVals)
	_, err := ss.st.txExec(ctx, tx, `INSERT INTO change_log(id, record_id, record_type, op, fields, plain_values,
		secret_values, key_id, base_version, hlc, device_id, clerk_id, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		changeID, m.id, string(typ), string(m.op), string(namesJSON), string(plainJSON), sealed, keyID,
		baseVersion, ts.String(), ss.st.deviceID, ss.clerk.ID, fmtTime(now))
	if err != nil {
		return fmt.Errorf("write change entry: %w", err)
	}
	return nil
}

// nextHLC issues the next clock value, persisted in the same transaction:
// after a restart, or with the wall clock set back, no value repeats.
func (s *Store) nextHLC(ctx context.Context, tx *sql.Tx, now time.Time) (hlc.Timestamp, error) {
	var stored string
	err := s.txQueryRow(ctx, tx, `SELECT value FROM meta WHERE key = 'hlc'`).Scan(&stored)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return hlc.Timestamp{}, fmt.Errorf("read clock: %w", err)
	}
	last, err := hlc.Parse(stored)
	if err != nil {
		return hlc.Timestamp{}, fmt.Errorf("read clock: %w", err)
	}
	next := hlc.Next(last, now)
	if _, err := s.txExec(ctx, tx, `INSERT INTO meta(key, value) VALUES ('hlc', ?)
		ON CONFLICT(key) DO UPDATE SET value = excluded.value`, next.String()); err != nil {
		return hlc.Timestamp{}, fmt.Errorf("write clock: %w", err)
	}
	return next, nil
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// recordColumns are what scanRecord reads, in its order.
const recordColumns = `id, type, version, key_id, plain, secret, deleted, hlc, created_at, updated_at,
	server_version, src, secret_src`

// rowScanner is a *sql.Row or *sql.Rows.
type rowScanner interface{ Scan(dest ...any) error }

// storedRecord is a record row as stored: personal fields still sealed.
type storedRecord struct {
	Record
	keyID, plain  string
	secret        []byte
	serverVersion int64
	src, sealed   map[string]string // field sources now, and those secret holds
}

func scanRecord(sc rowScanner) (storedRecord, error) {
	var (
		r              storedRecord
		typ            string
		hlcS, cAt, uAt string
		src, sealed    string
	)
	if err := sc.Scan(&r.ID, &typ, &r.Version, &r.keyID, &r.plain, &r.secret, &r.Deleted, &hlcS, &cAt, &uAt,
		&r.serverVersion, &src, &sealed); err != nil {
		return r, err
	}
	if err := json.Unmarshal([]byte(src), &r.src); err != nil {
		return r, fmt.Errorf("record %s: field sources: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(sealed), &r.sealed); err != nil {
		return r, fmt.Errorf("record %s: field sources: %w", r.ID, err)
	}
	r.Type = domain.RecordType(typ)
	r.HLC, _ = hlc.Parse(hlcS)
	r.CreatedAt, _ = time.Parse(time.RFC3339Nano, cAt)
	r.UpdatedAt, _ = time.Parse(time.RFC3339Nano, uAt)
	return r, nil
}

// load reads and decrypts one record.
func (ss *Session) load(ctx context.Context, q querier, id string) (Record, string, domain.Fields, crypto.ContentKey, error) {
	sr, err := scanRecord(q.QueryRowContext(ctx, `SELECT `+recordColumns+` FROM record WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Record{}, "", nil, crypto.ContentKey{}, fmt.Errorf("record %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Record{}, "", nil, crypto.ContentKey{}, fmt.Errorf("read record %s: %w", id, err)
	}
	return ss.open(ctx, q, sr)
}

// open decrypts a stored record's personal fields.
func (ss *Session) open(ctx context.Context, q querier, sr storedRecord) (Record, string, domain.Fields, crypto.ContentKey, error) {
	r, id, keyID, plain, secret := sr.Record, sr.ID, sr.keyID, sr.plain, sr.secret
	f := domain.Fields{}
	if err := json.Unmarshal([]byte(plain), &f); err != nil {
		return r, "", nil, crypto.ContentKey{}, fmt.Errorf("read record %s: plain fields: %w", id, err)
	}
	if len(secret) == 0 && len(sr.src) == 0 {
		// A record without personal values (a conflict) needs no key.
		r.Fields = f
		return r, keyID, f, crypto.ContentKey{}, nil
	}
	ck, err := ss.contentKey(ctx, q, keyID)
	if err != nil {
		return r, "", nil, crypto.ContentKey{}, fmt.Errorf("record %s: %w", id, err)
	}
	if len(secret) > 0 {
		pj, err := crypto.OpenValue(ck, secret, recordAAD(id))
		if err != nil {
			return r, "", nil, crypto.ContentKey{}, fmt.Errorf("decrypt record %s: %w", id, err)
		}
		personal := domain.Fields{}
		if err := json.Unmarshal(pj, &personal); err != nil {
			return r, "", nil, crypto.ContentKey{}, fmt.Errorf("read record %s: personal fields: %w", id, err)
		}
		for k, v := range personal {
			f[k] = v
		}
	}
	// Personal fields a pulled change moved: their values are sealed in
	// that change, under the same record key.
	for name, src := range sr.src {
		if sr.sealed[name] == src {
			continue
		}
		v, err := ss.changeValue(ctx, q, ck, src, name)
		if err != nil {
			return r, "", nil, crypto.ContentKey{}, fmt.Errorf("record %s: %w", id, err)
		}
		if v == "" {
			delete(f, name)
		} else {
			f[name] = v
		}
	}
	r.Fields = f
	return r, keyID, f, ck, nil
}

// contentKey returns a record's content key, unwrapping it once per session.
func (ss *Session) contentKey(ctx context.Context, q querier, keyID string) (crypto.ContentKey, error) {
	ss.mu.Lock()
	if ss.locked {
		ss.mu.Unlock()
		return crypto.ContentKey{}, ErrLocked
	}
	ck, ok := ss.keys[keyID]
	dk := ss.dk
	ss.mu.Unlock()
	if ok {
		return ck, nil
	}
	var (
		wrapped, pageWrapped []byte
		pageID               sql.NullString
		shredded             bool
	)
	if err := q.QueryRowContext(ctx, `SELECT local_wrapped, page_id, page_wrapped, shredded_at IS NOT NULL
		FROM record_key WHERE id = ?`, keyID).Scan(&wrapped, &pageID, &pageWrapped, &shredded); err != nil {
		return crypto.ContentKey{}, fmt.Errorf("read key: %w", err)
	}
	if shredded || (wrapped == nil && pageWrapped == nil) {
		return crypto.ContentKey{}, ErrShredded
	}
	kek, aadKey := dk, keyID
	if wrapped == nil {
		// Pulled, not yet adopted: the key is under its page's key.
		pk, err := ss.pageKey(ctx, q, pageID.String)
		if err != nil {
			return crypto.ContentKey{}, err
		}
		kek, wrapped = crypto.DataKey(pk), pageWrapped
	}
	raw, err := crypto.UnwrapKey(kek, wrapped, keyAAD(aadKey))
	if err != nil {
		return crypto.ContentKey{}, fmt.Errorf("unwrap key: %w", err)
	}
	if len(raw) != len(ck) {
		return crypto.ContentKey{}, fmt.Errorf("unwrap key: length %d", len(raw))
	}
	copy(ck[:], raw)
	ss.mu.Lock()
	if !ss.locked {
		ss.keys[keyID] = ck
	}
	ss.mu.Unlock()
	return ck, nil
}

// Get returns a record (ErrNotFound if there is none; a deleted record is
// returned with Deleted set).
func (ss *Session) Get(ctx context.Context, id string) (Record, error) {
	r, _, _, _, err := ss.load(ctx, ss.st.r, id)
	if err != nil {
		return Record{}, fmt.Errorf("store: get: %w", err)
	}
	return r, nil
}

// List returns the live records of a type whose plain fields equal the
// given values (all of them, if where is empty), oldest first.
func (ss *Session) List(ctx context.Context, t domain.RecordType, where domain.Fields) ([]Record, error) {
	q := `SELECT ` + recordColumns + ` FROM record WHERE type = ? AND deleted = 0`
	args := []any{string(t)}
	for _, k := range where.Names() {
		if domain.IsPersonal(t, k) {
			return nil, fmt.Errorf("store: list %s: cannot filter on personal field %q", t, k)
		}
		q += ` AND json_extract(plain, ?) = ?`
		args = append(args, "$."+k, where[k])
	}
	q += ` ORDER BY id`
	rows, err := ss.st.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list %s: %w", t, err)
	}
	var stored []storedRecord
	for rows.Next() {
		sr, err := scanRecord(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: list %s: %w", t, err)
		}
		stored = append(stored, sr)
	}
	rows.Close() // before opening: unwrapping a key reads from the same pool
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list %s: %w", t, err)
	}
	out := make([]Record, 0, len(stored))
	for _, sr := range stored {
		r, _, _, _, err := ss.open(ctx, ss.st.r, sr)
		if errors.Is(err, ErrShredded) {
			r = sr.Record
			r.Fields, r.Sealed = domain.Fields{}, true
			if err := json.Unmarshal([]byte(sr.plain), &r.Fields); err != nil {
				return nil, fmt.Errorf("store: list %s: record %s: plain fields: %w", t, sr.ID, err)
			}
			err = nil
		}
		if err != nil {
			return nil, fmt.Errorf("store: list %s: %w", t, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// Create writes a new record of type t with the given fields.
func (ss *Session) Create(ctx context.Context, t domain.RecordType, f domain.Fields) (Record, error) {
	if !t.Valid() {
		return Record{}, fmt.Errorf("store: create: unknown record type %q", t)
	}
	return ss.apply(ctx, mutation{op: OpCreate, typ: t, set: f})
}

// Update changes fields of a record that is still at baseVersion (or any
// version, with AnyVersion). A field set to "" is cleared.
func (ss *Session) Update(ctx context.Context, id string, baseVersion int64, set domain.Fields) (Record, error) {
	return ss.apply(ctx, mutation{op: OpUpdate, id: id, baseVersion: baseVersion, set: set})
}

// Delete deletes a record still at baseVersion. Signed cases cannot be deleted.
func (ss *Session) Delete(ctx context.Context, id string, baseVersion int64) error {
	_, err := ss.apply(ctx, mutation{op: OpDelete, id: id, baseVersion: baseVersion})
	return err
}

func fmtTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
