package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/buergerkoffer/kit/internal/crypto"
	"github.com/buergerkoffer/kit/internal/domain"
)

// caseStatusFields are the fields that may still change once the citizen
// has signed: the status and who moved it when.
var caseStatusFields = map[string]bool{
	"status": true, "signed_at": true, "signed_by": true, "confirmed_by": true,
	"sealed_at": true, "sealed_by": true, "submitted_at": true, "decided_at": true,
	"decided_by": true, "decision_note": true,
}

// checkCaseMutation enforces, for every write of a case, that a signed
// case's content (form data, attachments) never changes, that it is never
// deleted, and that the status moves only as the status machine allows.
func checkCaseMutation(op Op, old, set domain.Fields) error {
	from := domain.Status(old["status"])
	if op == OpDelete && from.Immutable() {
		return ErrImmutable
	}
	for k, v := range set {
		if k == "status" && v != old["status"] {
			if err := from.Transition(domain.Status(v)); err != nil {
				return err
			}
			continue
		}
		if from.Immutable() && !caseStatusFields[k] && v != old[k] {
			return fmt.Errorf("field %q: %w", k, ErrImmutable)
		}
	}
	return nil
}

// CreateCase starts a case as a draft captured by the session's clerk.
func (ss *Session) CreateCase(ctx context.Context, c domain.Case) (domain.Case, error) {
	c.Status = domain.StatusDraft
	c.CreatedBy = ss.clerk.ID
	c.CreatedAt = ss.st.now()
	r, err := ss.apply(ctx, mutation{op: OpCreate, typ: domain.TypeCase, id: c.ID, set: c.Fields().NonEmpty()})
	if err != nil {
		return domain.Case{}, err
	}
	return domain.CaseFromFields(r.ID, r.Fields)
}

// Case reads a case and its version.
func (ss *Session) Case(ctx context.Context, id string) (domain.Case, int64, error) {
	r, err := ss.Get(ctx, id)
	if err != nil {
		return domain.Case{}, 0, err
	}
	if r.Type != domain.TypeCase {
		return domain.Case{}, 0, fmt.Errorf("store: %s is a %s, not a case: %w", id, r.Type, ErrNotFound)
	}
	c, err := domain.CaseFromFields(r.ID, r.Fields)
	return c, r.Version, err
}

// UpdateCaseForm sets form values of a draft case (ErrImmutable once signed).
func (ss *Session) UpdateCaseForm(ctx context.Context, id string, baseVersion int64, form domain.Fields) (int64, error) {
	set := domain.Fields{}
	for k, v := range form {
		set[domain.FormPrefix+k] = v
	}
	r, err := ss.Update(ctx, id, baseVersion, set)
	return r.Version, err
}

// SetCaseStatus moves a case along the status machine and records who did
// it when (signed_by/at, sealed_by/at, ...).
func (ss *Session) SetCaseStatus(ctx context.Context, id string, baseVersion int64, to domain.Status) (int64, error) {
	now := fmtTime(ss.st.now())
	set := domain.Fields{"status": string(to)}
	switch to {
	case domain.StatusSigned:
		set["signed_at"], set["signed_by"] = now, ss.clerk.ID
	case domain.StatusDraft: // signature dropped ("Neu unterschreiben")
		set["signed_at"], set["signed_by"], set["confirmed_by"] = "", "", ""
	case domain.StatusSealed:
		set["sealed_at"], set["sealed_by"] = now, ss.clerk.ID
	case domain.StatusSubmitted:
		set["submitted_at"] = now
	case domain.StatusAccepted, domain.StatusRejected, domain.StatusNeedsInfo:
		set["decided_at"] = now
	}
	r, err := ss.Update(ctx, id, baseVersion, set)
	return r.Version, err
}

