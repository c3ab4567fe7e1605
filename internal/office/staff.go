package office

// This file is the administrators' side: staff accounts (create,
// disable, enable, delete; a disabled or deleted member's sessions end at
// once, in the same transaction) and the office audit log.

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/buergerkoffer/kit/internal/server"
)

type staffData struct {
	Staff []server.Staff
	Roles []option
	User  string
}

func (o *Office) staffPage(w http.ResponseWriter, r *http.Request, s *session) {
	o.showStaff(w, r, s, http.StatusOK, "", "")
}

func (o *Office) showStaff(w http.ResponseWriter, r *http.Request, s *session, status int, msg, errMsg string) {
	sts, err := o.srv.Office().StaffList(r.Context(), s.Tenant)
	if err != nil {
		o.fail(w, r, s, err)
		return
	}
	d := staffData{Staff: sts}
	for _, role := range []string{server.RoleCaseworker, server.RolePlanning, server.RoleAdmin} {
		d.Roles = append(d.Roles, option{Value: role, Label: roleLabel(role)})
	}
	if errMsg != "" {
		d.User = r.PostFormValue("username")
	}
	if msg == "" && r.URL.Query().Get("saved") == "1" {
		msg = "Gespeichert."
	}
	o.renderStatus(w, r, s, status, "staff", &page{Title: "Mitarbeitende", Nav: "staff", Message: msg, Error: errMsg, Data: d})
}

func (o *Office) addStaff(w http.ResponseWriter, r *http.Request, s *session) {
	user := strings.ToLower(strings.TrimSpace(r.PostFormValue("username")))
	pw := []byte(r.PostFormValue("password"))
	defer clear(pw)
	err := o.srv.AddStaff(r.Context(), s.Tenant, user, r.PostFormValue("role"), pw)
	switch {
	case errors.Is(err, server.ErrExists):
		o.showStaff(w, r, s, http.StatusConflict, "", "Dieser Benutzername ist vergeben.")
		return
	case errors.Is(err, server.ErrInvalidStaff):
		o.showStaff(w, r, s, http.StatusUnprocessableEntity, "",
			"Benutzername: 2 bis 63 Zeichen a–z, 0–9, Punkt, Unterstrich, Bindestrich; Passwort: mindestens 10 Zeichen; eine Rolle wählen.")
		return
	case err != nil:
		o.fail(w, r, s, err)
		return
	}
	if err := o.audit(r.Context(), r, s, "staff.add", "", user); err != nil {
		o.fail(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/staff?saved=1", http.StatusSeeOther)
}

// changeStaff disables, enables or deletes a staff member, or sets a new
// password (action=…; the member's sessions end); nobody does it to
// themselves.
func (o *Office) changeStaff(w http.ResponseWriter, r *http.Request, s *session) {
	ctx, user, action := r.Context(), r.PathValue("user"), r.PostFormValue("action")
	if user == s.Username {
		o.showStaff(w, r, s, http.StatusConflict, "", "Das eigene Konto lässt sich hier nicht ändern.")
		return
	}
	st := o.srv.Office()
	var err error
	switch action {
	case "disable":
		err = st.SetStaffDisabled(ctx, s.Tenant, user, o.srv.Now())
	case "enable":
		err = st.SetStaffDisabled(ctx, s.Tenant, user, timeZero)
	case "delete": // asks first: a deletion cannot be undone
		m, err := st.StaffByName(ctx, user)
		if err != nil || m.Tenant != s.Tenant { // another tenant's member is no member
			o.missing(w, r, s, ignoreNotFound(err))
			return
		}
		o.render(w, r, s, "staff-delete", &page{Title: "Konto löschen", Nav: "staff", Data: user})
		return
	case "delete-confirmed":
		err = st.DeleteStaff(ctx, s.Tenant, user)
		action = "delete"
	case "password":
		pw := []byte(r.PostFormValue("password"))
		err = o.srv.SetStaffPassword(ctx, s.Tenant, user, pw)
		clear(pw)
		if errors.Is(err, server.ErrInvalidStaff) {
			o.showStaff(w, r, s, http.StatusUnprocessableEntity, "", "Das Passwort braucht mindestens 10 Zeichen.")
			return
		}
	default:
		o.showStaff(w, r, s, http.StatusUnprocessableEntity, "", "Unbekannte Aktion.")
		return
	}
	if errors.Is(err, server.ErrNotFound) {
		o.notFound(w, r, s)
		return
	}
	if err != nil {
		o.fail(w, r, s, err)
		return
	}
	if err := o.audit(ctx, r, s, "staff."+action, "", user); err != nil {
		o.fail(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/staff?saved=1", http.StatusSeeOther)
}

// AuditPageSize is how many entries a page of the audit log shows.
const AuditPageSize = 100

type auditData struct {
	Entries []server.OfficeAuditEntry
	Next    int64 // the "before" of the next page, 0 if none
	Paged   bool
}

func (o *Office) auditPage(w http.ResponseWriter, r *http.Request, s *session) {
	before, _ := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
	es, err := o.srv.Office().OfficeAudit(r.Context(), s.Tenant, before, AuditPageSize+1)
	if err != nil {
		o.fail(w, r, s, err)
		return
	}
	d := auditData{Paged: before > 0}
	if len(es) > AuditPageSize {
		es = es[:AuditPageSize]
		d.Next = es[len(es)-1].ID
	}
	d.Entries = es
	o.render(w, r, s, "audit", &page{Title: "Protokoll", Nav: "audit", Data: d})
}

// ignoreNotFound turns ErrNotFound into nil (missing answers 404 then).
func ignoreNotFound(err error) error {
	if errors.Is(err, server.ErrNotFound) {
		return nil
	}
	return err
}

func actionLabel(a string) string {
	switch a {
	case "login":
		return "Angemeldet"
	case "case.open":
		return "Fall geöffnet"
	case "case.file":
		return "Anlage eines Falls geöffnet"
	case "case.decide":
		return "Fall entschieden"
	case "visit.create":
		return "Einsatz angelegt"
	case "visit.update":
		return "Einsatz geändert"
	case "visit.appointments":
		return "Termine eines Einsatzes angesehen"
	case "appointment.book":
		return "Termin gebucht"
	case "appointment.move":
		return "Termin verschoben"
	case "appointment.cancel":
		return "Termin abgesagt"
	case "device.enrolment_code":
		return "Anmeldecode erstellt"
	case "device.revoke":
		return "Laptop gesperrt"
	case "staff.add":
		return "Konto angelegt"
	case "staff.disable":
		return "Konto gesperrt"
	case "staff.enable":
		return "Konto entsperrt"
	case "staff.delete":
		return "Konto gelöscht"
	case "staff.password":
		return "Passwort neu gesetzt"
	}
	return a
}

func init() { funcs["action"] = actionLabel }
