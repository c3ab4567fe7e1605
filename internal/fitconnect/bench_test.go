package fitconnect_test

import (
	"context"
	"testing"

	"github.com/buergerkoffer/kit/internal/fitconnect"
)

// BenchmarkMetadata builds and validates one case's metadata (two attachments).
func BenchmarkMetadata(b *testing.B) {
	c := testContent()
	for b.Loop() {
		if _, err := fitconnect.Metadata(c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncrypt64KiB encrypts a 64 KiB attachment (a signature PNG is smaller).
func BenchmarkEncrypt64KiB(b *testing.B) {
	w := newWorld(b)
	r, err := w.c.Recipient(context.Background(), w.f.destID(), testService)
	if err != nil {
		b.Fatal(err)
	}
	plain := make([]byte, 64<<10)
	b.SetBytes(int64(len(plain)))
	for b.Loop() {
		if _, err := r.Encrypt(plain); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEvents polls a case log of submit + accept over loopback HTTP, verifying both.
func BenchmarkEvents(b *testing.B) {
	w := newWorld(b)
	l := newCaseLog(w)
	l.publish(l.submitEvent(b), l.acceptEvent(b))
	for b.Loop() {
		log, err := w.c.Events(context.Background(), l.caseID, w.f.destID(), l.submissionID)
		if err != nil || len(log.Events) != 2 {
			b.Fatal(err, log)
		}
	}
}
