package office

// This file signs staff in and out and checks every request: the session
// cookie (its SHA-256 is what the database keeps), the idle and absolute
// timeouts, the CSRF token of every POST, and the sign-in throttle.

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/buergerkoffer/kit/internal/crypto"
	"github.com/buergerkoffer/kit/internal/server"
)

// session is the signed-in staff member of a request.
type session struct {
	server.OfficeSession
	lang string
}

// home is where a staff member starts, by role.
func (s *session) home() string {
	switch s.Role {
	case server.RolePlanning:
		return "/planning"
	case server.RoleAdmin:
		return "/staff"
	}
	return "/inbox"
}

func (o *Office) cookieName() string {
	if o.secure {
		return "__Host-bk_office"
	}
	return "bk_office"
}

func (o *Office) loginCookieName() string {
	if o.secure {
		return "__Host-bk_login"
	}
	return "bk_login"
}

func (o *Office) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		Secure: o.secure, SameSite: http.SameSiteStrictMode})
}

// current returns the request's live session, nil if there is none (no
// cookie, unknown, timed out, or its staff member disabled or deleted).
func (o *Office) current(r *http.Request) (*session, error) {
	c, err := r.Cookie(o.cookieName())
	if err != nil || c.Value == "" {
		return nil, nil
	}
	hash := crypto.HashToken(c.Value)
	st := o.srv.Office()
	s, err := st.SessionByHash(r.Context(), hash)
	if errors.Is(err, server.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	now := o.srv.Now()
	if now.Sub(s.LastSeenAt) > IdleTimeout || now.Sub(s.CreatedAt) > AbsoluteTimeout {
		if err := st.DeleteSession(r.Context(), hash); err != nil {
			return nil, err
		}
		return nil, nil
	}
	if now.Sub(s.LastSeenAt) > touchEvery {
		if err := st.TouchSession(r.Context(), hash, now); err != nil {
			return nil, err
		}
	}
	return &session{OfficeSession: s, lang: langOf(r)}, nil
}

// auth runs h with the request's session; without one, a GET goes to the
// sign-in page and anything else is refused. A POST must carry the
// session's CSRF token (403 otherwise, and nothing changes).
func (o *Office) auth(h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, err := o.current(r)
		if err != nil {
			o.fail(w, r, nil, err)
			return
		}
		if s == nil {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			o.renderStatus(w, r, nil, http.StatusForbidden, "error", &page{Title: "Nicht angemeldet",
				Error: "Ihre Sitzung ist abgelaufen. Bitte erneut anmelden."})
			return
		}
		if r.Method == http.MethodPost && !o.sameOrigin(r) || r.Method == http.MethodPost && !validCSRF(w, r, s.CSRF) {
			o.forbidden(w, r, s)
			return
		}
		h(w, r, s)
	}
}

// role lets only staff of the given roles through.
func (o *Office) role(h func(http.ResponseWriter, *http.Request, *session), roles ...string) func(http.ResponseWriter, *http.Request, *session) {
	return func(w http.ResponseWriter, r *http.Request, s *session) {
		for _, role := range roles {
			if s.Role == role {
				h(w, r, s)
				return
			}
		}
		o.forbidden(w, r, s)
	}
}

// validCSRF compares the form's token with the session's in constant time.
func validCSRF(w http.ResponseWriter, r *http.Request, want string) bool {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	got := r.PostFormValue("csrf")
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// sameOrigin refuses a POST whose Origin (when the browser sends one)
// names another site.
func (o *Office) sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host == r.Host
}

func (o *Office) loginPage(w http.ResponseWriter, r *http.Request) {
	if s, err := o.current(r); err == nil && s != nil {
		http.Redirect(w, r, s.home(), http.StatusSeeOther)
		return
	}
	o.showLogin(w, r, http.StatusOK, "")
}

// showLogin renders the sign-in form with a fresh token, which the POST
// must return both as a cookie and in the form (the session does not yet
// exist to hold it), and with errMsg (German; "" for none) as an error.
func (o *Office) showLogin(w http.ResponseWriter, r *http.Request, status int, errMsg string) {
	tok, err := crypto.NewToken()
	if err != nil {
		o.fail(w, r, nil, err)
		return
	}
	o.setCookie(w, o.loginCookieName(), tok, 3600)
	next := r.FormValue("next")
	if !localPath(next) {
		next = ""
	}
	o.renderStatus(w, r, nil, status, "login", &page{Title: "Anmelden", CSRF: tok, Error: errMsg,
		Data: map[string]string{"Next": next, "User": r.PostFormValue("username")}})
}

// localPath reports whether p is a path on this site (no open redirect).
func localPath(p string) bool {
	return strings.HasPrefix(p, "/") && !strings.HasPrefix(p, "//") && !strings.Contains(p, "\\")
}

