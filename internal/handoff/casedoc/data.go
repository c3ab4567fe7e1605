package casedoc

// This file makes a case's data document: the form under the catalog's
// field ids with the catalog's types, the ID document and what the server
// checks of it, and who captured, signed and sealed the case, when and
// where (from the case's plain fields and the change history the server
// keeps with each change's device and arrival).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/buergerkoffer/kit/internal/catalog"
	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/server"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

// The checks of the ID document the data document reports.
const (
	CheckValidOnCaptureDay    = "valid_on_capture_day"     // not expired on the day the case was captured
	CheckSurnameMatchesForm   = "surname_matches_form"     // the document's surname is the form's (ignoring case)
	CheckDocumentNumberRead   = "document_number_captured" // the reader delivered a document number
	CheckDocumentNumberOnForm = "document_number_matches_form"
)

// CheckNames lists the checks in the order they appear.
var CheckNames = []string{CheckValidOnCaptureDay, CheckSurnameMatchesForm, CheckDocumentNumberRead, CheckDocumentNumberOnForm}

// facts is what the data document needs besides the case itself.
type facts struct {
	person   *domain.Fields // nil: no document was read
	visit    *server.RecordView
	created  server.ChangeRow // the case's create change
	sealed   server.ChangeRow // the change that sealed it
	devNames map[string]string
}

// readFacts reads the case's person and visit (decrypted as the office
// does), its history and the tenant's devices.
func readFacts(ctx context.Context, srv *server.Server, tenant string, c server.RecordView) (facts, error) {
	var f facts
	if pid := c.Fields["person_id"]; pid != "" {
		p, err := srv.Record(ctx, tenant, pid)
		switch {
		case errors.Is(err, server.ErrNotFound):
		case err != nil:
			return f, fmt.Errorf("casedoc: case %s: person: %w", c.ID, err)
		case p.Type == domain.TypePerson && !p.Deleted:
			f.person = &p.Fields
		}
	}
	if vid := c.Fields["visit_id"]; vid != "" {
		v, err := srv.Record(ctx, tenant, vid)
		switch {
		case errors.Is(err, server.ErrNotFound):
		case err != nil:
			return f, fmt.Errorf("casedoc: case %s: visit: %w", c.ID, err)
		case v.Type == domain.TypeVisit:
			f.visit = &v
		}
	}
	if err := f.history(ctx, srv, tenant, c.ID); err != nil {
		return f, err
	}
	devs, err := srv.Devices(ctx, tenant)
	if err != nil {
		return f, fmt.Errorf("casedoc: case %s: devices: %w", c.ID, err)
	}
	f.devNames = map[string]string{syncproto.CentralDevice: "Rathaus"}
	for _, d := range devs {
		f.devNames[d.ID] = d.Name
	}
	return f, nil
}

// history finds the change that created the case and the last one that
// sealed it.
func (f *facts) history(ctx context.Context, srv *server.Server, tenant, caseID string) error {
	chs, err := srv.Office().RecordChanges(ctx, tenant, caseID)
	if err != nil {
		return fmt.Errorf("casedoc: case %s: history: %w", caseID, err)
	}
	for _, ch := range chs {
		if ch.Op == "create" && f.created.ID == "" {
			f.created = ch
		}
		var plain map[string]syncproto.FieldChange
		if ch.Plain != "" {
			if err := json.Unmarshal([]byte(ch.Plain), &plain); err != nil {
				return fmt.Errorf("casedoc: case %s: change %s: %w", caseID, ch.ID, err)
			}
		}
		if plain["status"].New == string(domain.StatusSealed) {
			f.sealed = ch
		}
	}
	if f.created.ID == "" || f.sealed.ID == "" {
		return fmt.Errorf("casedoc: case %s: the server holds no create or seal change of it: %w", caseID, ErrIncomplete)
	}
	return nil
}

// dataDocument is the case's data as JSON (keys sorted, so the same case
// gives the same bytes).
func dataDocument(svc *catalog.Service, c server.RecordView, f facts) ([]byte, error) {
	form, err := formData(svc, c)
	if err != nil {
		return nil, err
	}
	cf := c.Fields
	doc := map[string]any{
		"caseId": c.ID,
		"service": map[string]any{"id": svc.ID, "catalogVersion": catalogVersion(cf["service_version"], svc),
			"leika": svc.LeiKa, "name": svc.Label.DE},
		"form":     form,
		"captured": captured(cf, f),
		"signed": omitEmpty(map[string]any{"at": cf["signed_at"], "witnessedBy": cf["signed_by"], "confirmedBy": cf["confirmed_by"],
			"onPad": cf[domain.AttachmentPrefix+string(domain.AttachmentSignaturePNG)] != ""}),
		"sealed": omitEmpty(map[string]any{"at": cf["sealed_at"], "by": cf["sealed_by"], "device": device(f.sealed.Device, f),
			"arrivedAt": timeString(f.sealed.ReceivedAt)}),
	}
	if f.person != nil {
		doc["idDocument"] = idDocument(*f.person, cf)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("casedoc: case %s: encode data: %w", c.ID, err)
	}
	return b, nil
}

