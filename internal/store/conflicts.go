package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/buergerkoffer/kit/internal/crypto"
	"github.com/buergerkoffer/kit/internal/domain"
)

// Conflict is a field that changed on two sides at once, as the server
// recorded it, with the values opened for the clerk.
type Conflict struct {
	ID          string
	Version     int64
	RecordID    string
	RecordType  domain.RecordType
	Field       string // or "_deleted": deleted on one side, edited on the other
	Kind        string // "field" or "delete"
	BaseVersion int64
	A, B        ConflictSide // A: what the server had; B: the change that came later, based on older data
	Base        string       // the value both started from
	Winner      string       // "a" or "b": what stands until a clerk decides
	Rule        string       // why (see internal/merge)
	Status      string       // "open" or "resolved"
	Resolution  string
	ResolvedBy  string
}

// ConflictSide is one side of a conflict.
type ConflictSide struct {
	Change, Device, Clerk, HLC string
	Value                      string
}

// Resolutions a clerk can choose.
const (
	ResolveA      = "a"      // the value the server had
	ResolveB      = "b"      // the value of the later change
	ResolveEdit   = "edit"   // a new value
	ResolveDelete = "delete" // delete against edit: delete after all
	ResolveKeep   = "keep"   // delete against edit: keep the record
)

// ErrResolved means the conflict was already resolved (perhaps on the
// other laptop).
var ErrResolved = errors.New("store: conflict already resolved")

// Conflicts lists conflict records, the open ones only if openOnly, oldest
// first, with their values opened where the laptop can open them.
func (ss *Session) Conflicts(ctx context.Context, openOnly bool) ([]Conflict, error) {
	where := domain.Fields{}
	if openOnly {
		where["status"] = "open"
	}
	recs, err := ss.List(ctx, domain.TypeConflict, where)
	if err != nil {
		return nil, err
	}
	out := make([]Conflict, 0, len(recs))
	for _, r := range recs {
		c, err := ss.conflict(ctx, r)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Conflict reads one conflict.
func (ss *Session) Conflict(ctx context.Context, id string) (Conflict, error) {
	r, err := ss.Get(ctx, id)
	if err != nil {
		return Conflict{}, err
	}
	if r.Type != domain.TypeConflict {
		return Conflict{}, fmt.Errorf("store: %s is not a conflict: %w", id, ErrNotFound)
	}
	return ss.conflict(ctx, r)
}

func (ss *Session) conflict(ctx context.Context, r Record) (Conflict, error) {
	f := r.Fields
	c := Conflict{ID: r.ID, Version: r.Version, RecordID: f["record_id"], RecordType: domain.RecordType(f["record_type"]),
		Field: f["field"], Kind: f["kind"], Rule: f["rule"], Status: f["status"], Resolution: f["resolution"],
		ResolvedBy: f["resolved_by"],
		A:          ConflictSide{Change: f["a_change"], Device: f["a_device"], Clerk: f["a_clerk"], HLC: f["a_hlc"], Value: f["a_value"]},
		B:          ConflictSide{Change: f["b_change"], Device: f["b_device"], Clerk: f["b_clerk"], HLC: f["b_hlc"], Value: f["b_value"]},
		Base:       f["base_value"]}
	fmt.Sscan(f["base_version"], &c.BaseVersion)
	switch f["winner"] {
	case c.A.Change:
		c.Winner = ResolveA
	case c.B.Change:
		c.Winner = ResolveB
	}
	if c.Kind == "field" && domain.IsPersonal(c.RecordType, c.Field) {
		// The values are sealed in the two changes, under the record's key.
		a, _, errA := ss.changeFieldValues(ctx, c.RecordID, c.A.Change, c.Field)
		b, base, errB := ss.changeFieldValues(ctx, c.RecordID, c.B.Change, c.Field)
		if err := errors.Join(errA, errB); err != nil && !errors.Is(err, ErrShredded) {
			return c, fmt.Errorf("store: conflict %s: %w", r.ID, err)
		}
		c.A.Value, c.B.Value, c.Base = a, b, base
	}
	return c, nil
}

// changeFieldValues opens the old and new value of one field of a change.
func (ss *Session) changeFieldValues(ctx context.Context, recordID, changeID, field string) (newV, oldV string, err error) {
	var keyID string
	if err := ss.st.r.QueryRowContext(ctx, `SELECT key_id FROM record WHERE id = ?`, recordID).Scan(&keyID); err != nil {
		return "", "", fmt.Errorf("record %s: %w", recordID, err)
	}
	ck, err := ss.contentKey(ctx, ss.st.r, keyID)
	if err != nil {
		return "", "", err
	}
	var sealed []byte
	err = ss.st.r.QueryRowContext(ctx, `SELECT secret_values FROM change_log WHERE id = ?
		UNION ALL SELECT secret_values FROM remote_change WHERE id = ? LIMIT 1`, changeID, changeID).Scan(&sealed)
	if err != nil {
		return "", "", fmt.Errorf("change %s: %w", changeID, err)
	}
	if sealed == nil {
		return "", "", ErrShredded
	}
	pt, err := crypto.OpenValue(ck, sealed, changeAAD(changeID))
	if err != nil {
		return "", "", fmt.Errorf("open change %s: %w", changeID, err)
	}
	var vals map[string]FieldChange
	if err := json.Unmarshal(pt, &vals); err != nil {
		return "", "", fmt.Errorf("change %s: %w", changeID, err)
	}
	return vals[field].New, vals[field].Old, nil
}

// ResolveConflict records a clerk's decision: the record gets the chosen
// value (a new change that syncs like any other, if the value differs from
// what it holds), and the conflict is marked resolved (another change).
// edited is the new value for ResolveEdit.
func (ss *Session) ResolveConflict(ctx context.Context, id, choice, edited string) error {
	c, err := ss.Conflict(ctx, id)
	if err != nil {
		return err
	}
	if c.Status != "open" {
		return fmt.Errorf("store: conflict %s: %w", id, ErrResolved)
	}
	switch {
	case c.Kind == "delete" && choice == ResolveDelete:
		cur, err := ss.Get(ctx, c.RecordID)
		if err != nil {
			return err
		}
		if !cur.Deleted {
			if err := ss.Delete(ctx, c.RecordID, cur.Version); err != nil {
				return fmt.Errorf("store: resolve %s: %w", id, err)
			}
		}
	case c.Kind == "delete" && choice == ResolveKeep:
	case c.Kind == "field" && (choice == ResolveA || choice == ResolveB || choice == ResolveEdit):
		v := map[string]string{ResolveA: c.A.Value, ResolveB: c.B.Value, ResolveEdit: edited}[choice]
		cur, err := ss.Get(ctx, c.RecordID)
		if err != nil {
			return err
		}
		if cur.Fields[c.Field] != v {
			if _, err := ss.apply(ctx, mutation{op: OpUpdate, id: c.RecordID, baseVersion: cur.Version,
				set: domain.Fields{c.Field: v}, action: "conflict.apply"}); err != nil {
				return fmt.Errorf("store: resolve %s: %w", id, err)
			}
		}
	default:
		return fmt.Errorf("store: resolve %s: %q is not a choice for a %s conflict", id, choice, c.Kind)
	}
	_, err = ss.apply(ctx, mutation{op: OpUpdate, id: id, baseVersion: c.Version, action: "conflict.resolve",
		set: domain.Fields{"status": "resolved", "resolution": choice, "resolved_by": ss.clerk.ID,
			"resolved_at": fmtTime(ss.st.now())}})
	return err
}
