package server

// This file stores attachments on PostgreSQL: the upload's state in
// attachment, its bytes as bytea rows in attachment_piece, one per piece
// appended (at most syncproto's piece size each), so that an append writes
// its piece only and a download streams piece by piece. An append locks
// the upload's row (FOR UPDATE), so two processes appending the same
// piece at once cannot both succeed: the second finds the offset moved
// and gets ErrOffset, as on SQLite.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

const pqRefWhere = `tenant = $1 AND record_id = $2 AND sha256 = $3`

func pgRefArgs(ref AttachmentRef, more ...any) []any {
	return append([]any{ref.Tenant, ref.RecordID, ref.SHA256}, more...)
}

func (s *pgStore) Attachment(ctx context.Context, ref AttachmentRef) (Attachment, error) {
	a := Attachment{AttachmentRef: ref}
	var created *string
	err := s.r.QueryRow(ctx, `SELECT length, sealed_sha256, received, complete, created_at
		FROM attachment WHERE `+pqRefWhere, pgRefArgs(ref)...).
		Scan(&a.Length, &a.SealedSHA256, &a.Offset, &a.Complete, &created)
	if errors.Is(err, pgx.ErrNoRows) {
		return Attachment{}, fmt.Errorf("attachment %s: %w", ref, ErrNotFound)
	}
	if err != nil {
		return Attachment{}, fmt.Errorf("read attachment %s: %w", ref, pgClassify(err))
	}
	a.CreatedAt = pgTime(created)
	return a, nil
}

func (s *pgStore) StartAttachment(ctx context.Context, a Attachment) error {
	if _, err := s.w.Exec(ctx, `INSERT INTO attachment(tenant, record_id, sha256, length, sealed_sha256, received,
		complete, created_at) VALUES ($1, $2, $3, $4, $5, 0, false, $6) ON CONFLICT DO NOTHING`,
		pgRefArgs(a.AttachmentRef, a.Length, a.SealedSHA256, fmtTime(a.CreatedAt))...); err != nil {
		return fmt.Errorf("start attachment %s: %w", a.AttachmentRef, pgClassify(err))
	}
	return nil
}

func (s *pgStore) AppendAttachment(ctx context.Context, ref AttachmentRef, at int64, piece []byte) (int64, error) {
	var off int64
	err := pgx.BeginFunc(ctx, s.w, func(tx pgx.Tx) error {
		var length int64
		var complete bool
		err := tx.QueryRow(ctx, `SELECT received, length, complete FROM attachment WHERE `+pqRefWhere+` FOR UPDATE`,
			pgRefArgs(ref)...).Scan(&off, &length, &complete)
		if errors.Is(err, pgx.ErrNoRows) {
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
		newOff := at + int64(len(piece))
		b := &pgx.Batch{}
		b.Queue(`INSERT INTO attachment_piece(tenant, record_id, sha256, pos, data) VALUES ($1, $2, $3, $4, $5)`,
			pgRefArgs(ref, at, piece)...)
		b.Queue(`UPDATE attachment SET received = $4 WHERE `+pqRefWhere, pgRefArgs(ref, newOff)...)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("append attachment %s: %w", ref, err)
		}
		off = newOff
		return nil
	})
	return off, pgClassify(err)
}

func (s *pgStore) CompleteAttachment(ctx context.Context, ref AttachmentRef, at time.Time) error {
	if _, err := s.w.Exec(ctx, `UPDATE attachment SET complete = true, completed_at = $4 WHERE `+pqRefWhere+`
		AND received = length`, pgRefArgs(ref, fmtTime(at))...); err != nil {
		return fmt.Errorf("complete attachment %s: %w", ref, pgClassify(err))
	}
	return nil
}

func (s *pgStore) DiscardAttachment(ctx context.Context, ref AttachmentRef) error {
	err := pgx.BeginFunc(ctx, s.w, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(`DELETE FROM attachment_piece WHERE `+pqRefWhere, pgRefArgs(ref)...)
		b.Queue(`DELETE FROM attachment WHERE `+pqRefWhere, pgRefArgs(ref)...)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("discard attachment %s: %w", ref, err)
		}
		return nil
	})
	return pgClassify(err)
}

// AttachmentData reads the pieces one at a time, each in its own query, so
// that no connection stays taken while fn writes to the network.
func (s *pgStore) AttachmentData(ctx context.Context, ref AttachmentRef, fn func([]byte) error) error {
	var pos int64
	for {
		var data []byte
		err := s.r.QueryRow(ctx, `SELECT data FROM attachment_piece WHERE `+pqRefWhere+` AND pos = $4`,
			pgRefArgs(ref, pos)...).Scan(&data)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read attachment %s: %w", ref, pgClassify(err))
		}
		if err := fn(data); err != nil {
			return err
		}
		pos += int64(len(data))
	}
}

func (s *pgStore) SharedAttachments(ctx context.Context, fn func(missing, donor AttachmentRef) error) error {
	rows, err := s.r.Query(ctx, `SELECT tenant, id, sha, donor FROM (
		SELECT r.tenant, r.id, f.value->>'val' AS sha,
			(SELECT a.record_id FROM attachment a WHERE a.tenant = r.tenant AND a.sha256 = f.value->>'val'
				AND a.complete ORDER BY a.created_at LIMIT 1) AS donor
		FROM record r, jsonb_each(r.state::jsonb -> 'fields') f
		WHERE r.type = 'case' AND f.key LIKE 'attachment.%' AND coalesce(f.value->>'val', '') <> ''
		AND NOT EXISTS (SELECT 1 FROM attachment a WHERE a.tenant = r.tenant AND a.record_id = r.id
			AND a.sha256 = f.value->>'val')
	) x WHERE donor IS NOT NULL ORDER BY tenant, id`)
	if err != nil {
		return fmt.Errorf("shared attachments: %w", pgClassify(err))
	}
	type pair struct{ missing, donor AttachmentRef }
	var ps []pair
	var p pair
	if _, err := pgx.ForEachRow(rows, []any{&p.missing.Tenant, &p.missing.RecordID, &p.missing.SHA256, &p.donor.RecordID},
		func() error {
			p.donor.Tenant, p.donor.SHA256 = p.missing.Tenant, p.missing.SHA256
			ps = append(ps, p)
			return nil
		}); err != nil {
		return fmt.Errorf("shared attachments: %w", pgClassify(err))
	}
	for _, p := range ps {
		if err := fn(p.missing, p.donor); err != nil {
			return err
		}
	}
	return nil
}
