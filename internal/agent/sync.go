package agent

// One sync: upload the attachments that changes wait for, push the
// outbox, pull the feed. Each step streams: a batch, a chunk, one
// attachment at a time, so the agent stays small whatever the backlog.

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/buergerkoffer/kit/internal/store"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

// Report says what one sync did.
type Report struct {
	Pushed     int   // changes the server applied
	Duplicates int   // changes the server had already (a retried push)
	Retried    int   // changes the server wants again later (they stay pending)
	Rejected   int   // changes the server refused for good (set aside with the reason)
	Conflicts  int   // conflicts the server found merging the pushed changes
	Restamped  int   // pushed changes the server ordered by its clock, theirs being too far ahead
	Pulled     int   // feed entries applied
	Uploaded   int   // attachments the server now holds in full
	Bytes      int64 // sealed bytes of the attachments uploaded
	Duration   time.Duration
}

// Phases of sync_state's phase.
const (
	PhaseIdle      = "idle"
	PhaseUploading = "uploading"
	PhasePushing   = "pushing"
	PhasePulling   = "pulling"
	PhaseBackoff   = "backoff"
	PhaseRevoked   = "revoked"
)

// SyncOnce runs one sync now: upload pending attachments, push the
// outbox, pull the feed. A step that fails for a reason of its own (a 5xx,
// one refused attachment) does not keep the others from running; one that
// means the server cannot be reached or will not talk to this device
// (network, 401, 403) ends the sync. The first error is returned, and
// recorded for the app in plain German. SyncOnce and Run may be called
// concurrently; syncs do not overlap.
func (a *Agent) SyncOnce(ctx context.Context) (Report, error) {
	e, err := a.local.Enrolment(ctx)
	if err != nil {
		if errors.Is(err, store.ErrNotEnrolled) {
			a.setState(ctx, map[string]string{store.StatePhase: PhaseIdle, store.StateOnline: "false",
				store.StateLastError: Describe(err)})
			return Report{}, fmt.Errorf("agent: %w", err)
		}
		return Report{}, local("enrolment", err)
	}
	return a.syncOnce(ctx, e)
}

func (a *Agent) syncOnce(ctx context.Context, e store.Enrolment) (Report, error) {
	a.syncMu.Lock()
	defer a.syncMu.Unlock()
	start := a.now()
	rep := Report{}
	c, err := a.clientFor(e)
	if err != nil {
		a.finish(ctx, start, &rep, err)
		return rep, err
	}
	if err := c.checkProtocol(ctx); err != nil {
		a.finish(ctx, start, &rep, err)
		return rep, err
	}
	s := &syncRun{a: a, c: c, tenant: e.Tenant, serverKID: e.ServerKeyID, rep: &rep}
	count, size, perr := a.local.Pending(ctx)
	if perr != nil {
		a.log.Warn("agent: pending", "err", perr)
	}
	s.total = count
	a.setState(ctx, map[string]string{
		store.StatePhase:        PhaseUploading,
		store.StateLastAttempt:  fmtTime(start),
		store.StateNextAttempt:  "",
		store.StatePendingCount: strconv.FormatInt(count, 10),
		store.StatePendingBytes: strconv.FormatInt(size, 10),
		store.StateProgressDone: "0",
		store.StateProgressAll:  strconv.FormatInt(count, 10),
	})
	var first error
	for _, step := range []struct {
		phase string
		run   func(context.Context) error
	}{
		{PhaseUploading, s.upload},
		{PhasePushing, s.push},
		{PhasePulling, s.pull},
	} {
		if step.phase == PhasePulling && a.cfg.NoPull {
			continue
		}
		if step.phase != PhaseUploading {
			a.setState(ctx, map[string]string{store.StatePhase: step.phase})
		}
		err := step.run(ctx)
		if err == nil {
			if step.phase == PhasePulling {
				a.compact(ctx, rep.Pulled)
			}
			continue
		}
		if first == nil {
			first = err
		}
		if ends(ctx, err) {
			break
		}
		a.log.Warn("agent: sync step failed, going on", "step", step.phase, "err", err)
	}
	if first != nil {
		c.recheckProtocol()
	}
	a.finish(ctx, start, &rep, first)
	return rep, first
}

// compact folds pulled entries nothing needs any more into their records
// (store.Compact), after a pull that ended complete and brought entries,
// or while an earlier compaction left some to look at: one bounded step
// per sync. A failure costs only space, so it is logged, not returned.
func (a *Agent) compact(ctx context.Context, pulled int) {
	if pulled == 0 && !a.compactMore {
		return
	}
	rep, err := a.local.Compact(ctx)
	if err != nil {
		a.log.Warn("agent: compaction failed", "err", err)
		return
	}
	a.compactMore = rep.More
	a.log.Debug("agent: compacted pulled entries", "records", rep.Records, "removed", rep.Removed, "more", rep.More)
}

