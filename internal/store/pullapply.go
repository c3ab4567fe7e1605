package store

// Applying one chunk of a pull (ApplyPull): each entry is integrated into
// its record as the server merged it, against what this laptop holds of
// the record and of its own changes to it, which the chunk reads at once
// instead of entry by entry.

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

// pullApply is the state of one chunk being applied.
type pullApply struct {
	s      *Store
	ctx    context.Context
	tx     *sql.Tx
	pageID string
	now    time.Time

	records map[string]*pulledRecord  // the chunk's records that are here, as they stand now
	changes map[string][]*outboxEntry // by record: this laptop's changes the chunk may meet
	own     map[string]*outboxEntry   // by change id: the same changes
}

// pulledRecord is what the pull reads and writes of a record here.
type pulledRecord struct {
	typ                    string
	version, serverVersion int64
	deleted                bool
	plain, src, hlc        string
	shredded, hasLocalKey  bool
	keyPage                string // the page whose key was stored for it in this chunk
}

// outboxEntry is one of this laptop's changes, as the pull needs it.
type outboxEntry struct {
	id, op    string
	fields    []string
	serverSeq int64 // 0: not placed in the feed yet
	pushed    bool
	rejected  bool
}

// batchSize bounds the ids of one IN (...) list.
const batchSize = 500

// inBatches calls fn with the ids in lists of at most batchSize, as query
// arguments, and the matching placeholders.
func inBatches(ids []string, fn func(args []any, marks string) error) error {
	for start := 0; start < len(ids); start += batchSize {
		part := ids[start:min(start+batchSize, len(ids))]
		args := make([]any, len(part))
		for i, id := range part {
			args[i] = id
		}
		if err := fn(args, strings.TrimSuffix(strings.Repeat("?,", len(part)), ",")); err != nil {
			return err
		}
	}
	return nil
}

// rebuildOwn fills in the stubs of this laptop's own changes from its
// outbox, found by the feed position the push's answer gave each: the
// server sends a stub only for a change it merged as pushed (every field
// the change's own, deleted as its op says), which is the entry rebuilt
// here.
func (a *pullApply) rebuildOwn(entries []syncproto.Entry) error {
	var seqs []string
	for i := range entries {
		if entries[i].Own {
			seqs = append(seqs, fmt.Sprint(entries[i].Seq))
		}
	}
	if len(seqs) == 0 {
		return nil
	}
	byseq := make(map[int64]syncproto.Entry, len(seqs))
	err := inBatches(seqs, func(args []any, marks string) error {
		rows, err := a.tx.QueryContext(a.ctx, `SELECT server_seq, id, record_id, record_type, op, fields, plain_values,
			base_version, hlc, clerk_id, created_at FROM change_log WHERE server_seq IN (`+marks+`)`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e syncproto.Entry
			var fields, plain string
			if err := rows.Scan(&e.Seq, &e.ID, &e.RecordID, &e.RecordType, &e.Op, &fields, &plain, &e.BaseVersion,
				&e.HLC, &e.Clerk, &e.CreatedAt); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(fields), &e.Fields); err != nil {
				return fmt.Errorf("change %s: %w", e.ID, err)
			}
			if err := json.Unmarshal([]byte(plain), &e.Plain); err != nil {
				return fmt.Errorf("change %s: %w", e.ID, err)
			}
			byseq[e.Seq] = e
		}
		return rows.Err()
	})
	if err != nil {
		return fmt.Errorf("own changes: %w", err)
	}
	for i := range entries {
		stub := &entries[i]
		if !stub.Own {
			continue
		}
		e, ok := byseq[stub.Seq]
		if !ok {
			return fmt.Errorf("seq %d: %w", stub.Seq, ErrUnknownOwnChange)
		}
		e.Version = stub.Version
		e.State = make(map[string]syncproto.FieldState, len(e.Fields))
		for _, f := range e.Fields {
			e.State[f] = syncproto.FieldState{Src: e.ID, Version: e.Version}
		}
		e.Deleted = e.Op == string(OpDelete)
		*stub = e
	}
	return nil
}

