// Package office is the town hall's web application (`syncd office`):
// staff sign in, read the cases that arrived from the field and decide
// them, plan visits and appointments, hand out and revoke laptops, and
// administer staff accounts and read the office audit log.
//
// Pages are rendered on the server (html/template, embedded, no script);
// every flow works without JavaScript. Everything about records, keys and
// changes goes through package server: personal values are decrypted in
// this process for the page that shows them, never stored in clear and
// never logged. Sessions, the sign-in throttle and the audit log live in
// the server's database, so several office processes can share it.
package office

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/buergerkoffer/kit/internal/catalog"
	"github.com/buergerkoffer/kit/internal/server"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Timeouts of a session and the sign-in throttle.
const (
	IdleTimeout     = 15 * time.Minute
	AbsoluteTimeout = 8 * time.Hour
	MaxLoginFails   = 5                // failures per user or address ...
	LoginFailWindow = 15 * time.Minute // ... within this window, then 429
	touchEvery      = 20 * time.Second // a session's last use is written at most this often
)

// Config configures New.
type Config struct {
	// Secure marks cookies Secure (the office is served over TLS, or
	// behind a proxy that terminates it).
	Secure bool
	Log    *slog.Logger // default slog.Default(); never given personal data
}

// Office is the web application over one server. It is safe for
// concurrent use.
type Office struct {
	srv    *server.Server
	cat    *catalog.Catalog
	secure bool
	log    *slog.Logger
	tmpl   map[string]*template.Template
	mux    *http.ServeMux
}

// New makes the office of srv.
func New(srv *server.Server, cfg Config) (*Office, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	cat, err := catalog.LoadEmbedded()
	if err != nil {
		return nil, fmt.Errorf("office: %w", err)
	}
	o := &Office{srv: srv, cat: cat, secure: cfg.Secure, log: cfg.Log}
	if o.tmpl, err = parseTemplates(); err != nil {
		return nil, fmt.Errorf("office: %w", err)
	}
	o.routes()
	return o, nil
}

// parseTemplates parses each page with the layout.
func parseTemplates() (map[string]*template.Template, error) {
	pages, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*template.Template{}
	for _, p := range pages {
		name := strings.TrimSuffix(strings.TrimPrefix(p, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", p)
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

// Handler returns the office's HTTP handler: every response carries the
// security headers.
func (o *Office) Handler() http.Handler { return securityHeaders(o.mux) }

func (o *Office) routes() {
	m := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	files := http.StripPrefix("/static/", http.FileServerFS(static))
	m.HandleFunc("GET /static/", func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") { // no listings
			o.notFound(w, r, nil)
			return
		}
		files.ServeHTTP(w, r)
	})
	m.HandleFunc("GET /login", o.loginPage)
	m.HandleFunc("POST /login", o.login)
	m.HandleFunc("POST /logout", o.auth(o.logout))
	m.HandleFunc("GET /{$}", o.auth(func(w http.ResponseWriter, r *http.Request, s *session) {
		http.Redirect(w, r, s.home(), http.StatusSeeOther)
	}))

	m.HandleFunc("GET /inbox", o.auth(o.role(o.inbox, server.RoleCaseworker)))
	m.HandleFunc("GET /cases/{id}", o.auth(o.role(o.casePage, server.RoleCaseworker)))
	m.HandleFunc("GET /cases/{id}/files/{sha}", o.auth(o.role(o.caseFile, server.RoleCaseworker)))
	m.HandleFunc("POST /cases/{id}/decision", o.auth(o.role(o.decide, server.RoleCaseworker)))

	m.HandleFunc("GET /planning", o.auth(o.role(o.visits, server.RolePlanning)))
	m.HandleFunc("POST /planning/visits", o.auth(o.role(o.saveVisit, server.RolePlanning)))
	m.HandleFunc("GET /planning/visits/{id}", o.auth(o.role(o.visitPage, server.RolePlanning)))
	m.HandleFunc("POST /planning/visits/{id}", o.auth(o.role(o.saveVisit, server.RolePlanning)))
	m.HandleFunc("POST /planning/visits/{id}/appointments", o.auth(o.role(o.bookAppointment, server.RolePlanning)))
	m.HandleFunc("POST /planning/appointments/{id}", o.auth(o.role(o.changeAppointment, server.RolePlanning)))

	m.HandleFunc("GET /devices", o.auth(o.role(o.devices, server.RolePlanning)))
	m.HandleFunc("POST /devices/enrol", o.auth(o.role(o.enrol, server.RolePlanning)))
	m.HandleFunc("POST /devices/{id}/revoke", o.auth(o.role(o.revoke, server.RolePlanning)))

	m.HandleFunc("GET /staff", o.auth(o.role(o.staffPage, server.RoleAdmin)))
	m.HandleFunc("POST /staff", o.auth(o.role(o.addStaff, server.RoleAdmin)))
	m.HandleFunc("POST /staff/{user}", o.auth(o.role(o.changeStaff, server.RoleAdmin)))
	m.HandleFunc("GET /audit", o.auth(o.role(o.auditPage, server.RoleAdmin)))
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		// Signed in, the 404 keeps the navigation (and the way out).
		s, _ := o.current(r)
		o.notFound(w, r, s)
	})
	o.mux = m
}

