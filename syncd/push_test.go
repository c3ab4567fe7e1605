package main

// The pipelined push against the real server and real field stores: a
// crash between sending a batch and recording its answer, and a retried
// change that a later change of its record must not overtake.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/buergerkoffer/kit/internal/agent"
	"github.com/buergerkoffer/kit/internal/crypto"
	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/store"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

var errKilled = errors.New("killed before the answer was recorded")

// dyingStore is the field store of an agent that dies while recording
// the answer to push batch dieAt: that answer and every later one are
// never written (the transaction never commits), as with a SIGKILL.
type dyingStore struct {
	*store.Store
	acks  atomic.Int32
	dieAt int32
}

func (d *dyingStore) AckPush(ctx context.Context, req syncproto.PushRequest, res syncproto.PushResponse) error {
	if d.acks.Add(1) >= d.dieAt {
		return errKilled
	}
	return d.Store.AckPush(ctx, req, res)
}

// writeCases writes n draft cases in one transaction.
func (l *laptop) writeCases(n int, tag string) {
	l.k.t.Helper()
	fs := make([]domain.Fields, n)
	for i := range fs {
		fs[i] = domain.Fields{"service_id": "anmeldung", "status": "draft", "form.surname": "Mustermann",
			"form.given_names": fmt.Sprintf("Erika %s %d", tag, i)}
	}
	if _, err := l.ss.CreateBatch(l.k.ctx, domain.TypeCase, fs); err != nil {
		l.k.t.Fatal(err)
	}
}

func TestPush_CrashBetweenSendAndAckResendsAsDuplicates(t *testing.T) {
	k := startKit(t)
	a := k.laptop("a", "musterstadt")
	a.writeCases(2600, "a")
	total, _, err := a.st.Pending(k.ctx)
	if err != nil {
		t.Fatal(err)
	}

	// The agent dies recording the answer to batch 2, while batch 3 is on
	// the wire: the server has batches 1 to 3, the laptop recorded 1.
	const batch = 500
	dying := &dyingStore{Store: a.st, dieAt: 2}
	ag, err := agent.New(agent.Config{PushBatch: batch, NoPull: true}, dying)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ag.SyncOnce(k.ctx); !errors.Is(err, errKilled) {
		t.Fatalf("sync with a dying store: %v, want %v", err, errKilled)
	}
	ag.Close()

	// The field store, reopened: the two batches sent without a recorded
	// answer are still marked in flight, and still pending.
	if err := a.st.Close(); err != nil {
		t.Fatal(err)
	}
	if a.st, err = store.Open(k.ctx, a.path, store.WithKDFParams(crypto.TestKDFParams)); err != nil {
		t.Fatal(err)
	}
	if n, err := a.st.PushInFlight(k.ctx); err != nil || n != 2*batch {
		t.Fatalf("in flight after the crash: %d, %v; want %d", n, err, 2*batch)
	}
	if n, _, _ := a.st.Pending(k.ctx); n != total-batch {
		t.Fatalf("pending after the crash: %d, want %d", n, total-batch)
	}

	// The next sync sends them again: the server had them.
	rep := a.sync()
	if rep.Duplicates != 2*batch || rep.Pushed != int(total)-3*batch {
		t.Errorf("sync after the crash: %d duplicates, %d pushed; want %d, %d", rep.Duplicates, rep.Pushed,
			2*batch, int(total)-3*batch)
	}
	if n, _, _ := a.st.Pending(k.ctx); n != 0 {
		t.Errorf("pending after the second sync: %d", n)
	}
	if n, _ := a.st.PushInFlight(k.ctx); n != 0 {
		t.Errorf("in flight after the second sync: %d", n)
	}

	// The feed holds every change once: a new laptop pulls exactly them.
	b := k.laptop("b", "musterstadt")
	if got := b.sync(); got.Pulled != int(total) {
		t.Errorf("a new laptop pulled %d entries, want %d (each change once)", got.Pulled, total)
	}
	if a.export() != b.export() {
		t.Error("the laptops differ after the sync")
	}
}

