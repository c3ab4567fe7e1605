// Package handoff owns the hand-off of sealed cases to the authorities'
// specialist procedures through FIT-Connect (`syncd handoff`): it finds
// the sealed cases of routed services in the tenant's feed, submits each
// exactly once (its submission's ids and every finished step are kept in
// the server's database before the next step starts, so a worker killed at
// any point continues the same submission), retries what failed for a
// passing reason, stops a case on a problem the service names, and brings
// the receiving authority's answer back to the case as a town-hall change
// that syncs to the laptops.
//
// It consumes small interfaces (Sender, Builder) that the FIT-Connect
// client (package fitconnect) and the case's document (package casedoc)
// satisfy; the package holds no network or crypto code of its own.
package handoff

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/buergerkoffer/kit/internal/backoff"
	"github.com/buergerkoffer/kit/internal/fitconnect"
	"github.com/buergerkoffer/kit/internal/handoff/casedoc"
	"github.com/buergerkoffer/kit/internal/server"
)

// Encrypter makes a JWE for a checked recipient (fitconnect.Recipient).
type Encrypter interface {
	Encrypt(plain []byte) (string, error)
}

// Sender is what the worker asks of the submission service: the methods of
// *fitconnect.Client it uses (ClientSender adapts one).
type Sender interface {
	Recipient(ctx context.Context, destinationID string, service fitconnect.ServiceType) (Encrypter, error)
	CreateSubmission(ctx context.Context, destinationID string, service fitconnect.ServiceType, attachmentIDs []string) (fitconnect.Created, error)
	UploadAttachment(ctx context.Context, submissionID, attachmentID, jwe string) error
	Submit(ctx context.Context, submissionID, encryptedMetadata, encryptedData string) error
	Submission(ctx context.Context, submissionID string) (fitconnect.Submission, error)
	Events(ctx context.Context, caseID, destinationID, submissionID string) (fitconnect.EventLog, error)
}

// ClientSender adapts a *fitconnect.Client to Sender.
type ClientSender struct{ *fitconnect.Client }