// PutAttachment stores content for a record, encrypted under the record's
// key and addressed by the record and the content's SHA-256 (another
// record with the same bytes keeps its own copy, under its own key), and
// points the record's field
// "attachment.<kind>" at it, in one transaction (so the change that
// references the attachment is in the outbox exactly when the attachment
// is). A signed case takes no new attachments.
func (ss *Session) PutAttachment(ctx context.Context, recordID string, baseVersion int64, kind domain.AttachmentKind, data []byte) (domain.Attachment, int64, error) {
	if !kind.Valid() {
		return domain.Attachment{}, 0, fmt.Errorf("store: attachment: unknown kind %q", kind)
	}
	sum := sha256.Sum256(data)
	a := domain.Attachment{SHA256: hex.EncodeToString(sum[:]), RecordID: recordID, Kind: kind,
		MediaType: kind.MediaType(), Size: int64(len(data)), CreatedAt: ss.st.now()}
	set := domain.Fields{domain.AttachmentPrefix + string(kind): a.SHA256}
	// The case rules refuse a new "attachment.*" field on a signed case.
	r, err := ss.apply(ctx, mutation{op: OpUpdate, id: recordID, baseVersion: baseVersion, set: set,
		action: "attachment.put",
		extra: func(tx *sql.Tx, ck crypto.ContentKey) error {
			enc, err := crypto.SealValue(ck, data, attachmentAAD(a.SHA256))
			if err != nil {
				return fmt.Errorf("encrypt attachment: %w", err)
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO attachment(sha256, record_id, kind, media_type, size, data, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(record_id, sha256) DO NOTHING`,
				a.SHA256, recordID, string(kind), a.MediaType, a.Size, enc, fmtTime(a.CreatedAt))
			if err != nil {
				return fmt.Errorf("insert attachment: %w", err)
			}
			return nil
		}})
	if err != nil {
		return domain.Attachment{}, 0, err
	}
	return a, r.Version, nil
}

// Attachment returns the content of a record's attachment, checked against
// its address.
func (ss *Session) Attachment(ctx context.Context, recordID, sha string) ([]byte, error) {
	var enc []byte
	err := ss.st.r.QueryRowContext(ctx, `SELECT data FROM attachment WHERE record_id = ? AND sha256 = ?`,
		recordID, sha).Scan(&enc)
	if err != nil {
		if err == sql.ErrNoRows {
			return nil, fmt.Errorf("store: attachment %s: %w", sha, ErrNotFound)
		}
		return nil, fmt.Errorf("store: attachment %s: %w", sha, err)
	}
	if enc == nil {
		return nil, fmt.Errorf("store: attachment %s: %w", sha, ErrShredded)
	}
	var keyID string
	if err := ss.st.r.QueryRowContext(ctx, `SELECT key_id FROM record WHERE id = ?`, recordID).Scan(&keyID); err != nil {
		return nil, fmt.Errorf("store: attachment %s: %w", sha, err)
	}
	ck, err := ss.contentKey(ctx, ss.st.r, keyID)
	if err != nil {
		return nil, fmt.Errorf("store: attachment %s: %w", sha, err)
	}
	data, err := crypto.OpenValue(ck, enc, attachmentAAD(sha))
	if err != nil {
		return nil, fmt.Errorf("store: attachment %s: %w", sha, err)
	}
	if sum := sha256.Sum256(data); !strings.EqualFold(hex.EncodeToString(sum[:]), sha) {
		return nil, fmt.Errorf("store: attachment %s: content does not match its address", sha)
	}
	return data, nil
}

// CreatePerson records a citizen.
func (ss *Session) CreatePerson(ctx context.Context, p domain.Person) (domain.Person, error) {
	r, err := ss.apply(ctx, mutation{op: OpCreate, typ: domain.TypePerson, id: p.ID, set: p.Fields().NonEmpty()})
	if err != nil {
		return domain.Person{}, err
	}
	return domain.PersonFromFields(r.ID, r.Fields), nil
}

// CreateVisit records a field day.
func (ss *Session) CreateVisit(ctx context.Context, v domain.Visit) (domain.Visit, error) {
	r, err := ss.apply(ctx, mutation{op: OpCreate, typ: domain.TypeVisit, id: v.ID, set: v.Fields().NonEmpty()})
	if err != nil {
		return domain.Visit{}, err
	}
	return domain.VisitFromFields(r.ID, r.Fields), nil
}

// CreateAppointment records an appointment (normally they come from the
// central office by sync; walk-ins and tests create them here).
func (ss *Session) CreateAppointment(ctx context.Context, a domain.Appointment) (domain.Appointment, error) {
	if a.Status == "" {
		a.Status = domain.AppointmentBooked
	}
	r, err := ss.apply(ctx, mutation{op: OpCreate, typ: domain.TypeAppointment, id: a.ID, set: a.Fields().NonEmpty()})
	if err != nil {
		return domain.Appointment{}, err
	}
	return domain.AppointmentFromFields(r.ID, r.Fields)
}

// sharedAttachment is a record's reference to an attachment it has no copy
// of: its field names the bytes, another record holds them.
type sharedAttachment struct {
	recordID, recordType, keyID string
	kind                        domain.AttachmentKind
	sha                         string
}

// copySharedAttachments gives every record that references an attachment
// without holding a copy of its own one, sealed under its own key, made
// from another record's copy of the same bytes that still opens. Before
// schema 5 attachments were keyed by SHA-256 alone, and the second of two
// cases with the same bytes pointed at the first case's copy (gone when
// the first was shredded). The copy is uploaded for its own record like
// any other. A record whose own key or whose every donor is shredded is
// left as it is: there is nothing to copy from. It returns how many
// copies it made.
func (ss *Session) copySharedAttachments(ctx context.Context) (int, error) {
	rows, err := ss.st.r.QueryContext(ctx, `SELECT r.id, r.type, r.key_id, substr(j.key, ?), j.value
		FROM record r, json_each(r.plain) j
		WHERE r.type = 'case' AND j.key LIKE 'attachment.%' AND j.type = 'text' AND j.value <> ''
		AND NOT EXISTS (SELECT 1 FROM attachment a WHERE a.record_id = r.id AND a.sha256 = j.value)
		AND EXISTS (SELECT 1 FROM attachment a WHERE a.sha256 = j.value AND a.data IS NOT NULL)`,
		len(domain.AttachmentPrefix)+1)
	if err != nil {
		return 0, fmt.Errorf("store: shared attachments: %w", err)
	}
	var todo []sharedAttachment
	for rows.Next() {
		var s sharedAttachment
		if err := rows.Scan(&s.recordID, &s.recordType, &s.keyID, &s.kind, &s.sha); err != nil {
			rows.Close()
			return 0, fmt.Errorf("store: shared attachments: %w", err)
		}
		todo = append(todo, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("store: shared attachments: %w", err)
	}
	n := 0
	for _, s := range todo {
		ok, err := ss.copySharedAttachment(ctx, s)
		if err != nil {
			return n, fmt.Errorf("store: attachment %s of record %s: %w", s.sha, s.recordID, err)
		}
		if ok {
			n++
		}
	}
	return n, nil
}

// copySharedAttachment makes one record's own copy (true), or finds that
// none can be made (false).
func (ss *Session) copySharedAttachment(ctx context.Context, s sharedAttachment) (bool, error) {
	if !s.kind.Valid() {
		return false, nil
	}
	ck, err := ss.contentKey(ctx, ss.st.r, s.keyID)
	if errors.Is(err, ErrShredded) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	plain, err := ss.donorAttachment(ctx, s.sha)
	if err != nil || plain == nil {
		return false, err
	}
	enc, err := crypto.SealValue(ck, plain, attachmentAAD(s.sha))
	if err != nil {
		return false, fmt.Errorf("encrypt attachment: %w", err)
	}
	err = ss.st.writeTx(ctx, func(tx *sql.Tx) error {
		now := ss.st.now()
		res, err := tx.ExecContext(ctx, `INSERT INTO attachment(sha256, record_id, kind, media_type, size, data, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(record_id, sha256) DO NOTHING`,
			s.sha, s.recordID, string(s.kind), s.kind.MediaType(), len(plain), enc, fmtTime(now))
		if err != nil {
			return fmt.Errorf("insert attachment: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		return ss.st.appendAudit(ctx, tx, AuditEntry{At: now, DeviceID: ss.st.deviceID, ClerkID: ss.clerk.ID,
			Action: "attachment.copied", RecordType: s.recordType, RecordID: s.recordID})
	})
	return err == nil, err
}

// donorAttachment returns the plain bytes of the first copy of an
// attachment, held by any record, that still opens; nil if none does.
func (ss *Session) donorAttachment(ctx context.Context, sha string) ([]byte, error) {
	rows, err := ss.st.r.QueryContext(ctx, `SELECT r.key_id, a.data FROM attachment a JOIN record r ON r.id = a.record_id
		WHERE a.sha256 = ? AND a.data IS NOT NULL ORDER BY a.created_at`, sha)
	if err != nil {
		return nil, fmt.Errorf("read donors: %w", err)
	}
	type donor struct {
		keyID string
		enc   []byte
	}
	var ds []donor
	for rows.Next() {
		var d donor
		if err := rows.Scan(&d.keyID, &d.enc); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read donors: %w", err)
		}
		ds = append(ds, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read donors: %w", err)
	}
	for _, d := range ds {
		ck, err := ss.contentKey(ctx, ss.st.r, d.keyID)
		if errors.Is(err, ErrShredded) {
			continue
		}
		if err != nil {
			return nil, err
		}
		plain, err := crypto.OpenValue(ck, d.enc, attachmentAAD(sha))
		if err != nil {
			continue // not this donor's bytes after all: try the next
		}
		if sum := sha256.Sum256(plain); hex.EncodeToString(sum[:]) == sha {
			return plain, nil
		}
	}
	return nil, nil
}
