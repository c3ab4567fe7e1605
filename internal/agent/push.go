package agent

// The pipelined push. A batch's round trip (the server merging it) is
// most of a push; reading the next batch from the store and recording the
// previous answer are the rest. They overlap: while batch k is on the
// wire, a helper goroutine records the answer to batch k-1 and then reads
// (claims) batch k+1, so when k's answer arrives k+1 goes out at once.
//
// At most two batches are in flight (claimed: marked in the store, answer
// not yet recorded): the one on the wire, and either the one whose answer
// is being recorded or the one claimed to follow it. A batch is marked in
// the store before it is sent (store.ClaimPush), so the next claim skips
// it and a crash leaves a trace: the next run clears the marks
// (ResetPush) and sends those changes again, which the server answers
// "duplicate" if it had them. Nothing is lost, nothing reaches the feed
// twice.
//
// Order. Batch k+1 is sent only after batch k's answer came back, so the
// server sees the batches in outbox order, and each batch carries the
// seals and keys its changes need (a repeated seal or key is idempotent).
// Attachments are uploaded before the push starts. What pipelining adds is
// that batch k+1 was read before batch k's answer was known:
//
//   - "retry" for a change of record R in batch k: the server holds R's
//     later changes back within a batch, but across batches only the agent
//     can. If the claimed batch k+1 has a change of R, it is withdrawn
//     unsent (its marks cleared) and read again after k's answer is
//     recorded, when the retried change is pending again and, being
//     older, comes first in the batch, before R's later change.
//   - "rejected" for a change of R in batch k does not hold R's later
//     changes: the server goes on with them within a batch too, and the
//     serial push sent them in the next batch all the same.
//   - A batch too large for the server is withdrawn with the one claimed
//     after it, and both are read again at half the size, so no later
//     change overtakes an earlier one.

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/buergerkoffer/kit/internal/store"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

// push sends the outbox in pipelined batches until it is empty, or until a
// batch moved nothing (every change retry or rejected): the next round
// tries again, this one does not spin.
func (s *syncRun) push(ctx context.Context) error {
	n, err := s.a.local.ResetPush(ctx)
	if err != nil {
		return local("reset push", err)
	}
	if n > 0 {
		s.a.log.Info("agent: changes sent before without a recorded answer, sending them again", "changes", n)
	}
	p := &pusher{s: s, size: s.a.cfg.PushBatch, jobs: make(chan func())}
	go p.work()
	err = p.run(ctx)
	err = errors.Join(err, p.cleanup(ctx))
	s.a.log.Debug("agent: push done", "batches", p.sent, "round_trips", p.trips, "background", p.busy,
		"waited_for_background", p.waited)
	return err
}

// pusher is the state of one pipelined push.
type pusher struct {
	s       *syncRun
	size    int   // changes per batch; halved when the server finds a batch too large
	batches int64 // batch numbers claimed so far
	cur     syncproto.PushRequest
	bg      *background // recording the last answer and claiming the next batch
	// jobs feeds the one goroutine that runs the background steps, for
	// the whole push: its stack, grown deep by SQLite, is grown once.
	jobs chan func()
	// What the pipelining hides: the time of the round trips, of the
	// background steps, and of the part of those the push waited for.
	sent                int
	trips, busy, waited time.Duration
}

// answered is a batch with the server's answer, to record.
type answered struct {
	req      syncproto.PushRequest
	res      syncproto.PushResponse
	progress map[string]string
}

// background records an answer and then claims the next batch, on the
// pusher's worker goroutine; the pusher always waits for it.
type background struct {
	done chan struct{}
	next syncproto.PushRequest // the claimed batch, empty if none
	err  error
	took time.Duration
}

