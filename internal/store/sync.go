package store

// The agent's half of sync: what to push, what the server answered, what
// was pulled. Nothing here needs a key; personal values pass through as
// the sealed bytes they are.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/hlc"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

// NextPush returns up to max pending changes not in flight (ClaimPush) in
// outbox order, of records the server can open (their key sealed for it,
// or pulled from it), with the seals and record keys not yet sent. A key
// whose seal is missing (written by a version that kept a rolled-back
// seal) waits, like a key not yet sealed, until the app seals it again
// (SealPending), instead of failing every push.
func (s *Store) NextPush(ctx context.Context, max int) (syncproto.PushRequest, error) {
	if max <= 0 || max > syncproto.MaxPushChanges {
		max = syncproto.MaxPushChanges
	}
	req := syncproto.PushRequest{}
	rows, err := s.r.QueryContext(ctx, `SELECT c.id, c.record_id, c.record_type, c.op, c.fields, c.plain_values,
		c.secret_values, c.base_version, c.hlc, c.clerk_id, c.created_at,
		k.origin, k.key_pushed_at IS NULL, k.seal_id, k.server_wrapped
		FROM change_log c JOIN record_key k ON k.id = c.key_id
		WHERE c.pushed_at IS NULL AND c.rejected IS NULL AND c.push_batch IS NULL AND (k.origin = 'remote' OR (k.server_wrapped IS NOT NULL
			AND (k.key_pushed_at IS NOT NULL OR EXISTS (SELECT 1 FROM seal s WHERE s.id = k.seal_id))))
		ORDER BY c.seq LIMIT ?`, max)
	if err != nil {
		return req, fmt.Errorf("store: next push: %w", err)
	}
	defer rows.Close()
	keys := map[string]bool{}
	seals := map[string]bool{}
	for rows.Next() {
		var (
			c               syncproto.Change
			fields, plain   string
			origin          string
			keyNew          bool
			sealID          sql.NullString
			wrapped, secret []byte
		)
		if err := rows.Scan(&c.ID, &c.RecordID, &c.RecordType, &c.Op, &fields, &plain, &secret, &c.BaseVersion,
			&c.HLC, &c.Clerk, &c.CreatedAt, &origin, &keyNew, &sealID, &wrapped); err != nil {
			return req, fmt.Errorf("store: next push: %w", err)
		}
		c.Secret = secret
		if err := json.Unmarshal([]byte(fields), &c.Fields); err != nil {
			return req, fmt.Errorf("store: next push: change %s: %w", c.ID, err)
		}
		if err := json.Unmarshal([]byte(plain), &c.Plain); err != nil {
			return req, fmt.Errorf("store: next push: change %s: %w", c.ID, err)
		}
		if origin == "local" && keyNew && !keys[c.RecordID] {
			keys[c.RecordID] = true
			req.Keys = append(req.Keys, syncproto.RecordKey{RecordID: c.RecordID, SealID: sealID.String, Wrapped: wrapped})
			seals[sealID.String] = true
		}
		req.Changes = append(req.Changes, c)
	}
	if err := rows.Err(); err != nil {
		return req, fmt.Errorf("store: next push: %w", err)
	}
	rows.Close()
	for id := range seals {
		var jwe string
		var pushed bool
		if err := s.r.QueryRowContext(ctx, `SELECT jwe, pushed_at IS NOT NULL FROM seal WHERE id = ?`, id).Scan(&jwe, &pushed); err != nil {
			return req, fmt.Errorf("store: next push: seal: %w", err)
		}
		if !pushed {
			req.Seals = append(req.Seals, syncproto.Seal{ID: id, JWE: jwe})
		}
	}
	sort.Slice(req.Seals, func(i, j int) bool { return req.Seals[i].ID < req.Seals[j].ID })
	if req.Audit, err = s.pushAuditHead(ctx); err != nil {
		return req, fmt.Errorf("store: next push: %w", err)
	}
	return req, nil
}

