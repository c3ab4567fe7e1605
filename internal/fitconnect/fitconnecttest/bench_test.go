package fitconnecttest_test

import (
	"fmt"
	"testing"

	"github.com/buergerkoffer/kit/internal/fitconnect/fitconnecttest"
)

// BenchmarkSubmission is one full submission with two attachments through the double, accepted by the
// authority: token reuse, create, two uploads, submit (decrypt, schema, hashes, two signed events).
// It tells what the double costs a 1,000-case hand-off run.
func BenchmarkSubmission(b *testing.B) {
	for _, bits := range []int{4096, 2048} {
		b.Run(fmt.Sprintf("event-keys-%d", bits), func(b *testing.B) {
			benchmarkSubmission(b, fitconnecttest.Options{AutoAccept: true, EventKeyBits: bits})
		})
	}
}

func benchmarkSubmission(b *testing.B, opt fitconnecttest.Options) {
	s := fitconnecttest.New(b, opt)
	c := newSender(b, s)
	key := c.encryptionKey()
	cont := sampleContent()
	meta := metadata(cont)
	b.ResetTimer()
	for b.Loop() {
		c.send(key, cont, meta)
	}
	b.StopTimer()
	if n := len(s.Submissions()); n == 0 || len(s.Refusals()) > 0 {
		b.Fatalf("%d submissions received, refusals %v", n, s.Refusals())
	}
}