// load reads the chunk's records that are here, and this laptop's
// changes to them that are not placed before the chunk.
func (a *pullApply) load(entries []syncproto.Entry) error {
	a.records = map[string]*pulledRecord{}
	a.changes = map[string][]*outboxEntry{}
	a.own = map[string]*outboxEntry{}
	if len(entries) == 0 {
		return nil
	}
	seen := map[string]bool{}
	var ids []string
	for i := range entries {
		if id := entries[i].RecordID; !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	err := inBatches(ids, func(args []any, marks string) error {
		rows, err := a.tx.QueryContext(a.ctx, `SELECT r.id, r.type, r.version, r.server_version, r.deleted, r.plain, r.src,
			r.hlc, k.shredded_at IS NOT NULL, k.local_wrapped IS NOT NULL
			FROM record r JOIN record_key k ON k.id = r.key_id WHERE r.id IN (`+marks+`)`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			r := &pulledRecord{}
			if err := rows.Scan(&id, &r.typ, &r.version, &r.serverVersion, &r.deleted, &r.plain, &r.src, &r.hlc,
				&r.shredded, &r.hasLocalKey); err != nil {
				return err
			}
			a.records[id] = r
		}
		return rows.Err()
	})
	if err != nil {
		return fmt.Errorf("read records: %w", err)
	}
	return a.loadOutbox(ids, entries[0].Seq)
}

// loadOutbox reads this laptop's changes to the records ids that are not
// placed in the feed before seq first.
func (a *pullApply) loadOutbox(ids []string, first int64) error {
	var here []string
	for _, id := range ids {
		if a.records[id] != nil {
			here = append(here, id)
		}
	}
	err := inBatches(here, func(args []any, marks string) error {
		rows, err := a.tx.QueryContext(a.ctx, `SELECT id, record_id, op, fields, coalesce(server_seq, 0),
			pushed_at IS NOT NULL, rejected IS NOT NULL FROM change_log
			WHERE record_id IN (`+marks+`) AND (server_seq IS NULL OR server_seq >= ?)`, append(args, first)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			c := &outboxEntry{}
			var recordID, fields string
			if err := rows.Scan(&c.id, &recordID, &c.op, &fields, &c.serverSeq, &c.pushed, &c.rejected); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(fields), &c.fields); err != nil {
				return fmt.Errorf("change %s: %w", c.id, err)
			}
			a.changes[recordID] = append(a.changes[recordID], c)
			a.own[c.id] = c
		}
		return rows.Err()
	})
	if err != nil {
		return fmt.Errorf("read outbox: %w", err)
	}
	return nil
}

// entry integrates one entry.
func (a *pullApply) entry(e *syncproto.Entry) error {
	typ := domain.RecordType(e.RecordType)
	if !typ.Valid() {
		return fmt.Errorf("unknown record type %q", e.RecordType)
	}
	mine := a.own[e.ID]
	if err := a.keepChange(e, mine); err != nil {
		return err
	}
	r := a.records[e.RecordID]
	if r == nil {
		return a.insertRecord(e)
	}
	if r.typ != e.RecordType {
		return fmt.Errorf("record %s is a %s here, a %s at the server", e.RecordID, r.typ, e.RecordType)
	}
	if e.Version <= r.serverVersion {
		// Integrated before (a record's versions only grow along the
		// feed): a chunk applied again writes nothing.
		return nil
	}
	next, ours, same, err := a.merged(e, r, typ, mine != nil)
	if err != nil {
		return err
	}
	if err := a.updateRecord(e, r, next, ours, same); err != nil {
		return err
	}
	return a.keepKey(e, r)
}

