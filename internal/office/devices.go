package office

// This file is the tenant's laptops: last contact, enrolment codes for
// new ones, and revocation of a lost one (its token fails at its next
// request).

import (
	"errors"
	"net/http"
	"time"

	"github.com/buergerkoffer/kit/internal/server"
)

// EnrolmentTTL is how long an enrolment code from the office is valid.
const EnrolmentTTL = 24 * time.Hour

type devicesData struct {
	Devices []server.Device
	Code    string
	Expires time.Time
}

func (o *Office) devices(w http.ResponseWriter, r *http.Request, s *session) {
	o.showDevices(w, r, s, devicesData{}, "")
}

func (o *Office) showDevices(w http.ResponseWriter, r *http.Request, s *session, d devicesData, msg string) {
	ds, err := o.srv.Devices(r.Context(), s.Tenant)
	if err != nil {
		o.fail(w, r, s, err)
		return
	}
	d.Devices = ds
	if msg == "" && r.URL.Query().Get("revoked") == "1" {
		msg = "Der Laptop ist gesperrt. Er kann sich nicht mehr synchronisieren."
	}
	o.render(w, r, s, "devices", &page{Title: "Laptops", Nav: "devices", Message: msg, Data: d})
}

func (o *Office) enrol(w http.ResponseWriter, r *http.Request, s *session) {
	code, err := o.srv.IssueEnrolment(r.Context(), s.Tenant, EnrolmentTTL)
	if err != nil {
		o.fail(w, r, s, err)
		return
	}
	if err := o.audit(r.Context(), r, s, "device.enrolment_code", "", ""); err != nil {
		o.fail(w, r, s, err)
		return
	}
	o.showDevices(w, r, s, devicesData{Code: code, Expires: o.srv.Now().Add(EnrolmentTTL)},
		"Neuer Anmeldecode erstellt. Er gilt einmal und 24 Stunden lang.")
}

func (o *Office) revoke(w http.ResponseWriter, r *http.Request, s *session) {
	ctx, id := r.Context(), r.PathValue("id")
	ds, err := o.srv.Devices(ctx, s.Tenant)
	if err != nil {
		o.fail(w, r, s, err)
		return
	}
	found := false
	for _, d := range ds {
		found = found || d.ID == id
	}
	if !found {
		o.notFound(w, r, s)
		return
	}
	if err := o.srv.Revoke(ctx, id); err != nil && !errors.Is(err, server.ErrNotFound) {
		o.fail(w, r, s, err)
		return
	}
	if err := o.audit(ctx, r, s, "device.revoke", id, ""); err != nil {
		o.fail(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/devices?revoked=1", http.StatusSeeOther)
}
