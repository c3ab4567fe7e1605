// Package backoff owns how long the kit waits before trying again after a
// failure in a row: the sync agent between syncs and between a request's
// tries, the hardware drivers between attempts to reopen a device that was
// unplugged. The wait doubles with each failure from Policy.Min up to
// Policy.Max, optionally with jitter; a server's Retry-After can raise or
// replace it.
//
// It imports only the standard library, so the drivers (which must build
// for Windows and Linux alike) can use it.
package backoff

import (
	"math/rand/v2"
	"time"
)

// Policy is a capped exponential backoff. The zero Policy never waits.
type Policy struct {
	// Min is the wait after the first failure; it doubles with each
	// failure after that. Min <= 0 means no wait (Min·2ⁿ is 0 too).
	Min time.Duration
	// Max caps every wait, Min and a server's hint included; Max < Min
	// means Max.
	Max time.Duration
	// Jitter makes the upper half of every wait random, so that many
	// clients that failed together (a town's laptops when the server went
	// down) do not all come back at the same moment.
	Jitter bool
}

// Delay returns the wait after the n-th failure in a row: Min doubled n-1
// times, capped at Max, with jitter if the policy has it (then a wait d
// becomes one in [d/2, d]). No failure (n <= 0) means no wait. Any n is
// safe: the doubling saturates at Max instead of overflowing.
func (p Policy) Delay(n int) time.Duration {
	if n <= 0 || p.Min <= 0 || p.Max <= 0 {
		return 0
	}
	d := p.Max
	if shift := n - 1; shift < 63 && p.Min <= p.Max>>shift {
		d = p.Min << shift // <= Max, so no overflow
	}
	if p.Jitter {
		d = d/2 + rand.N(d/2+1)
	}
	return d
}

// AtLeast returns Delay(n), raised to hint when hint is longer, but never
// beyond Max: a server's Retry-After is a floor, and the jitter still
// spreads clients out above it.
func (p Policy) AtLeast(n int, hint time.Duration) time.Duration {
	d := p.Delay(n)
	if hint > d {
		d = max(min(hint, p.Max), d)
	}
	return d
}

// RetryAfter returns the server's hint when it gave one (hint > 0), kept
// within [Min, Max], and Delay(n) otherwise. This is how resty treats a
// Retry-After, so retries made by hand wait as resty's own do.
func (p Policy) RetryAfter(n int, hint time.Duration) time.Duration {
	if hint <= 0 {
		return p.Delay(n)
	}
	return max(min(max(hint, p.Min), p.Max), 0)
}
