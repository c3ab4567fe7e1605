package handoff_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/internal/catalog"
	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/fitconnect/fitconnecttest"
	"github.com/buergerkoffer/kit/internal/handoff"
	"github.com/buergerkoffer/kit/internal/server"
)

// Every sealed case of a routed service arrives once, complete (the double
// decrypts it, checks its hashes and its metadata against the schema), in
// feed order; its status becomes submitted on the server; a second run
// submits nothing new. Unrouted services and drafts stay.
func TestWorker_HandsOffEachCaseOnce(t *testing.T) {
	e := newEnv(t, fitconnecttest.Options{})
	ids := map[string]string{}
	for _, s := range e.cat.Services() {
		ids[s.ID] = e.seal(s.ID)
	}
	unrouted := e.seal("meldebescheinigung")
	e.sync()
	var routed []string
	for _, s := range e.cat.Services() {
		if s.ID != "meldebescheinigung" {
			routed = append(routed, s.ID)
		}
	}
	e.route(routed...)
	w := e.worker(nil)

	st := e.pass(w)
	if st.Submitted != len(routed) || !st.OK() {
		t.Fatalf("first pass %+v, want %d submitted", st, len(routed))
	}
	got := e.received()
	for _, svc := range routed {
		id := ids[svc]
		hc := e.hcase(id)
		if hc.Step != server.StepSubmitted || hc.SubmissionID == "" || hc.Status != server.StepSubmitted {
			t.Errorf("%s: hand-off %+v", svc, hc)
		}
		// Its event log was read once; a running worker reads it again
		// in about 10 seconds, not at every pass.
		if wait := time.Until(hc.NextAttemptAt); wait < 5*time.Second || wait > 15*time.Second {
			t.Errorf("%s: next event poll in %v", svc, wait)
		}
		r, ok := got[hc.FitConnectCaseID]
		if !ok {
			t.Errorf("%s: the double has no submission of case %s", svc, hc.FitConnectCaseID)
			continue
		}
		if r.Creates != 1 || r.SubmissionID != hc.SubmissionID {
			t.Errorf("%s: created %d times, submission %s (kept %s)", svc, r.Creates, r.SubmissionID, hc.SubmissionID)
		}
		if len(r.Attachments) != len(hc.AttachmentsDone) {
			t.Errorf("%s: %d attachments arrived, %d kept as uploaded", svc, len(r.Attachments), len(hc.AttachmentsDone))
		}
		svcDef, _ := e.cat.Service(svc)
		if r.Service != svcDef.LeiKa {
			t.Errorf("%s: arrived as service %s", svc, r.Service)
		}
		if v := e.status(id); v.Fields["status"] != string(domain.StatusSubmitted) || v.Fields["submitted_at"] == "" {
			t.Errorf("%s: case status %q submitted_at %q", svc, v.Fields["status"], v.Fields["submitted_at"])
		}
	}
	if n := len(e.fc.Submissions()); n != len(routed) {
		t.Fatalf("the double received %d submissions, want %d", n, len(routed))
	}
	if v := e.status(unrouted); v.Fields["status"] != string(domain.StatusSealed) {
		t.Errorf("unrouted case: status %s", v.Fields["status"])
	}
	if hc := e.hcase(unrouted); hc.Step != server.StepDue {
		t.Errorf("unrouted case: step %s, want due", hc.Step)
	}

	again := e.pass(w)
	if again.Submitted != 0 || !again.OK() {
		t.Fatalf("second pass %+v, want nothing new", again)
	}
	if n := len(e.fc.Submissions()); n != len(routed) {
		t.Fatalf("after the second pass the double has %d submissions, want %d", n, len(routed))
	}
}

