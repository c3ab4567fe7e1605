package handoff

// This file submits one case: document, metadata and recipient first
// (nothing is sent before they are right), then create → upload each
// attachment → submit, each step kept in the database before the next
// one starts. A case found in step created or uploading is one a killed
// worker left: the same submission goes on.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/fitconnect"
	"github.com/buergerkoffer/kit/internal/handoff/casedoc"
	"github.com/buergerkoffer/kit/internal/server"
)

// sendSteps are the steps of a case the worker still has to send.
var sendSteps = []string{server.StepDue, server.StepCreated, server.StepUploading}

// handOffDue hands off every routed case that is due by due (zero: every
// one, also those waiting after a failure), taken in feed order, up to
// cfg.Parallel at a time. A passing failure that outlasts its tries ends
// the pass (the service is down; the next pass tries again): no further
// case is taken, the rest wait.
func (w *Worker) handOffDue(ctx context.Context, due time.Time) (Stats, error) {
	routes, err := w.routes(ctx)
	if err != nil {
		return Stats{}, err
	}
	// A destination's key is fetched and checked once a pass, not once a
	// case; the next pass checks it anew.
	w.mu.Lock()
	w.recipients = map[string]Encrypter{}
	w.mu.Unlock()
	b := &batch{w: w, sem: make(chan struct{}, w.cfg.Parallel)}
	var after int64
	for !b.stopped() {
		cs, err := w.h.HandoffCases(ctx, server.HandoffQuery{Tenant: w.cfg.Tenant, Steps: sendSteps, Routed: true,
			Due: due, AfterSeq: after, Limit: 200})
		if err != nil {
			b.stop(fmt.Errorf("handoff: %w", err))
			break
		}
		if len(cs) == 0 {
			break
		}
		for i := range cs {
			if b.stopped() {
				break
			}
			b.start(ctx, &cs[i], routes[cs[i].Service])
		}
		after = cs[len(cs)-1].FeedSeq
	}
	return b.wait(ctx)
}

// batch is the cases of one pass in flight.
type batch struct {
	w    *Worker
	sem  chan struct{} // one token per case in flight
	wg   sync.WaitGroup
	mu   sync.Mutex // guards the rest
	st   Stats
	err  error // the error that ended the pass
	temp bool  // the pass ended on a passing failure
}

func (b *batch) stopped() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err != nil || b.temp
}

func (b *batch) stop(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err == nil {
		b.err = err
	}
}

// start hands off one case once a place is free.
func (b *batch) start(ctx context.Context, c *server.HandoffCase, route string) {
	select {
	case b.sem <- struct{}{}:
	case <-ctx.Done():
		b.stop(ctx.Err())
		return
	}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		defer func() { <-b.sem }()
		b.done(c, b.w.handOff(ctx, c, route))
	}()
}

// done counts how a case went.
func (b *batch) done(c *server.HandoffCase, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case err == nil && c.Step == server.StepSubmitted:
		b.st.Submitted++
	case err == nil && c.Step == server.StepFailed:
		b.st.Failed++
	case errors.Is(err, ErrTemporary):
		b.temp = true
	case err != nil && b.err == nil:
		b.err = err
	}
}

// wait waits for the cases in flight and returns the pass's outcome.
func (b *batch) wait(ctx context.Context) (Stats, error) {
	b.wg.Wait()
	if b.temp && b.err == nil {
		b.st.Waiting += b.w.countWaiting(ctx)
	}
	return b.st, b.err
}

// countWaiting counts the cases still to send after a pass stopped.
func (w *Worker) countWaiting(ctx context.Context) int {
	n := 0
	var after int64
	for {
		cs, err := w.h.HandoffCases(ctx, server.HandoffQuery{Tenant: w.cfg.Tenant, Steps: sendSteps, Routed: true,
			AfterSeq: after, Limit: 1000})
		if err != nil || len(cs) == 0 {
			return max(n, 1)
		}
		n += len(cs)
		after = cs[len(cs)-1].FeedSeq
	}
}

func (w *Worker) routes(ctx context.Context) (map[string]string, error) {
	rs, err := w.h.HandoffRoutes(ctx, w.cfg.Tenant)
	if err != nil {
		return nil, fmt.Errorf("handoff: %w", err)
	}
	m := map[string]string{}
	for _, r := range rs {
		m[r.Service] = r.DestinationID
	}
	return m, nil
}

// submission is one case's way through the steps.
type submission struct {
	w    *Worker
	c    *server.HandoffCase
	doc  casedoc.Document
	svc  fitconnect.ServiceType
	meta []byte
	to   Encrypter
}

