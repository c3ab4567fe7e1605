package office_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/internal/domain"
)

// Planning staff create and change a visit, book, move and cancel
// appointments; all of it reaches the laptop by sync, the citizen's name
// sealed on the way.
func TestOffice_PlanningReachesLaptop(t *testing.T) {
	e := newEnv(t)
	l := e.laptop(tenantA)
	p := e.browser()
	p.login("plan.roth")
	day := time.Now().Format("2006-01-02")
	p.get("/planning")
	code, _, hdr := p.post("/planning/visits", url.Values{"place": {"Seniorenheim Lindenhof"}, "address": {"Am Park 2, 54321 Oberweiler"},
		"day": {day}, "clerks": {"anna, ben"}})
	if code != http.StatusSeeOther {
		t.Fatalf("create visit: %d\n%s", code, p.last)
	}
	visit, _, _ := strings.Cut(hdr.Get("Location"), "?")
	visitID := strings.TrimPrefix(visit, "/planning/visits/")
	p.get(visit)
	if code, _, _ := p.post(visit, url.Values{"place": {"Seniorenheim Lindenhof, Saal 2"}, "address": {"Am Park 2, 54321 Oberweiler"},
		"day": {day}, "clerks": {"anna"}}); code != http.StatusSeeOther {
		t.Fatalf("change visit: %d\n%s", code, p.last)
	}
	for _, a := range []struct{ at, name string }{{"09:00", "Erika Mustermann"}, {"09:20", "Max Beispiel"}, {"09:40", "Jonas Probe"}} {
		p.get(visit)
		if code, _, _ := p.post(visit+"/appointments", url.Values{"time": {a.at}, "minutes": {"15"}, "service": {"anmeldung"},
			"name": {a.name}}); code != http.StatusSeeOther {
			t.Fatalf("book %s: %d\n%s", a.at, code, p.last)
		}
	}
	// A booking without a name is refused and books nothing.
	p.get(visit)
	if code, _, _ := p.post(visit+"/appointments", url.Values{"time": {"10:00"}, "minutes": {"15"}, "service": {"anmeldung"}}); code != http.StatusUnprocessableEntity {
		t.Fatalf("book without a name: %d", code)
	}
	_, body, _ := p.get(visit)
	ids := rx(`id="appt-([0-9a-f-]{36})"`).FindAllStringSubmatch(body, -1)
	if len(ids) != 3 {
		t.Fatalf("appointments on the page: %d\n%s", len(ids), body)
	}
	if code, _, _ := p.post("/planning/appointments/"+ids[1][1], url.Values{"action": {"move"}, "time": {"11:30"}}); code != http.StatusSeeOther {
		t.Fatalf("move: %d\n%s", code, p.last)
	}
	p.get(visit)
	if code, _, _ := p.post("/planning/appointments/"+ids[2][1], url.Values{"action": {"cancel"}}); code != http.StatusSeeOther {
		t.Fatalf("cancel: %d\n%s", code, p.last)
	}
	_, body, _ = p.get(visit)
	for _, want := range []string{"Erika Mustermann", "verschoben auf 11:30", "abgesagt", "Saal 2"} {
		if !strings.Contains(body, want) {
			t.Errorf("visit page lacks %q", want)
		}
	}

	l.sync()
	vs, err := l.ss.List(e.ctx, domain.TypeVisit, nil)
	if err != nil || len(vs) != 1 || vs[0].ID != visitID || vs[0].Fields["place"] != "Seniorenheim Lindenhof, Saal 2" || vs[0].Fields["clerk_ids"] != "anna" {
		t.Fatalf("visits on the laptop: %+v %v", vs, err)
	}
	as, err := l.ss.List(e.ctx, domain.TypeAppointment, domain.Fields{"visit_id": visitID})
	if err != nil || len(as) != 3 {
		t.Fatalf("appointments on the laptop: %+v %v", as, err)
	}
	got := map[string]domain.Appointment{}
	for _, r := range as {
		a, err := domain.AppointmentFromFields(r.ID, r.Fields)
		if err != nil {
			t.Fatal(err)
		}
		got[a.CitizenName] = a
	}
	if a := got["Erika Mustermann"]; a.Status != domain.AppointmentBooked || a.StartsAt.Local().Format("15:04") != "09:00" {
		t.Errorf("booked: %+v", a)
	}
	if a := got["Max Beispiel"]; a.Status != domain.AppointmentMoved || a.MovedTo.Local().Format("15:04") != "11:30" {
		t.Errorf("moved: %+v", a)
	}
	if a := got["Jonas Probe"]; a.Status != domain.AppointmentCancelled {
		t.Errorf("cancelled: %+v", a)
	}
	// Reading the names was logged; booking wrote no name into the log.
	var opened bool
	for _, a := range e.audit(tenantA) {
		opened = opened || a.Action == "visit.appointments" && a.Record == visitID
		if strings.Contains(a.Detail, "Mustermann") {
			t.Errorf("a name in the audit log: %+v", a)
		}
	}
	if !opened {
		t.Error("reading the appointments was not logged")
	}
}

// Planning staff issue an enrolment code and revoke a laptop, whose
// next sync then fails; another tenant's laptop cannot be revoked.
func TestOffice_Devices(t *testing.T) {
	e := newEnv(t)
	l := e.laptop(tenantA)
	other := e.laptop(tenantB)
	l.sync()
	p := e.browser()
	p.login("plan.roth")
	_, body, _ := p.get("/devices")
	if !strings.Contains(body, "laptop-"+tenantA) || strings.Contains(body, "laptop-"+tenantB) {
		t.Fatalf("devices page:\n%s", body)
	}
	code, body, _ := p.post("/devices/enrol", nil)
	if code != http.StatusOK || !rx(`id="enrolment-code">[A-Z0-9-]+<`).MatchString(body) {
		t.Fatalf("enrol: %d\n%s", code, body)
	}
	devs, _ := e.srv.Devices(e.ctx, tenantB)
	p.get("/devices")
	if code, _, _ := p.post("/devices/"+devs[0].ID+"/revoke", nil); code != http.StatusNotFound {
		t.Fatalf("revoke another tenant's laptop: %d", code)
	}
	other.sync()
	devs, _ = e.srv.Devices(e.ctx, tenantA)
	p.get("/devices")
	if code, _, _ := p.post("/devices/"+devs[0].ID+"/revoke", nil); code != http.StatusSeeOther {
		t.Fatalf("revoke: %d\n%s", code, p.last)
	}
	a, err := newAgent(l)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := a.SyncOnce(e.ctx); err == nil {
		t.Fatal("a revoked laptop still syncs")
	}
}
