package office

// This file plans the field: visits (place, address, day, clerks) and
// their appointments (service, time, citizen's name; the name is sealed
// like every personal value). Each is a town-hall change that reaches
// the laptops by sync.

import (
	"context"
	"errors"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/merge"
	"github.com/buergerkoffer/kit/internal/server"
)

type visitRow struct {
	domain.Visit
	Version int64
	Clerks  string
}

// listVisits returns the tenant's visits, newest day first.
func (o *Office) listVisits(ctx context.Context, tenant string) ([]visitRow, error) {
	var out []visitRow
	err := o.srv.Office().RecordsOfType(ctx, tenant, string(domain.TypeVisit), func(r *merge.Record) error {
		if r.Deleted {
			return nil
		}
		v := domain.VisitFromFields(r.ID, plainFields(r))
		out = append(out, visitRow{Visit: v, Version: r.Version, Clerks: strings.Join(v.ClerkIDs, ", ")})
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Day > out[j].Day })
	return out, nil
}

func plainFields(r *merge.Record) domain.Fields {
	f := domain.Fields{}
	for k, v := range r.Fields {
		if !v.Personal {
			f[k] = v.Value
		}
	}
	return f
}

type visitsData struct {
	Visits []visitRow
	Form   visitRow
}

func (o *Office) visits(w http.ResponseWriter, r *http.Request, s *session) {
	o.showVisits(w, r, s, http.StatusOK, "", visitRow{})
}

func (o *Office) showVisits(w http.ResponseWriter, r *http.Request, s *session, status int, errMsg string, form visitRow) {
	vs, err := o.listVisits(r.Context(), s.Tenant)
	if err != nil {
		o.fail(w, r, s, err)
		return
	}
	msg := ""
	if r.URL.Query().Get("saved") == "1" {
		msg = "Gespeichert. Die Laptops erhalten es mit der nächsten Synchronisierung."
	}
	o.renderStatus(w, r, s, status, "planning", &page{Title: "Einsätze planen", Nav: "planning", Message: msg, Error: errMsg,
		Data: visitsData{Visits: vs, Form: form}})
}

// visitForm reads and checks a visit from a form.
func visitForm(r *http.Request) (visitRow, string) {
	v := visitRow{Visit: domain.Visit{Place: strings.TrimSpace(r.PostFormValue("place")),
		VenueAddress: strings.TrimSpace(r.PostFormValue("address")), Day: r.PostFormValue("day")}}
	for _, c := range strings.Split(r.PostFormValue("clerks"), ",") {
		if c = strings.TrimSpace(c); c != "" {
			v.ClerkIDs = append(v.ClerkIDs, c)
		}
	}
	v.Clerks = strings.Join(v.ClerkIDs, ", ")
	if _, err := time.Parse("2006-01-02", v.Day); err != nil {
		return v, "Bitte einen Tag angeben."
	}
	if v.Place == "" || len(v.Place) > 200 || len(v.VenueAddress) > 200 {
		return v, "Bitte den Ort angeben (höchstens 200 Zeichen)."
	}
	return v, ""
}

