package office

// This file shows a case and decides it. Opening a case decrypts it in
// this process (server.Record) for the one page, and is written to the
// office audit log first: no entry, no page. A decision is a town-hall
// change based on the version the staff member saw; a second decision
// from another browser finds the first and is refused.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/buergerkoffer/kit/internal/catalog"
	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/server"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

type fieldRow struct{ ID, Label, Value string }

type section struct {
	Label  string
	Fields []fieldRow
}

type checkRow struct {
	Label string
	OK    bool
	Note  string
}

type fileRow struct{ Kind, Label, SHA, Name string }

type historyRow struct {
	At          time.Time
	What        string // German
	Detail      string // field names, statuses: no personal data
	Who, Device string
}

type caseData struct {
	ID, Status, Service     string
	Version                 int64
	Sections                []section
	Person                  []fieldRow
	Checks                  []checkRow
	Signature               string // SHA-256 of the signature picture, "" if none
	Files                   []fileRow
	History                 []historyRow
	DecidedBy, DecisionNote string
	DecidedAt               string
	Decidable               bool
	Note                    string // what the staff member typed, on a refused decision
}

// loadCase reads a case of the session's tenant, decrypted; ok is false
// if there is none (another tenant's case is "none" too).
func (o *Office) loadCase(ctx context.Context, s *session, id string) (server.RecordView, bool, error) {
	if !domain.ValidID(id) {
		return server.RecordView{}, false, nil
	}
	v, err := o.srv.Record(ctx, s.Tenant, id)
	if errors.Is(err, server.ErrNotFound) {
		return server.RecordView{}, false, nil
	}
	if err != nil {
		return server.RecordView{}, false, err
	}
	if v.Type != domain.TypeCase || v.Deleted {
		return server.RecordView{}, false, nil
	}
	return v, true, nil
}

func (o *Office) casePage(w http.ResponseWriter, r *http.Request, s *session) {
	o.showCase(w, r, s, http.StatusOK, "", "", "")
}

// showCase opens a case: audit entry first, then the page.
func (o *Office) showCase(w http.ResponseWriter, r *http.Request, s *session, status int, msg, errMsg, note string) {
	ctx, id := r.Context(), r.PathValue("id")
	v, ok, err := o.loadCase(ctx, s, id)
	if err != nil {
		o.fail(w, r, s, err)
		return
	}
	if !ok {
		o.notFound(w, r, s)
		return
	}
	if err := o.audit(ctx, r, s, "case.open", id, ""); err != nil {
		o.fail(w, r, s, err)
		return
	}
	d, err := o.caseData(ctx, s, v)
	if err != nil {
		o.fail(w, r, s, err)
		return
	}
	d.Note = note
	if msg == "" && r.URL.Query().Get("decided") == "1" {
		msg = "Die Entscheidung ist gespeichert und geht mit der nächsten Synchronisierung an die Laptops."
	}
	o.renderStatus(w, r, s, status, "case", &page{Title: "Fall", Nav: "inbox", Message: msg, Error: errMsg, Data: d})
}

func (o *Office) caseData(ctx context.Context, s *session, v server.RecordView) (caseData, error) {
	f := v.Fields
	d := caseData{ID: v.ID, Version: v.Version, Status: f["status"], DecidedBy: f[domain.FieldDecidedBy],
		DecisionNote: f[domain.FieldDecisionNote], DecidedAt: f[domain.FieldDecidedAt],
		Decidable: domain.Status(f["status"]).Decidable()}
	d.Service = o.serviceLabel(s.lang, f["service_id"])
	d.Sections = o.formSections(s.lang, f)
	if pid := f["person_id"]; pid != "" {
		p, err := o.srv.Record(ctx, s.Tenant, pid)
		if err != nil && !errors.Is(err, server.ErrNotFound) {
			return d, err
		}
		if err == nil && p.Type == domain.TypePerson {
			d.Person, d.Checks = personRows(p.Fields, f)
		}
	}
	for _, name := range v.Fields.Names() {
		kind, ok := strings.CutPrefix(name, domain.AttachmentPrefix)
		if !ok {
			continue
		}
		sha := f[name]
		if domain.AttachmentKind(kind) == domain.AttachmentSignaturePNG {
			d.Signature = sha
		}
		d.Files = append(d.Files, fileRow{Kind: kind, Label: attachmentLabel(kind), SHA: sha, Name: domain.AttachmentKind(kind).FileName(v.ID)})
	}
	h, err := o.history(ctx, s, v)
	if err != nil {
		return d, err
	}
	d.History = h
	return d, nil
}