func (p *pusher) run(ctx context.Context) error {
	var err error
	if p.cur, err = p.claim(ctx); err != nil {
		return err
	}
	var prev *answered // answered, not yet recorded
	for len(p.cur.Changes) > 0 {
		p.start(ctx, prev)
		prev = nil
		// Once sent, a batch stays marked until its answer is recorded: a
		// request that failed may have reached the server all the same.
		sent := p.cur
		p.cur = syncproto.PushRequest{}
		t0 := time.Now()
		res, err := p.s.c.Push(ctx, p.s.tenant, sent)
		p.trips += time.Since(t0)
		p.sent++
		if IsTooLarge(err) && len(sent.Changes) > 1 {
			if err := p.shrink(ctx, sent); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		lighten(&sent)
		moved, retried := p.count(sent, res)
		next, err := p.wait()
		if err != nil {
			return err
		}
		a := answered{req: sent, res: res, progress: p.progress()}
		if moved == 0 {
			p.s.a.log.Debug("agent: push batch moved nothing, stopping for this round",
				"retry", len(res.Results)-countStatus(res, syncproto.StatusRejected),
				"rejected", countStatus(res, syncproto.StatusRejected))
			return errors.Join(p.release(ctx, next), p.record(ctx, a))
		}
		if len(next.Changes) > 0 && !holds(retried, next) {
			p.cur, prev = next, &a
			continue
		}
		// Withdrawn (the retry rule above), or nothing was left to claim
		// while this batch was out: record the answer, then read again.
		if err := errors.Join(p.release(ctx, next), p.record(ctx, a)); err != nil {
			return err
		}
		if p.cur, err = p.claim(ctx); err != nil {
			return err
		}
	}
	return nil
}

// shrink withdraws the batch the server refused as too large (unread)
// and the one claimed after it, and claims again at half the size.
func (p *pusher) shrink(ctx context.Context, refused syncproto.PushRequest) error {
	p.size = max(1, len(refused.Changes)/2)
	p.s.a.log.Debug("agent: push batch too large, halving", "batch", p.size)
	next, err := p.wait()
	if err != nil {
		return errors.Join(err, p.release(ctx, refused))
	}
	if err := errors.Join(p.release(ctx, next), p.release(ctx, refused)); err != nil {
		return err
	}
	p.cur, err = p.claim(ctx)
	return err
}

// holds reports whether batch has a change of a record in retried.
func holds(retried map[string]bool, batch syncproto.PushRequest) bool {
	if len(retried) == 0 {
		return false
	}
	for _, c := range batch.Changes {
		if retried[c.RecordID] {
			return true
		}
	}
	return false
}

// claim reads the next batch and marks it in flight.
func (p *pusher) claim(ctx context.Context) (syncproto.PushRequest, error) {
	p.batches++
	req, err := p.s.a.local.ClaimPush(ctx, p.size, p.batches)
	if err != nil {
		return req, local("claim push", err)
	}
	return req, nil
}

// release clears the marks of a batch not sent.
func (p *pusher) release(ctx context.Context, req syncproto.PushRequest) error {
	if len(req.Changes) == 0 {
		return nil
	}
	return local("release push", p.s.a.local.ReleasePush(ctx, req))
}

// record stores the server's answer to a batch and the progress.
func (p *pusher) record(ctx context.Context, a answered) error {
	if err := p.s.a.local.AckPush(ctx, a.req, a.res); err != nil {
		return local("ack push", err)
	}
	p.s.a.setState(ctx, a.progress)
	return nil
}

// start runs the background step while a batch is on the wire: it
// records prev (if any), then claims the batch to send after this one;
// wait collects both.
func (p *pusher) start(ctx context.Context, prev *answered) {
	bg := &background{done: make(chan struct{})}
	p.bg = bg
	p.jobs <- func() {
		defer close(bg.done)
		t0 := time.Now()
		defer func() { bg.took = time.Since(t0) }()
		if prev != nil {
			if bg.err = p.record(ctx, *prev); bg.err != nil {
				return
			}
		}
		bg.next, bg.err = p.claim(ctx)
	}
}

// work runs the background steps until cleanup closes jobs.
func (p *pusher) work() {
	for job := range p.jobs {
		job()
	}
}

// lighten drops from a sent batch what recording its answer does not
// read (the sealed values, wrapped keys and seals), so the batches in
// flight hold little more than ids and plain values.
func lighten(req *syncproto.PushRequest) {
	for i := range req.Changes {
		req.Changes[i].Secret = nil
	}
	for i := range req.Keys {
		req.Keys[i].Wrapped = nil
	}
	for i := range req.Seals {
		req.Seals[i].JWE = ""
	}
	req.Audit = nil
}

// wait waits for the background step, if one runs, and returns the batch
// it claimed.
func (p *pusher) wait() (syncproto.PushRequest, error) {
	bg := p.bg
	if bg == nil {
		return syncproto.PushRequest{}, nil
	}
	t0 := time.Now()
	<-bg.done
	p.waited += time.Since(t0)
	p.busy += bg.took
	p.bg = nil
	return bg.next, bg.err
}

// cleanup runs when the push ends, however it ends: the background step
// is waited for, and batches claimed but not sent go back unsent. Failing
// to release is no loss (the next run's ResetPush clears the marks), so
// it is only logged.
func (p *pusher) cleanup(ctx context.Context) error {
	next, err := p.wait()
	close(p.jobs)
	for _, req := range []syncproto.PushRequest{next, p.cur} {
		if rerr := p.release(context.WithoutCancel(ctx), req); rerr != nil {
			p.s.a.log.Warn("agent: push: claimed batch not released, the next push sends it", "err", rerr)
		}
	}
	p.cur = syncproto.PushRequest{}
	return err
}

// count adds a batch's answer to the report and returns how many of its
// changes moved (applied or duplicate) and the records with a change to
// retry.
func (p *pusher) count(sent syncproto.PushRequest, res syncproto.PushResponse) (moved int, retried map[string]bool) {
	s := p.s
	for i, r := range res.Results {
		switch r.Status {
		case syncproto.StatusApplied:
			s.rep.Pushed++
			moved++
		case syncproto.StatusDuplicate:
			s.rep.Duplicates++
			moved++
		case syncproto.StatusRetry:
			s.rep.Retried++
			if retried == nil {
				retried = map[string]bool{}
			}
			retried[sent.Changes[i].RecordID] = true
		case syncproto.StatusRejected:
			s.rep.Rejected++
			s.done++
		}
		s.rep.Conflicts += r.Conflicts
		if r.Restamped {
			s.rep.Restamped++
		}
	}
	s.done += int64(moved)
	s.total = max(s.total, s.done) // the clerk kept writing meanwhile
	return moved, retried
}

func (p *pusher) progress() map[string]string {
	return map[string]string{store.StateProgressDone: strconv.FormatInt(p.s.done, 10),
		store.StateProgressAll: strconv.FormatInt(p.s.total, 10)}
}

func countStatus(res syncproto.PushResponse, status string) int {
	n := 0
	for _, r := range res.Results {
		if r.Status == status {
			n++
		}
	}
	return n
}
