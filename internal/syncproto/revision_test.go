package syncproto_test

import (
	"testing"

	"github.com/buergerkoffer/kit/internal/syncproto"
)

func TestParseRange(t *testing.T) {
	for in, want := range map[string]syncproto.Range{
		"": {1, 1}, "1-1": {1, 1}, "2": {2, 2}, " 1 - 3 ": {1, 3},
	} {
		if got, ok := syncproto.ParseRange(in); !ok || got != want {
			t.Errorf("ParseRange(%q) = %v, %v; want %v", in, got, ok, want)
		}
	}
	for _, in := range []string{"0-1", "3-2", "a", "1-", "-1", "1-2-3"} {
		if got, ok := syncproto.ParseRange(in); ok {
			t.Errorf("ParseRange(%q) = %v, want malformed", in, got)
		}
	}
}

func TestRangeCheck(t *testing.T) {
	us := syncproto.Range{Min: 2, Max: 3}
	for peer, want := range map[syncproto.Range]syncproto.Compatibility{
		{1, 1}: syncproto.PeerTooOld, {1, 2}: syncproto.Compatible, {3, 5}: syncproto.Compatible,
		{4, 4}: syncproto.PeerTooNew, {2, 3}: syncproto.Compatible,
	} {
		if got := us.Check(peer); got != want {
			t.Errorf("%v.Check(%v) = %v, want %v", us, peer, got, want)
		}
	}
}
