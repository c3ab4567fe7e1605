// Package hlc owns the hybrid logical clock (Kulkarni et al. 2014) that
// orders the changes of all laptops and the server.
//
// A timestamp is the largest physical time seen so far (milliseconds) plus a
// logical counter that breaks ties and keeps counting while the wall clock
// stands still or runs backwards. The functions here are pure: the store
// reads the last timestamp from the database, computes the next one and
// writes it back in the same transaction, so a restart or a clock that
// jumped back never reuses a value.
package hlc

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Timestamp is one hybrid logical clock reading.
type Timestamp struct {
	Wall    int64  // Unix milliseconds
	Logical uint32 // counter within one Wall value
}

// ErrParse is returned for a string that is not a timestamp.
var ErrParse = errors.New("hlc: malformed timestamp")

// wallDigits and logicalDigits fix the width of the string form, so that
// timestamps sort correctly as strings (in SQL, too).
const (
	wallDigits    = 15
	logicalDigits = 10
	stringLen     = wallDigits + 1 + logicalDigits
)

// String returns a fixed-width form ("001795433200000-0000000003") whose
// lexical order is the timestamps' order.
func (t Timestamp) String() string {
	return fmt.Sprintf("%0*d-%0*d", wallDigits, t.Wall, logicalDigits, t.Logical)
}

// Parse reads the String form. The empty string is the zero timestamp.
func Parse(s string) (Timestamp, error) {
	if s == "" {
		return Timestamp{}, nil
	}
	if len(s) != stringLen || s[wallDigits] != '-' {
		return Timestamp{}, fmt.Errorf("%w: length or separator", ErrParse)
	}
	w, err := strconv.ParseInt(s[:wallDigits], 10, 64)
	if err != nil || w < 0 {
		return Timestamp{}, fmt.Errorf("%w: wall part", ErrParse)
	}
	l, err := strconv.ParseUint(s[wallDigits+1:], 10, 32)
	if err != nil {
		return Timestamp{}, fmt.Errorf("%w: logical part", ErrParse)
	}
	return Timestamp{Wall: w, Logical: uint32(l)}, nil
}

// Compare returns -1, 0 or +1 as t is before, equal to or after u.
func (t Timestamp) Compare(u Timestamp) int {
	switch {
	case t.Wall < u.Wall:
		return -1
	case t.Wall > u.Wall:
		return 1
	case t.Logical < u.Logical:
		return -1
	case t.Logical > u.Logical:
		return 1
	}
	return 0
}

// Before reports whether t is before u.
func (t Timestamp) Before(u Timestamp) bool { return t.Compare(u) < 0 }

// IsZero reports whether t is the zero timestamp.
func (t Timestamp) IsZero() bool { return t == Timestamp{} }

// Time returns the physical part as a time.
func (t Timestamp) Time() time.Time { return time.UnixMilli(t.Wall).UTC() }

// Next returns the timestamp of a local event (a change written on this
// device), given the last timestamp issued and the physical clock now. It is
// always after last, whatever the physical clock says.
func Next(last Timestamp, now time.Time) Timestamp {
	pt := now.UnixMilli()
	if pt > last.Wall {
		return Timestamp{Wall: pt}
	}
	return bump(last)
}

// Recv returns the timestamp after receiving a remote timestamp (a change
// pulled from the server): after both last and remote.
func Recv(last, remote Timestamp, now time.Time) Timestamp {
	pt := now.UnixMilli()
	switch {
	case pt > last.Wall && pt > remote.Wall:
		return Timestamp{Wall: pt}
	case last.Compare(remote) >= 0:
		return bump(last)
	default:
		return bump(remote)
	}
}

// bump advances the logical counter; on the (theoretical) overflow of four
// billion events in one millisecond it advances the wall part instead.
func bump(t Timestamp) Timestamp {
	if t.Logical == ^uint32(0) {
		return Timestamp{Wall: t.Wall + 1}
	}
	return Timestamp{Wall: t.Wall, Logical: t.Logical + 1}
}

// DefaultMaxLead is how far ahead of a receiver's clock a timestamp may be
// and still be taken as it is, by the server for a pushed change and by a
// laptop for a pulled one. A laptop whose clock runs a day ahead would
// otherwise win every conflict decided by the later clock, and drag every
// clock that receives its timestamps a day ahead with it.
const DefaultMaxLead = 5 * time.Minute

// Ahead reports whether t is more than lead ahead of the clock now.
func Ahead(t Timestamp, now time.Time, lead time.Duration) bool { return Drift(t, now) > lead }

// Drift is how far a timestamp's physical part is ahead of the local clock
// (negative when behind): a large value means a device's clock jumped.
func Drift(t Timestamp, now time.Time) time.Duration {
	return time.Duration(t.Wall-now.UnixMilli()) * time.Millisecond
}
