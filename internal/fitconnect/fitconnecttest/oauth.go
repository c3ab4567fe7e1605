package fitconnecttest

// The OAuth 2.0 token endpoint (RFC 6749 §4.4, client credentials) and the bearer check in front of the
// Submission API (RFC 6750).

import (
	"crypto/subtle"
	"encoding/json"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// clientAuth is how a token request authenticated its client.
type clientAuth struct {
	id, secret string
	basic      bool
}

func (s *Service) handleToken(w http.ResponseWriter, r *http.Request) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "the body must be application/x-www-form-urlencoded")
		return
	}
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "unreadable form body")
		return
	}
	switch gt := r.PostForm.Get("grant_type"); {
	case gt == "":
		oauthError(w, http.StatusBadRequest, "invalid_request", "grant_type is missing")
		return
	case gt != "client_credentials":
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "only client_credentials is supported")
		return
	}
	auth, ok := readClientAuth(w, r)
	if !ok {
		return
	}
	if !s.knownClient(auth) {
		if auth.basic {
			w.Header().Set("WWW-Authenticate", `Basic realm="fitconnecttest"`)
		}
		oauthError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}
	s.issueToken(w, r.PostForm.Get("scope"))
}

// readClientAuth takes the client's credentials from HTTP Basic (form-encoded id and secret, RFC 6749
// §2.3.1) or from the body, and refuses a request that uses both or neither.
func readClientAuth(w http.ResponseWriter, r *http.Request) (clientAuth, bool) {
	user, pass, basic := r.BasicAuth()
	inBody := r.PostForm.Has("client_id") || r.PostForm.Has("client_secret")
	switch {
	case basic && inBody:
		oauthError(w, http.StatusBadRequest, "invalid_request", "client credentials in both the header and the body")
		return clientAuth{}, false
	case basic:
		id, err1 := url.QueryUnescape(user)
		secret, err2 := url.QueryUnescape(pass)
		if err1 != nil || err2 != nil {
			oauthError(w, http.StatusBadRequest, "invalid_request", "badly encoded client credentials")
			return clientAuth{}, false
		}
		return clientAuth{id: id, secret: secret, basic: true}, true
	case inBody:
		return clientAuth{id: r.PostForm.Get("client_id"), secret: r.PostForm.Get("client_secret")}, true
	default:
		oauthError(w, http.StatusUnauthorized, "invalid_client", "no client authentication")
		return clientAuth{}, false
	}
}

func (s *Service) knownClient(a clientAuth) bool {
	idOK := subtle.ConstantTimeCompare([]byte(a.id), []byte(s.clientID)) == 1
	secretOK := subtle.ConstantTimeCompare([]byte(a.secret), []byte(s.clientSecret)) == 1
	return idOK && secretOK
}

func (s *Service) issueToken(w http.ResponseWriter, scope string) {
	token := randomToken()
	s.mu.Lock()
	s.tokens[token] = s.now().Add(s.opt.TokenLifetime)
	s.issued++
	s.mu.Unlock()
	body := map[string]any{
		"access_token": token,
		"token_type":   "Bearer",
		"expires_in":   int(math.Ceil(s.opt.TokenLifetime.Seconds())),
	}
	if scope != "" {
		body["scope"] = scope
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, body)
}

// authorized reports whether r carries an access token that this service issued and that has not expired.
func (s *Service) authorized(r *http.Request) bool {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, known := s.tokens[token]
	return known && s.now().Before(exp)
}

func oauthError(w http.ResponseWriter, status int, code, description string) {
	w.Header().Set("Cache-Control", "no-store")
	body, _ := json.Marshal(map[string]string{"error": code, "error_description": description})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
