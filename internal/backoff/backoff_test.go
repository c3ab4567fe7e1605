package backoff_test

import (
	"math"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/internal/backoff"
)

const (
	ms = time.Millisecond
	s  = time.Second
)

// Without jitter the waits are exact: doubling from Min, capped at Max,
// saturating rather than overflowing however many failures there were.
func TestPolicy_Delay(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    backoff.Policy
		n    int
		want time.Duration
	}{
		{"no failure", backoff.Policy{Min: 100 * ms, Max: 2 * s}, 0, 0},
		{"negative n", backoff.Policy{Min: 100 * ms, Max: 2 * s}, -3, 0},
		{"first", backoff.Policy{Min: 100 * ms, Max: 2 * s}, 1, 100 * ms},
		{"second", backoff.Policy{Min: 100 * ms, Max: 2 * s}, 2, 200 * ms},
		{"fifth", backoff.Policy{Min: 100 * ms, Max: 2 * s}, 5, 1600 * ms},
		{"capped", backoff.Policy{Min: 100 * ms, Max: 2 * s}, 6, 2 * s},
		{"exactly max", backoff.Policy{Min: 500 * ms, Max: 2 * s}, 3, 2 * s},
		{"n = 63", backoff.Policy{Min: 1, Max: 2 * s}, 63, 2 * s},
		{"n = 64", backoff.Policy{Min: 1, Max: math.MaxInt64}, 64, math.MaxInt64},
		{"largest n", backoff.Policy{Min: s, Max: time.Hour}, math.MaxInt, time.Hour},
		{"tiny min, many failures", backoff.Policy{Min: 1, Max: math.MaxInt64}, 63, 1 << 62},
		{"huge min", backoff.Policy{Min: 1<<62 + 1, Max: math.MaxInt64}, 3, math.MaxInt64},
		{"min above max", backoff.Policy{Min: 5 * s, Max: 2 * s}, 1, 2 * s},
		{"zero min", backoff.Policy{Max: 2 * s}, 4, 0},
		{"zero policy", backoff.Policy{}, 4, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.p.Delay(tc.n); got != tc.want {
				t.Errorf("%+v.Delay(%d) = %v, want %v", tc.p, tc.n, got, tc.want)
			}
		})
	}
}

// With jitter a wait d is in [d/2, d], and does vary.
func TestPolicy_DelayJitter(t *testing.T) {
	p := backoff.Policy{Min: s, Max: 2 * time.Minute, Jitter: true}
	for _, tc := range []struct {
		n    int
		base time.Duration // the wait without jitter
	}{
		{1, s}, {2, 2 * s}, {7, 64 * s}, {8, 2 * time.Minute}, {1000, 2 * time.Minute}, {math.MaxInt, 2 * time.Minute},
	} {
		seen := map[time.Duration]bool{}
		for range 200 {
			got := p.Delay(tc.n)
			if got < tc.base/2 || got > tc.base {
				t.Fatalf("Delay(%d) = %v, want within [%v, %v]", tc.n, got, tc.base/2, tc.base)
			}
			seen[got] = true
		}
		if len(seen) < 2 {
			t.Errorf("Delay(%d): 200 waits all %v, want jitter", tc.n, p.Delay(tc.n))
		}
	}
	if got := (backoff.Policy{Min: 1, Max: 1, Jitter: true}).Delay(1); got != 0 && got != 1 {
		t.Errorf("1 ns with jitter = %v, want 0 or 1 ns", got)
	}
}

// AtLeast takes a server's hint as a floor, capped at Max; a hint below
// the backoff changes nothing.
func TestPolicy_AtLeast(t *testing.T) {
	p := backoff.Policy{Min: s, Max: time.Minute}
	for _, tc := range []struct {
		name string
		n    int
		hint time.Duration
		want time.Duration
	}{
		{"no hint", 3, 0, 4 * s},
		{"shorter hint", 3, 2 * s, 4 * s},
		{"longer hint", 3, 30 * s, 30 * s},
		{"hint beyond max", 3, time.Hour, time.Minute},
		{"hint beyond max, capped backoff", 100, time.Hour, time.Minute},
		{"negative hint", 1, -s, s},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := p.AtLeast(tc.n, tc.hint); got != tc.want {
				t.Errorf("AtLeast(%d, %v) = %v, want %v", tc.n, tc.hint, got, tc.want)
			}
		})
	}
	// With jitter, a hint above the wait is still the floor.
	j := backoff.Policy{Min: s, Max: time.Minute, Jitter: true}
	for range 100 {
		if got := j.AtLeast(1, 10*s); got != 10*s {
			t.Fatalf("jittered AtLeast(1, 10s) = %v, want 10s", got)
		}
		if got := j.AtLeast(6, 10*s); got < 16*s || got > 32*s {
			t.Fatalf("jittered AtLeast(6, 10s) = %v, want within [16s, 32s]", got)
		}
	}
}

// RetryAfter replaces the backoff with a server's hint, kept within
// [Min, Max], as resty does.
func TestPolicy_RetryAfter(t *testing.T) {
	p := backoff.Policy{Min: s, Max: time.Minute, Jitter: true}
	for _, tc := range []struct {
		name string
		n    int
		hint time.Duration
		want time.Duration
	}{
		{"hint", 5, 3 * s, 3 * s},
		{"hint shorter than the backoff", 6, 2 * s, 2 * s},
		{"hint below min", 1, ms, s},
		{"hint beyond max", 1, time.Hour, time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := p.RetryAfter(tc.n, tc.hint); got != tc.want {
				t.Errorf("RetryAfter(%d, %v) = %v, want %v", tc.n, tc.hint, got, tc.want)
			}
		})
	}
	for range 100 {
		if got := p.RetryAfter(3, 0); got < 2*s || got > 4*s {
			t.Fatalf("RetryAfter(3, 0) = %v, want Delay(3) within [2s, 4s]", got)
		}
	}
}
