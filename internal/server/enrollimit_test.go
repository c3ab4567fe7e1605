package server

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/internal/crypto"
)

func TestEnrol_WrongCodesAreThrottled(t *testing.T) {
	k := startKit(t)
	pub, _ := crypto.MarshalPublicKeyPEM(&poolKey(t, 2).PublicKey)
	var unauthorized, throttled int
	for i := range 30 {
		st, b, h := k.do("POST", "/v1/enrol", "", enrolBody(t, fmt.Sprintf("AAAA-BBBB-%04d", i), pub), nil)
		switch st {
		case http.StatusUnauthorized:
			unauthorized++
		case http.StatusTooManyRequests:
			throttled++
			if s, err := strconv.Atoi(h.Get("Retry-After")); err != nil || s < 1 || s > 60 {
				t.Errorf("429 with Retry-After %q", h.Get("Retry-After"))
			}
		default:
			t.Fatalf("wrong code %d: %d %s", i, st, b)
		}
	}
	if unauthorized != enrolFailures || throttled != 30-enrolFailures {
		t.Fatalf("%d answered 401, %d 429: want %d failures a minute", unauthorized, throttled, enrolFailures)
	}
	// A minute later the address may try again.
	k.clock.Advance(time.Minute)
	if st, b, _ := k.do("POST", "/v1/enrol", "", enrolBody(t, "AAAA-BBBB-9999", pub), nil); st != http.StatusUnauthorized {
		t.Fatalf("after a minute: %d %s", st, b)
	}
	// Good codes never count as failures.
	k.clock.Advance(time.Minute)
	for i := range enrolFailures + 2 {
		k.enrol(fmt.Sprintf("koffer-%d", i), tenantA, 2)
	}
}

// A wrong code is found by a read: it neither waits for nor takes the
// write transaction that a push may be holding.
func TestEnrol_WrongCodeTakesNoWriteTransaction(t *testing.T) {
	k := startKit(t)
	pub, _ := crypto.MarshalPublicKeyPEM(&poolKey(t, 2).PublicKey)
	hold, held := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- k.srv.st.Update(k.ctx, tenantA, func(Tx) error {
			close(held)
			<-hold
			return nil
		})
	}()
	<-held
	defer func() {
		close(hold)
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	ctx, cancel := context.WithTimeout(k.ctx, 3*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", k.ts.URL+"/v1/enrol", bytes.NewReader(enrolBody(t, "AAAA-BBBB-CCCC", pub)))
	resp, err := k.ts.Client().Do(req)
	if err != nil {
		t.Fatalf("a wrong code waited for the write transaction: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong code: %d", resp.StatusCode)
	}
}

func TestEnrolLimiter_ForgetsIdleAddresses(t *testing.T) {
	now := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	l := newEnrolLimiter(100)
	for i := range 1000 {
		l.failed(fmt.Sprintf("192.0.2.%d", i%250)+strconv.Itoa(i), now)
		if n := l.size(); n > 100 {
			t.Fatalf("%d addresses kept, bound 100", n)
		}
	}
	// An address that failed too often stays throttled while others come
	// and go, as long as the bound allows.
	l = newEnrolLimiter(100)
	for range enrolFailures {
		l.failed("198.51.100.1", now)
	}
	if wait := l.wait("198.51.100.1", now); wait <= 0 {
		t.Fatal("not throttled after the failures")
	}
	for i := range 50 {
		l.failed(fmt.Sprintf("192.0.2.%d", i), now)
	}
	if wait := l.wait("198.51.100.1", now); wait <= 0 {
		t.Fatal("throttling forgotten while within the bound")
	}
	// Once idle for a minute an address is forgotten.
	later := now.Add(time.Minute + time.Second)
	l.failed("203.0.113.1", later)
	l.sweep(later)
	if n := l.size(); n != 1 {
		t.Fatalf("%d addresses kept after a minute idle, want 1", n)
	}
	if wait := l.wait("198.51.100.1", later); wait != 0 {
		t.Fatalf("still throttled after a minute: %v", wait)
	}
}

func TestClientAddr(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7:4711":              "192.0.2.7",
		"[2001:db8:1:2:3:4:5:6]:4711": "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::1]:80":   "2001:db8:1:2::/64",
		"[::ffff:192.0.2.7]:4711":     "192.0.2.7",
		"not an address":              "not an address",
		"[fe80::1%eth0]:4711":         "fe80::/64",
	} {
		if got := clientAddr(in); got != want {
			t.Errorf("clientAddr(%q) = %q, want %q", in, got, want)
		}
	}
}