// The receiving authority's answers reach the cases as town-hall changes
// (accepted; rejected with the reason) that the laptop pulls; each is
// written once, however often the log is read.
func TestWorker_AnswersReachTheCase(t *testing.T) {
	e := newEnv(t, fitconnecttest.Options{})
	acc, rej, open := e.seal("anmeldung"), e.seal("hundeanmeldung"), e.seal("meldebescheinigung")
	e.sync()
	e.route()
	w := e.worker(nil)
	if st := e.pass(w); st.Submitted != 3 {
		t.Fatalf("pass %+v", st)
	}
	if err := e.fc.Accept(e.hcase(acc).SubmissionID); err != nil {
		t.Fatal(err)
	}
	why := fitconnecttest.Problem{Type: "https://example.org/problems/chip", Title: "Chipnummer unbekannt",
		Detail: "Die Chipnummer ist im Register nicht verzeichnet."}
	if err := e.fc.Reject(e.hcase(rej).SubmissionID, []fitconnecttest.Problem{why}); err != nil {
		t.Fatal(err)
	}
	st := e.pass(w)
	if st.Accepted != 1 || st.Rejected != 1 || !st.OK() {
		t.Fatalf("pass %+v, want one accepted, one rejected", st)
	}
	a, r := e.status(acc), e.status(rej)
	if a.Fields["status"] != string(domain.StatusAccepted) || a.Fields[domain.FieldDecidedBy] != handoff.Actor {
		t.Errorf("accepted case: %v", a.Fields)
	}
	if r.Fields["status"] != string(domain.StatusRejected) || !strings.Contains(r.Fields[domain.FieldDecisionNote], "Chipnummer unbekannt") {
		t.Errorf("rejected case: status %s, note %q", r.Fields["status"], r.Fields[domain.FieldDecisionNote])
	}
	if hc := e.hcase(rej); hc.Step != server.StepRejected || !strings.Contains(hc.Reason, "nicht verzeichnet") {
		t.Errorf("rejected hand-off %+v", hc)
	}
	if o := e.status(open); o.Fields["status"] != string(domain.StatusSubmitted) {
		t.Errorf("unanswered case: %s", o.Fields["status"])
	}
	versions := map[string]int64{acc: a.Version, rej: r.Version}
	if st := e.pass(w); st.Accepted != 0 || st.Rejected != 0 {
		t.Fatalf("answers taken twice: %+v", st)
	}
	for id, v := range versions {
		if now := e.status(id).Version; now != v {
			t.Errorf("case %s changed again (version %d → %d)", id, v, now)
		}
	}
	// The laptop learns the answers with its next sync.
	e.sync()
	for id, want := range map[string]domain.Status{acc: domain.StatusAccepted, rej: domain.StatusRejected} {
		f := e.laptopFields(id)
		if f["status"] != string(want) {
			t.Errorf("laptop: case %s is %s, want %s", id, f["status"], want)
		}
	}
}

// laptopFields are a case's plain fields on the laptop.
func (e *env) laptopFields(id string) domain.Fields {
	e.t.Helper()
	rs, err := e.ss.List(e.ctx, domain.TypeCase, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, r := range rs {
		if r.ID == id {
			return r.Fields
		}
	}
	e.t.Fatalf("case %s not on the laptop", id)
	return nil
}

// A destination key that fails a check is refused: nothing is created,
// the case stops with the reason, and the pass says it did not go well.
func TestWorker_RefusesBadKeys(t *testing.T) {
	for _, c := range []struct {
		name string
		opt  fitconnecttest.Options
		want string
	}{
		{"2048 bits", fitconnecttest.Options{KeyBits: 2048}, "4096"},
		{"no wrapKey", fitconnecttest.Options{OmitWrapKey: true}, "key_ops"},
		{"wrong root", fitconnecttest.Options{WrongRoot: true}, "chain"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, c.opt)
			id := e.seal("meldebescheinigung")
			e.sync()
			e.route()
			st := e.pass(e.worker(nil))
			if st.Failed != 1 || st.OK() {
				t.Fatalf("pass %+v, want the case failed", st)
			}
			hc := e.hcase(id)
			if hc.Step != server.StepFailed || hc.SubmissionID != "" || !strings.Contains(hc.LastError, c.want) {
				t.Fatalf("hand-off %+v, want failed before create, reason about %s", hc, c.want)
			}
			if n := len(e.fc.Submissions()); n != 0 {
				t.Fatalf("the double received %d submissions", n)
			}
			if v := e.status(id); v.Fields["status"] != string(domain.StatusSealed) {
				t.Fatalf("case status %s", v.Fields["status"])
			}
		})
	}
}

