package server

// This file is what the server answers while its database is away: a
// readiness probe that fails (/v1/ready, for a load balancer to send the
// laptops elsewhere) and 503 with Retry-After on every endpoint, which
// the agent retries. Liveness (/v1/health) does not ask the database:
// restarting a server does not bring its database back.
//
// Nothing of a loss is kept: every request asks the store afresh, and the
// store's pool reconnects, so the server serves again as soon as the
// database answers.

import (
	"context"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/buergerkoffer/kit/internal/syncproto"
)

const (
	// unavailableRetry is the Retry-After of a 503 for a database away:
	// about what a PostgreSQL restart or failover takes. The agent waits
	// at least this long (within its own bounds) before trying again.
	unavailableRetry = 2 * time.Second
	// readyTimeout bounds the readiness probe's database ping.
	readyTimeout = 2 * time.Second
)

// dbState remembers whether the last readiness probe found the database,
// so that a loss and a return are each logged once, not at every probe.
type dbState struct{ lost atomic.Bool }

// handleReady answers 200 while the database answers a ping, 503 with
// Retry-After while it does not.
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	if !allowed(w, r, http.MethodGet) {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	err := s.st.Ping(ctx)
	if err != nil && r.Context().Err() != nil {
		return // the prober went away
	}
	if err != nil {
		if !s.db.lost.Swap(true) {
			s.log.Warn("not ready: database unreachable", "err", err)
		}
		s.unavailable(w)
		return
	}
	if s.db.lost.Swap(false) {
		s.log.Info("ready: database reachable again")
	}
	writeJSON(w, syncproto.Health{Status: "ready", Protocol: syncproto.Version, Time: s.now().UTC().Format(time.RFC3339)})
}

// unavailable answers 503 with Retry-After: the database is away.
func (s *Server) unavailable(w http.ResponseWriter) {
	s.metrics.unavailable.Inc()
	w.Header().Set("Retry-After", strconv.Itoa(int(unavailableRetry/time.Second)))
	writeError(w, http.StatusServiceUnavailable, "database unavailable; try again later")
}
