package domain

import (
	"errors"
	"fmt"
)

// Status is where a Case stands on its way from the field to a decision.
type Status string

// The statuses of a case. A case is captured as a draft, signed by the
// citizen on the pad, sealed for the central server (after which nobody on
// the laptop can change or read it back in clear), submitted when the server
// acknowledges it, and decided by the central office.
const (
	StatusDraft     Status = "draft"
	StatusSigned    Status = "signed"
	StatusSealed    Status = "sealed"
	StatusSubmitted Status = "submitted"
	StatusAccepted  Status = "accepted"
	StatusRejected  Status = "rejected"
	StatusNeedsInfo Status = "needs_info"
)

// ErrTransition is returned for a status change the status machine forbids.
var ErrTransition = errors.New("domain: status change not allowed")

var transitions = map[Status][]Status{
	StatusDraft:     {StatusSigned},
	StatusSigned:    {StatusSealed, StatusDraft}, // back to draft: "Neu unterschreiben" drops the signature
	StatusSealed:    {StatusSubmitted},
	StatusSubmitted: {StatusAccepted, StatusRejected, StatusNeedsInfo},
	StatusNeedsInfo: {StatusSubmitted}, // the missing information arrives as an amendment
	StatusAccepted:  nil,
	StatusRejected:  nil,
}

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	_, ok := transitions[s]
	return ok
}

// CanBecome reports whether a case in status s may move to status to.
func (s Status) CanBecome(to Status) bool {
	for _, t := range transitions[s] {
		if t == to {
			return true
		}
	}
	return false
}

// Transition checks a status change and returns a wrapped ErrTransition
// naming both ends if it is not allowed.
func (s Status) Transition(to Status) error {
	if !to.Valid() {
		return fmt.Errorf("%w: unknown status %q", ErrTransition, to)
	}
	if !s.CanBecome(to) {
		return fmt.Errorf("%w: %s → %s", ErrTransition, s, to)
	}
	return nil
}

// Immutable reports whether the citizen's data in a case in this status may
// no longer change: from the signature on, amendments are new cases.
func (s Status) Immutable() bool { return s != StatusDraft }

// Final reports whether no further status change can happen.
func (s Status) Final() bool { return len(transitions[s]) == 0 }
