package handoff_test

import (
	"testing"

	"github.com/buergerkoffer/kit/internal/fitconnect/fitconnecttest"
)

// BenchmarkWorker_HandOff measures one pass that hands off one sealed
// case (no attachments): scan, document, metadata, create, submit, the
// status change, and the poll of its events, with the double (which
// decrypts and checks it) on loopback. Sealing and syncing are not timed.
func BenchmarkWorker_HandOff(b *testing.B) {
	e := newEnv(b, fitconnecttest.Options{})
	e.route()
	w := e.worker(nil)
	for b.Loop() {
		b.StopTimer()
		e.seal("meldebescheinigung")
		e.sync()
		b.StartTimer()
		if st := e.pass(w); st.Submitted != 1 {
			b.Fatalf("pass %+v", st)
		}
	}
}
