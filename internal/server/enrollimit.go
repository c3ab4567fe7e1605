package server

// Throttling of /v1/enrol. An enrolment code is 12 characters of base 32,
// too many to guess, unless guessing is free: each address may get a code
// wrong enrolFailures times a minute, then it is answered 429 with a
// Retry-After until its allowance refills. Good codes cost nothing.
//
// The counts live in each server process's memory, not in the database:
// a wrong guess must not cost a write (on SQLite it would queue behind
// every push). With n processes behind a load balancer an address may
// get n×enrolFailures wrong a minute; against 60 bits of code that
// changes nothing. What must hold across processes, that a code works
// once and only until it expires, is the database's (Store.Redeem).

import (
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

const (
	// enrolFailures wrong codes per enrolWindow an address may send.
	enrolFailures = 10
	enrolWindow   = time.Minute
	// enrolAddrs bounds the addresses the limiter remembers.
	enrolAddrs = 10000
)

// enrolLimiter counts wrong enrolment codes per client address, in a
// token bucket per address (enrolFailures tokens, refilled over
// enrolWindow). An address idle for enrolWindow has a full bucket again,
// so forgetting it loses nothing; that keeps the memory bounded.
type enrolLimiter struct {
	mu        sync.Mutex
	max       int
	addrs     map[string]*enrolAddr
	lastSweep time.Time
}

type enrolAddr struct {
	lim  *rate.Limiter
	last time.Time // the last wrong code
}

func newEnrolLimiter(max int) *enrolLimiter {
	return &enrolLimiter{max: max, addrs: map[string]*enrolAddr{}}
}

// wait returns how long addr must wait before it may try a code again; 0
// if it may now.
func (l *enrolLimiter) wait(addr string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	a, ok := l.addrs[addr]
	if !ok {
		return 0
	}
	tokens := a.lim.TokensAt(now)
	if tokens >= 1 {
		return 0
	}
	return time.Duration((1 - tokens) / float64(a.lim.Limit()) * float64(time.Second))
}

// failed counts a wrong code from addr. It reports whether addr has now
// used up its allowance.
func (l *enrolLimiter) failed(addr string, now time.Time) (exhausted bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) >= enrolWindow {
		l.sweepLocked(now)
	}
	a, ok := l.addrs[addr]
	if !ok {
		if len(l.addrs) >= l.max {
			l.sweepLocked(now)
		}
		if len(l.addrs) >= l.max {
			l.evictOldestLocked()
		}
		a = &enrolAddr{lim: rate.NewLimiter(rate.Every(enrolWindow/enrolFailures), enrolFailures)}
		l.addrs[addr] = a
	}
	a.last = now
	a.lim.AllowN(now, 1)
	return a.lim.TokensAt(now) < 1
}

// sweep forgets the addresses idle for enrolWindow.
func (l *enrolLimiter) sweep(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweepLocked(now)
}

func (l *enrolLimiter) sweepLocked(now time.Time) {
	for k, a := range l.addrs {
		if now.Sub(a.last) >= enrolWindow {
			delete(l.addrs, k)
		}
	}
	l.lastSweep = now
}

// evictOldestLocked forgets the address whose last wrong code is oldest:
// the bound holds even against more addresses than it.
func (l *enrolLimiter) evictOldestLocked() {
	var oldest string
	var at time.Time
	for k, a := range l.addrs {
		if oldest == "" || a.last.Before(at) {
			oldest, at = k, a.last
		}
	}
	delete(l.addrs, oldest)
}

// size returns how many addresses the limiter remembers.
func (l *enrolLimiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.addrs)
}

// clientAddr returns what the limiter counts a request by: the peer's IPv4
// address, or the /64 of its IPv6 address (one host usually has a whole
// /64 to pick addresses from). Forwarded-for headers are not trusted: a
// client could set them to anything.
func clientAddr(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		return remoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.WithZone("").Unmap()
	if ip.Is4() {
		return ip.String()
	}
	return netip.PrefixFrom(ip, 64).Masked().String()
}
