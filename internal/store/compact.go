package store

// Compaction of pulled change entries (remote_change). A pull writes each
// entry twice: as it came (remote_change) and into its record (plain
// fields, version, deletion, and for each personal field the id of the
// change whose sealed value it holds: record.src). Kept for ever, the
// entries grow with every edit of every record; most of them nothing
// reads again. Compact deletes those, so the table holds a bounded number
// of entries per record, whatever the number of edits.
//
// What is kept, per record, and why:
//   - the change each personal field's value comes from (record.src): the
//     value exists only there, sealed under the record's key, until the app
//     folds it into record.secret. The agent holds no key, so it cannot fold
//     it; the export names these ids too.
//   - for each field, the newest entry whose state names the field, and the
//     change that state names as the field's source (src). A later pulled
//     entry that loses a field to the value standing names that source, and
//     the pull reads the plain value from it (plainValue); the newest entry
//     is what says which change that is. This also keeps every field's
//     current source when a change of this laptop, still on its way back
//     through the feed, lost the field.
//   - both sides of every conflict (a_change, b_change): the conflict view
//     opens their sealed values for the clerk, open or resolved.
//   - the newest entry of the record (its version and state, for a reader
//     of the history).
//
// What is not needed and goes: older entries that are no field's source
// any more. The merge needs none of them on the laptop: the three-way
// merge runs at the server, and a change made here carries the old values
// from the record itself (FieldChange.Old), not from any entry. The audit
// chain (audit_log) is a table of its own, which this never touches; its
// entries name records, not change entries.
//
// This laptop's own changes (change_log) are the outbox and the list of
// refused changes, and the pull looks them up by id; they are not
// compacted here.
//
// Compact runs in the agent after a pull that ended complete (the last
// page said no more): the server writes a conflict in the same
// transaction as the change that caused it, so a complete pull never
// stops between the two, and the conflict's sides are known before their
// entries could go. Each call does bounded work: the records of at most
// compactEntries pulled entries after a cursor (meta compact_seq), in
// transactions of at most compactTxRecords records, so the app, which
// writes to the same file, waits for no long transaction.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

const (
	compactTxRecords = 200 // records per transaction
	metaCompactSeq   = "compact_seq"
)

// compactEntries is how many pulled entries one call looks at (a
// variable for the tests).
var compactEntries = 20_000

// CompactReport says what one Compact call did.
type CompactReport struct {
	Records int   // records looked at
	Removed int64 // pulled entries deleted
	More    bool  // entries past the cursor remain: call again
}

// Compact deletes pulled change entries that no field, conflict or reader
// needs any more (see the file's header), for the records of the pulled
// entries since the last call, at most compactEntries of them.
func (s *Store) Compact(ctx context.Context) (CompactReport, error) {
	var rep CompactReport
	after, err := s.compactCursor(ctx)
	if err != nil {
		return rep, err
	}
	records, last, scanned, err := s.compactBacklog(ctx, after)
	if err != nil || scanned == 0 {
		return rep, err
	}
	if len(records) == 0 { // every record has one entry: nothing to drop
		_, err := s.compactRecords(ctx, nil, nil, last)
		return CompactReport{More: scanned == compactEntries}, err
	}
	sides, err := s.conflictSides(ctx)
	if err != nil {
		return rep, err
	}
	for start := 0; start < len(records); start += compactTxRecords {
		part := records[start:min(start+compactTxRecords, len(records))]
		cursor := int64(0)
		if start+compactTxRecords >= len(records) {
			cursor = last // the cursor moves with the last part
		}
		n, err := s.compactRecords(ctx, part, sides, cursor)
		if err != nil {
			return rep, err
		}
		rep.Records += len(part)
		rep.Removed += n
	}
	rep.More = scanned == compactEntries
	return rep, nil
}

func (s *Store) compactCursor(ctx context.Context) (int64, error) {
	v, err := s.Meta(ctx, metaCompactSeq)
	if err != nil || v == "" {
		return 0, err
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("store: compact cursor %q: %w", v, err)
	}
	return n, nil
}

// compactBacklog returns the records of the pulled entries after seq
// after (at most compactEntries entries) that have more than one entry,
// in the order of their first entry, the last seq looked at and how many
// entries were. A record with one entry (most, after a first pull) has
// nothing to drop and costs one index probe.
func (s *Store) compactBacklog(ctx context.Context, after int64) (records []string, last int64, scanned int, err error) {
	rows, err := s.r.QueryContext(ctx, `SELECT seq, record_id, EXISTS (SELECT 1 FROM remote_change o
		WHERE o.record_id = r.record_id AND o.seq <> r.seq) FROM remote_change r WHERE seq > ? ORDER BY seq LIMIT ?`,
		after, compactEntries)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("store: compact: %w", err)
	}
	defer rows.Close()
	seen := map[string]bool{}
	for rows.Next() {
		var id string
		var several bool
		if err := rows.Scan(&last, &id, &several); err != nil {
			return nil, 0, 0, fmt.Errorf("store: compact: %w", err)
		}
		scanned++
		if several && !seen[id] {
			seen[id] = true
			records = append(records, id)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, 0, 0, fmt.Errorf("store: compact: %w", err)
	}
	return records, last, scanned, nil
}