// AckPush records the server's answer to a push. Applied and duplicate
// changes are pushed (with their place in the feed); rejected ones are
// set aside with the reason; retry ones stay. Sealed cases that are now
// wholly at the server are shredded in the same transaction. (A case is
// sealed by a status change, which the server accepts only after every
// earlier change of the case and so after its attachments: acknowledging
// that change is the moment to shred.)
func (s *Store) AckPush(ctx context.Context, req syncproto.PushRequest, resp syncproto.PushResponse) error {
	if len(resp.Results) != len(req.Changes) {
		return fmt.Errorf("store: ack push: %d results for %d changes", len(resp.Results), len(req.Changes))
	}
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		now := fmtTime(s.now())
		for _, sl := range req.Seals {
			if _, err := s.txExec(ctx, tx, `UPDATE seal SET pushed_at = ? WHERE id = ? AND pushed_at IS NULL`, now, sl.ID); err != nil {
				return err
			}
		}
		for _, k := range req.Keys {
			if _, err := s.txExec(ctx, tx, `UPDATE record_key SET key_pushed_at = ? WHERE id = ? AND key_pushed_at IS NULL`,
				now, k.RecordID); err != nil {
				return err
			}
		}
		cases := map[string]bool{}
		type ack struct {
			ID  string `json:"id"`
			Seq int64  `json:"seq"`
		}
		var acks []ack
		var retry syncproto.PushRequest // stays pending: its in-flight marks go
		for i, r := range resp.Results {
			if r.ID != req.Changes[i].ID {
				return fmt.Errorf("result %d is for change %s, not %s", i, r.ID, req.Changes[i].ID)
			}
			switch r.Status {
			case syncproto.StatusApplied, syncproto.StatusDuplicate:
				acks = append(acks, ack{r.ID, r.Seq})
				if ch := req.Changes[i]; ch.RecordType == string(domain.TypeCase) && shreddable[ch.Plain["status"].New] {
					cases[ch.RecordID] = true
				}
			case syncproto.StatusRejected:
				reason := r.Reason
				if reason == "" {
					reason = "rejected"
				}
				if _, err := s.txExec(ctx, tx, `UPDATE change_log SET rejected = ?, push_batch = NULL WHERE id = ?`, reason, r.ID); err != nil {
					return err
				}
				if err := s.undoRefusedSeal(ctx, tx, req.Changes[i], reason); err != nil {
					return err
				}
			case syncproto.StatusRetry:
				retry.Changes = append(retry.Changes, req.Changes[i])
			default:
				return fmt.Errorf("change %s: unknown status %q", r.ID, r.Status)
			}
		}
		if len(retry.Changes) > 0 {
			if err := s.landBatch(ctx, tx, retry); err != nil {
				return err
			}
		}
		if len(acks) > 0 {
			// One statement for the batch: per-row round trips into
			// SQLite cost more than the updates themselves.
			b, _ := json.Marshal(acks)
			if _, err := s.txExec(ctx, tx, `UPDATE change_log SET pushed_at = coalesce(pushed_at, ?),
				server_seq = coalesce(server_seq, a.seq), push_batch = NULL
				FROM (SELECT value->>'id' AS id, value->>'seq' AS seq FROM json_each(?)) AS a
				WHERE change_log.id = a.id`, now, string(b)); err != nil {
				return err
			}
		}
		for id := range cases {
			if err := s.shredIfDone(ctx, tx, id); err != nil {
				return err
			}
		}
		return s.setAuditKnown(ctx, tx, resp.AuditKnown)
	})
	if err != nil {
		return fmt.Errorf("store: ack push: %w", err)
	}
	return nil
}

// shreddable are the case statuses after which the laptop keeps only what
// the clerk needs to follow the case: the application is sealed and the
// town hall has it.
var shreddable = map[string]bool{
	string(domain.StatusSealed): true, string(domain.StatusSubmitted): true, string(domain.StatusAccepted): true,
	string(domain.StatusRejected): true, string(domain.StatusNeedsInfo): true,
}

// shredIfDone destroys the content key of a sealed case once every change
// and attachment of it is at the server: its personal data becomes
// unreadable on this laptop for good (crypto-shredding); the plain fields
// (service, status, dates) stay for the clerk to follow it.
func (s *Store) shredIfDone(ctx context.Context, tx *sql.Tx, id string) error {
	var plain string
	var shredded bool
	err := s.txQueryRow(ctx, tx, `SELECT r.plain, k.shredded_at IS NOT NULL FROM record r JOIN record_key k ON k.id = r.key_id
		WHERE r.id = ? AND r.type = 'case'`, id).Scan(&plain, &shredded)
	if errors.Is(err, sql.ErrNoRows) || shredded {
		return nil
	}
	if err != nil {
		return fmt.Errorf("shred %s: %w", id, err)
	}
	var f domain.Fields
	if err := json.Unmarshal([]byte(plain), &f); err != nil {
		return fmt.Errorf("shred %s: %w", id, err)
	}
	if !shreddable[f["status"]] {
		return nil
	}
	var open int
	if err := s.txQueryRow(ctx, tx, `SELECT (SELECT count(*) FROM change_log WHERE record_id = ? AND pushed_at IS NULL AND rejected IS NULL)
		+ (SELECT count(*) FROM attachment WHERE record_id = ? AND uploaded_at IS NULL AND data IS NOT NULL)`, id, id).Scan(&open); err != nil {
		return fmt.Errorf("shred %s: %w", id, err)
	}
	if open > 0 {
		return nil
	}
	now := fmtTime(s.now())
	for _, q := range []string{
		`UPDATE record_key SET local_wrapped = NULL, server_wrapped = NULL, page_wrapped = NULL, page_id = NULL, shredded_at = ? WHERE id = (SELECT key_id FROM record WHERE id = ?)`,
		`UPDATE record SET secret = NULL, secret_src = '{}', updated_at = ? WHERE id = ?`,
		`UPDATE attachment SET data = NULL, uploaded_at = coalesce(uploaded_at, ?) WHERE record_id = ?`,
		`UPDATE change_log SET secret_values = NULL WHERE record_id = ? AND ? IS NOT NULL`,
		`UPDATE remote_change SET secret_values = NULL WHERE record_id = ? AND ? IS NOT NULL`,
	} {
		a, b := any(now), any(id)
		if strings.HasPrefix(q, "UPDATE change_log") || strings.HasPrefix(q, "UPDATE remote_change") {
			a, b = id, now
		}
		if _, err := tx.ExecContext(ctx, q, a, b); err != nil {
			return fmt.Errorf("shred %s: %w", id, err)
		}
	}
	return s.appendAudit(ctx, tx, AuditEntry{At: s.now(), DeviceID: s.deviceID, ClerkID: agentClerk,
		Action: "case.shredded", RecordType: string(domain.TypeCase), RecordID: id})
}