// formSections are the case's form values under their catalog labels, in
// the catalog's order; values the catalog does not name follow.
func (o *Office) formSections(lang string, f domain.Fields) []section {
	form := map[string]string{}
	for k, v := range f {
		if name, ok := strings.CutPrefix(k, domain.FormPrefix); ok {
			form[name] = v
		}
	}
	var out []section
	svc, ok := o.cat.Service(f["service_id"])
	if ok {
		for _, sec := range svc.Sections {
			var rows []fieldRow
			for _, fd := range sec.Fields {
				val, set := form[fd.ID]
				if !set {
					continue
				}
				delete(form, fd.ID)
				rows = append(rows, fieldRow{ID: fd.ID, Label: fd.Label.In(lang), Value: displayValue(lang, fd, val)})
			}
			if len(rows) > 0 {
				out = append(out, section{Label: sec.Label.In(lang), Fields: rows})
			}
		}
	}
	if len(form) > 0 {
		var rows []fieldRow
		for _, k := range domain.Fields(form).Names() {
			rows = append(rows, fieldRow{ID: k, Label: k, Value: form[k]})
		}
		out = append(out, section{Label: tr(lang, "Weitere Angaben"), Fields: rows})
	}
	return out
}

// displayValue shows a form value as the clerk chose it: options by label,
// yes/no, dates the German way.
func displayValue(lang string, fd *catalog.Field, val string) string {
	switch fd.Type {
	case catalog.TypeBool:
		if val == "true" {
			return tr(lang, "Ja")
		}
		return tr(lang, "Nein")
	case catalog.TypeSelect, catalog.TypeMultiselect:
		var labels []string
		for _, v := range strings.Split(val, ",") {
			l := v
			for _, opt := range fd.Options {
				if opt.Value == v {
					l = opt.Label.In(lang)
				}
			}
			labels = append(labels, l)
		}
		return strings.Join(labels, ", ")
	case catalog.TypeDate:
		return germanDate(val)
	}
	return val
}

func germanDate(s string) string {
	if len(s) == 10 && s[4] == '-' && s[7] == '-' {
		d := s[8:10] + "." + s[5:7] + "." + s[0:4]
		return strings.ReplaceAll(d, "00.", "")
	}
	return s
}

// personRows are the ID document's data and what the server can check
// of it: validity on the day of capture, and the name against the form.
func personRows(p, c domain.Fields) ([]fieldRow, []checkRow) {
	labels := []struct{ field, label string }{
		{"surname", "Familienname"}, {"given_names", "Vornamen"}, {"birth_name", "Geburtsname"},
		{"birth_date", "Geburtsdatum"}, {"birth_place", "Geburtsort"}, {"sex", "Geschlecht"},
		{"nationality", "Staatsangehörigkeit"}, {"document_type", "Dokumentart"},
		{"document_number", "Dokumentnummer"}, {"document_expiry", "Gültig bis"}, {"issuing_state", "Ausstellender Staat"},
	}
	var rows []fieldRow
	for _, l := range labels {
		if v := p[l.field]; v != "" {
			if strings.HasSuffix(l.field, "_date") || l.field == "document_expiry" {
				v = germanDate(v)
			}
			rows = append(rows, fieldRow{ID: "person-" + l.field, Label: l.label, Value: v})
		}
	}
	var checks []checkRow
	captured := c["created_at"]
	if len(captured) >= 10 && p["document_expiry"] != "" {
		ok := p["document_expiry"] >= captured[:10]
		checks = append(checks, checkRow{Label: "Dokument am Tag der Aufnahme gültig", OK: ok})
	}
	if fs := c[domain.FormPrefix+"surname"]; fs != "" && p["surname"] != "" {
		checks = append(checks, checkRow{Label: "Familienname wie im Antrag", OK: strings.EqualFold(fs, p["surname"])})
	}
	checks = append(checks, checkRow{Label: "Dokumentnummer erfasst", OK: p["document_number"] != ""})
	return rows, checks
}