// handOff takes a case as far as it goes. It returns nil when the case
// is submitted, failed or skipped (c.Step says which), ErrTemporary when
// it must wait for a later pass, and other errors for the database.
func (w *Worker) handOff(ctx context.Context, c *server.HandoffCase, route string) error {
	if c.DestinationID == "" {
		c.DestinationID = route
	}
	s := &submission{w: w, c: c}
	if c.SubmissionID != "" {
		// A killed worker's submission: first ask whether its submit
		// arrived before it died.
		done, err := s.submittedAlready(ctx)
		if err != nil {
			return w.settle(ctx, c, err)
		}
		if done {
			return s.submitted(ctx)
		}
	}
	if err := s.prepare(ctx); err != nil {
		return w.settle(ctx, c, err)
	}
	if c.SubmissionID == "" {
		if err := w.try(ctx, c, s.create); err != nil {
			return w.settle(ctx, c, err)
		}
		w.cfg.Pause("create")
	}
	if err := s.uploadAll(ctx); err != nil {
		return w.settle(ctx, c, err)
	}
	if err := w.try(ctx, c, s.submit); err != nil {
		return w.settle(ctx, c, err)
	}
	w.cfg.Pause("submit")
	return s.submitted(ctx)
}

// prepare builds the case's document and metadata and checks the
// recipient: a case whose document, metadata or destination is not right
// is never created.
func (s *submission) prepare(ctx context.Context) error {
	w, c := s.w, s.c
	status, err := w.h.CaseStatus(ctx, w.cfg.Tenant, c.CaseID)
	if err != nil {
		return fmt.Errorf("handoff: %w", err)
	}
	if status != string(domain.StatusSealed) {
		return fmt.Errorf("%w (%q)", ErrNotSealed, status)
	}
	doc, err := w.cfg.Build(ctx, w.cfg.Tenant, c.CaseID)
	if errors.Is(err, casedoc.ErrNotSealed) {
		return fmt.Errorf("%w: %w", ErrNotSealed, err)
	}
	if err != nil {
		return permanent(fmt.Errorf("document of the case: %w", err))
	}
	s.doc = doc
	s.svc = fitconnect.ServiceType{Name: doc.ServiceName, Identifier: doc.LeiKa}
	if s.meta, err = w.cfg.Metadata(content(doc, s.svc)); err != nil {
		return permanent(fmt.Errorf("metadata: %w", err))
	}
	if w.cfg.Sender == nil {
		return permanent(errors.New("no submission service configured"))
	}
	key := c.DestinationID + " " + s.svc.Identifier
	w.mu.Lock()
	to, ok := w.recipients[key]
	w.mu.Unlock()
	if !ok {
		err = w.try(ctx, c, func(ctx context.Context) error {
			var err error
			to, err = w.cfg.Sender.Recipient(ctx, c.DestinationID, s.svc)
			return err
		})
		if err != nil {
			return err
		}
		w.mu.Lock()
		w.recipients[key] = to
		w.mu.Unlock()
	}
	s.to = to
	// Every case's schema is checked, also against a cached recipient:
	// two versions of a service's schema can meet at one destination.
	if a, ok := s.to.(schemaLister); ok && !a.Accepts(doc.SchemaURI, doc.MimeType) {
		return permanent(fmt.Errorf("%w: %s (%s) for %s", ErrSchemaNotListed, doc.SchemaURI, doc.MimeType, s.svc.Identifier))
	}
	return nil
}

// schemaLister is a recipient that knows the submission schemas its
// destination lists for the service (fitconnect.Recipient).
type schemaLister interface {
	Accepts(schemaURI, mimeType string) bool
}

// content is what a document sends.
func content(doc casedoc.Document, svc fitconnect.ServiceType) fitconnect.Content {
	ct := fitconnect.Content{Service: svc, SchemaURI: doc.SchemaURI, MimeType: doc.MimeType, Data: doc.Data}
	for _, a := range doc.Attachments {
		ct.Attachments = append(ct.Attachments, fitconnect.Attachment{ID: a.ID, Filename: a.Filename,
			MimeType: a.MimeType, Purpose: a.Purpose, Description: a.Description, Data: a.Data})
	}
	return ct
}

func (s *submission) attachmentIDs() []string {
	ids := make([]string, len(s.doc.Attachments))
	for i, a := range s.doc.Attachments {
		ids[i] = a.ID
	}
	return ids
}

