package office

// This file renders pages: the layout with its navigation by role, the
// page's texts in the staff member's language (German is the key,
// translations/en.json the English), and the template functions.

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/server"
)

//go:embed translations/*.json
var translationFS embed.FS

var (
	trOnce sync.Once
	trEN   map[string]string
)

// tr translates German text s into lang; German and missing entries come
// back as they are.
func tr(lang, s string) string {
	if lang != "en" {
		return s
	}
	trOnce.Do(func() {
		trEN = map[string]string{}
		if b, err := translationFS.ReadFile("translations/en.json"); err == nil {
			json.Unmarshal(b, &trEN)
		}
	})
	if v, ok := trEN[s]; ok && v != "" {
		return v
	}
	if missingTranslation != nil {
		missingTranslation(s)
	}
	return s
}

// missingTranslation, if set (tests), hears of every text without an
// English entry.
var missingTranslation func(string)

// langOf is the language of a request: ?lang=, then the bk_lang cookie,
// then the browser's first choice; German by default.
func langOf(r *http.Request) string {
	if l := r.URL.Query().Get("lang"); l == "de" || l == "en" {
		return l
	}
	if c, err := r.Cookie("bk_lang"); err == nil && (c.Value == "de" || c.Value == "en") {
		return c.Value
	}
	if strings.HasPrefix(strings.ToLower(r.Header.Get("Accept-Language")), "en") {
		return "en"
	}
	return "de"
}

// L is the page's language, for the templates: {{.L.T "Eingang"}}.
type L string

// T translates a text.
func (l L) T(s string) string { return tr(string(l), s) }

// F translates a format and fills it in.
func (l L) F(format string, args ...any) string { return fmt.Sprintf(tr(string(l), format), args...) }

// page is what every template gets.
type page struct {
	Title   string // German; translated in the layout
	L       L
	S       *session
	CSRF    string
	Nav     string // the active navigation entry
	Message string // German, translated in the layout
	Error   string // German, translated in the layout
	Data    any
}

var funcs = template.FuncMap{
	"date": func(t time.Time) string {
		if t.IsZero() {
			return "–"
		}
		return t.Local().Format("02.01.2006 15:04")
	},
	"isoDay": func(s string) string { // YYYY-MM-DD → DD.MM.YYYY
		if len(s) == 10 && s[4] == '-' && s[7] == '-' {
			return s[8:10] + "." + s[5:7] + "." + s[0:4]
		}
		return s
	},
	"arrived": func(s string) string { // a stored time as the page shows it
		for _, layout := range []string{"2006-01-02T15:04:05.000000000Z", time.RFC3339Nano} {
			if t, err := time.Parse(layout, s); err == nil {
				return t.Local().Format("02.01.2006 15:04")
			}
		}
		return s
	},
	"short": shortID,
	"is":    func(role string, s *session) bool { return s != nil && s.Role == role },
}

func (o *Office) render(w http.ResponseWriter, r *http.Request, s *session, name string, p *page) {
	o.renderStatus(w, r, s, http.StatusOK, name, p)
}

func (o *Office) renderStatus(w http.ResponseWriter, r *http.Request, s *session, status int, name string, p *page) {
	t, ok := o.tmpl[name]
	if !ok {
		http.Error(w, "no template "+name, http.StatusInternalServerError)
		return
	}
	p.S = s
	if s != nil {
		p.CSRF = s.CSRF
		p.L = L(s.lang)
	} else {
		p.L = L(langOf(r))
	}
	if l := r.URL.Query().Get("lang"); l == "de" || l == "en" {
		http.SetCookie(w, &http.Cookie{Name: "bk_lang", Value: l, Path: "/", MaxAge: 365 * 24 * 3600,
			HttpOnly: true, Secure: o.secure, SameSite: http.SameSiteStrictMode})
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, p); err != nil {
		o.log.Error("office: render", "page", name, "err", err)
		http.Error(w, "Interner Fehler", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// shortID shortens a record or clerk id (a UUID) to what people tell
// apart; anything else (a staff user name) stays as it is.
func shortID(id string) string {
	if domain.ValidID(id) {
		return id[:8] + "…"
	}
	return id
}

// roleLabel is a role's German name.
func roleLabel(role string) string {
	switch role {
	case server.RoleCaseworker:
		return "Sachbearbeitung"
	case server.RolePlanning:
		return "Planung"
	case server.RoleAdmin:
		return "Verwaltung"
	}
	return role
}

func init() { funcs["role"] = roleLabel }
