package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/buergerkoffer/kit/internal/crypto"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

// mac is a stand-in for a chain's MAC at position n of history h.
func mac(h string, n int64) string { return crypto.SHA256Hex(fmt.Appendf(nil, "%s/%d", h, n)) }

// pushHead pushes no changes, only an audit head, and returns the status
// and the position the server says it holds.
func (l *laptop) pushHead(h *syncproto.AuditHead) (int, int64) {
	l.k.t.Helper()
	body, _ := json.Marshal(syncproto.PushRequest{Changes: []syncproto.Change{}, Audit: h})
	st, b, _ := l.k.do("POST", "/v1/tenants/"+l.tenant+"/push", l.token, body, nil)
	var resp syncproto.PushResponse
	if st == http.StatusOK {
		if err := json.Unmarshal(b, &resp); err != nil {
			l.k.t.Fatal(err)
		}
	}
	return st, resp.AuditKnown
}

func (k *kit) chain(l *laptop) DeviceChain {
	k.t.Helper()
	cs, err := k.srv.DeviceChains(k.ctx, l.tenant)
	if err != nil {
		k.t.Fatal(err)
	}
	return cs[l.id]
}

func TestPush_AuditHeadIsAnchored(t *testing.T) {
	k := startKit(t)
	a := k.enrol("a", tenantA, 0)
	step := func(count, knownCount int64, knownHistory string, wantKnown int64) {
		t.Helper()
		h := &syncproto.AuditHead{Count: count, Hash: mac("a", count), KnownCount: knownCount}
		if knownCount > 0 {
			h.KnownHash = mac(knownHistory, knownCount)
		}
		if st, known := a.pushHead(h); st != http.StatusOK || known != wantKnown {
			t.Fatalf("push head %d (known %d): status %d, server holds %d; want 200, %d", count, knownCount, st, known, wantKnown)
		}
	}
	step(3, 0, "", 3)
	step(5, 3, "a", 5)
	step(5, 5, "a", 5) // a retried push
	step(7, 5, "a", 7)
	// The answer to that push was lost: the laptop still names 5. The
	// server cannot check 7 from it, keeps 7 and says so; the next push
	// names 7.
	step(8, 5, "a", 7)
	if c := k.chain(a); c.Count != 7 || c.Flag != "" {
		t.Fatalf("after a push naming another position: %+v", c)
	}
	step(9, 7, "a", 9)
	if c := k.chain(a); c.Flag != "" {
		t.Fatalf("a growing chain flagged: %+v", c)
	}
	// A rewritten history: longer, but its entry 9 is not the one the
	// server saw.
	step(12, 9, "rewritten", 12)
	c := k.chain(a)
	if c.Flag != ChainForked || c.Count != 12 || c.FlaggedAt.IsZero() {
		t.Fatalf("forked chain: %+v", c)
	}
	// The flag stays while the chain grows again from there.
	step(13, 12, "a", 13)
	if c := k.chain(a); c.Flag != ChainForked {
		t.Fatalf("flag lost: %+v", c)
	}

	b := k.enrol("b", tenantA, 1)
	if st, _ := b.pushHead(&syncproto.AuditHead{Count: 6, Hash: mac("b", 6)}); st != http.StatusOK {
		t.Fatal(st)
	}
	if st, known := b.pushHead(&syncproto.AuditHead{Count: 4, Hash: mac("b", 4), KnownCount: 6}); st != http.StatusOK || known != 4 {
		t.Fatalf("cut chain: %d, %d", st, known)
	}
	if c := k.chain(b); c.Flag != ChainWentBack || c.FlagDetail != "4 entries after 6" {
		t.Fatalf("cut chain: %+v", c)
	}
	if logs := k.logs.String(); !strings.Contains(logs, "went_back") || !strings.Contains(logs, "forked") {
		t.Errorf("findings not logged:\n%s", logs)
	}

	for _, bad := range []*syncproto.AuditHead{
		{Count: -1},
		{Count: 2, Hash: "not hex"},
		{Count: 2, Hash: mac("b", 2), KnownCount: 3, KnownHash: mac("b", 3)},
	} {
		if st, _ := b.pushHead(bad); st != http.StatusBadRequest {
			t.Errorf("head %+v: status %d, want 400", bad, st)
		}
	}
}