// ends reports whether err ends the sync rather than just its step.
func ends(ctx context.Context, err error) bool {
	return ctx.Err() != nil || IsNetwork(err) || IsUnauthorized(err) || IsForbidden(err) || IsCertificate(err) ||
		IsUpdateRequired(err)
}

// finish records the outcome of a sync for the app.
func (a *Agent) finish(ctx context.Context, start time.Time, rep *Report, err error) {
	rep.Duration = a.now().Sub(start)
	kv := map[string]string{store.StatePhase: PhaseIdle, store.StateLastError: Describe(err)}
	if count, size, perr := a.local.Pending(ctx); perr == nil {
		kv[store.StatePendingCount] = strconv.FormatInt(count, 10)
		kv[store.StatePendingBytes] = strconv.FormatInt(size, 10)
	}
	switch {
	case rep.Restamped > 0:
		kv[store.StateClockAhead] = fmtTime(a.now())
	case rep.Pushed > 0:
		kv[store.StateClockAhead] = ""
	}
	switch {
	case IsUpdateRequired(err):
		kv[store.StateUpdate] = UpdateOf(err)
	case err == nil || StatusOf(err) != 0:
		// The server answered in a revision both speak.
		kv[store.StateUpdate] = ""
	}
	switch {
	case err == nil:
		kv[store.StateOnline] = "true"
		kv[store.StateLastSuccess] = fmtTime(a.now())
	case IsUnauthorized(err):
		kv[store.StateOnline] = "true"
		kv[store.StatePhase] = PhaseRevoked
	case IsUpdateRequired(err):
		kv[store.StateOnline] = "true"
	case IsNetwork(err) || IsCertificate(err):
		kv[store.StateOnline] = "false"
	case StatusOf(err) != 0:
		kv[store.StateOnline] = "true"
	}
	if ctx.Err() != nil {
		// Stopped, not failed: leave last_error as it was.
		delete(kv, store.StateLastError)
		ctx = context.WithoutCancel(ctx)
	}
	a.setState(ctx, kv)
	if err != nil {
		a.log.Warn("agent: sync failed", "err", err, "took", rep.Duration)
		return
	}
	a.log.Debug("agent: synced", "pushed", rep.Pushed, "duplicates", rep.Duplicates, "retried", rep.Retried,
		"rejected", rep.Rejected, "conflicts", rep.Conflicts, "pulled", rep.Pulled, "uploaded", rep.Uploaded,
		"bytes", rep.Bytes, "took", rep.Duration)
}

// syncRun is the state of one sync.
type syncRun struct {
	a      *Agent
	c      *Client
	tenant string
	rep    *Report
	// serverKID is the server key the laptop seals for; a pull page that
	// names another one (a rotation) replaces it.
	serverKID string
	total     int64 // pending changes at the start
	done      int64 // of which the server answered for good
}

// upload sends every attachment not yet at the server, one at a time. An
// attachment the server refuses (a 4xx but 401/403/429) is skipped for
// this round: the change that needs it waits (retry), the others go on.
func (s *syncRun) upload(ctx context.Context) error {
	var first error
	err := s.a.local.PendingUploads(ctx, func(u store.Upload) error {
		data, err := s.a.local.UploadData(ctx, u.RecordID, u.SHA256)
		if errors.Is(err, store.ErrShredded) || errors.Is(err, store.ErrNotFound) {
			return nil // gone since it was listed
		}
		if err != nil {
			return local("upload data", err)
		}
		if err := s.c.UploadAttachment(ctx, s.tenant, u.RecordID, u.SHA256, data); err != nil {
			if ends(ctx, err) || StatusOf(err) == 429 {
				return err
			}
			s.a.log.Warn("agent: attachment not uploaded", "record", u.RecordID, "sha256", u.SHA256, "err", err)
			if first == nil {
				first = err
			}
			return nil
		}
		s.rep.Bytes += int64(len(data))
		if err := s.a.local.MarkUploaded(ctx, u.RecordID, u.SHA256); err != nil {
			return local("mark uploaded", err)
		}
		s.rep.Uploaded++
		return nil
	})
	if err != nil {
		var le *localError
		if errors.As(err, &le) || StatusOf(err) != 0 || IsNetwork(err) || ctx.Err() != nil || IsCertificate(err) {
			return err
		}
		return local("pending uploads", err)
	}
	return first
}

