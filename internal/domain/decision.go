package domain

// This file names what the town hall decides about a case. A decision is
// three plain fields beside the status: they stay readable on a laptop
// that has shredded the case's content, so the clerks can follow it.

import (
	"errors"
	"strings"
	"time"
)

// Fields of a case that the town hall's decision writes. All are plain.
const (
	FieldStatus       = "status"
	FieldDecidedAt    = "decided_at"
	FieldDecidedBy    = "decided_by"    // the staff member's user name
	FieldDecisionNote = "decision_note" // the reason of a rejection, the question of a Rückfrage
)

// MaxDecisionNote bounds a decision's note, in characters.
const MaxDecisionNote = 2000

// ErrDecision is returned for a decision that cannot be made.
var ErrDecision = errors.New("domain: decision not allowed")

// Decidable reports whether the town hall may decide a case in status s:
// once it is sealed (it arrived), and again while a Rückfrage is open.
func (s Status) Decidable() bool {
	return s == StatusSealed || s == StatusSubmitted || s == StatusNeedsInfo
}

// Decision is what the town hall decides about a case.
type Decision struct {
	Status Status // accepted, rejected or needs_info
	Note   string // required for rejected and needs_info
	By     string
	At     time.Time
}

// Check tells whether a decision is complete: a known outcome, and a
// note where one is required.
func (d Decision) Check() error {
	note := strings.TrimSpace(d.Note)
	switch d.Status {
	case StatusAccepted:
	case StatusRejected, StatusNeedsInfo:
		if note == "" {
			return errors.Join(ErrDecision, errors.New("a note is required"))
		}
	default:
		return errors.Join(ErrDecision, errors.New("unknown outcome "+string(d.Status)))
	}
	if len([]rune(note)) > MaxDecisionNote {
		return errors.Join(ErrDecision, errors.New("note too long"))
	}
	if d.By == "" {
		return errors.Join(ErrDecision, errors.New("no decider"))
	}
	return nil
}

// Fields returns the decision as the case's fields it sets.
func (d Decision) Fields() Fields {
	return Fields{FieldStatus: string(d.Status), FieldDecidedAt: fmtTime(d.At), FieldDecidedBy: d.By,
		FieldDecisionNote: strings.TrimSpace(d.Note)}
}
