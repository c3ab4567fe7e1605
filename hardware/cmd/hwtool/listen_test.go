// Tests for `hwtool listen --device mrz` against the simulated reader on a
// real pseudo-terminal.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/hardware/sim"
	"github.com/buergerkoffer/kit/hardware/sim/mrzsim"
	"github.com/buergerkoffer/kit/internal/mrz"
)

// waitFor polls cond until it holds or the bounded wait is over.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(3 * time.Second); !cond(); {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// listen prints one JSON line per document the reader sends, and stops with
// exit 0 when interrupted.
func TestListen_MRZ(t *testing.T) {
	s, err := mrzsim.Start(context.Background(), mrzsim.Config{Framing: mrzsim.RTE})
	if errors.Is(err, sim.ErrUnsupported) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"listen", "--device", "mrz", "--port", s.Path()}, strings.NewReader(""), &stdout, &stderr)
	}()
	waitFor(t, "listen to start", func() bool { return strings.Contains(stderr.String(), "reading ID documents") })

	docs := mrzsim.Samples()[:2]
	for _, d := range docs {
		if err := s.SendDocument(d); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "two documents", func() bool { return strings.Count(stdout.String(), "\n") >= 2 })
	cancel()
	select {
	case c := <-code:
		if c != 0 {
			t.Errorf("exit %d, want 0; stderr %q", c, stderr.String())
		}
	case <-time.After(3 * time.Second):
		t.Fatal("listen did not stop when interrupted")
	}

	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	for i, l := range lines {
		var got mrz.Result
		if err := json.Unmarshal([]byte(l), &got); err != nil {
			t.Fatal(err)
		}
		want, _ := mrz.Parse(docs[i])
		if got.DocumentNumber != want.DocumentNumber || got.Surname != want.Surname || !got.Valid {
			t.Errorf("document %d: got %+v, want %+v", i, got, *want)
		}
	}
}
