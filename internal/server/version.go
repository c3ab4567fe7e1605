package server

// Which protocol revisions and which release this server is, on every
// answer (syncproto.HeaderProtocol, HeaderVersion); which ones a laptop
// is, from every request. A laptop that speaks no revision the server
// speaks is answered 426 Upgrade Required before anything else happens,
// with who needs the update; health is always answered, so that an agent
// can find out without being refused. The release a device sends is kept
// per device for `syncd admin devices`.

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/buergerkoffer/kit/internal/syncproto"
	"github.com/buergerkoffer/kit/internal/version"
)

// protocolOf returns the revisions a server of cfg speaks.
func protocolOf(cfg Config) syncproto.Range {
	if cfg.Protocol == (syncproto.Range{}) {
		return syncproto.Revisions()
	}
	return cfg.Protocol
}

// maxVersionLen bounds what is stored of a device's version header.
const maxVersionLen = 64

// protocolGate wraps every endpoint: it names the server's revisions and
// release on the answer and refuses a request of a laptop it cannot talk
// to.
func (s *Server) protocolGate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(syncproto.HeaderProtocol, s.protocol.String())
		w.Header().Set(syncproto.HeaderVersion, version.String())
		if r.URL.Path == "/v1/health" {
			next.ServeHTTP(w, r)
			return
		}
		client, ok := syncproto.ParseRange(r.Header.Get(syncproto.HeaderProtocol))
		if !ok {
			writeError(w, http.StatusBadRequest, "malformed "+syncproto.HeaderProtocol+" header")
			return
		}
		var who string
		switch s.protocol.Check(client) {
		case syncproto.Compatible:
			next.ServeHTTP(w, r)
			return
		case syncproto.PeerTooOld:
			who = "laptop"
		case syncproto.PeerTooNew:
			who = "server"
		}
		s.log.Warn("request refused: protocol revisions do not overlap", "path", r.URL.Path,
			"client_protocol", client.String(), "client_version", cleanVersion(r.Header.Get(syncproto.HeaderVersion)), "update", who)
		body, _ := json.Marshal(syncproto.UpgradeRequired{ // strings only: cannot fail
			Error:  "Bitte Bürgerkoffer aktualisieren: the " + who + " is too old (server protocol " + s.protocol.String() + ", laptop " + client.String() + ")",
			Update: who, Server: s.protocol.String(), Client: client.String()})
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusUpgradeRequired)
		w.Write(append(body, '\n'))
	})
}

// cleanVersion keeps a version header printable and short: it is shown to
// operators and stored, and comes from the network.
func cleanVersion(v string) string {
	v = strings.Map(func(r rune) rune {
		if r < 0x21 || r > 0x7e {
			return -1
		}
		return r
	}, v)
	if len(v) > maxVersionLen {
		v = v[:maxVersionLen]
	}
	return v
}

// noteVersion keeps the release an authenticated device sent, when it
// differs from what the server has: an update of the laptop shows in
// `syncd admin devices` with its next request. A failure is logged; it
// never fails the request.
func (s *Server) noteVersion(r *http.Request, dev Device) {
	v := cleanVersion(r.Header.Get(syncproto.HeaderVersion))
	if v == "" || v == dev.Version {
		return
	}
	ctx := r.Context()
	if err := s.st.Update(ctx, "", func(tx Tx) error { return tx.SetDeviceVersion(ctx, dev.ID, v) }); err != nil && ctx.Err() == nil {
		s.log.Warn("note device version", "device", dev.ID, "err", err)
	}
}
