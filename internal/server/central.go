package server

// This file is the town hall's side: changes made centrally (by operators
// or the back office), the decrypted view of a record, and the canonical
// export of a tenant.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/buergerkoffer/kit/internal/crypto"
	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/merge"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

// ErrRejected wraps the reason a central change could not merge.
var ErrRejected = errors.New("server: change rejected")

// CentralChange is a change made at the town hall.
type CentralChange struct {
	RecordID    string // "" = a new record (Op "create")
	RecordType  domain.RecordType
	Op          string // create, update, delete
	BaseVersion int64  // the version the change is based on; -1 = the current one
	Set         domain.Fields
	Clerk       string
	// IfVersion, if > 0, applies the change only while the record is at
	// that version (what the town hall's staff member saw); otherwise
	// Central returns an error wrapping ErrStale and writes nothing.
	IfVersion int64
}

// RecordView is a record as the back office sees it: every field's
// current value, personal ones decrypted. A deleted record keeps the
// values it had.
type RecordView struct {
	ID      string
	Type    domain.RecordType
	Version int64
	Deleted bool
	Fields  domain.Fields
}

// Central applies a change made at the town hall to a tenant's record, as
// a change of device syncproto.CentralDevice: personal values are sealed
// into it exactly as a device seals them, and it merges with what the
// devices changed meanwhile like any pushed change. A change that cannot
// merge returns its result (status rejected) and an error wrapping
// ErrRejected. An update that changes nothing writes nothing and returns
// a result without a seq.
func (s *Server) Central(ctx context.Context, tenant string, c CentralChange) (syncproto.PushResult, error) {
	if err := validateCentral(&c); err != nil {
		return syncproto.PushResult{}, fmt.Errorf("server: central change: %w", err)
	}
	if _, err := s.st.TenantKey(ctx, tenant); err != nil {
		return syncproto.PushResult{}, fmt.Errorf("server: central change: %w", err)
	}
	var res syncproto.PushResult
	err := s.st.Update(ctx, tenant, func(tx Tx) error {
		a, err := s.newApplier(ctx, tx, tenant)
		if err != nil {
			return err
		}
		if c.RecordID == "" {
			c.RecordID = domain.NewID()
		}
		cur, err := a.load(c.RecordID)
		if err != nil {
			return err
		}
		if cur != nil && cur.Type != string(c.RecordType) {
			return fmt.Errorf("%w: record %s is a %s", ErrInvalid, c.RecordID, cur.Type)
		}
		if err := checkIfVersion(cur, c.IfVersion); err != nil {
			return err
		}
		base := c.BaseVersion
		if base < 0 {
			base = 0
			if cur != nil {
				base = cur.Version
			}
		}
		// The record's content key: new for a new record, else the one
		// the server holds (a conflict record has none, nor needs one).
		var (
			ck     crypto.ContentKey
			haveCK bool
			newKey *RecordKey
		)
		if c.Op == "create" && cur == nil {
			if ck, err = crypto.NewContentKey(); err != nil {
				return err
			}
			w, err := crypto.WrapKey(s.master, ck[:], centralKeyAAD(tenant, c.RecordID))
			if err != nil {
				return fmt.Errorf("wrap record key: %w", err)
			}
			haveCK = true
			newKey = &RecordKey{Tenant: tenant, RecordID: c.RecordID, Wrapped: w, OriginDevice: syncproto.CentralDevice,
				CreatedAt: a.now}
		} else if k, ok, err := tx.RecordKey(ctx, tenant, c.RecordID); err != nil {
			return err
		} else if ok {
			if ck, err = s.contentKey(ctx, tx, k); err != nil {
				return err
			}
			haveCK = true
		}
		defer ck.Zero()

		ch := syncproto.Change{ID: domain.NewID(), RecordID: c.RecordID, RecordType: string(c.RecordType), Op: c.Op,
			BaseVersion: base, Device: syncproto.CentralDevice, Clerk: c.Clerk,
			CreatedAt: a.now.UTC().Format(time.RFC3339Nano)}
		if c.Op != "delete" {
			if err := s.centralValues(ctx, tx, tenant, cur, c.Set, ck, haveCK, &ch); err != nil {
				return err
			}
			if c.Op == "update" && len(ch.Fields) == 0 && cur != nil {
				res = syncproto.PushResult{Status: syncproto.StatusApplied, Version: cur.Version}
				return nil
			}
		}
		ch.HLC = a.next().String()
		in, err := newIncoming(&ch)
		if err != nil {
			return err
		}
		row := -1
		if res, row, err = a.apply(in); err != nil {
			return err
		}
		if res.Status != syncproto.StatusApplied {
			return fmt.Errorf("%w: %s", ErrRejected, res.Reason)
		}
		if newKey != nil {
			if err := tx.PutRecordKeys(ctx, []RecordKey{*newKey}); err != nil {
				return err
			}
		}
		if err := a.flush(); err != nil {
			return err
		}
		res.Seq = a.seq(row)
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("server: central change: %w", err)
	}
	s.log.Info("central change", "tenant", tenant, "record", c.RecordID, "type", string(c.RecordType), "op", c.Op,
		"seq", res.Seq, "conflicts", res.Conflicts)
	return res, nil
}

func validateCentral(c *CentralChange) error {
	switch {
	case !c.RecordType.Valid():
		return fmt.Errorf("%w: record type %q", ErrInvalid, c.RecordType)
	case c.Op != "create" && c.Op != "update" && c.Op != "delete":
		return fmt.Errorf("%w: op %q", ErrInvalid, c.Op)
	case c.RecordID == "" && c.Op != "create":
		return fmt.Errorf("%w: %s without a record id", ErrInvalid, c.Op)
	case c.RecordID != "" && !domain.ValidID(c.RecordID):
		return fmt.Errorf("%w: record id is not a UUID", ErrInvalid)
	case c.Clerk == "" || len(c.Clerk) > maxTextLen:
		return fmt.Errorf("%w: clerk required", ErrInvalid)
	}
	for name := range c.Set {
		if err := domain.CheckFieldName(name); err != nil {
			return fmt.Errorf("%w: %v", ErrInvalid, err)
		}
	}
	return nil
}

// centralValues fills in the fields, plain values and sealed personal
// values of a central change: the fields of set whose value differs from
// the record's current one, with the old value beside the new, exactly as
// a device's change entry holds them.
func (s *Server) centralValues(ctx context.Context, l Lookup, tenant string, cur *merge.Record, set domain.Fields,
	ck crypto.ContentKey, haveCK bool, ch *syncproto.Change) error {
	typ := domain.RecordType(ch.RecordType)
	opened := map[string]map[string]syncproto.FieldChange{}
	secret := map[string]syncproto.FieldChange{}
	ch.Plain = map[string]syncproto.FieldChange{}
	for _, name := range set.Names() {
		v := set[name]
		old := ""
		if cur != nil {
			if f, ok := cur.Fields[name]; ok {
				if !f.Personal {
					old = f.Value
				} else {
					if !haveCK {
						return fmt.Errorf("%w: record %s has no key for personal field %s", ErrInvalid, ch.RecordID, name)
					}
					var err error
					if old, err = s.sealedValue(ctx, l, tenant, ck, f.Change, name, opened); err != nil {
						return err
					}
				}
			}
		}
		if old == v {
			continue
		}
		ch.Fields = append(ch.Fields, name)
		if domain.IsPersonal(typ, name) {
			if !haveCK {
				return fmt.Errorf("%w: record %s has no key for personal field %s", ErrInvalid, ch.RecordID, name)
			}
			secret[name] = syncproto.FieldChange{Old: old, New: v}
		} else {
			ch.Plain[name] = syncproto.FieldChange{Old: old, New: v}
		}
	}
	if len(ch.Plain) == 0 {
		ch.Plain = nil
	}
	if len(secret) > 0 {
		b, err := json.Marshal(secret)
		if err != nil {
			return fmt.Errorf("encode values: %w", err)
		}
		ch.Secret, err = crypto.SealValue(ck, b, changeAAD(ch.ID))
		clear(b)
		if err != nil {
			return fmt.Errorf("seal values: %w", err)
		}
	}
	return nil
}

// sealedValue returns the new value of a personal field held sealed in a
// change, opening each change once (opened caches them).
func (s *Server) sealedValue(ctx context.Context, l Lookup, tenant string, ck crypto.ContentKey, changeID, field string,
	opened map[string]map[string]syncproto.FieldChange) (string, error) {
	vals, ok := opened[changeID]
	if !ok {
		sealed, err := l.ChangeSecret(ctx, tenant, changeID)
		if err != nil {
			return "", err
		}
		if len(sealed) > 0 {
			pt, err := crypto.OpenValue(ck, sealed, changeAAD(changeID))
			if err != nil {
				return "", fmt.Errorf("open change %s: %w", changeID, err)
			}
			err = json.Unmarshal(pt, &vals)
			clear(pt)
			if err != nil {
				return "", fmt.Errorf("change %s: values: %w", changeID, err)
			}
		}
		opened[changeID] = vals
	}
	return vals[field].New, nil
}

// Record returns a record of a tenant with its personal values decrypted
// (for the back office and tests); ErrNotFound if there is none.
func (s *Server) Record(ctx context.Context, tenant, id string) (RecordView, error) {
	rec, err := s.st.Record(ctx, tenant, id)
	if err != nil {
		return RecordView{}, fmt.Errorf("server: record: %w", err)
	}
	if rec == nil {
		return RecordView{}, fmt.Errorf("server: record %s: %w", id, ErrNotFound)
	}
	v := RecordView{ID: rec.ID, Type: domain.RecordType(rec.Type), Version: rec.Version, Deleted: rec.Deleted,
		Fields: domain.Fields{}}
	var (
		ck     crypto.ContentKey
		haveCK bool
		opened = map[string]map[string]syncproto.FieldChange{}
	)
	defer ck.Zero()
	for _, name := range sortedFieldNames(rec.Fields) {
		f := rec.Fields[name]
		val := f.Value
		if f.Personal {
			if !haveCK {
				k, ok, err := s.st.RecordKey(ctx, tenant, id)
				if err != nil {
					return RecordView{}, fmt.Errorf("server: record: %w", err)
				}
				if !ok {
					return RecordView{}, fmt.Errorf("server: record %s: no key for its personal fields", id)
				}
				if ck, err = s.contentKey(ctx, s.st, k); err != nil {
					return RecordView{}, fmt.Errorf("server: record: %w", err)
				}
				haveCK = true
			}
			if val, err = s.sealedValue(ctx, s.st, tenant, ck, f.Change, name, opened); err != nil {
				return RecordView{}, fmt.Errorf("server: record %s: %w", id, err)
			}
		}
		if val != "" {
			v.Fields[name] = val
		}
	}
	return v, nil
}

func sortedFieldNames(m map[string]merge.Field) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// Export writes a tenant's records as syncproto.ExportRecord lines sorted
// by id: plain fields with their values, personal fields as the id of the
// change holding their sealed value, a deleted record as its identity
// only. After a complete sync it equals every laptop's export byte for
// byte.
func (s *Server) Export(ctx context.Context, tenant string, w io.Writer) error {
	err := s.st.AllRecords(ctx, tenant, func(r *merge.Record) error {
		e := syncproto.ExportRecord{ID: r.ID, Type: r.Type, Version: r.Version, Deleted: r.Deleted}
		if !r.Deleted {
			for name, f := range r.Fields {
				switch {
				case f.Personal:
					if e.Sealed == nil {
						e.Sealed = map[string]string{}
					}
					e.Sealed[name] = f.Change
				case f.Value != "":
					if e.Fields == nil {
						e.Fields = map[string]string{}
					}
					e.Fields[name] = f.Value
				}
			}
		}
		return syncproto.WriteExport(w, e)
	})
	if err != nil {
		return fmt.Errorf("server: export %s: %w", tenant, err)
	}
	return nil
}

// HeadSeq returns the newest seq of a tenant's feed (0 if it is empty).
func (s *Server) HeadSeq(ctx context.Context, tenant string) (int64, error) {
	head, err := s.st.HeadSeq(ctx, tenant)
	if err != nil {
		return 0, fmt.Errorf("server: %w", err)
	}
	return head, nil
}