func attachmentLabel(kind string) string {
	switch domain.AttachmentKind(kind) {
	case domain.AttachmentSignaturePNG:
		return "Unterschrift (Bild, PNG)"
	case domain.AttachmentISO19794:
		return "Unterschrift (ISO/IEC 19794-7)"
	case domain.AttachmentPadRaw:
		return "Unterschrift (Rohdaten des Pads)"
	}
	return kind
}

// history lists what happened to the case: each change in feed order,
// who made it on which device, and what it changed (statuses, field
// names; never values of personal fields).
func (o *Office) history(ctx context.Context, s *session, v server.RecordView) ([]historyRow, error) {
	chs, err := o.srv.Office().RecordChanges(ctx, s.Tenant, v.ID)
	if err != nil {
		return nil, err
	}
	devs, err := o.srv.Devices(ctx, s.Tenant)
	if err != nil {
		return nil, err
	}
	devName := map[string]string{syncproto.CentralDevice: tr(s.lang, "Rathaus")}
	for _, d := range devs {
		devName[d.ID] = d.Name
	}
	var out []historyRow
	for _, c := range chs {
		var plain map[string]syncproto.FieldChange
		if c.Plain != "" {
			json.Unmarshal([]byte(c.Plain), &plain)
		}
		var fields []string
		json.Unmarshal([]byte(c.Fields), &fields)
		at, _ := time.Parse(time.RFC3339Nano, c.CreatedAt)
		row := historyRow{At: at, Who: c.Clerk, Device: devName[c.Device]}
		if row.Device == "" {
			row.Device = c.Device
		}
		st, hasStatus := plain["status"]
		switch {
		case c.Op == "create":
			row.What = "Angelegt"
		case c.Op == "delete":
			row.What = "Gelöscht"
		case hasStatus:
			row.What = statusEvent(st.New)
		default:
			row.What = "Geändert"
		}
		row.Detail = historyDetail(s.lang, c, plain, fields)
		out = append(out, row)
		if hasStatus && st.New == string(domain.StatusSealed) && c.Device != syncproto.CentralDevice && !c.ReceivedAt.IsZero() {
			out = append(out, historyRow{At: c.ReceivedAt, What: "Im Rathaus eingegangen", Device: tr(s.lang, "Server")})
		}
	}
	return out, nil
}

// historyDetail says what a change did, without personal values: who
// witnessed the signature and who confirmed it (four-eyes), who sealed,
// the decision's note, the attachments it added, else how many fields.
func historyDetail(lang string, c server.ChangeRow, plain map[string]syncproto.FieldChange, fields []string) string {
	st, hasStatus := plain["status"]
	switch {
	case hasStatus && st.New == string(domain.StatusSigned):
		return tr(lang, "Unterschrift bezeugt von") + " " + shortID(plain["signed_by"].New)
	case hasStatus && st.New == string(domain.StatusSealed) && c.Op != "create":
		// The second clerk's confirmation is written with the seal.
		d := tr(lang, "versiegelt von") + " " + shortID(plain["sealed_by"].New)
		if cb := plain["confirmed_by"].New; cb != "" {
			d += "; " + tr(lang, "Vier-Augen-Prinzip: bestätigt von") + " " + shortID(cb)
		}
		return d
	case plain[domain.FieldDecisionNote].New != "":
		return plain[domain.FieldDecisionNote].New
	}
	var atts []string
	for _, f := range fields {
		if kind, ok := strings.CutPrefix(f, domain.AttachmentPrefix); ok {
			atts = append(atts, tr(lang, attachmentLabel(kind)))
		}
	}
	if len(atts) > 0 {
		return tr(lang, "Anlage") + ": " + strings.Join(atts, ", ")
	}
	if len(fields) == 1 {
		return tr(lang, "1 Feld")
	}
	return fmt.Sprintf(tr(lang, "%d Felder"), len(fields))
}

func statusEvent(s string) string {
	switch domain.Status(s) {
	case domain.StatusSigned:
		return "Unterschrieben"
	case domain.StatusSealed:
		return "Versiegelt"
	case domain.StatusSubmitted:
		return "Übermittelt"
	case domain.StatusAccepted:
		return "Angenommen"
	case domain.StatusRejected:
		return "Abgelehnt"
	case domain.StatusNeedsInfo:
		return "Rückfrage gestellt"
	case domain.StatusDraft:
		return "Unterschrift verworfen"
	}
	return "Status " + s
}

