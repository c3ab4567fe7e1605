package office_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/internal/office"
)

// Every text of every page, in every state the tests reach here, has an
// English entry in translations/en.json.
func TestOffice_EnglishIsComplete(t *testing.T) {
	var mu sync.Mutex
	missing := map[string]bool{}
	office.SetMissingTranslation(func(s string) {
		mu.Lock()
		missing[s] = true
		mu.Unlock()
	})
	defer office.SetMissingTranslation(nil)

	e := newEnv(t)
	l := e.laptop(tenantA)
	id := l.sealCase("Mustermann", "Erika")
	id2 := l.sealCase("Musterfrau", "Eva")
	l.sync()
	en := func(user string) *browser {
		b := e.browser()
		b.get("/login?lang=en")
		b.login(user)
		return b
	}
	sb := en("sb.meier")
	for _, p := range []string{"/inbox", "/inbox?status=eingegangen", "/cases/" + id, "/nowhere"} {
		sb.get(p)
	}
	_, page, _ := sb.get("/cases/" + id)
	sb.post("/cases/"+id+"/decision", url.Values{"outcome": {"rejected"}, "version": {versionOf(t, page)}})
	sb.post("/cases/"+id+"/decision", url.Values{"outcome": {"needs_info"}, "version": {versionOf(t, page)}})
	sb.post("/cases/"+id+"/decision", url.Values{"outcome": {"rejected"}, "version": {versionOf(t, page)}, "note": {"fehlt"}})
	sb.get("/cases/" + id + "?decided=1")
	sb.post("/cases/"+id+"/decision", url.Values{"outcome": {"accepted"}, "version": {versionOf(t, page)}})
	_, page, _ = sb.get("/cases/" + id2)
	sb.post("/cases/"+id2+"/decision", url.Values{"outcome": {"needs_info"}, "version": {versionOf(t, page)}, "note": {"Frage"}})
	sb.get("/cases/" + id2)
	sb.get("/planning")
	sb.post("/cases/"+id+"/decision", url.Values{"csrf": {"x"}})

	p := en("plan.roth")
	p.get("/planning")
	p.post("/planning/visits", url.Values{"place": {""}, "day": {"x"}})
	_, _, hdr := p.post("/planning/visits", url.Values{"place": {"Ort"}, "day": {time.Now().Format("2006-01-02")}})
	visit, _, _ := strings.Cut(hdr.Get("Location"), "?")
	p.get(visit + "?saved=1")
	for _, f := range []url.Values{{"time": {"x"}}, {"time": {"09:00"}, "minutes": {"1"}}, {"time": {"09:00"}, "minutes": {"15"}},
		{"time": {"09:00"}, "minutes": {"15"}, "service": {"anmeldung"}},
		{"time": {"09:00"}, "minutes": {"15"}, "service": {"anmeldung"}, "name": {"A"}},
		{"time": {"09:20"}, "minutes": {"15"}, "service": {"anmeldung"}, "name": {"B"}}} {
		p.get(visit)
		p.post(visit+"/appointments", f)
	}
	_, body, _ := p.get(visit)
	ids := rx(`id="appt-([0-9a-f-]{36})"`).FindAllStringSubmatch(body, -1)
	p.post("/planning/appointments/"+ids[0][1], url.Values{"action": {"move"}, "time": {"x"}})
	p.post("/planning/appointments/"+ids[0][1], url.Values{"action": {"move"}, "time": {"10:00"}})
	p.get(visit)
	p.post("/planning/appointments/"+ids[1][1], url.Values{"action": {"cancel"}})
	p.get(visit)
	p.post("/planning/appointments/"+ids[1][1], url.Values{"action": {"x"}})
	p.get("/devices")
	p.post("/devices/enrol", nil)
	devs, _ := e.srv.Devices(e.ctx, tenantA)
	p.post("/devices/"+devs[0].ID+"/revoke", nil)
	p.get("/devices?revoked=1")

	a := en("admin.vogel")
	a.get("/staff")
	a.post("/staff", url.Values{"username": {"x"}, "role": {"admin"}, "password": {"short"}})
	a.post("/staff", url.Values{"username": {"sb.meier"}, "role": {"admin"}, "password": {staffPassword}})
	a.post("/staff/admin.vogel", url.Values{"action": {"disable"}})
	a.post("/staff/sb.kaya", url.Values{"action": {"disable"}})
	a.get("/staff?saved=1")
	a.post("/staff/sb.kaya", url.Values{"action": {"x"}})
	a.get("/staff")
	a.post("/staff/sb.kaya", url.Values{"action": {"delete"}})
	a.get("/audit")

	x := e.browser()
	x.get("/login?lang=en")
	x.post("/login", url.Values{"username": {"nobody"}, "password": {"nothing-at-all"}})
	for range 6 {
		x.tryLogin("nobody", "nothing-at-all")
	}
	if x.last == "" || !strings.Contains(x.last, "<html lang=\"en\">") {
		t.Errorf("not English:\n%s", x.last)
	}
	if code, _, _ := x.get("/login"); code != http.StatusOK {
		t.Errorf("login: %d", code)
	}

	var list []string
	for s := range missing {
		list = append(list, s)
	}
	sort.Strings(list)
	for _, s := range list {
		t.Errorf("no English for %q", s)
	}
}

// Every literal text of the templates has an English entry, reached by
// a test or not.
func TestOffice_TemplateTextsTranslated(t *testing.T) {
	b, err := os.ReadFile("translations/en.json")
	if err != nil {
		t.Fatal(err)
	}
	var en map[string]string
	if err := json.Unmarshal(b, &en); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("templates/*.html")
	for _, f := range files {
		src, _ := os.ReadFile(f)
		for _, m := range rx(`\.T "((?:[^"\\]|\\.)*)"`).FindAllStringSubmatch(string(src), -1) {
			s, err := strconv.Unquote(`"` + m[1] + `"`)
			if err != nil {
				t.Fatal(err)
			}
			if en[s] == "" {
				t.Errorf("%s: no English for %q", f, s)
			}
		}
	}
}