// A destination that does not list the data's schema for the service is
// not sent the case: it stops before create, with the reason.
func TestWorker_RefusesUnlistedSchema(t *testing.T) {
	e := newEnv(t, fitconnecttest.Options{SchemaURIs: map[string][]string{
		leika(t, "meldebescheinigung"): {"https://schema.example.org/melde/9.9.9/melde.schema.json"}}})
	id := e.seal("meldebescheinigung")
	e.sync()
	e.route()
	if st := e.pass(e.worker(nil)); st.Failed != 1 {
		t.Fatalf("pass %+v", st)
	}
	if hc := e.hcase(id); hc.Step != server.StepFailed || hc.SubmissionID != "" || !strings.Contains(hc.LastError, "schema") {
		t.Fatalf("hand-off %+v", hc)
	}
}

func leika(t *testing.T, service string) string {
	t.Helper()
	cat, err := catalog.LoadEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	svc, ok := cat.Service(service)
	if !ok {
		t.Fatalf("no service %s", service)
	}
	return svc.LeiKa
}

// A tampered or unsigned event is refused and counted once, never
// applied.
func TestWorker_RefusesForgedEvents(t *testing.T) {
	for _, forge := range []string{"tampered", "unsigned"} {
		t.Run(forge, func(t *testing.T) {
			e := newEnv(t, fitconnecttest.Options{})
			id := e.seal("meldebescheinigung")
			e.sync()
			e.route()
			w := e.worker(nil)
			e.pass(w)
			sub := e.hcase(id).SubmissionID
			if forge == "tampered" {
				e.fc.Tamper(sub)
			} else {
				e.fc.Unsigned(sub)
			}
			if err := e.fc.Accept(sub); err != nil {
				t.Fatal(err)
			}
			st, err := w.RunOnce(e.ctx)
			if err != nil {
				t.Fatal(err)
			}
			if st.Refused != 1 || st.Accepted != 0 || st.OK() {
				t.Fatalf("pass %+v, want one refused event", st)
			}
			if v := e.status(id); v.Fields["status"] != string(domain.StatusSubmitted) {
				t.Fatalf("a forged event set the case to %s", v.Fields["status"])
			}
			if hc := e.hcase(id); hc.EventsRefused != 1 || hc.Step != server.StepSubmitted {
				t.Fatalf("hand-off %+v", hc)
			}
			// The refusal is counted once; the case waits for a genuine answer.
			if st, _ := w.RunOnce(e.ctx); st.Refused != 0 || st.Accepted != 0 {
				t.Fatalf("second pass %+v", st)
			}
			if v := e.status(id); v.Fields["status"] != string(domain.StatusSubmitted) {
				t.Fatalf("case %s", v.Fields["status"])
			}
		})
	}
}

// A storm of 503s is ridden out with backoff; one longer than a pass's
// tries leaves the cases waiting (a non-zero --once) for the next pass,
// which sends them once.
func TestWorker_SurvivesServerErrorStorm(t *testing.T) {
	e := newEnv(t, fitconnecttest.Options{})
	var ids []string
	for range 2 {
		ids = append(ids, e.seal("meldebescheinigung"))
	}
	e.sync()
	e.route()
	w := e.worker(func(c *handoff.Config) { c.Tries = 6 })
	e.fc.FailNext(4)
	if st := e.pass(w); st.Submitted != 2 || !st.OK() {
		t.Fatalf("pass through 4 failures %+v", st)
	}
	for range 2 {
		ids = append(ids, e.seal("meldebescheinigung"))
	}
	e.sync()
	e.fc.FailNext(1000)
	st := e.pass(w)
	if st.Waiting == 0 || st.OK() {
		t.Fatalf("pass in a long storm %+v, want cases waiting", st)
	}
	e.fc.FailNext(0)
	var waiting []string
	for _, id := range ids {
		if hc := e.hcase(id); hc.Step != server.StepSubmitted {
			// The first case tried keeps its failure; the pass stopped there.
			if len(waiting) == 0 && (hc.LastError == "" || hc.Attempts == 0 || hc.NextAttemptAt.IsZero()) {
				t.Errorf("waiting case %+v has no failure kept", hc)
			}
			waiting = append(waiting, id)
		}
	}
	// The next pass (as --once) tries them at once, backoff or not.
	if st := e.pass(w); st.Submitted != len(waiting) || !st.OK() {
		t.Fatalf("pass after the storm %+v, want %d submitted", st, len(waiting))
	}
	for _, r := range e.fc.Submissions() {
		if r.Creates != 1 {
			t.Errorf("submission %s created %d times", r.SubmissionID, r.Creates)
		}
	}
	if n := len(e.fc.Submissions()); n != len(ids) {
		t.Fatalf("%d submissions, want %d", n, len(ids))
	}
}