// create creates the submission and keeps its ids before anything else.
func (s *submission) create(ctx context.Context) error {
	w, c := s.w, s.c
	cr, err := w.cfg.Sender.CreateSubmission(ctx, c.DestinationID, s.svc, s.attachmentIDs())
	if err != nil {
		return err
	}
	c.SubmissionID, c.FitConnectCaseID, c.Step = cr.SubmissionID, cr.CaseID, server.StepCreated
	if err := w.save(ctx, c); err != nil {
		return permanent(err)
	}
	w.log.Info("submission created", "case", c.CaseID, "submission", c.SubmissionID)
	return nil
}

// submittedAlready asks the service whether a submission a killed worker
// left was submitted before it died.
func (s *submission) submittedAlready(ctx context.Context) (bool, error) {
	var sub fitconnect.Submission
	err := s.w.try(ctx, s.c, func(ctx context.Context) error {
		var err error
		sub, err = s.w.cfg.Sender.Submission(ctx, s.c.SubmissionID)
		return err
	})
	return sub.Submitted, err
}

// uploadAll uploads the attachments not yet kept as uploaded.
func (s *submission) uploadAll(ctx context.Context) error {
	w, c := s.w, s.c
	for i, a := range s.doc.Attachments {
		if slices.Contains(c.AttachmentsDone, a.ID) {
			continue
		}
		jwe, err := s.to.Encrypt(a.Data)
		if err != nil {
			return permanent(fmt.Errorf("encrypt attachment %s: %w", a.ID, err))
		}
		if err := w.try(ctx, c, func(ctx context.Context) error {
			return w.cfg.Sender.UploadAttachment(ctx, c.SubmissionID, a.ID, jwe)
		}); err != nil {
			return err
		}
		c.AttachmentsDone, c.Step = append(c.AttachmentsDone, a.ID), server.StepUploading
		if err := w.save(ctx, c); err != nil {
			return permanent(err)
		}
		w.cfg.Pause("attachment:" + strconv.Itoa(i+1))
	}
	return nil
}

// submit sends metadata and data. A try after a failed one first asks
// whether the failed one arrived after all.
func (s *submission) submit(ctx context.Context) error {
	w, c := s.w, s.c
	if c.Attempts > 0 {
		sub, err := w.cfg.Sender.Submission(ctx, c.SubmissionID)
		if err != nil {
			return err
		}
		if sub.Submitted {
			return nil
		}
	}
	meta, err := s.to.Encrypt(s.meta)
	if err != nil {
		return permanent(fmt.Errorf("encrypt metadata: %w", err))
	}
	data, err := s.to.Encrypt(s.doc.Data)
	if err != nil {
		return permanent(fmt.Errorf("encrypt data: %w", err))
	}
	return w.cfg.Sender.Submit(ctx, c.SubmissionID, meta, data)
}

// submitted keeps the case as submitted, then writes the status to the
// case record.
func (s *submission) submitted(ctx context.Context) error {
	w, c := s.w, s.c
	c.Step, c.SubmittedAt, c.Attempts, c.LastError, c.NextAttemptAt = server.StepSubmitted, w.cfg.Now(), 0, "", time.Time{}
	if err := w.save(ctx, c); err != nil {
		return err
	}
	w.log.Info("case submitted", "case", c.CaseID, "submission", c.SubmissionID)
	return w.applyStatus(ctx, c)
}

// save writes a case's state.
func (w *Worker) save(ctx context.Context, c *server.HandoffCase) error {
	c.UpdatedAt = w.cfg.Now()
	if err := w.h.UpdateHandoffCase(ctx, *c); err != nil {
		return fmt.Errorf("handoff: %w", err)
	}
	return nil
}

// settle keeps what an error means for a case: a problem stops it
// (failed, with its reason), a passing failure makes it wait, a case no
// longer sealed is skipped.
func (w *Worker) settle(ctx context.Context, c *server.HandoffCase, err error) error {
	switch {
	case errors.Is(err, ErrNotSealed):
		c.Step, c.LastError = server.StepSkipped, err.Error()
		w.log.Info("case skipped: no longer sealed", "case", c.CaseID)
		return w.save(ctx, c)
	case errors.Is(err, ErrTemporary):
		c.Attempts++
		c.LastError = err.Error()
		c.NextAttemptAt = w.cfg.Now().Add(w.cfg.Retry.Delay(c.Attempts))
		w.log.Warn("case waits for the submission service", "case", c.CaseID, "attempts", c.Attempts, "err", err)
		if serr := w.save(ctx, c); serr != nil {
			return serr
		}
		return err
	case isPermanent(err):
		c.Step, c.LastError = server.StepFailed, reason(err)
		w.log.Error("case stopped", "case", c.CaseID, "step", c.Step, "err", c.LastError)
		return w.save(ctx, c)
	}
	return err
}
