package handoff

// This file brings the receiving authority's answer back: the event log of
// each submitted case is read (every token verified by the client), the
// entries not yet handled are taken in log order, and accept-submission /
// reject-submission become the case's status, written as a town-hall
// change exactly as a decision in the office is, so that it syncs to the
// laptops. The answer is kept in the hand-off state before the change is
// written; a case whose answer is kept but not yet written is written on
// the next poll, and a change that finds the status already set writes
// nothing: each answer reaches the case once.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/fitconnect"
	"github.com/buergerkoffer/kit/internal/server"
)

// pollAnswers polls the events of the submitted cases (only the one with
// FIT-Connect case id only, if not ""; only those whose next poll is due
// by due, if not zero) and writes the answers, also those kept but not yet
// written to their case.
func (w *Worker) pollAnswers(ctx context.Context, only string, due time.Time) (Stats, error) {
	var st Stats
	queries := []server.HandoffQuery{
		{Tenant: w.cfg.Tenant, Steps: []string{server.StepSubmitted}, Due: due},
		{Tenant: w.cfg.Tenant, Steps: []string{server.StepAccepted, server.StepRejected}, StatusBehind: true},
	}
	for _, q := range queries {
		err := w.eachCase(ctx, q, func(c *server.HandoffCase) error {
			if only != "" && c.FitConnectCaseID != only {
				return nil
			}
			got, err := w.answer(ctx, c)
			st.add(got)
			if errors.Is(err, ErrTemporary) {
				st.Waiting++
				return nil
			}
			return err
		})
		if err != nil {
			return st, err
		}
	}
	return st, nil
}

// eachCase calls fn for every case q selects, in feed order, page by page.
func (w *Worker) eachCase(ctx context.Context, q server.HandoffQuery, fn func(*server.HandoffCase) error) error {
	q.Limit = 200
	for {
		cs, err := w.h.HandoffCases(ctx, q)
		if err != nil {
			return fmt.Errorf("handoff: %w", err)
		}
		for i := range cs {
			if err := fn(&cs[i]); err != nil {
				return err
			}
		}
		if len(cs) < q.Limit {
			return nil
		}
		q.AfterSeq = cs[len(cs)-1].FeedSeq
	}
}

// answer handles one case: poll its events if it waits for them, then
// write its status if the record does not have it yet.
func (w *Worker) answer(ctx context.Context, c *server.HandoffCase) (Stats, error) {
	var st Stats
	if c.Step == server.StepSubmitted {
		var err error
		if st, err = w.pollCase(ctx, c); err != nil {
			return st, err
		}
	}
	if c.Status != c.Step {
		if err := w.applyStatus(ctx, c); err != nil {
			return st, err
		}
	}
	return st, nil
}

// pollCase reads a case's event log and takes the entries after
// EventOffset, keeping the outcome before returning.
func (w *Worker) pollCase(ctx context.Context, c *server.HandoffCase) (Stats, error) {
	var st Stats
	if w.cfg.Sender == nil {
		return st, nil
	}
	var log fitconnect.EventLog
	err := w.try(ctx, c, func(ctx context.Context) error {
		var err error
		log, err = w.cfg.Sender.Events(ctx, c.FitConnectCaseID, c.DestinationID, c.SubmissionID)
		return err
	})
	if err != nil {
		if isPermanent(err) {
			w.log.Error("event log not readable", "case", c.CaseID, "err", reason(err))
			st.Waiting++
			return st, nil
		}
		return st, err
	}
	entries := inOrder(log)
	for _, e := range entries[min(c.EventOffset, len(entries)):] {
		if e.refused != nil {
			c.EventsRefused++
			st.Refused++
			w.log.Warn("event refused", "case", c.CaseID, "submission", c.SubmissionID, "index", e.index, "err", e.refused)
			continue
		}
		switch e.ev.Type {
		case fitconnect.EventAccept:
			c.Step, c.Reason = server.StepAccepted, ""
			st.Accepted++
		case fitconnect.EventReject:
			c.Step, c.Reason = server.StepRejected, rejectReason(e.ev.Problems)
			st.Rejected++
		}
		if c.Step != server.StepSubmitted {
			w.log.Info("answer received", "case", c.CaseID, "submission", c.SubmissionID, "step", c.Step)
		}
	}
	c.EventOffset = max(c.EventOffset, len(entries))
	if c.Step == server.StepSubmitted {
		now := w.cfg.Now()
		c.NextAttemptAt = now.Add(eventPollGap(now.Sub(c.SubmittedAt)))
	} else {
		c.NextAttemptAt = time.Time{}
	}
	return st, w.save(ctx, c)
}

