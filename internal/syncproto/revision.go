package syncproto

// Which revisions of the protocol a program speaks, and which release it
// is. Both travel as headers, on every request and every answer, so that a
// laptop and a server of different releases find out whether they can
// talk before either writes anything: a laptop too old for its server (or
// the reverse) then says "Bitte Bürgerkoffer aktualisieren" instead of
// failing its syncs, and its pending changes wait for the update.
//
// A revision counts incompatible changes within the /v1 paths: a release
// that changes what a request or an answer means raises Revision; one that
// can still serve the older meaning keeps MinRevision where it is. A
// program from before these headers sends none and speaks revision 1.

import (
	"fmt"
	"strconv"
	"strings"
)

const (
	// HeaderProtocol is "MIN-MAX", the revisions the sender speaks.
	HeaderProtocol = "Buergerkoffer-Protocol"
	// HeaderVersion is the sender's release (internal/version), for the
	// operator's device list and for error messages; it decides nothing.
	HeaderVersion = "Buergerkoffer-Version"
)

// The revisions this program speaks.
//
//   - 1: the first.
//   - 2: compact push and pull. Push: record keys inline with their
//     record's first change, answers without change ids (push.go). Pull:
//     binary frames that leave out what the device has already
//     (pullframe.go). A program that speaks 2 still speaks 1 with
//     a peer that speaks only 1; both sides use the newest revision both
//     speak.
const (
	Revision    = 2 // the newest
	MinRevision = 1 // the oldest it still speaks
)

// Common is the newest revision two ranges share (0 if none).
func (r Range) Common(peer Range) int {
	if r.Check(peer) != Compatible {
		return 0
	}
	return min(r.Max, peer.Max)
}

// Range is a closed range of protocol revisions.
type Range struct{ Min, Max int }

// Revisions is the range this program speaks.
func Revisions() Range { return Range{MinRevision, Revision} }

// legacy is what a program from before HeaderProtocol speaks.
var legacy = Range{1, 1}

func (r Range) String() string { return fmt.Sprintf("%d-%d", r.Min, r.Max) }

// ParseRange reads a HeaderProtocol value; "" (a program from before the
// header) is revision 1. ok is false for anything malformed.
func ParseRange(s string) (r Range, ok bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return legacy, true
	}
	lo, hi, found := strings.Cut(s, "-")
	if !found {
		hi = lo
	}
	a, err1 := strconv.Atoi(strings.TrimSpace(lo))
	b, err2 := strconv.Atoi(strings.TrimSpace(hi))
	if err1 != nil || err2 != nil || a < 1 || b < a {
		return Range{}, false
	}
	return Range{a, b}, true
}

// Compatibility says whether two programs can talk.
type Compatibility int

const (
	Compatible Compatibility = iota
	// PeerTooOld: the other side's newest revision is older than the
	// oldest we speak; the other side needs the update.
	PeerTooOld
	// PeerTooNew: the other side's oldest revision is newer than the
	// newest we speak; this side needs the update.
	PeerTooNew
)

// Check compares our range with a peer's.
func (r Range) Check(peer Range) Compatibility {
	switch {
	case peer.Max < r.Min:
		return PeerTooOld
	case peer.Min > r.Max:
		return PeerTooNew
	}
	return Compatible
}

// UpgradeRequired is the JSON body of a 426 Upgrade Required answer: the
// server does not speak any revision the laptop speaks. Who needs the
// update is said by Laptop ("laptop" or "server").
type UpgradeRequired struct {
	Error  string `json:"error"`
	Update string `json:"update"` // "laptop" or "server"
	Server string `json:"server_protocol"`
	Client string `json:"client_protocol"`
}