// PendingUploads calls fn for each attachment still to upload whose record
// the server can open.
func (s *Store) PendingUploads(ctx context.Context, fn func(Upload) error) error {
	rows, err := s.r.QueryContext(ctx, `SELECT a.sha256, a.record_id, length(a.data) FROM attachment a
		JOIN record r ON r.id = a.record_id JOIN record_key k ON k.id = r.key_id
		WHERE a.uploaded_at IS NULL AND a.data IS NOT NULL AND (k.origin = 'remote' OR k.server_wrapped IS NOT NULL)
		ORDER BY a.created_at`)
	if err != nil {
		return fmt.Errorf("store: pending uploads: %w", err)
	}
	var ups []Upload
	for rows.Next() {
		var u Upload
		if err := rows.Scan(&u.SHA256, &u.RecordID, &u.Size); err != nil {
			rows.Close()
			return fmt.Errorf("store: pending uploads: %w", err)
		}
		ups = append(ups, u)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: pending uploads: %w", err)
	}
	for _, u := range ups {
		if err := fn(u); err != nil {
			return err
		}
	}
	return nil
}

// UploadData returns the sealed bytes of a record's attachment.
func (s *Store) UploadData(ctx context.Context, recordID, sha string) ([]byte, error) {
	var data []byte
	err := s.r.QueryRowContext(ctx, `SELECT data FROM attachment WHERE record_id = ? AND sha256 = ?`,
		recordID, sha).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: attachment %s: %w", sha, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: attachment %s: %w", sha, err)
	}
	if data == nil {
		return nil, fmt.Errorf("store: attachment %s: %w", sha, ErrShredded)
	}
	return data, nil
}