// eventPollGap is how long a running worker waits before it reads again
// the event log of a case submitted age ago and not yet answered: a tenth
// of its age, from 10 seconds to an hour, so that thousands of cases
// waiting for days do not cost thousands of requests every pass. A
// callback reads the case at once.
func eventPollGap(age time.Duration) time.Duration {
	return min(max(age/10, 10*time.Second), time.Hour)
}

// entry is one position of an event log: a verified event or a refusal.
type entry struct {
	index   int
	ev      fitconnect.Event
	refused error
}

// inOrder merges a log's verified events and refusals back into log order.
func inOrder(log fitconnect.EventLog) []entry {
	n := len(log.Events) + len(log.Refused)
	out := make([]entry, n)
	refused := map[int]error{}
	for _, r := range log.Refused {
		refused[r.Index] = r.Err
		if r.Err == nil {
			refused[r.Index] = fitconnect.ErrEventRefused
		}
	}
	k := 0
	for i := range out {
		out[i].index = i
		if err, ok := refused[i]; ok {
			out[i].refused = err
			continue
		}
		if k < len(log.Events) {
			out[i].ev = log.Events[k]
			k++
		}
	}
	return out
}

// rejectReason is the reason a rejection shows: the problems' titles and
// details.
func rejectReason(ps []fitconnect.Problem) string {
	var parts []string
	for _, p := range ps {
		s := strings.TrimSpace(p.Title)
		if d := strings.TrimSpace(p.Detail); d != "" {
			if s != "" {
				s += ": "
			}
			s += d
		}
		if s != "" {
			parts = append(parts, s)
		}
	}
	r := strings.Join(parts, "; ")
	if r == "" {
		r = "Von der empfangenden Behörde ohne Begründung abgelehnt."
	}
	if rs := []rune(r); len(rs) > domain.MaxDecisionNote {
		r = string(rs[:domain.MaxDecisionNote])
	}
	return r
}

// applyStatus writes the status of a case's step to its record, as a
// town-hall change based on the version it read (again if the record
// changed meanwhile). A status the record has already is not written
// again; a case the town hall decided itself keeps its decision.
func (w *Worker) applyStatus(ctx context.Context, c *server.HandoffCase) error {
	for tries := 0; ; tries++ {
		v, err := w.srv.Record(ctx, w.cfg.Tenant, c.CaseID)
		if err != nil {
			return fmt.Errorf("handoff: %w", err)
		}
		set, ok := w.statusChange(c, domain.Status(v.Fields[domain.FieldStatus]))
		if !ok {
			c.Status = c.Step
			return w.save(ctx, c)
		}
		_, err = w.srv.Central(ctx, w.cfg.Tenant, server.CentralChange{RecordID: c.CaseID, RecordType: domain.TypeCase,
			Op: "update", BaseVersion: v.Version, IfVersion: v.Version, Set: set, Clerk: Actor})
		if errors.Is(err, server.ErrStale) && tries < 5 {
			continue
		}
		if err != nil {
			return fmt.Errorf("handoff: status of case %s: %w", c.CaseID, err)
		}
		c.Status = c.Step
		w.log.Info("case status written", "case", c.CaseID, "status", c.Step)
		return w.save(ctx, c)
	}
}

// statusChange is what the case's record gets for the case's step, given
// its status now; ok is false if it gets nothing.
func (w *Worker) statusChange(c *server.HandoffCase, now domain.Status) (domain.Fields, bool) {
	switch c.Step {
	case server.StepSubmitted:
		if now != domain.StatusSealed {
			return nil, false
		}
		return domain.Fields{domain.FieldStatus: string(domain.StatusSubmitted),
			"submitted_at": c.SubmittedAt.UTC().Format(time.RFC3339Nano)}, true
	case server.StepAccepted, server.StepRejected:
		target := domain.Status(c.Step)
		if now == target || !now.Decidable() {
			if now != target {
				w.log.Warn("case decided at the town hall already; the authority's answer is kept beside it",
					"case", c.CaseID, "status", string(now), "answer", c.Step)
			}
			return nil, false
		}
		d := domain.Decision{Status: target, Note: c.Reason, By: Actor, At: w.cfg.Now()}
		return d.Fields(), true
	}
	return nil, false
}