// securityHeaders sets the headers every answer carries: no script, no
// framing, no referrer to other sites, and nothing cached but the style
// sheet. The referrer policy is same-origin, not no-referrer: under
// no-referrer a browser sends "Origin: null" with every form it posts,
// also to its own site, and sameOrigin refuses that.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "+
			"frame-ancestors 'none'; base-uri 'none'")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		if strings.HasPrefix(r.URL.Path, "/static/") {
			hd.Set("Cache-Control", "public, max-age=3600")
		} else {
			hd.Set("Cache-Control", "no-store")
		}
		h.ServeHTTP(w, r)
	})
}

// clientAddr is the client's address (the TCP peer; a reverse proxy's
// clients therefore share the proxy's address).
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// audit writes an office audit entry; what must be accounted for is not
// done when the entry cannot be written.
func (o *Office) audit(ctx context.Context, r *http.Request, s *session, action, record, detail string) error {
	err := o.srv.Office().AddOfficeAudit(ctx, server.OfficeAuditEntry{Tenant: s.Tenant, At: o.srv.Now(),
		Username: s.Username, Action: action, Record: record, Addr: clientAddr(r), Detail: detail})
	if err != nil {
		return fmt.Errorf("office: audit %s: %w", action, err)
	}
	return nil
}

// fail answers a server-side error: logged without personal data, a
// general page to the user.
func (o *Office) fail(w http.ResponseWriter, r *http.Request, s *session, err error) {
	status := http.StatusInternalServerError
	if errors.Is(err, server.ErrUnavailable) {
		status = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "2")
	}
	o.log.Error("office request failed", "path", r.URL.Path, "err", err)
	o.renderStatus(w, r, s, status, "error", &page{Title: "Fehler",
		Error: "Die Anfrage konnte nicht bearbeitet werden. Bitte später erneut versuchen."})
}

func (o *Office) notFound(w http.ResponseWriter, r *http.Request, s *session) {
	o.renderStatus(w, r, s, http.StatusNotFound, "error", &page{Title: "Nicht gefunden",
		Error: "Diese Seite gibt es nicht."})
}

func (o *Office) forbidden(w http.ResponseWriter, r *http.Request, s *session) {
	o.renderStatus(w, r, s, http.StatusForbidden, "error", &page{Title: "Nicht erlaubt",
		Error: "Dafür fehlt Ihnen die Berechtigung, oder das Formular ist abgelaufen. Bitte die Seite neu laden."})
}

var timeZero time.Time