// keepChange stores a change of another device as it came, or notes
// where the server put one of ours (unless that is known already).
func (a *pullApply) keepChange(e *syncproto.Entry, mine *outboxEntry) error {
	if mine != nil {
		if mine.serverSeq == e.Seq && mine.pushed {
			return nil
		}
		if _, err := a.s.txExec(a.ctx, a.tx, `UPDATE change_log SET server_seq = ?, pushed_at = coalesce(pushed_at, ?) WHERE id = ?`,
			e.Seq, fmtTime(a.now), e.ID); err != nil {
			return err
		}
		mine.serverSeq, mine.pushed = e.Seq, true
		return nil
	}
	fields, _ := json.Marshal(e.Fields)
	plain, _ := json.Marshal(e.Plain)
	state, _ := json.Marshal(e.State)
	if _, err := a.s.txExec(a.ctx, a.tx, `INSERT INTO remote_change(seq, id, record_id, record_type, op, fields, plain_values,
		secret_values, base_version, version, hlc, device_id, clerk_id, created_at, state, deleted)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING`,
		e.Seq, e.ID, e.RecordID, e.RecordType, e.Op, string(fields), string(plain), e.Secret, e.BaseVersion,
		e.Version, e.HLC, e.Device, e.Clerk, e.CreatedAt, string(state), e.Deleted); err != nil {
		return fmt.Errorf("store change: %w", err)
	}
	return nil
}

// insertRecord writes a record this laptop did not have, with its key.
func (a *pullApply) insertRecord(e *syncproto.Entry) error {
	plain, src := domain.Fields{}, map[string]string{}
	typ := domain.RecordType(e.RecordType)
	for _, name := range sortedKeys(e.State) {
		st := e.State[name]
		if domain.IsPersonal(typ, name) {
			src[name] = st.Src
			continue
		}
		v, err := a.s.plainValue(a.ctx, a.tx, e, st.Src, name)
		if err != nil {
			return err
		}
		if v != "" {
			plain[name] = v
		}
	}
	if e.Deleted {
		plain = domain.Fields{}
	}
	plainJSON, _ := json.Marshal(plain)
	srcJSON, _ := json.Marshal(src)
	if _, err := a.s.txExec(a.ctx, a.tx, `INSERT INTO record_key(id, origin, created_at, page_id, page_wrapped)
		VALUES (?, 'remote', ?, ?, ?) ON CONFLICT(id) DO NOTHING`, e.RecordID, fmtTime(a.now), nullIfEmpty(a.pageID, e.Key), e.Key); err != nil {
		return fmt.Errorf("store key: %w", err)
	}
	if _, err := a.s.txExec(a.ctx, a.tx, `INSERT INTO record(id, type, version, key_id, plain, secret, deleted, hlc, created_at,
		updated_at, server_version, src, secret_src) VALUES (?, ?, 1, ?, ?, NULL, ?, ?, ?, ?, ?, ?, '{}')`,
		e.RecordID, e.RecordType, e.RecordID, string(plainJSON), e.Deleted, e.HLC, e.CreatedAt, fmtTime(a.now), e.Version,
		string(srcJSON)); err != nil {
		return fmt.Errorf("insert record: %w", err)
	}
	a.records[e.RecordID] = &pulledRecord{typ: e.RecordType, version: 1, serverVersion: e.Version, deleted: e.Deleted,
		plain: string(plainJSON), src: string(srcJSON), hlc: e.HLC}
	if len(e.Key) > 0 {
		a.records[e.RecordID].keyPage = a.pageID
	}
	return nil
}