// caseFile sends an attachment of a case: the signature picture inline,
// the others as downloads. Each is logged like an opening.
func (o *Office) caseFile(w http.ResponseWriter, r *http.Request, s *session) {
	ctx, id, sha := r.Context(), r.PathValue("id"), r.PathValue("sha")
	v, ok, err := o.loadCase(ctx, s, id)
	if err != nil {
		o.fail(w, r, s, err)
		return
	}
	kind := ""
	for name, val := range v.Fields {
		if k, isAtt := strings.CutPrefix(name, domain.AttachmentPrefix); isAtt && val == sha {
			kind = k
		}
	}
	if !ok || kind == "" {
		o.notFound(w, r, s)
		return
	}
	if err := o.audit(ctx, r, s, "case.file", id, kind); err != nil {
		o.fail(w, r, s, err)
		return
	}
	b, err := o.srv.OpenAttachment(ctx, server.AttachmentRef{Tenant: s.Tenant, RecordID: id, SHA256: sha})
	if errors.Is(err, server.ErrNotFound) {
		o.notFound(w, r, s)
		return
	}
	if err != nil {
		o.fail(w, r, s, err)
		return
	}
	w.Header().Set("Content-Type", domain.AttachmentKind(kind).MediaType())
	disp := "attachment"
	if domain.AttachmentKind(kind) == domain.AttachmentSignaturePNG && r.URL.Query().Get("download") == "" {
		disp = "inline"
	}
	w.Header().Set("Content-Disposition", disp+`; filename="`+domain.AttachmentKind(kind).FileName(id)+`"`)
	w.Write(b)
	clear(b)
}

// decide takes Annehmen, Ablehnen (reason required) or Rückfrage
// (message required), based on the version the form was made from.
func (o *Office) decide(w http.ResponseWriter, r *http.Request, s *session) {
	ctx, id := r.Context(), r.PathValue("id")
	v, ok, err := o.loadCase(ctx, s, id)
	if err != nil {
		o.fail(w, r, s, err)
		return
	}
	if !ok {
		o.notFound(w, r, s)
		return
	}
	seen, _ := strconv.ParseInt(r.PostFormValue("version"), 10, 64)
	d := domain.Decision{Status: domain.Status(r.PostFormValue("outcome")), Note: r.PostFormValue("note"),
		By: s.Username, At: o.srv.Now()}
	if d.Status == domain.StatusAccepted {
		d.Note = ""
	}
	if err := d.Check(); err != nil {
		msg := "Bitte eine Begründung angeben."
		if d.Status == domain.StatusNeedsInfo {
			msg = "Bitte die Rückfrage an die Außenstelle formulieren."
		}
		if len([]rune(d.Note)) > domain.MaxDecisionNote {
			msg = "Der Text ist zu lang."
		}
		o.showCase(w, r, s, http.StatusUnprocessableEntity, "", msg, d.Note)
		return
	}
	if seen <= 0 || seen != v.Version || !domain.Status(v.Fields["status"]).Decidable() {
		o.showCase(w, r, s, http.StatusConflict, "",
			"Der Fall wurde inzwischen geändert (z. B. von jemand anderem entschieden). Bitte den aktuellen Stand prüfen.", d.Note)
		return
	}
	_, err = o.srv.Central(ctx, s.Tenant, server.CentralChange{RecordID: id, RecordType: domain.TypeCase, Op: "update",
		BaseVersion: seen, IfVersion: seen, Set: d.Fields(), Clerk: s.Username})
	if errors.Is(err, server.ErrStale) {
		o.showCase(w, r, s, http.StatusConflict, "",
			"Der Fall wurde inzwischen geändert (z. B. von jemand anderem entschieden). Bitte den aktuellen Stand prüfen.", d.Note)
		return
	}
	if err != nil {
		o.fail(w, r, s, err)
		return
	}
	if err := o.audit(ctx, r, s, "case.decide", id, string(d.Status)); err != nil {
		o.fail(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/cases/"+id+"?decided=1", http.StatusSeeOther)
}