// A token that expires during a run is renewed, and the run goes on.
func TestWorker_RenewsExpiredToken(t *testing.T) {
	e := newEnv(t, fitconnecttest.Options{TokenLifetime: 2 * time.Second})
	first := e.seal("meldebescheinigung")
	e.sync()
	e.route()
	w := e.worker(nil)
	e.pass(w)
	before := e.fc.TokensIssued()
	time.Sleep(2500 * time.Millisecond)
	second := e.seal("meldebescheinigung")
	e.sync()
	if err := e.fc.Accept(e.hcase(first).SubmissionID); err != nil {
		t.Fatal(err)
	}
	if st := e.pass(w); st.Submitted != 1 || st.Accepted != 1 || !st.OK() {
		t.Fatalf("pass after the token expired %+v", st)
	}
	if after := e.fc.TokensIssued(); after <= before {
		t.Fatalf("tokens issued %d → %d: the expired token was not renewed", before, after)
	}
	if hc := e.hcase(second); hc.Step != server.StepSubmitted {
		t.Fatalf("second case %+v", hc)
	}
}

// A worker stopped right after create (its ids kept) or between two
// uploads is followed by one that continues the same submission: one
// submission per case, complete.
func TestWorker_ContinuesAfterStop(t *testing.T) {
	for _, point := range []string{"create", "attachment:1", "attachment:2"} {
		t.Run(point, func(t *testing.T) {
			e := newEnv(t, fitconnecttest.Options{})
			id := e.seal("anmeldung")
			e.sync()
			e.route()
			ctx, cancel := context.WithCancel(e.ctx)
			w := e.worker(func(c *handoff.Config) {
				c.Pause = func(p string) {
					if p == point {
						cancel()
					}
				}
			})
			if _, err := w.RunOnce(ctx); err == nil {
				t.Fatal("the stopped pass reported no error")
			}
			hc := e.hcase(id)
			if hc.SubmissionID == "" || hc.Step == server.StepSubmitted {
				t.Fatalf("after the stop: %+v", hc)
			}
			if err := w.Release(e.ctx); err != nil {
				t.Fatal(err)
			}
			if st := e.pass(e.worker(nil)); st.Submitted != 1 || !st.OK() {
				t.Fatalf("continued pass %+v", st)
			}
			subs := e.fc.Submissions()
			if len(subs) != 1 || subs[0].Creates != 1 || subs[0].SubmissionID != hc.SubmissionID {
				t.Fatalf("received %+v, want the one submission %s", subs, hc.SubmissionID)
			}
			if len(subs[0].Attachments) != len(e.hcase(id).AttachmentsDone) || len(subs[0].Attachments) == 0 {
				t.Fatalf("%d attachments arrived", len(subs[0].Attachments))
			}
		})
	}
}

// A second worker of the same tenant waits for the first one's lease.
func TestWorker_OneWorkerPerTenant(t *testing.T) {
	e := newEnv(t, fitconnecttest.Options{})
	first := e.worker(func(c *handoff.Config) { c.Owner, c.Lease = "first", time.Hour })
	e.pass(first)
	second := e.worker(func(c *handoff.Config) { c.Owner, c.Lease = "second", 100*time.Millisecond })
	ctx, cancel := context.WithTimeout(e.ctx, 3*time.Second)
	defer cancel()
	if _, err := second.RunOnce(ctx); err == nil {
		t.Fatal("a second worker ran beside the first")
	}
	if err := first.Release(e.ctx); err != nil {
		t.Fatal(err)
	}
	e.pass(second)
}