// merged returns the record as it reads after the entry, whether the
// entry is our own change with our value of every field it names, and
// whether the record reads as before.
func (a *pullApply) merged(e *syncproto.Entry, r *pulledRecord, typ domain.RecordType, mine bool) (next pulledRecord, ours, same bool, err error) {
	next = *r
	plain, src := domain.Fields{}, map[string]string{}
	if err := json.Unmarshal([]byte(r.plain), &plain); err != nil {
		return next, false, false, err
	}
	if err := json.Unmarshal([]byte(r.src), &src); err != nil {
		return next, false, false, err
	}
	plainBefore, _ := json.Marshal(plain)
	srcBefore, _ := json.Marshal(src)
	// Fields that a change of ours, not yet placed before this one in the
	// feed, also changes: ours stands here until the server's verdict on
	// it comes back with it.
	skip, localDelete := a.pendingOurs(e)
	ours = mine
	for _, name := range sortedKeys(e.State) {
		st := e.State[name]
		if skip[name] {
			continue
		}
		ours = ours && st.Src == e.ID
		if domain.IsPersonal(typ, name) {
			src[name] = st.Src
			continue
		}
		v, err := a.s.plainValue(a.ctx, a.tx, e, st.Src, name)
		if err != nil {
			return next, false, false, err
		}
		if v == "" {
			delete(plain, name)
		} else {
			plain[name] = v
		}
	}
	if !localDelete {
		if e.Deleted && !r.deleted {
			plain = domain.Fields{}
		}
		next.deleted = e.Deleted
	}
	plainJSON, _ := json.Marshal(plain)
	srcJSON, _ := json.Marshal(src)
	same = next.deleted == r.deleted && string(plainJSON) == string(plainBefore) && string(srcJSON) == string(srcBefore)
	next.plain, next.src = string(plainJSON), string(srcJSON)
	next.serverVersion = e.Version
	next.hlc = max(r.hlc, e.HLC)
	return next, ours, same, nil
}

// pendingOurs returns the fields that this laptop's changes to the
// entry's record change and that are not placed before the entry in the
// feed, and whether one of them deletes the record.
func (a *pullApply) pendingOurs(e *syncproto.Entry) (skip map[string]bool, localDelete bool) {
	skip = map[string]bool{}
	for _, c := range a.changes[e.RecordID] {
		if c.rejected || (c.serverSeq != 0 && c.serverSeq <= e.Seq) {
			continue
		}
		for _, n := range c.fields {
			skip[n] = true
		}
		localDelete = localDelete || c.op == string(OpDelete)
	}
	return skip, localDelete
}

// updateRecord writes the record as it reads after the entry. The local
// version, which a clerk's edit is based on, moves when the record reads
// differently, not when our own change comes back as we made it (else the
// form open on screen would count as stale).
func (a *pullApply) updateRecord(e *syncproto.Entry, r *pulledRecord, next pulledRecord, ours, same bool) error {
	bump := int64(1)
	if ours && same {
		bump = 0
	}
	next.version = r.version + bump
	if _, err := a.s.txExec(a.ctx, a.tx, `UPDATE record SET version = version + ?, plain = ?, src = ?, deleted = ?,
		secret = CASE WHEN ? THEN NULL ELSE secret END, secret_src = CASE WHEN ? THEN '{}' ELSE secret_src END,
		hlc = max(hlc, ?), updated_at = ?, server_version = ? WHERE id = ?`,
		bump, next.plain, next.src, next.deleted, next.deleted, next.deleted, e.HLC, fmtTime(a.now), e.Version,
		e.RecordID); err != nil {
		return fmt.Errorf("update record: %w", err)
	}
	*r = next
	return nil
}

// keepKey stores the record's key as the page brought it, if the laptop
// has none of its own to open the record with (and it is not stored from
// this page already).
func (a *pullApply) keepKey(e *syncproto.Entry, r *pulledRecord) error {
	if len(e.Key) == 0 || r.hasLocalKey || r.shredded || r.keyPage == a.pageID {
		return nil
	}
	if _, err := a.s.txExec(a.ctx, a.tx, `UPDATE record_key SET page_id = ?, page_wrapped = ? WHERE id = ?
		AND local_wrapped IS NULL AND shredded_at IS NULL`, a.pageID, e.Key, e.RecordID); err != nil {
		return fmt.Errorf("store key: %w", err)
	}
	r.keyPage = a.pageID
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// nullIfEmpty is the page id to store with a key: none without a key.
func nullIfEmpty(pageID string, key []byte) any {
	if len(key) == 0 {
		return nil
	}
	return pageID
}
