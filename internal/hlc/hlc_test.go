package hlc_test

import (
	"errors"
	"sort"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/internal/hlc"
)

func TestNext_MonotonicWhenClockJumpsBack(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	a := hlc.Next(hlc.Timestamp{}, now)
	b := hlc.Next(a, now)                   // same millisecond
	c := hlc.Next(b, now.Add(-time.Hour))   // clock jumped back an hour
	d := hlc.Next(c, now.Add(-time.Hour+1)) // still behind
	e := hlc.Next(d, now.Add(time.Second))  // clock caught up
	seq := []hlc.Timestamp{a, b, c, d, e}
	for i := 1; i < len(seq); i++ {
		if !seq[i-1].Before(seq[i]) {
			t.Fatalf("timestamp %d (%v) not after %d (%v)", i, seq[i], i-1, seq[i-1])
		}
	}
	if e.Wall != now.Add(time.Second).UnixMilli() || e.Logical != 0 {
		t.Errorf("after catching up the physical time should win: %v", e)
	}
}

func TestRecv_AfterBothLocalAndRemote(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	local := hlc.Timestamp{Wall: now.UnixMilli(), Logical: 4}
	ahead := hlc.Timestamp{Wall: now.Add(time.Hour).UnixMilli(), Logical: 7} // a device an hour ahead
	got := hlc.Recv(local, ahead, now)
	if !ahead.Before(got) || !local.Before(got) {
		t.Fatalf("Recv = %v, want after %v and %v", got, local, ahead)
	}
	if d := hlc.Drift(ahead, now); d != time.Hour {
		t.Errorf("drift = %v, want 1h", d)
	}
	behind := hlc.Timestamp{Wall: now.Add(-24 * time.Hour).UnixMilli()}
	if got := hlc.Recv(local, behind, now.Add(time.Millisecond)); got.Wall != now.UnixMilli()+1 {
		t.Errorf("a remote clock a day behind must not hold us back: %v", got)
	}
}

func TestString_SortsLikeTimestamps(t *testing.T) {
	ts := []hlc.Timestamp{{Wall: 2, Logical: 0}, {Wall: 1, Logical: 10}, {Wall: 1, Logical: 9},
		{Wall: 1795433200000, Logical: 0}, {Wall: 10, Logical: 1}}
	strs := make([]string, len(ts))
	for i, x := range ts {
		strs[i] = x.String()
		back, err := hlc.Parse(strs[i])
		if err != nil || back != x {
			t.Fatalf("Parse(%q) = %v, %v; want %v", strs[i], back, err, x)
		}
	}
	sort.Strings(strs)
	sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
	for i := range ts {
		if ts[i].String() != strs[i] {
			t.Fatalf("string order differs at %d: %s vs %s", i, ts[i], strs[i])
		}
	}
}

func TestParse_Rejects(t *testing.T) {
	for _, s := range []string{"x", "000000000000001-000000000a", "000000000000001+0000000001", "-00000000000001-0000000001"} {
		if _, err := hlc.Parse(s); !errors.Is(err, hlc.ErrParse) {
			t.Errorf("Parse(%q) = %v, want ErrParse", s, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("001795433200000-0000000003")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		ts, err := hlc.Parse(s)
		if err != nil {
			return
		}
		if back, err := hlc.Parse(ts.String()); err != nil || back != ts {
			t.Fatalf("round trip of %q: %v, %v", s, back, err)
		}
	})
}