// pull reads pages from the checkpoint until the server has no more. A
// page is applied in chunks as it streams in, each chunk with its last
// seq as the new checkpoint, so a page is never held whole and a pull cut
// short keeps what it applied.
func (s *syncRun) pull(ctx context.Context) error {
	after, err := s.a.local.Checkpoint(ctx)
	if err != nil {
		return local("checkpoint", err)
	}
	ownFull := false
	for {
		more, last, err := s.pullPage(ctx, after, ownFull)
		if errors.Is(err, store.ErrUnknownOwnChange) && !ownFull {
			// A stub of our own change that the store cannot place: the
			// rest of this pull takes our changes in full, from where
			// the store stands.
			s.a.log.Info("agent: own change not known here, pulling own changes in full", "err", err)
			ownFull = true
			if after, err = s.a.local.Checkpoint(ctx); err != nil {
				return local("checkpoint", err)
			}
			continue
		}
		if err != nil || !more {
			return err
		}
		if last <= after {
			return fmt.Errorf("agent: pull: %w: more pages announced but the checkpoint stays at %d", ErrProtocol, after)
		}
		after = last
	}
}

// pullJob is a chunk of a page on its way into the store.
type pullJob struct {
	page    syncproto.Page
	chunk   []syncproto.Entry
	lastSeq int64
}

// pullPage pulls one page. Decoding the stream and writing to the store
// overlap: a goroutine applies chunk n while the next one is decoded (two
// cores, two stages), with at most one chunk waiting between them, so
// memory stays at a few chunks whatever the page size.
func (s *syncRun) pullPage(ctx context.Context, after int64, ownFull bool) (more bool, last int64, err error) {
	var (
		page      syncproto.Page
		chunk     = make([]syncproto.Entry, 0, s.a.cfg.PullChunk)
		submitted = after // the last seq handed to the writer
		end       *syncproto.End
		jobs      = make(chan pullJob, 1)
		done      = make(chan struct{})
		werr      error // the writer's error, read after done
		failed    = make(chan struct{})
	)
	go func() {
		defer close(done)
		for j := range jobs {
			if werr != nil {
				continue // drain
			}
			if err := s.a.local.ApplyPull(ctx, j.page, j.chunk, j.lastSeq); err != nil {
				werr = local("apply pull", err)
				close(failed)
				continue
			}
			s.rep.Pulled += len(j.chunk)
		}
	}()
	apply := func(lastSeq int64) error {
		if len(chunk) == 0 && lastSeq <= submitted {
			return nil
		}
		select {
		case jobs <- pullJob{page: page, chunk: chunk, lastSeq: lastSeq}:
		case <-failed:
			return errWriterFailed
		case <-ctx.Done():
			return ctx.Err()
		}
		submitted = lastSeq
		chunk = make([]syncproto.Entry, 0, s.a.cfg.PullChunk)
		return nil
	}
	pull := s.c.Pull
	if ownFull {
		pull = s.c.PullOwnFull
	}
	err = pull(ctx, s.tenant, after, s.a.cfg.PullLimit, func(line syncproto.PullLine) error {
		switch {
		case line.Page != nil:
			page = *line.Page
			s.learnServerKey(ctx, page)
		case line.Entry != nil:
			chunk = append(chunk, *line.Entry)
			if len(chunk) >= s.a.cfg.PullChunk {
				return apply(chunk[len(chunk)-1].Seq)
			}
		case line.End != nil:
			end = line.End
			return apply(line.End.LastSeq)
		}
		return nil
	})
	// A stream cut short keeps what was applied, and the entries that
	// arrived whole; the next pull resumes after them.
	if err != nil && errors.Is(err, ErrTruncated) && len(chunk) > 0 && ctx.Err() == nil {
		if aerr := apply(chunk[len(chunk)-1].Seq); aerr != nil && !errors.Is(aerr, errWriterFailed) {
			err = errors.Join(err, aerr)
		}
	}
	close(jobs)
	<-done
	if werr != nil {
		return false, 0, werr
	}
	if err != nil {
		return false, 0, err
	}
	if err := s.keepPolicy(ctx, end); err != nil {
		return false, 0, err
	}
	return end.More, end.LastSeq, nil
}

// learnServerKey stores the server key a pull page announces if it is
// not the one the laptop seals for. Failing to is no reason to stop the
// pull: seals for the old key still open at the server, and the next pull
// announces the key again.
func (s *syncRun) learnServerKey(ctx context.Context, page syncproto.Page) {
	if page.ServerKeyID == "" || page.ServerKeyID == s.serverKID {
		return
	}
	if err := s.a.local.SetServerKey(ctx, page.ServerPublicKey, page.ServerKeyID); err != nil {
		s.a.log.Warn("agent: new server key not stored", "kid", page.ServerKeyID, "err", err)
		return
	}
	s.a.log.Info("agent: server key changed", "kid", page.ServerKeyID, "previous", s.serverKID)
	s.serverKID = page.ServerKeyID
}

// errWriterFailed stops decoding once the store refused a chunk; the
// store's error is what the caller sees.
var errWriterFailed = errors.New("agent: pull: store failed")

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