// Recipient returns the client's checked recipient.
func (c ClientSender) Recipient(ctx context.Context, destinationID string, service fitconnect.ServiceType) (Encrypter, error) {
	r, err := c.Client.Recipient(ctx, destinationID, service)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Builder makes the document a sealed case hands off (casedoc.Build).
type Builder func(ctx context.Context, tenant, caseID string) (casedoc.Document, error)

// Actor is the name the worker's changes to a case carry (decided_by, the
// change's clerk).
const Actor = "fit-connect"

// Config is a worker's.
type Config struct {
	Server *server.Server
	Tenant string
	Sender Sender  // nil: dry runs only
	Build  Builder // default: casedoc.Build on Server
	// Metadata builds the metadata document (default fitconnect.Metadata).
	Metadata func(fitconnect.Content) ([]byte, error)
	Log      *slog.Logger
	Now      func() time.Time
	// Retry is the wait between tries of one request that failed for a
	// passing reason (network, 5xx, 429); Tries bounds them per step and
	// pass (default 6). A case still failing waits Retry.Delay(attempts)
	// before the next pass tries it again.
	Retry backoff.Policy
	Tries int
	// Parallel is how many cases are handed off at a time (default 4).
	Parallel int
	// Owner names this worker in the tenant's lease; Lease is how long
	// the lease holds without renewal (default 1m).
	Owner string
	Lease time.Duration
	// Pause, if set, is called at each point a crash test may kill the
	// worker: "create" (the submission's ids are kept), "attachment:N"
	// (the N-th attachment's upload is kept, from 1) and "submit" (the
	// service took the submit; the worker has not kept it yet).
	Pause func(point string)
}

// Stats count what one pass did.
type Stats struct {
	Added     int // cases found sealed in the feed
	Submitted int
	Accepted  int
	Rejected  int
	Failed    int // cases stopped by a problem
	Waiting   int // cases left to a later pass after passing failures
	Refused   int // events refused (bad or missing signature)
}

// OK reports whether the pass went well: nothing failed, nothing is left
// waiting, no event was refused.
func (s Stats) OK() bool { return s.Failed == 0 && s.Waiting == 0 && s.Refused == 0 }

func (s *Stats) add(o Stats) {
	s.Added += o.Added
	s.Submitted += o.Submitted
	s.Accepted += o.Accepted
	s.Rejected += o.Rejected
	s.Failed += o.Failed
	s.Waiting += o.Waiting
	s.Refused += o.Refused
}

// Errors of the worker.
var (
	// ErrTemporary: the submission service failed for a passing reason
	// as often as a pass tries; the pass stops and a later one goes on.
	ErrTemporary = errors.New("handoff: submission service unavailable")
	// ErrNotSealed: the case is no longer sealed (decided meanwhile).
	ErrNotSealed = errors.New("handoff: case is not sealed")
	// ErrSchemaNotListed: the destination does not list the schema of
	// the case's data among the submission schemas of its service.
	ErrSchemaNotListed = errors.New("handoff: the destination does not take this data schema")
)

// Worker hands off one tenant's cases.
type Worker struct {
	cfg  Config
	srv  *server.Server
	h    server.HandoffStore
	log  *slog.Logger
	poke chan string // case ids (FIT-Connect's) whose events to poll now; "" all
	mu   sync.Mutex  // guards recipients
	// recipients are the checked recipients of this pass, by destination
	// and service.
	recipients map[string]Encrypter
}

// New makes a worker.
func New(cfg Config) (*Worker, error) {
	if cfg.Server == nil || cfg.Tenant == "" {
		return nil, errors.New("handoff: a server and a tenant are required")
	}
	if cfg.Build == nil {
		srv := cfg.Server
		cfg.Build = func(ctx context.Context, tenant, caseID string) (casedoc.Document, error) {
			return casedoc.Build(ctx, srv, tenant, caseID)
		}
	}
	if cfg.Metadata == nil {
		cfg.Metadata = fitconnect.Metadata
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Retry == (backoff.Policy{}) {
		cfg.Retry = backoff.Policy{Min: 500 * time.Millisecond, Max: time.Minute, Jitter: true}
	}
	if cfg.Tries <= 0 {
		cfg.Tries = 6
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = 4
	}
	if cfg.Lease <= 0 {
		cfg.Lease = time.Minute
	}
	if cfg.Owner == "" {
		cfg.Owner = fmt.Sprintf("handoff-%d", time.Now().UnixNano())
	}
	if cfg.Pause == nil {
		cfg.Pause = func(string) {}
	}
	return &Worker{cfg: cfg, srv: cfg.Server, h: cfg.Server.Handoff(), log: cfg.Log.With("tenant", cfg.Tenant),
		poke: make(chan string, 64)}, nil
}

// Poke asks the running worker to poll the events of a FIT-Connect case
// now ("" for every submitted case); it never blocks.
func (w *Worker) Poke(fitCaseID string) {
	select {
	case w.poke <- fitCaseID:
	default:
	}
}

// Release gives up the tenant's lease (at the end of a run).
func (w *Worker) Release(ctx context.Context) error {
	return w.h.ReleaseHandoffLease(ctx, w.cfg.Tenant, w.cfg.Owner)
}

// takeLease takes the tenant's lease, waiting while another worker's
// holds, at most wait.
func (w *Worker) takeLease(ctx context.Context, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		now := w.cfg.Now()
		err := w.h.TakeHandoffLease(ctx, w.cfg.Tenant, w.cfg.Owner, now, now.Add(w.cfg.Lease))
		if err == nil {
			return nil
		}
		if !errors.Is(err, server.ErrLeaseHeld) || time.Now().After(deadline) {
			return fmt.Errorf("handoff: %w", err)
		}
		w.log.Info("another hand-off worker holds the lease; waiting")
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// leased runs fn while this worker holds the tenant's lease: it takes the
// lease (waiting for another worker's to run out), renews it every third
// of its length for as long as fn runs, however long one case takes, and
// cancels fn's context when a renewal fails, so that a worker that lost
// its lease stops before another one takes its cases.
func (w *Worker) leased(ctx context.Context, fn func(context.Context) (Stats, error)) (Stats, error) {
	if err := w.takeLease(ctx, w.cfg.Lease+5*time.Second); err != nil {
		return Stats{}, err
	}
	run, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(w.cfg.Lease / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-run.Done():
				return
			case <-t.C:
				if err := w.takeLease(run, 0); err != nil {
					cancel(err)
					return
				}
			}
		}
	}()
	st, err := fn(run)
	close(stop)
	wg.Wait()
	if lost := context.Cause(run); ctx.Err() == nil && lost != nil && !errors.Is(lost, context.Canceled) {
		err = errors.Join(err, lost)
	}
	return st, err
}

// RunOnce is one pass: take the lease, find what was sealed since the last
// pass, hand off every case still to send (also one waiting after a
// failure), and poll the answers of all submitted ones. The error is the pass's (database, lease, context); how
// the cases fared is in Stats.
func (w *Worker) RunOnce(ctx context.Context) (Stats, error) { return w.pass(ctx, false) }

// pass is RunOnce; scheduled (Run's passes) takes only the cases whose
// next attempt or poll is due, not all.
func (w *Worker) pass(ctx context.Context, scheduled bool) (Stats, error) {
	return w.leased(ctx, func(ctx context.Context) (Stats, error) { return w.passLeased(ctx, scheduled) })
}

func (w *Worker) passLeased(ctx context.Context, scheduled bool) (Stats, error) {
	var st Stats
	added, err := w.scan(ctx)
	st.Added = added
	if err != nil {
		return st, err
	}
	var due time.Time
	if scheduled {
		due = w.cfg.Now()
	}
	sent, err := w.handOffDue(ctx, due)
	st.add(sent)
	if err != nil {
		return st, err
	}
	answers, err := w.pollAnswers(ctx, "", due)
	st.add(answers)
	return st, err
}

// Run runs passes every poll, and polls a case's events at once when a
// callback pokes it, until ctx ends. Its passes read a submitted case's
// event log less often the longer it waits for its answer (eventPollGap).
func (w *Worker) Run(ctx context.Context, poll time.Duration) error {
	defer w.Release(context.WithoutCancel(ctx))
	for {
		st, err := w.pass(ctx, true)
		if ctx.Err() != nil {
			return nil
		}
		w.logPass(st, err)
		if !w.wait(ctx, poll) {
			return nil
		}
	}
}

// wait waits for the next pass, polling the events of each case a
// callback pokes meanwhile; false when ctx ended.
func (w *Worker) wait(ctx context.Context, poll time.Duration) bool {
	timer := time.NewTimer(poll)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-timer.C:
			return true
		case id := <-w.poke:
			w.logPass(w.leased(ctx, func(ctx context.Context) (Stats, error) {
				return w.pollAnswers(ctx, id, time.Time{})
			}))
		}
	}
}

func (w *Worker) logPass(st Stats, err error) {
	if err != nil {
		w.log.Error("hand-off pass failed", "err", err)
		return
	}
	w.log.Info("hand-off pass", "added", st.Added, "submitted", st.Submitted, "accepted", st.Accepted,
		"rejected", st.Rejected, "failed", st.Failed, "waiting", st.Waiting, "events_refused", st.Refused)
}

// scan adds what was sealed since the last scan.
func (w *Worker) scan(ctx context.Context) (int, error) {
	total := 0
	for {
		n, end, err := w.h.ScanHandoff(ctx, w.cfg.Tenant, 1000, w.cfg.Now())
		if err != nil {
			return total, fmt.Errorf("handoff: %w", err)
		}
		total += n
		if end {
			return total, nil
		}
	}
}