// login checks a sign-in. Every failure says the same; after
// MaxLoginFails failures of a user name or from an address within
// LoginFailWindow, the next attempt is answered 429 with Retry-After
// before the password is looked at.
func (o *Office) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if !o.loginFormValid(r) {
		o.renderStatus(w, r, nil, http.StatusForbidden, "error", &page{Title: "Nicht erlaubt",
			Error: "Das Anmeldeformular ist abgelaufen. Bitte die Seite neu laden."})
		return
	}
	user := strings.ToLower(strings.TrimSpace(r.PostFormValue("username")))
	password := []byte(r.PostFormValue("password"))
	defer clear(password)
	keys := []string{"addr:" + clientAddr(r)}
	if user != "" {
		keys = append(keys, "user:"+user)
	}
	wait, err := o.throttled(r.Context(), keys)
	if err != nil {
		o.fail(w, r, nil, err)
		return
	}
	if wait > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(max(wait, time.Second).Seconds()))))
		o.renderStatus(w, r, nil, http.StatusTooManyRequests, "error", &page{Title: "Zu viele Versuche",
			Error: "Zu viele fehlgeschlagene Anmeldungen. Bitte später erneut versuchen."})
		return
	}
	staff, ok, err := o.srv.CheckStaffPassword(r.Context(), user, password)
	if err != nil {
		o.fail(w, r, nil, err)
		return
	}
	if !ok {
		if err := o.srv.Office().AddLoginFailure(r.Context(), keys, o.srv.Now()); err != nil {
			o.fail(w, r, nil, err)
			return
		}
		o.log.Info("office sign-in failed", "addr", clientAddr(r))
		o.showLogin(w, r, http.StatusUnauthorized, "Benutzername oder Passwort ist falsch.")
		return
	}
	tok, s, err := o.startSession(r, staff)
	if err != nil {
		o.fail(w, r, nil, err)
		return
	}
	o.setCookie(w, o.loginCookieName(), "", -1)
	o.setCookie(w, o.cookieName(), tok, int(AbsoluteTimeout.Seconds()))
	next := r.PostFormValue("next")
	if !localPath(next) || next == "/" {
		next = s.home()
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// loginFormValid checks the sign-in form's token against its cookie, and
// that the form comes from this site.
func (o *Office) loginFormValid(r *http.Request) bool {
	c, err := r.Cookie(o.loginCookieName())
	return err == nil && c.Value != "" && o.sameOrigin(r) &&
		subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostFormValue("csrf"))) == 1
}

// throttled returns how long sign-ins under any of keys must wait (0:
// they may go ahead).
func (o *Office) throttled(ctx context.Context, keys []string) (time.Duration, error) {
	now := o.srv.Now()
	var wait time.Duration
	for _, k := range keys {
		n, oldest, err := o.srv.Office().LoginFailures(ctx, k, now.Add(-LoginFailWindow))
		if err != nil {
			return 0, err
		}
		if n >= MaxLoginFails {
			wait = max(wait, oldest.Add(LoginFailWindow).Sub(now))
		}
	}
	return wait, nil
}

// startSession makes a session for a staff member who signed in, and
// returns its cookie token: the user's failures are forgotten, sessions
// long gone swept, and the sign-in logged.
func (o *Office) startSession(r *http.Request, staff server.Staff) (string, *session, error) {
	ctx, st, now := r.Context(), o.srv.Office(), o.srv.Now()
	if err := st.ClearLoginFailures(ctx, "user:"+staff.Username); err != nil {
		return "", nil, err
	}
	tok, err := crypto.NewToken()
	if err != nil {
		return "", nil, err
	}
	csrf, err := crypto.NewToken()
	if err != nil {
		return "", nil, err
	}
	row := server.OfficeSession{TokenHash: crypto.HashToken(tok), Username: staff.Username, Tenant: staff.Tenant,
		Role: staff.Role, CSRF: csrf, CreatedAt: now, LastSeenAt: now, Addr: clientAddr(r)}
	if err := st.AddSession(ctx, row); err != nil {
		return "", nil, err
	}
	if err := st.PurgeSessions(ctx, now.Add(-IdleTimeout), now.Add(-AbsoluteTimeout)); err != nil {
		o.log.Warn("office: purge sessions", "err", err)
	}
	s := &session{OfficeSession: row}
	if err := o.audit(ctx, r, s, "login", "", ""); err != nil {
		return "", nil, err
	}
	return tok, s, nil
}

func (o *Office) logout(w http.ResponseWriter, r *http.Request, s *session) {
	if err := o.srv.Office().DeleteSession(r.Context(), s.TokenHash); err != nil {
		o.fail(w, r, s, fmt.Errorf("sign out: %w", err))
		return
	}
	o.setCookie(w, o.cookieName(), "", -1)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