// saveVisit creates a visit (POST /planning/visits) or changes one
// (POST /planning/visits/{id}).
func (o *Office) saveVisit(w http.ResponseWriter, r *http.Request, s *session) {
	ctx, id := r.Context(), r.PathValue("id")
	v, problem := visitForm(r)
	if problem != "" {
		if id != "" {
			o.showVisit(w, r, s, http.StatusUnprocessableEntity, problem)
			return
		}
		o.showVisits(w, r, s, http.StatusUnprocessableEntity, problem, v)
		return
	}
	c := server.CentralChange{RecordType: domain.TypeVisit, Op: "create", BaseVersion: -1, Set: v.Fields().NonEmpty(), Clerk: s.Username}
	action := "visit.create"
	if id != "" {
		cur, ok, err := o.record(ctx, s, id, domain.TypeVisit)
		if err != nil || !ok {
			o.missing(w, r, s, err)
			return
		}
		c.RecordID, c.Op, c.BaseVersion, c.Set, action = id, "update", cur.Version, v.Fields(), "visit.update"
	} else {
		c.RecordID = domain.NewID()
	}
	if _, err := o.srv.Central(ctx, s.Tenant, c); err != nil {
		o.fail(w, r, s, err)
		return
	}
	if err := o.audit(ctx, r, s, action, c.RecordID, ""); err != nil {
		o.fail(w, r, s, err)
		return
	}
	if id != "" {
		http.Redirect(w, r, "/planning/visits/"+id+"?saved=1", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/planning/visits/"+c.RecordID+"?saved=1", http.StatusSeeOther)
}

// record reads a record of a type of the session's tenant; ok false if
// there is none.
func (o *Office) record(ctx context.Context, s *session, id string, typ domain.RecordType) (server.RecordView, bool, error) {
	if !domain.ValidID(id) {
		return server.RecordView{}, false, nil
	}
	v, err := o.srv.Record(ctx, s.Tenant, id)
	if errors.Is(err, server.ErrNotFound) {
		return v, false, nil
	}
	if err != nil {
		return v, false, err
	}
	return v, v.Type == typ && !v.Deleted, nil
}

// missing answers a record that could not be read: an error, or 404.
func (o *Office) missing(w http.ResponseWriter, r *http.Request, s *session, err error) {
	if err != nil {
		o.fail(w, r, s, err)
		return
	}
	o.notFound(w, r, s)
}

type apptRow struct {
	domain.Appointment
	Version int64
	Service string
	Time    string // HH:MM
	MovedTo string // HH:MM
}

type visitData struct {
	Visit    visitRow
	Appts    []apptRow
	Services []option
}

func (o *Office) visitPage(w http.ResponseWriter, r *http.Request, s *session) {
	o.showVisit(w, r, s, http.StatusOK, "")
}

// showVisit shows a visit with its appointments. Reading the citizens'
// names is logged.
func (o *Office) showVisit(w http.ResponseWriter, r *http.Request, s *session, status int, errMsg string) {
	ctx, id := r.Context(), r.PathValue("id")
	vv, ok, err := o.record(ctx, s, id, domain.TypeVisit)
	if err != nil || !ok {
		o.missing(w, r, s, err)
		return
	}
	d := visitData{Visit: visitRow{Visit: domain.VisitFromFields(id, vv.Fields), Version: vv.Version},
		Services: o.serviceOptions(s.lang, "")}
	d.Visit.Clerks = strings.Join(d.Visit.ClerkIDs, ", ")
	var ids []string
	err = o.srv.Office().RecordsOfType(ctx, s.Tenant, string(domain.TypeAppointment), func(rec *merge.Record) error {
		if !rec.Deleted && rec.Fields["visit_id"].Value == id {
			ids = append(ids, rec.ID)
		}
		return nil
	})
	if err != nil {
		o.fail(w, r, s, err)
		return
	}
	if len(ids) > 0 {
		if err := o.audit(ctx, r, s, "visit.appointments", id, strconv.Itoa(len(ids))); err != nil {
			o.fail(w, r, s, err)
			return
		}
	}
	for _, aid := range ids {
		av, err := o.srv.Record(ctx, s.Tenant, aid)
		if err != nil {
			o.fail(w, r, s, err)
			return
		}
		a, err := domain.AppointmentFromFields(aid, av.Fields)
		if err != nil {
			continue
		}
		row := apptRow{Appointment: a, Version: av.Version, Service: o.serviceLabel(s.lang, a.ServiceID),
			Time: a.StartsAt.Local().Format("15:04")}
		if !a.MovedTo.IsZero() {
			row.MovedTo = a.MovedTo.Local().Format("15:04")
		}
		d.Appts = append(d.Appts, row)
	}
	sort.Slice(d.Appts, func(i, j int) bool { return d.Appts[i].StartsAt.Before(d.Appts[j].StartsAt) })
	msg := ""
	if r.URL.Query().Get("saved") == "1" {
		msg = "Gespeichert. Die Laptops erhalten es mit der nächsten Synchronisierung."
	}
	o.renderStatus(w, r, s, status, "visit", &page{Title: "Einsatz", Nav: "planning", Message: msg, Error: errMsg, Data: d})
}

// atOnDay parses "HH:MM" on a visit's day, in local time.
func atOnDay(day, hhmm string) (time.Time, error) {
	return time.ParseInLocation("2006-01-02 15:04", day+" "+hhmm, time.Local)
}

func (o *Office) bookAppointment(w http.ResponseWriter, r *http.Request, s *session) {
	ctx, id := r.Context(), r.PathValue("id")
	vv, ok, err := o.record(ctx, s, id, domain.TypeVisit)
	if err != nil || !ok {
		o.missing(w, r, s, err)
		return
	}
	start, err := atOnDay(vv.Fields["day"], r.PostFormValue("time"))
	minutes, merr := strconv.Atoi(r.PostFormValue("minutes"))
	name := strings.TrimSpace(r.PostFormValue("name"))
	svc := r.PostFormValue("service")
	_, known := o.cat.Service(svc)
	switch {
	case err != nil:
		o.showVisit(w, r, s, http.StatusUnprocessableEntity, "Bitte die Uhrzeit angeben (SS:MM).")
		return
	case merr != nil || minutes < 5 || minutes > 240:
		o.showVisit(w, r, s, http.StatusUnprocessableEntity, "Bitte eine Dauer zwischen 5 und 240 Minuten angeben.")
		return
	case !known:
		o.showVisit(w, r, s, http.StatusUnprocessableEntity, "Bitte eine Leistung wählen.")
		return
	case name == "" || len(name) > 200:
		o.showVisit(w, r, s, http.StatusUnprocessableEntity, "Bitte den Namen der Bürgerin oder des Bürgers angeben.")
		return
	}
	a := domain.Appointment{VisitID: id, StartsAt: start, Minutes: minutes, ServiceID: svc,
		Status: domain.AppointmentBooked, CitizenName: name}
	aid := domain.NewID()
	if _, err := o.srv.Central(ctx, s.Tenant, server.CentralChange{RecordID: aid, RecordType: domain.TypeAppointment,
		Op: "create", BaseVersion: -1, Set: a.Fields().NonEmpty(), Clerk: s.Username}); err != nil {
		o.fail(w, r, s, err)
		return
	}
	if err := o.audit(ctx, r, s, "appointment.book", aid, ""); err != nil {
		o.fail(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/planning/visits/"+id+"?saved=1", http.StatusSeeOther)
}

// changeAppointment moves (action=move, time=HH:MM) or cancels
// (action=cancel) an appointment.
func (o *Office) changeAppointment(w http.ResponseWriter, r *http.Request, s *session) {
	ctx, id := r.Context(), r.PathValue("id")
	av, ok, err := o.record(ctx, s, id, domain.TypeAppointment)
	if err != nil || !ok {
		o.missing(w, r, s, err)
		return
	}
	visitID := av.Fields["visit_id"]
	r.SetPathValue("id", visitID)
	set := domain.Fields{}
	switch r.PostFormValue("action") {
	case "cancel":
		set["status"] = string(domain.AppointmentCancelled)
	case "move":
		vv, ok, err := o.record(ctx, s, visitID, domain.TypeVisit)
		if err != nil || !ok {
			o.missing(w, r, s, err)
			return
		}
		to, err := atOnDay(vv.Fields["day"], r.PostFormValue("time"))
		if err != nil {
			o.showVisit(w, r, s, http.StatusUnprocessableEntity, "Bitte die neue Uhrzeit angeben (SS:MM).")
			return
		}
		set["status"], set["moved_to"] = string(domain.AppointmentMoved), to.UTC().Format(time.RFC3339Nano)
	default:
		o.showVisit(w, r, s, http.StatusUnprocessableEntity, "Unbekannte Aktion.")
		return
	}
	if _, err := o.srv.Central(ctx, s.Tenant, server.CentralChange{RecordID: id, RecordType: domain.TypeAppointment,
		Op: "update", BaseVersion: av.Version, Set: set, Clerk: s.Username}); err != nil {
		o.fail(w, r, s, err)
		return
	}
	if err := o.audit(ctx, r, s, "appointment."+r.PostFormValue("action"), id, ""); err != nil {
		o.fail(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/planning/visits/"+visitID+"?saved=1", http.StatusSeeOther)
}