// conflictSides returns the changes named by a side of any conflict.
func (s *Store) conflictSides(ctx context.Context) (map[string]bool, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT coalesce(json_extract(plain, '$.a_change'), ''),
		coalesce(json_extract(plain, '$.b_change'), '') FROM record WHERE type = ?`, string(domain.TypeConflict))
	if err != nil {
		return nil, fmt.Errorf("store: compact: conflicts: %w", err)
	}
	defer rows.Close()
	sides := map[string]bool{}
	for rows.Next() {
		var a, b string
		if err := rows.Scan(&a, &b); err != nil {
			return nil, fmt.Errorf("store: compact: conflicts: %w", err)
		}
		sides[a], sides[b] = true, true
	}
	return sides, rows.Err()
}

// compactRecords compacts the entries of records in one transaction and,
// if cursor > 0, moves the cursor there.
func (s *Store) compactRecords(ctx context.Context, records []string, sides map[string]bool, cursor int64) (int64, error) {
	var removed int64
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		var drop []int64
		for _, id := range records {
			d, err := s.droppable(ctx, tx, id, sides)
			if err != nil {
				return fmt.Errorf("record %s: %w", id, err)
			}
			drop = append(drop, d...)
		}
		if len(drop) > 0 {
			b, _ := json.Marshal(drop) // []int64 cannot fail
			res, err := s.txExec(ctx, tx, `DELETE FROM remote_change WHERE seq IN (SELECT value FROM json_each(?))`, string(b))
			if err != nil {
				return err
			}
			removed, _ = res.RowsAffected()
		}
		if cursor == 0 {
			return nil
		}
		_, err := s.txExec(ctx, tx, `INSERT INTO meta(key, value) VALUES (?, ?)
			ON CONFLICT(key) DO UPDATE SET value = excluded.value`, metaCompactSeq, strconv.FormatInt(cursor, 10))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: compact: %w", err)
	}
	return removed, nil
}

// pulledEntry is what compaction reads of a pulled entry.
type pulledEntry struct {
	seq   int64
	id    string
	state map[string]syncproto.FieldState
}

// droppable returns the seqs of a record's pulled entries that nothing
// needs any more (the rules in the file's header).
func (s *Store) droppable(ctx context.Context, tx *sql.Tx, recordID string, sides map[string]bool) ([]int64, error) {
	entries, err := s.pulledEntries(ctx, tx, recordID)
	if err != nil || len(entries) < 2 {
		return nil, err
	}
	keep, err := s.recordSources(ctx, tx, recordID)
	if err != nil {
		return nil, err
	}
	keep[entries[0].id] = true // the newest
	named := map[string]bool{}
	for _, e := range entries { // newest first
		for field, st := range e.state {
			if named[field] {
				continue
			}
			named[field] = true
			keep[e.id], keep[st.Src] = true, true
		}
	}
	var drop []int64
	for _, e := range entries {
		if !keep[e.id] && !sides[e.id] {
			drop = append(drop, e.seq)
		}
	}
	return drop, nil
}

// pulledEntries reads a record's pulled entries, newest first.
func (s *Store) pulledEntries(ctx context.Context, tx *sql.Tx, recordID string) ([]pulledEntry, error) {
	rows, err := tx.QueryContext(ctx, `SELECT seq, id, state FROM remote_change WHERE record_id = ? ORDER BY seq DESC`, recordID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []pulledEntry
	for rows.Next() {
		var e pulledEntry
		var state string
		if err := rows.Scan(&e.seq, &e.id, &state); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(state), &e.state); err != nil {
			return nil, fmt.Errorf("entry %d: state: %w", e.seq, err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// recordSources returns the changes the record's personal fields hold the
// values of (record.src), as a set.
func (s *Store) recordSources(ctx context.Context, tx *sql.Tx, recordID string) (map[string]bool, error) {
	var srcJSON string
	err := s.txQueryRow(ctx, tx, `SELECT src FROM record WHERE id = ?`, recordID).Scan(&srcJSON)
	if errors.Is(err, sql.ErrNoRows) {
		return map[string]bool{}, nil
	}
	if err != nil {
		return nil, err
	}
	src := map[string]string{}
	if err := json.Unmarshal([]byte(srcJSON), &src); err != nil {
		return nil, fmt.Errorf("src: %w", err)
	}
	keep := make(map[string]bool, len(src))
	for _, id := range src {
		keep[id] = true
	}
	return keep, nil
}
