package server

// This file anchors the devices' audit chains. A laptop's audit log is a
// keyed chain (internal/store/audit.go), but nothing on the laptop stops
// someone with the file from cutting entries off its end, or from putting
// back an older copy of the store and working on. So every push carries the
// chain head, and the server keeps each device's last one:
//
//   - a head with fewer entries than the one kept means the chain went back
//     (its end was cut, or an older copy of the store is in use);
//   - otherwise the device names its MAC at the position the server kept
//     (it learnt the position from the previous push's answer); another
//     MAC there means the history the server saw was rewritten: it forked.
//
// If the device names another position (an answer it never got, a store
// restored from before the last push), the server cannot tell yet: it
// keeps its head, says which position it holds, and checks the next push.
// A flag stays until an operator has looked. The push is never refused for
// it: a forked laptop still delivers citizens' data. The log names the
// device and positions only.

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/buergerkoffer/kit/internal/syncproto"
)

// Flags of a device's audit chain (DeviceChain.Flag).
const (
	ChainWentBack = "went_back"
	ChainForked   = "forked"
)

// DeviceChain is the audit chain head a device sent last, and whether its
// chain ever went back or forked.
type DeviceChain struct {
	Device     string
	Count      int64  // entries in the chain
	Hash       string // the newest entry's MAC
	Flag       string // "", ChainWentBack or ChainForked (the first one seen)
	FlagDetail string // positions only, e.g. "9 entries after 12"
	FlaggedAt  time.Time
	UpdatedAt  time.Time
}

var hexMAC = regexp.MustCompile(`^[0-9a-f]{64}$`)

// validateAuditHead checks the shape of a pushed head (nil: none sent, as
// from an older agent).
func validateAuditHead(h *syncproto.AuditHead) error {
	switch {
	case h == nil:
		return nil
	case h.Count < 0 || h.KnownCount < 0, h.KnownHash != "" && h.KnownCount > h.Count:
		return badf("audit: count %d, known %d", h.Count, h.KnownCount)
	case h.Count > 0 && !hexMAC.MatchString(h.Hash), h.Count == 0 && h.Hash != "":
		return badf("audit: head is not a hex MAC")
	case h.KnownHash != "" && !hexMAC.MatchString(h.KnownHash):
		return badf("audit: known head is not a hex MAC")
	}
	return nil
}

// checkChain compares a pushed head with the one kept for dev, keeps the
// new one and returns the position the server now holds and, if the chain
// went back or forked just now, what to log.
func (s *Server) checkChain(ctx context.Context, tx Tx, dev Device, h *syncproto.AuditHead) (known int64, flagged string, err error) {
	if h == nil {
		return 0, "", nil
	}
	prev, ok, err := tx.DeviceChain(ctx, dev.ID)
	if err != nil {
		return 0, "", err
	}
	next := DeviceChain{Device: dev.ID, Count: h.Count, Hash: h.Hash, UpdatedAt: s.now()}
	if ok {
		next.Flag, next.FlagDetail, next.FlaggedAt = prev.Flag, prev.FlagDetail, prev.FlaggedAt
		var flag, detail string
		switch {
		case h.Count < prev.Count:
			flag, detail = ChainWentBack, fmt.Sprintf("%d entries after %d", h.Count, prev.Count)
		case h.Count == prev.Count:
			if h.Hash != prev.Hash {
				flag, detail = ChainForked, fmt.Sprintf("entry %d differs", prev.Count)
			}
		case h.KnownCount == prev.Count:
			if h.KnownHash != prev.Hash {
				flag, detail = ChainForked, fmt.Sprintf("entry %d differs", prev.Count)
			}
		default:
			// The device names another position: keep what is known and
			// check the next push, which names this one.
			return prev.Count, "", nil
		}
		if flag != "" && next.Flag == "" {
			next.Flag, next.FlagDetail, next.FlaggedAt = flag, detail, s.now()
		}
		if flag != "" {
			flagged = flag + ": " + detail
		}
	}
	if err := tx.PutDeviceChain(ctx, next); err != nil {
		return 0, "", err
	}
	return next.Count, flagged, nil
}

// DeviceChains returns the audit chain heads of a tenant's devices, by
// device id.
func (s *Server) DeviceChains(ctx context.Context, tenant string) (map[string]DeviceChain, error) {
	cs, err := s.st.DeviceChains(ctx, tenant)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	return cs, nil
}
