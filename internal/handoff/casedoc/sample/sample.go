// Package sample makes sealed cases of the catalog's services on a field
// store, the way the app makes them: the person from an ID document, a
// form every catalog check accepts, the citizen's signature from the
// simulated pad kept three ways (PNG, raw ISDv4 packets, ISO/IEC 19794-7)
// for a service that is signed on the pad, the signature witnessed by the
// session's clerk, confirmed by a second clerk with their password
// (four-eyes) and sealed. `syncd bench --sealed` and the hand-off tests use
// it; every value is invented.
package sample

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/buergerkoffer/kit/hardware/sigpad"
	"github.com/buergerkoffer/kit/hardware/sigpad/iso19794"
	"github.com/buergerkoffer/kit/hardware/sim/padsim"
	"github.com/buergerkoffer/kit/internal/catalog"
	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/store"
)

// Witness is the second clerk who confirms a case before it is sealed.
type Witness struct {
	Username string
	Password []byte
}

// AddWitness adds a second clerk to the session's laptop (as Einstellungen
// → Sachbearbeitende does) and returns it.
func AddWitness(ctx context.Context, ss *store.Session, username string, password []byte) (Witness, error) {
	if _, err := ss.AddClerk(ctx, username, "Zweite Person "+username, password); err != nil {
		return Witness{}, fmt.Errorf("sample: add clerk: %w", err)
	}
	return Witness{Username: username, Password: password}, nil
}

// Person is the n-th invented citizen as the ID document reader gives them.
func Person(n int) domain.Person {
	return domain.Person{Surname: "Mustermann", GivenNames: fmt.Sprintf("Erika %d", n), BirthDate: "1985-03-12",
		BirthPlace: "Berlin", Sex: "F", Nationality: "D", DocumentType: "ID",
		DocumentNumber: fmt.Sprintf("L01X%05d", n%100000), DocumentExpiry: "2031-06-30", IssuingState: "D"}
}

// textValues are valid values for the text validators of the catalog.
var textValues = map[string]string{
	"postal_code": "10115", "steuer_id": "36574261809", "nationalities": "D", "document_number": "L01X00000",
	"plate": "B-AB 1234", "phone": "+49 30 1234567", "email": "erika@example.org", "microchip": "276098106123456",
	"iban": "DE89370400440532013000",
}

// byEnding are values for text fields by the end of their id.
var byEnding = []struct{ suffix, value string }{
	{"house_number", "12a"}, {"street", "Hauptstraße"}, {"city", "Musterstadt"}, {"name", "Max Beispiel"},
}

// documentOption is the option of a selection the ID document fills in
// (sex, document type) that the person's value means.
func documentOption(f *catalog.Field, p domain.Person) (string, bool) {
	var v string
	switch f.Source {
	case "mrz.sex":
		v = p.Sex
	case "mrz.document_code":
		v = p.DocumentType
	default:
		return "", false
	}
	for _, o := range f.Options {
		if slices.Contains(o.SourceValues, v) {
			return o.Value, true
		}
	}
	return "", false
}

// Form is a form of svc for person p that the catalog's checks accept at
// now: every field that is shown gets a value (the n-th option of a
// selection, so that cases differ), the fields the document fills in
// take its values.
func Form(svc *catalog.Service, p domain.Person, n int, now time.Time) (map[string]string, error) {
	vals := map[string]string{}
	for _, f := range svc.Fields() {
		vals[f.ID] = fieldValue(f, p, n)
	}
	vals = svc.Prune(vals)
	if errs := svc.Validate(vals, now); len(errs) > 0 {
		return nil, fmt.Errorf("sample: form of %s: %w", svc.ID, errs.Err())
	}
	return vals, nil
}

func fieldValue(f *catalog.Field, p domain.Person, n int) string {
	switch f.Source {
	case "mrz.surname":
		return p.Surname
	case "mrz.given_names":
		return p.GivenNames
	case "mrz.birth_date":
		return p.BirthDate
	case "mrz.nationality":
		return p.Nationality
	case "mrz.document_number":
		return p.DocumentNumber
	case "mrz.expiry_date":
		return p.DocumentExpiry
	}
	if o, ok := documentOption(f, p); ok {
		return o
	}
	for _, v := range f.Validators {
		if s, ok := textValues[v.Name]; ok {
			return s
		}
	}
	for _, e := range byEnding {
		if f.Type == catalog.TypeText && strings.HasSuffix(f.ID, e.suffix) {
			return e.value
		}
	}
	switch f.Type {
	case catalog.TypeDate:
		return dateValue(f)
	case catalog.TypeNumber:
		return "1"
	case catalog.TypeBool:
		if f.Mandatory {
			return "true"
		}
		return fmt.Sprint(n%2 == 1)
	case catalog.TypeSelect, catalog.TypeMultiselect:
		return f.Options[n%len(f.Options)].Value
	case catalog.TypeTextarea:
		return "Beispielweg 1\n10115 Berlin"
	}
	return "Beispiel " + f.Label.DE
}

