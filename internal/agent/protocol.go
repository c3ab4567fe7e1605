package agent

// Whether this laptop and its server speak a common protocol revision
// (syncproto.HeaderProtocol). A newer server refuses an older laptop itself
// (426); an older server does not know to refuse a newer laptop, so the
// laptop asks first: before its first sync, and again after any failed
// one (the server may have been replaced meanwhile), it reads the
// server's revisions from /v1/health and syncs nothing if they do not
// overlap. Either way the agent records "update needed" for the app, and
// the pending changes stay where they are.

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/buergerkoffer/kit/internal/syncproto"
)

// Who needs the update, in HTTPError.Update, UpdateError.Update and the
// sync state's store.StateUpdate.
const (
	UpdateLaptop = "laptop"
	UpdateServer = "server"
)

// ErrUpdateRequired: laptop and server speak no common protocol revision.
// Test with errors.Is or IsUpdateRequired; UpdateOf says which side is the
// older.
var ErrUpdateRequired = errors.New("agent: laptop and server speak no common protocol revision")

// UpdateError is ErrUpdateRequired as the laptop found it, from the
// server's revisions.
type UpdateError struct {
	Update         string          // UpdateLaptop or UpdateServer: who must be updated
	Laptop, Server syncproto.Range // the revisions each side speaks
	ServerVersion  string          // the server's release, "" if it does not say
}

func (e *UpdateError) Error() string {
	return fmt.Sprintf("%v: laptop speaks %s, server %s (release %q): the %s needs the update",
		ErrUpdateRequired, e.Laptop, e.Server, e.ServerVersion, e.Update)
}

func (e *UpdateError) Is(target error) bool { return target == ErrUpdateRequired }

// IsUpdateRequired reports whether err means that one side needs an
// update: the server's 426, or the laptop's own finding.
func IsUpdateRequired(err error) bool {
	return errors.Is(err, ErrUpdateRequired) || StatusOf(err) == http.StatusUpgradeRequired
}

// UpdateOf returns who needs the update (UpdateLaptop, UpdateServer) for
// an error of IsUpdateRequired, "" otherwise.
func UpdateOf(err error) string {
	var ue *UpdateError
	if errors.As(err, &ue) {
		return ue.Update
	}
	var he *HTTPError
	if errors.As(err, &he) && he.Status == http.StatusUpgradeRequired {
		if he.Update == UpdateServer {
			return UpdateServer
		}
		return UpdateLaptop // a server that refuses us without saying why is the newer one
	}
	return ""
}

// checkProtocol asks the server which revisions it speaks, unless a sync
// with this client succeeded since the last failure. It returns an
// *UpdateError when they do not overlap with the laptop's.
func (c *Client) checkProtocol(ctx context.Context) error {
	if c.protocolOK.Load() {
		return nil
	}
	resp, err := c.r.R().SetContext(ctx).SetHeader("Accept", "application/json").Get("/" + syncproto.Version + "/health")
	if err := check("health", resp, err); err != nil {
		return err
	}
	server, ok := syncproto.ParseRange(resp.Header().Get(syncproto.HeaderProtocol))
	if !ok {
		return fmt.Errorf("agent: health: %w: malformed %s header", ErrProtocol, syncproto.HeaderProtocol)
	}
	ue := &UpdateError{Laptop: c.protocol, Server: server, ServerVersion: resp.Header().Get(syncproto.HeaderVersion)}
	switch c.protocol.Check(server) {
	case syncproto.PeerTooOld:
		ue.Update = UpdateServer
		return fmt.Errorf("agent: %w", ue)
	case syncproto.PeerTooNew:
		ue.Update = UpdateLaptop
		return fmt.Errorf("agent: %w", ue)
	}
	c.protocolOK.Store(true)
	return nil
}

// recheckProtocol makes the next sync ask the server's revisions again.
func (c *Client) recheckProtocol() { c.protocolOK.Store(false) }
