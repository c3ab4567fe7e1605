package merge

import (
	"fmt"
	"strings"

	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

// statusFields of a case may change after signing (the status machine
// moves on); every other field of a signed case is frozen.
var statusFields = map[string]bool{
	"status": true, "signed_at": true, "signed_by": true, "confirmed_by": true,
	"sealed_at": true, "sealed_by": true, "submitted_at": true, "decided_at": true,
	"decided_by": true, "decision_note": true,
}

// signed reports whether a case record is past its draft.
func signed(r *Record) bool {
	if r.Type != string(domain.TypeCase) {
		return false
	}
	s := r.Fields["status"].Value
	return s != "" && s != string(domain.StatusDraft)
}

// Apply merges ch into cur (nil: the server has no such record) and
// returns the record after it. cur is not modified.
func Apply(cur *Record, ch Change, r Rules) (Outcome, error) {
	if err := check(ch); err != nil {
		return Outcome{}, err
	}
	if cur == nil {
		if ch.Op != "create" {
			return Outcome{}, fmt.Errorf("%w: %s %s", ErrUnknownRecord, ch.Op, ch.RecordID)
		}
		rec := Record{ID: ch.RecordID, Type: ch.RecordType, Version: 1, Fields: map[string]Field{}}
		out := Outcome{State: map[string]FieldState{}}
		for _, f := range ch.Fields {
			rec.Fields[f] = field(ch, f, 1)
			out.State[f] = FieldState{Src: ch.Change, Version: 1}
		}
		out.Record = rec
		return out, nil
	}
	if ch.Op == "create" {
		return Outcome{}, fmt.Errorf("%w: %s", ErrExists, ch.RecordID)
	}
	if ch.RecordType != cur.Type {
		return Outcome{}, fmt.Errorf("%w: record %s is a %s, change says %s", ErrBadChange, ch.RecordID, cur.Type, ch.RecordType)
	}

	rec := clone(cur)
	rec.Version = cur.Version + 1
	v := rec.Version
	out := Outcome{State: map[string]FieldState{}}
	concurrent := func(f Field) bool { return f.Version > ch.BaseVersion && f.Device != ch.Device }

	if ch.Op == "delete" {
		if cur.Deleted {
			// Deleted twice: nothing left to disagree about.
			for _, f := range ch.Fields {
				out.State[f] = FieldState{Src: ch.Change, Version: v}
			}
			out.Record = rec
			return out, nil
		}
		// An edit the deleting device did not see: the edit stays.
		var edit *Field
		for _, name := range sortedNames(cur.Fields) {
			f := cur.Fields[name]
			if concurrent(f) && (edit == nil || f.Version > edit.Version) {
				f := f
				edit = &f
			}
		}
		if edit != nil {
			out.Conflicts = append(out.Conflicts, Conflict{Field: DeletedField, Kind: KindDelete,
				BaseVersion: ch.BaseVersion, A: edit.Side, B: ch.Side, Winner: edit.Change, Rule: RuleEditBeatsDelete})
			// Every field, not just those the delete named: the deleting
			// laptop cleared its copy and must get the record back whole.
			for f, cf := range rec.Fields {
				out.State[f] = FieldState{Src: cf.Change, Version: cf.Version}
			}
			out.Record = rec
			return out, nil
		}
		// The fields keep their sources, so that a later conflict can
		// bring the record back as it was; an export shows none of them.
		rec.Deleted = true
		del := Field{Side: ch.Side, Version: v}
		rec.Delete = &del
		for _, f := range ch.Fields {
			out.State[f] = FieldState{Src: ch.Change, Version: v}
		}
		out.Record = rec
		return out, nil
	}

	revived := false
	if cur.Deleted {
		if cur.Delete == nil || !concurrent(*cur.Delete) {
			return Outcome{}, fmt.Errorf("%w: %s", ErrDeleted, ch.RecordID)
		}
		out.Conflicts = append(out.Conflicts, Conflict{Field: DeletedField, Kind: KindDelete,
			BaseVersion: ch.BaseVersion, A: cur.Delete.Side, B: ch.Side, Winner: ch.Change, Rule: RuleEditBeatsDelete})
		rec.Deleted, rec.Delete, revived = false, nil, true
	}

	// A case signed since the change's base is frozen but for its status
	// fields, whether or not the signed version changed the field itself.
	signedSince := signed(cur) && concurrent(cur.Fields["status"])
	for _, name := range ch.Fields {
		old, had := cur.Fields[name]
		if !had || !(concurrent(old) || signedSince && !statusFields[name]) {
			rec.Fields[name] = field(ch, name, v)
			continue
		}
		c := Conflict{Field: name, Kind: KindField, BaseVersion: ch.BaseVersion, A: old.Side, B: ch.Side}
		if !old.Personal {
			c.AValue = old.Value
			c.BValue, c.BaseValue = ch.Plain[name].New, ch.Plain[name].Old
		}
		c.Winner, c.Rule = winner(cur, name, old.Side, ch.Side, r)
		if c.Winner == ch.Change {
			rec.Fields[name] = field(ch, name, v)
		}
		out.Conflicts = append(out.Conflicts, c)
	}
	names := ch.Fields
	if revived {
		names = sortedNames(rec.Fields)
	}
	for _, name := range names {
		f := rec.Fields[name]
		out.State[name] = FieldState{Src: f.Change, Version: f.Version}
	}
	out.Record = rec
	return out, nil
}

// winner decides a field changed on both sides: a is the server's side, b
// the arriving change.
func winner(cur *Record, name string, a, b Side, r Rules) (string, string) {
	aCentral, bCentral := a.Device == syncproto.CentralDevice, b.Device == syncproto.CentralDevice
	if cur.Type == string(domain.TypeCase) {
		if signed(cur) && !statusFields[name] {
			return a.Change, RuleSignedImmutable
		}
		if name == "status" && aCentral != bCentral {
			if aCentral {
				return a.Change, RuleCentralStatus
			}
			return b.Change, RuleCentralStatus
		}
		if form, ok := strings.CutPrefix(name, domain.FormPrefix); ok && aCentral != bCentral && r.InPresence != nil &&
			r.InPresence(cur.Fields["service_id"].Value, form) {
			if aCentral {
				return b.Change, RulePresence
			}
			return a.Change, RulePresence
		}
	}
	if b.HLC > a.HLC || (b.HLC == a.HLC && b.Change > a.Change) {
		return b.Change, RuleLaterHLC
	}
	return a.Change, RuleLaterHLC
}

func field(ch Change, name string, v int64) Field {
	f := Field{Side: ch.Side, Version: v, Personal: domain.IsPersonal(domain.RecordType(ch.RecordType), name)}
	if !f.Personal {
		f.Value = ch.Plain[name].New
	}
	return f
}

func check(ch Change) error {
	switch {
	case ch.Change == "" || ch.RecordID == "" || ch.Device == "" || ch.HLC == "":
		return fmt.Errorf("%w: missing change id, record id, device or clock", ErrBadChange)
	case ch.Op != "create" && ch.Op != "update" && ch.Op != "delete":
		return fmt.Errorf("%w: op %q", ErrBadChange, ch.Op)
	case !domain.RecordType(ch.RecordType).Valid():
		return fmt.Errorf("%w: record type %q", ErrBadChange, ch.RecordType)
	}
	for _, f := range ch.Fields {
		if !domain.IsPersonal(domain.RecordType(ch.RecordType), f) {
			if _, ok := ch.Plain[f]; !ok {
				return fmt.Errorf("%w: plain field %q without its values", ErrBadChange, f)
			}
		}
	}
	return nil
}

func clone(r *Record) Record {
	c := *r
	c.Fields = make(map[string]Field, len(r.Fields)+4)
	for k, v := range r.Fields {
		c.Fields[k] = v
	}
	if r.Delete != nil {
		d := *r.Delete
		c.Delete = &d
	}
	return c
}

func sortedNames(m map[string]Field) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sortStrings(names)
	return names
}