// A case the town hall decided before its turn came is skipped, not sent;
// a case it decided after it was sent keeps the town hall's decision when
// the authority's answer comes.
func TestWorker_TownHallDecisionStands(t *testing.T) {
	e := newEnv(t, fitconnecttest.Options{})
	early, late := e.seal("meldebescheinigung"), e.seal("meldebescheinigung")
	e.sync()
	decide := func(id string, s domain.Status, note string) {
		t.Helper()
		v := e.status(id)
		d := domain.Decision{Status: s, Note: note, By: "sb.meier", At: time.Now()}
		if _, err := e.srv.Central(e.ctx, tenant, server.CentralChange{RecordID: id, RecordType: domain.TypeCase,
			Op: "update", BaseVersion: v.Version, IfVersion: v.Version, Set: d.Fields(), Clerk: "sb.meier"}); err != nil {
			t.Fatal(err)
		}
	}
	w := e.worker(nil)
	if st := e.pass(w); st.Added != 2 || st.Submitted != 0 { // found, but no route yet
		t.Fatalf("pass without routes %+v", st)
	}
	decide(early, domain.StatusAccepted, "")
	e.route()
	if st := e.pass(w); st.Submitted != 1 || !st.OK() {
		t.Fatalf("pass %+v", st)
	}
	if hc := e.hcase(early); hc.Step != server.StepSkipped || hc.SubmissionID != "" {
		t.Fatalf("case decided before its turn: %+v", hc)
	}
	decide(late, domain.StatusRejected, "Unterlagen fehlen")
	if err := e.fc.Accept(e.hcase(late).SubmissionID); err != nil {
		t.Fatal(err)
	}
	if st := e.pass(w); st.Accepted != 1 {
		t.Fatalf("pass %+v", st)
	}
	v := e.status(late)
	if v.Fields["status"] != string(domain.StatusRejected) || v.Fields[domain.FieldDecidedBy] != "sb.meier" {
		t.Fatalf("the authority's answer overwrote the town hall's decision: %v", v.Fields)
	}
	if hc := e.hcase(late); hc.Step != server.StepAccepted {
		t.Fatalf("the authority's answer is not kept: %+v", hc)
	}
	if len(e.fc.Submissions()) != 1 {
		t.Fatalf("%d submissions", len(e.fc.Submissions()))
	}
}

// When the answer to a submit is lost (the service took it; a gateway
// answers 502), the worker asks the service whether the submit arrived
// before it tries again: it did, and the case is submitted, once.
func TestWorker_LostSubmitAnswer(t *testing.T) {
	e := newEnv(t, fitconnecttest.Options{})
	id := e.seal("meldebescheinigung")
	e.sync()
	e.route()
	e.fc.DropNextSubmitAnswer()
	w := e.worker(nil)
	if st := e.pass(w); st.Submitted != 1 || !st.OK() {
		t.Fatalf("pass %+v (case %+v)", st, e.hcase(id))
	}
	if subs := e.fc.Submissions(); len(subs) != 1 || subs[0].Creates != 1 {
		t.Fatalf("received %+v", subs)
	}
}

// A running worker that met an outage tries the waiting case again after
// its backoff, at a later pass, and submits it once.
func TestWorker_RunRetriesAfterBackoff(t *testing.T) {
	e := newEnv(t, fitconnecttest.Options{})
	id := e.seal("meldebescheinigung")
	e.sync()
	e.route()
	e.fc.FailNext(1000)
	w := e.worker(func(c *handoff.Config) { c.Tries = 2 })
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.Run(ctx, 50*time.Millisecond)
	}()
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, "the case waiting after the outage", func() bool {
		c, err := e.srv.Handoff().HandoffCase(e.ctx, tenant, id)
		return err == nil && c.Attempts > 0 && c.LastError != ""
	})
	e.fc.FailNext(0)
	waitFor(t, "the case submitted after the outage", func() bool { return e.step(id) == server.StepSubmitted })
	if subs := e.fc.Submissions(); len(subs) != 1 || subs[0].Creates != 1 {
		t.Fatalf("received %+v", subs)
	}
}