// uploadGate passes requests to the server but refuses attachment
// uploads while closed (400: the agent skips the attachment this round).
type uploadGate struct {
	srv    *httptest.Server
	closed atomic.Bool
}

func newUploadGate(t *testing.T, target string) *uploadGate {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	g := &uploadGate{}
	g.closed.Store(true)
	proxy := httputil.NewSingleHostReverseProxy(u)
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.closed.Load() && strings.Contains(r.URL.Path, "/attachments/") {
			http.Error(w, `{"error":"uploads closed"}`, http.StatusBadRequest)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(g.srv.Close)
	return g
}

// A change the server answers "retry" (its attachment is not there yet)
// in batch 1 holds back the later change of its record that the agent had
// already read into batch 2: the server gets the later one only after the
// retried one.
func TestPush_RetryIsNotOvertakenByTheNextBatch(t *testing.T) {
	k := startKit(t)
	gate := newUploadGate(t, k.url)
	a := k.laptopVia("a", "musterstadt", gate.srv.URL)
	c, err := a.ss.CreateCase(k.ctx, anmeldung())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.ss.PutAttachment(k.ctx, c.ID, store.AnyVersion, domain.AttachmentSignaturePNG, []byte("\x89PNG signature")); err != nil {
		t.Fatal(err)
	}
	a.writeCases(10, "filler") // the rest of batch 1 and the start of batch 2
	_, v, err := a.ss.Case(k.ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.ss.UpdateCaseForm(k.ctx, c.ID, v, domain.Fields{"new_street": "Am Anger 5"}); err != nil {
		t.Fatal(err)
	}
	ids := a.changeIDs(c.ID) // create, attachment, form edit
	if len(ids) != 3 {
		t.Fatalf("case changes: %v", ids)
	}

	// Batches of 10: the create, the attachment's change and 8 fillers
	// are batch 1; batch 2, read while batch 1 is out, starts with the
	// other fillers and ends with the edit. The edit must wait.
	ag, err := agent.New(agent.Config{PushBatch: 10, NoPull: true}, a.st)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := ag.SyncOnce(k.ctx)
	ag.Close()
	if err == nil {
		t.Fatal("sync with uploads refused: no error")
	}
	if rep.Retried == 0 {
		t.Errorf("no change retried: %+v", rep)
	}
	if seqs := a.serverSeqs(ids); seqs[0] == 0 || seqs[1] != 0 || seqs[2] != 0 {
		t.Fatalf("with the attachment missing, feed positions of create, attachment, edit: %v, want only the create", seqs)
	}
	if n, _ := a.st.PushInFlight(k.ctx); n != 0 {
		t.Errorf("in flight after the sync: %d", n)
	}

	gate.closed.Store(false)
	a.sync()
	seqs := a.serverSeqs(ids)
	if !(seqs[0] > 0 && seqs[0] < seqs[1] && seqs[1] < seqs[2]) {
		t.Errorf("feed positions of create, attachment, edit: %v, want increasing", seqs)
	}
	if a.export() != k.export("musterstadt") {
		t.Error("laptop and server differ")
	}
}

// changeIDs returns the ids of a record's changes in outbox order.
func (l *laptop) changeIDs(recordID string) []string {
	l.k.t.Helper()
	rows, err := l.raw().QueryContext(l.k.ctx, `SELECT id FROM change_log WHERE record_id = ? ORDER BY seq`, recordID)
	if err != nil {
		l.k.t.Fatal(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			l.k.t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// serverSeqs returns where the server put each change in the feed, 0 if
// it has not taken it.
func (l *laptop) serverSeqs(ids []string) []int64 {
	l.k.t.Helper()
	db := l.raw()
	out := make([]int64, len(ids))
	for i, id := range ids {
		if err := db.QueryRowContext(l.k.ctx, `SELECT coalesce(server_seq, 0) FROM change_log WHERE id = ?`, id).
			Scan(&out[i]); err != nil {
			l.k.t.Fatal(err)
		}
	}
	return out
}