// MarkUploaded records that the server holds the whole of a record's
// attachment.
func (s *Store) MarkUploaded(ctx context.Context, recordID, sha string) error {
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE attachment SET uploaded_at = ?
			WHERE record_id = ? AND sha256 = ? AND uploaded_at IS NULL`,
			fmtTime(s.now()), recordID, sha); err != nil {
			return fmt.Errorf("store: mark uploaded: %w", err)
		}
		return nil
	})
}

// ApplyPull stores pulled entries, as they came, and integrates them: the
// plain fields, versions and deletion directly, the personal fields as
// pointers to the sealed values (the app opens them when unlocked). The
// checkpoint moves to lastSeq in the same transaction, so an interrupted
// pull resumes exactly where its data ends. Stubs of this laptop's own
// changes (syncproto.Entry.Own) are rebuilt from its outbox first; one it
// cannot place fails the chunk with ErrUnknownOwnChange. What the chunk
// reads of this laptop's records and outbox it reads at once; an entry
// the record has integrated already writes nothing (a chunk applied twice
// changes nothing the second time).
func (s *Store) ApplyPull(ctx context.Context, page syncproto.Page, entries []syncproto.Entry, lastSeq int64) error {
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		a := &pullApply{s: s, ctx: ctx, tx: tx, pageID: page.ID, now: s.now()}
		if page.ID != "" && page.JWE != "" {
			if _, err := s.txExec(ctx, tx, `INSERT INTO pull_page(id, jwe, created_at) VALUES (?, ?, ?) ON CONFLICT(id) DO NOTHING`,
				page.ID, page.JWE, fmtTime(a.now)); err != nil {
				return fmt.Errorf("store page: %w", err)
			}
		}
		if err := a.rebuildOwn(entries); err != nil {
			return err
		}
		if err := a.load(entries); err != nil {
			return err
		}
		var maxHLC hlc.Timestamp
		cases := map[string]bool{}
		for i := range entries {
			e := &entries[i]
			if err := a.entry(e); err != nil {
				return fmt.Errorf("entry %d: %w", e.Seq, err)
			}
			// A clock reading too far ahead of this laptop's clock does
			// not move it (the server applies the same bound to pushes).
			if ts, err := hlc.Parse(e.HLC); err == nil && maxHLC.Before(ts) && !hlc.Ahead(ts, a.now, hlc.DefaultMaxLead) {
				maxHLC = ts
			}
			if st, ok := e.State["status"]; ok && e.RecordType == string(domain.TypeCase) &&
				(st.Src != e.ID || shreddable[e.Plain["status"].New]) {
				cases[e.RecordID] = true
			}
		}
		for id := range cases {
			if err := s.shredIfDone(ctx, tx, id); err != nil {
				return err
			}
		}
		if maxHLC != (hlc.Timestamp{}) {
			if err := s.recvHLC(ctx, tx, maxHLC, a.now); err != nil {
				return err
			}
		}
		kv := map[string]string{StateCheckpoint: strconv.FormatInt(lastSeq, 10)}
		var open int
		if err := s.txQueryRow(ctx, tx, `SELECT count(*) FROM record WHERE type = 'conflict' AND deleted = 0
			AND json_extract(plain, '$.status') = 'open'`).Scan(&open); err != nil {
			return err
		}
		kv[StateConflicts] = strconv.Itoa(open)
		return s.setSyncState(ctx, tx, kv)
	})
	if err != nil {
		return fmt.Errorf("store: apply pull: %w", err)
	}
	return nil
}

// recvHLC moves this laptop's clock past a remote one (Kulkarni et al.'s
// receive rule), so its next change is after everything it has seen.
func (s *Store) recvHLC(ctx context.Context, tx *sql.Tx, remote hlc.Timestamp, now time.Time) error {
	var stored string
	if err := s.txQueryRow(ctx, tx, `SELECT coalesce((SELECT value FROM meta WHERE key = 'hlc'), '')`).Scan(&stored); err != nil {
		return fmt.Errorf("read clock: %w", err)
	}
	last, err := hlc.Parse(stored)
	if err != nil {
		return fmt.Errorf("read clock: %w", err)
	}
	next := hlc.Recv(last, remote, now)
	if _, err := s.txExec(ctx, tx, `INSERT INTO meta(key, value) VALUES ('hlc', ?)
		ON CONFLICT(key) DO UPDATE SET value = excluded.value`, next.String()); err != nil {
		return fmt.Errorf("write clock: %w", err)
	}
	return nil
}

// plainValue returns the new value of a plain field from the change src:
// the entry itself, or a change this laptop already holds.
func (s *Store) plainValue(ctx context.Context, tx *sql.Tx, e *syncproto.Entry, src, name string) (string, error) {
	if src == e.ID {
		return e.Plain[name].New, nil
	}
	var pv string
	err := s.txQueryRow(ctx, tx, `SELECT plain_values FROM change_log WHERE id = ?
		UNION ALL SELECT plain_values FROM remote_change WHERE id = ? LIMIT 1`, src, src).Scan(&pv)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("field %s: source change %s not here", name, src)
	}
	if err != nil {
		return "", err
	}
	var vals map[string]FieldChange
	if err := json.Unmarshal([]byte(pv), &vals); err != nil {
		return "", err
	}
	return vals[name].New, nil
}

// Export writes this laptop's records as syncproto.ExportRecord lines,
// sorted by id: after a complete sync, the same bytes as the server's
// export of the tenant.
func (s *Store) Export(ctx context.Context, w io.Writer) error {
	rows, err := s.r.QueryContext(ctx, `SELECT id, type, server_version, deleted, plain, src FROM record ORDER BY id`)
	if err != nil {
		return fmt.Errorf("store: export: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r syncproto.ExportRecord
		var plain, src string
		if err := rows.Scan(&r.ID, &r.Type, &r.Version, &r.Deleted, &plain, &src); err != nil {
			return fmt.Errorf("store: export: %w", err)
		}
		if !r.Deleted {
			if err := json.Unmarshal([]byte(plain), &r.Fields); err != nil {
				return fmt.Errorf("store: export %s: %w", r.ID, err)
			}
			for k, v := range r.Fields {
				if v == "" {
					delete(r.Fields, k)
				}
			}
			if err := json.Unmarshal([]byte(src), &r.Sealed); err != nil {
				return fmt.Errorf("store: export %s: %w", r.ID, err)
			}
		}
		if err := syncproto.WriteExport(w, r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// RemoteChanges counts the changes pulled from the server and kept.
func (s *Store) RemoteChanges(ctx context.Context) (int64, error) {
	var n int64
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM remote_change`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count pulled: %w", err)
	}
	return n, nil
}
