package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/store"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

func ids(req syncproto.PushRequest) []string {
	out := make([]string, len(req.Changes))
	for i, c := range req.Changes {
		out[i] = c.ID
	}
	return out
}

// The pipelined push's in-flight cursor: a claimed batch is skipped by the
// next claim until its answer is recorded or it is released; a crash's
// leftovers are cleared by ResetPush, in outbox order again.
func TestClaimPush_InFlightBatchesAreSkippedUntilAnsweredOrReleased(t *testing.T) {
	ctx := context.Background()
	ss, _ := newSession(t)
	s := ss.Store()
	pem, kid := serverKey(t)
	if err := s.SaveEnrolment(ctx, store.Enrolment{ServerURL: "https://127.0.0.1:1", Tenant: "musterstadt",
		DeviceID: "dev-1", Token: "tok", ServerPublicKey: pem, ServerKeyID: kid}); err != nil {
		t.Fatal(err)
	}
	fs := make([]domain.Fields, 5)
	for i := range fs {
		fs[i] = domain.Fields{"place": fmt.Sprintf("Ort %d", i), "day": "2026-11-24"}
	}
	if _, err := ss.CreateBatch(ctx, domain.TypeVisit, fs); err != nil {
		t.Fatal(err)
	}
	all, err := s.NextPush(ctx, 10)
	if err != nil || len(all.Changes) != 5 {
		t.Fatalf("outbox: %d changes, %v", len(all.Changes), err)
	}
	order := ids(all)
	inFlight := func(want int64) {
		t.Helper()
		if n, err := s.PushInFlight(ctx); err != nil || n != want {
			t.Fatalf("in flight: %d, %v; want %d", n, err, want)
		}
	}

	b1, err := s.ClaimPush(ctx, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	b2, err := s.ClaimPush(ctx, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(ids(b1), ids(b2)) != fmt.Sprint(order[:2], order[2:4]) {
		t.Fatalf("claims %v %v, want %v %v", ids(b1), ids(b2), order[:2], order[2:4])
	}
	inFlight(4)

	// Batch 2 withdrawn: claimable again, in its place.
	if err := s.ReleasePush(ctx, b2); err != nil {
		t.Fatal(err)
	}
	inFlight(2)
	b3, err := s.ClaimPush(ctx, 10, 3)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(ids(b3)) != fmt.Sprint(order[2:]) {
		t.Fatalf("claim after release: %v, want %v", ids(b3), order[2:])
	}

	// Batch 1 answered, one applied, one to retry: the marks go, the
	// retried change is pending again.
	res := syncproto.PushResponse{Results: []syncproto.PushResult{
		{ID: b1.Changes[0].ID, Status: syncproto.StatusApplied, Seq: 1},
		{ID: b1.Changes[1].ID, Status: syncproto.StatusRetry}}}
	if err := s.AckPush(ctx, b1, res); err != nil {
		t.Fatal(err)
	}
	inFlight(3)

	// Batch 3 never answered (a crash): ResetPush makes it pending again,
	// after the retried change, in outbox order.
	if n, err := s.ResetPush(ctx); err != nil || n != 3 {
		t.Fatalf("reset: %d, %v; want 3", n, err)
	}
	inFlight(0)
	next, err := s.NextPush(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(ids(next)) != fmt.Sprint(order[1:]) {
		t.Fatalf("after reset: %v, want %v", ids(next), order[1:])
	}
	if n, _, _ := s.Pending(ctx); n != 4 {
		t.Errorf("pending: %d, want 4", n)
	}

	// Every answer clears its change's mark: rejected, applied, retry.
	b4, err := s.ClaimPush(ctx, 10, 4)
	if err != nil || len(b4.Changes) != 4 {
		t.Fatalf("claim: %d changes, %v", len(b4.Changes), err)
	}
	res = syncproto.PushResponse{}
	for i, st := range []string{syncproto.StatusRejected, syncproto.StatusApplied, syncproto.StatusDuplicate, syncproto.StatusRetry} {
		res.Results = append(res.Results, syncproto.PushResult{ID: b4.Changes[i].ID, Status: st, Seq: int64(i + 2), Reason: "test"})
	}
	if err := s.AckPush(ctx, b4, res); err != nil {
		t.Fatal(err)
	}
	inFlight(0)
	if n, _, _ := s.Pending(ctx); n != 1 {
		t.Errorf("pending after the answer: %d, want the retried one", n)
	}
}