// catalogVersion is the version the case was captured with, else the
// catalog's.
func catalogVersion(s string, svc *catalog.Service) int {
	if v, err := strconv.Atoi(s); err == nil && v >= 1 {
		return v
	}
	return svc.Version
}

// formData is the form as the catalog types it: shown fields only (a
// hidden field is not kept), a shown bool without a value is false. A
// value for a field the service does not have is refused: handing the
// case off without it would lose it silently.
func formData(svc *catalog.Service, c server.RecordView) (map[string]any, error) {
	values := map[string]string{}
	for k, v := range c.Fields {
		if id, ok := strings.CutPrefix(k, domain.FormPrefix); ok {
			if _, known := svc.Field(id); !known {
				return nil, fmt.Errorf("casedoc: case %s: form field %q is not in service %s: %w", c.ID, id, svc.ID, ErrInvalid)
			}
			values[id] = strings.TrimSpace(v)
		}
	}
	shown := svc.Visible(values)
	form := map[string]any{}
	for _, fd := range svc.Fields() {
		if !shown[fd.ID] {
			continue
		}
		v, err := typed(fd, values[fd.ID])
		if err != nil {
			return nil, fmt.Errorf("casedoc: case %s: form field %q: %w", c.ID, fd.ID, err)
		}
		if v != nil {
			form[fd.ID] = v
		}
	}
	return form, nil
}

// typed converts a catalog value; nil for an empty one (absent).
func typed(fd *catalog.Field, v string) (any, error) {
	if fd.Type == catalog.TypeBool {
		return v == "true", nil
	}
	if v == "" {
		return nil, nil
	}
	switch fd.Type {
	case catalog.TypeNumber:
		n, err := strconv.ParseFloat(strings.Replace(v, ",", ".", 1), 64)
		if err != nil {
			return nil, fmt.Errorf("not a number: %w", ErrInvalid)
		}
		return n, nil
	case catalog.TypeMultiselect:
		var items []string
		for _, it := range strings.Split(v, ",") {
			if it = strings.TrimSpace(it); it != "" {
				items = append(items, it)
			}
		}
		return items, nil
	}
	return v, nil
}

func captured(cf domain.Fields, f facts) map[string]any {
	out := map[string]any{"at": cf["created_at"], "by": cf["created_by"], "device": device(f.created.Device, f)}
	if f.visit != nil {
		vf := f.visit.Fields
		out["visit"] = omitEmpty(map[string]any{"id": f.visit.ID, "place": vf["place"], "venueAddress": vf["venue_address"], "day": vf["day"]})
	}
	if a := cf["appointment_id"]; a != "" {
		out["appointmentId"] = a
	}
	return omitEmpty(out)
}

func device(id string, f facts) map[string]any {
	return omitEmpty(map[string]any{"id": id, "name": f.devNames[id]})
}

// idDocument is the person's document data and the checks the server makes
// of it, as the office shows them.
func idDocument(p, cf domain.Fields) map[string]any {
	doc := map[string]any{}
	for name, key := range map[string]string{"surname": "surname", "given_names": "givenNames", "birth_name": "birthName",
		"birth_date": "birthDate", "birth_place": "birthPlace", "sex": "sex", "nationality": "nationality",
		"document_type": "documentType", "document_number": "documentNumber", "document_expiry": "documentExpiry",
		"issuing_state": "issuingState"} {
		if v := p[name]; v != "" {
			doc[key] = v
		}
	}
	var checks []map[string]any
	add := func(name string, ok bool) { checks = append(checks, map[string]any{"check": name, "passed": ok}) }
	if day := cf["created_at"]; len(day) >= 10 && p["document_expiry"] != "" {
		add(CheckValidOnCaptureDay, p["document_expiry"] >= day[:10])
	}
	if fs := formSurname(cf); fs != "" && p["surname"] != "" {
		add(CheckSurnameMatchesForm, strings.EqualFold(fs, p["surname"]))
	}
	add(CheckDocumentNumberRead, p["document_number"] != "")
	if s := cf[domain.FormPrefix+"id_serial"]; s != "" && p["document_number"] != "" {
		add(CheckDocumentNumberOnForm, strings.EqualFold(s, p["document_number"]))
	}
	doc["checks"] = checks
	return doc
}

// formSurname is the form's surname field, whatever the service calls it.
func formSurname(cf domain.Fields) string {
	for _, k := range []string{"surname", "owner_surname"} {
		if v := cf[domain.FormPrefix+k]; v != "" {
			return v
		}
	}
	return ""
}

func timeString(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// omitEmpty drops empty strings and empty maps, so that a missing value is
// absent (and the schema names it if it is required).
func omitEmpty(m map[string]any) map[string]any {
	for k, v := range m {
		switch x := v.(type) {
		case string:
			if x == "" {
				delete(m, k)
			}
		case map[string]any:
			if len(x) == 0 {
				delete(m, k)
			}
		}
	}
	return m
}
