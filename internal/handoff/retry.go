package handoff

// This file tells failures apart: a passing one (network, 5xx, 429) is
// tried again with backoff; a problem the service names (4xx), a refused
// key or destination, or a document that cannot be made stops the case
// with its reason.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/buergerkoffer/kit/internal/fitconnect"
	"github.com/buergerkoffer/kit/internal/server"
)

// permanentError marks a failure that stops the case.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

func permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// isPermanent reports whether err stops the case: a 4xx problem, a
// refused key, destination or service, or an error marked permanent.
func isPermanent(err error) bool {
	var pe *fitconnect.ProblemError
	if errors.As(err, &pe) {
		return !pe.Temporary()
	}
	var pm permanentError
	return errors.As(err, &pm) || errors.Is(err, fitconnect.ErrKeyRefused) ||
		errors.Is(err, fitconnect.ErrDestinationInactive) || errors.Is(err, fitconnect.ErrServiceNotOffered) ||
		errors.Is(err, fitconnect.ErrMetadataVersion)
}

// reason is the text kept and shown for a case that stopped.
func reason(err error) string {
	var pe *fitconnect.ProblemError
	if errors.As(err, &pe) {
		parts := []string{fmt.Sprintf("HTTP %d", pe.Status)}
		for _, p := range []string{pe.Title, pe.Detail, pe.Type} {
			if p != "" {
				parts = append(parts, p)
			}
		}
		return strings.Join(parts, ": ")
	}
	return err.Error()
}

// try runs op, again with backoff while it fails for a passing reason,
// at most cfg.Tries times. It returns nil, a permanent error, or one
// wrapping ErrTemporary.
func (w *Worker) try(ctx context.Context, c *server.HandoffCase, op func(context.Context) error) error {
	var err error
	for n := 1; n <= w.cfg.Tries; n++ {
		if err = op(ctx); err == nil {
			c.Attempts = 0
			return nil
		}
		if isPermanent(err) || ctx.Err() != nil {
			return err
		}
		if !isPassing(err) {
			return err
		}
		c.Attempts = n
		w.log.Debug("retrying", "case", c.CaseID, "try", n, "err", err)
		if n == w.cfg.Tries {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(w.cfg.Retry.Delay(n)):
		}
	}
	return fmt.Errorf("%w: %w", ErrTemporary, err)
}

// isPassing reports whether a failure may pass: a problem of status 5xx
// or 429, or anything that is no problem of the service at all (the
// network, a timeout).
func isPassing(err error) bool {
	var pe *fitconnect.ProblemError
	if errors.As(err, &pe) {
		return pe.Temporary() || pe.Status == http.StatusTooManyRequests
	}
	var pm permanentError
	return !errors.As(err, &pm) && !errors.Is(err, server.ErrNotFound)
}
