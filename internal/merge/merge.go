// Package merge decides what the server does with a change that arrives:
// apply it, merge it field by field with what others changed since the
// version it was based on (three-way), or keep both sides of a field as a
// conflict. It is pure: no clock, no I/O, the same answer for the same
// input, so every server replica and every test agrees.
//
// A field is concurrent when the server's value of it was set after the
// change's base version by another device. (A device's own earlier
// changes are always known to it, since it pushes in outbox order.)
// Fields changed on one side only merge cleanly. A concurrent field
// becomes a Conflict that names both sides, the base, and a provisional
// winner, decided by the first rule that applies:
//
//  1. central_status: the status of a case changed at the town hall and on
//     a laptop: the town hall wins (it decides applications).
//  2. presence: a form field the catalog marks as captured with the citizen
//     present, changed on a laptop and at the town hall: the laptop wins
//     (it saw the citizen and the document).
//  3. later_hlc: otherwise the later hybrid logical clock wins; equal
//     clocks (not possible between two devices in practice) go to the
//     greater change id.
//
// Delete against edit is a conflict too (rule edit_beats_delete): the edit
// wins provisionally and the record stays or comes back, because a wrong
// deletion is the loss a clerk cannot see, and the deletion is one click
// away in the conflict. A form field of a case that was signed in the
// meantime cannot change (rule signed_immutable): the signed version wins
// and the other value is kept in the conflict, from which a clerk can make
// an amendment. Losing values are never dropped: the change entry that
// carries them stays in the feed and the conflict names it.
package merge

import (
	"errors"
	"sort"
)

func sortStrings(s []string) { sort.Strings(s) }

// Rules named in conflicts.
const (
	RuleCentralStatus   = "central_status"
	RulePresence        = "presence"
	RuleLaterHLC        = "later_hlc"
	RuleEditBeatsDelete = "edit_beats_delete"
	RuleSignedImmutable = "signed_immutable"
)

// Conflict kinds.
const (
	KindField  = "field"  // a field changed on both sides
	KindDelete = "delete" // deleted on one side, edited on the other
)

// DeletedField is the Conflict.Field of a delete-against-edit conflict.
const DeletedField = "_deleted"

// Errors of changes that cannot apply at all.
var (
	ErrUnknownRecord = errors.New("merge: change to a record the server does not have")
	ErrExists        = errors.New("merge: create of a record that exists")
	ErrDeleted       = errors.New("merge: change to a record deleted before it was based")
	ErrBadChange     = errors.New("merge: malformed change")
)

// Side is who made a change and when.
type Side struct {
	Change string `json:"change"` // change id
	Device string `json:"device"` // server device id, or syncproto.CentralDevice
	Clerk  string `json:"clerk"`
	HLC    string `json:"hlc"` // fixed width: compares as a string
}

// Field is the server's state of one field.
type Field struct {
	Side
	Version  int64  `json:"v"`             // record version at which it was set
	Value    string `json:"val,omitempty"` // plain fields only ("" = not set)
	Personal bool   `json:"p,omitempty"`   // its value is sealed in Change
}

// Record is the server's state of one record.
type Record struct {
	ID      string           `json:"id"`
	Type    string           `json:"type"`
	Version int64            `json:"version"`
	Deleted bool             `json:"deleted,omitempty"`
	Delete  *Field           `json:"delete,omitempty"` // who deleted it, at which version
	Fields  map[string]Field `json:"fields"`
}

// Change is an arriving change, as far as merging needs it.
type Change struct {
	Side
	RecordID    string
	RecordType  string
	Op          string // create, update, delete
	Fields      []string
	Plain       map[string]PlainChange // old and new of the plain fields
	BaseVersion int64
}

// PlainChange is the old and new value of a plain field.
type PlainChange struct{ Old, New string }

// Rules holds what merging needs to know about the service catalog.
type Rules struct {
	// InPresence reports whether a form field of a service is captured
	// with the citizen present. Nil: no field is.
	InPresence func(serviceID, field string) bool
}

// Conflict keeps both sides of a field changed on both sides.
type Conflict struct {
	Field       string // field name, or DeletedField
	Kind        string // KindField or KindDelete
	BaseVersion int64
	A           Side // the server's side (changed first)
	B           Side // the arriving change
	// Values of plain fields; personal values stay sealed in the changes.
	AValue, BValue, BaseValue string
	Winner                    string // change id of the provisional winner
	Rule                      string
}

// FieldState is where a field's value comes from after a change.
type FieldState struct {
	Src     string
	Version int64
}

// Outcome is the result of Apply.
type Outcome struct {
	Record Record // the record after the change (Version incremented)
	// State holds every field the change named, after merging; all fields
	// of the record when the change brought a deleted record back, or was
	// a deletion that lost to an edit (the deleting laptop cleared its
	// copy).
	State     map[string]FieldState
	Conflicts []Conflict
}