// dateValue fits the field's date validator: a date of birth, a future
// expiry, or a day in the past.
func dateValue(f *catalog.Field) string {
	for _, v := range f.Validators {
		if v.Name != "date" {
			continue
		}
		switch {
		case v.Params["not_past"] == true:
			return "2031-06-30"
		case v.Params["max_age"] != nil || v.Params["min_age"] != nil:
			if age, ok := v.Params["max_age"].(float64); ok && age <= 30 {
				return "2020-02-01" // a dog's
			}
			return "1985-03-12"
		}
	}
	return "2024-06-01"
}

// Signature is the simulated pad's signature kept three ways, as the app
// keeps it: the PNG, the raw packets and the ISO/IEC 19794-7 record.
func Signature() (png, raw, iso []byte, err error) {
	sig, _ := sigpad.ParseRaw(padsim.SampleTrace(), 5*time.Millisecond)
	if sig.Empty() {
		return nil, nil, nil, fmt.Errorf("sample: the pad trace has no ink")
	}
	var b bytes.Buffer
	if err := sig.WritePNG(&b); err != nil {
		return nil, nil, nil, fmt.Errorf("sample: signature picture: %w", err)
	}
	if iso, err = iso19794.Marshal(sig); err != nil {
		return nil, nil, nil, fmt.Errorf("sample: signature time series: %w", err)
	}
	return b.Bytes(), sig.Raw, iso, nil
}

// SealedCase captures the n-th case of svc during the visit on the
// session's laptop, signs, confirms (four-eyes) and seals it, and returns
// its id.
func SealedCase(ctx context.Context, ss *store.Session, svc *catalog.Service, visitID string, w Witness, n int, now time.Time) (string, error) {
	p, err := ss.CreatePerson(ctx, Person(n))
	if err != nil {
		return "", fmt.Errorf("sample: person: %w", err)
	}
	form, err := Form(svc, p, n, now)
	if err != nil {
		return "", err
	}
	c, err := ss.CreateCase(ctx, domain.Case{ServiceID: svc.ID, ServiceVersion: fmt.Sprint(svc.Version), VisitID: visitID,
		PersonID: p.ID, Form: domain.Fields(form)})
	if err != nil {
		return "", fmt.Errorf("sample: case: %w", err)
	}
	_, v, err := ss.Case(ctx, c.ID)
	if err != nil {
		return "", fmt.Errorf("sample: case: %w", err)
	}
	if svc.MustSign {
		if v, err = signOnPad(ctx, ss, c.ID, v); err != nil {
			return "", err
		}
	}
	if v, err = ss.SetCaseStatus(ctx, c.ID, v, domain.StatusSigned); err != nil {
		return "", fmt.Errorf("sample: sign: %w", err)
	}
	if _, err := ss.ConfirmFourEyes(ctx, c.ID, w.Username, w.Password); err != nil {
		return "", fmt.Errorf("sample: four-eyes confirmation: %w", err)
	}
	if _, err := ss.SealCase(ctx, c.ID, v); err != nil {
		return "", fmt.Errorf("sample: seal: %w", err)
	}
	return c.ID, nil
}

// signOnPad stores the signature's three forms with the case.
func signOnPad(ctx context.Context, ss *store.Session, id string, v int64) (int64, error) {
	png, raw, iso, err := Signature()
	if err != nil {
		return v, err
	}
	for _, a := range []struct {
		kind domain.AttachmentKind
		data []byte
	}{{domain.AttachmentSignaturePNG, png}, {domain.AttachmentPadRaw, raw}, {domain.AttachmentISO19794, iso}} {
		if _, v, err = ss.PutAttachment(ctx, id, v, a.kind, a.data); err != nil {
			return v, fmt.Errorf("sample: attachment %s: %w", a.kind, err)
		}
	}
	return v, nil
}
