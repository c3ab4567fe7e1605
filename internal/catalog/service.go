// The model of one service as the rest of the kit sees it, and what it does
// with the values of an application: visibility, validation, fees, pruning
// and prefill from the ID document.

package catalog

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/buergerkoffer/kit/internal/validate"
)

// Text is a label or a help text in German and English. German is what the
// counter uses and is always present; English may be empty.
type Text struct {
	DE string `json:"de"`
	EN string `json:"en"`
}

// In returns the text in lang ("de" or "en"); English falls back to German.
func (t Text) In(lang string) string {
	if lang == "en" && t.EN != "" {
		return t.EN
	}
	return t.DE
}

// FieldType is the kind of input a field is. The set is closed; format
// checks beyond the type (postal codes, IBANs, …) are validators.
type FieldType string

const (
	TypeText        FieldType = "text"        // one line, at most MaxText characters
	TypeTextarea    FieldType = "textarea"    // several lines, at most MaxTextarea characters
	TypeDate        FieldType = "date"        // "YYYY-MM-DD"; a partial date of birth "YYYY-00-00" or "YYYY-MM-00"
	TypeNumber      FieldType = "number"      // a decimal number, "2,5" or "2.5"
	TypeBool        FieldType = "bool"        // "true" or "false"; empty counts as "false"
	TypeSelect      FieldType = "select"      // one option value
	TypeMultiselect FieldType = "multiselect" // option values joined by commas
)

// Limits of free text, in characters.
const (
	MaxText     = 200
	MaxTextarea = 2000
)

var fieldTypes = map[FieldType]validate.ValueKind{
	TypeText: validate.ValueText, TypeTextarea: validate.ValueText,
	TypeDate: validate.ValueDate, TypeNumber: validate.ValueNumber,
	TypeBool: 0, TypeSelect: 0, TypeMultiselect: 0,
}

// Service is one kind of application.
type Service struct {
	ID      string
	Version int
	Law     string // legal basis, e.g. "BMG §§ 17, 23, 24"
	// LeiKa identifies the service in the federal Leistungskatalog, as
	// FIT-Connect names it: "urn:de:fim:leika:leistung:<14-digit key>";
	// empty if the definition names none (the kit cannot hand such a
	// service off).
	LeiKa       string
	Label       Text
	Description Text
	Fees        []Fee
	MustSign    bool // the citizen signs the application on the pad
	Deadline    Text // a hint for the clerk; may be empty
	Sections    []*Section

	fields []*Field // in form order
	byID   map[string]*Field
}

// Section groups fields on one screen or under one heading.
type Section struct {
	ID     string
	Label  Text
	Fields []*Field
}

// Field is one input of a service.
type Field struct {
	ID   string
	Type FieldType
	// Mandatory fields must be filled in whenever they are shown; a
	// mandatory bool must be "true" (a confirmation the clerk ticks).
	Mandatory  bool
	Label      Text
	Help       Text
	Options    []Option        // for select and multiselect
	Validators []ValidatorSpec // applied in order after the type check
	// Source names the value of the ID document that prefills this field,
	// e.g. "mrz.surname"; empty for none.
	Source string
	// VisibleIf, if set, shows the field only while another field has a
	// value; a hidden field is neither checked nor kept.
	VisibleIf *Condition
	// CapturedInPresence marks data captured with the citizen present; the
	// sync conflict rule favours such values over changes made elsewhere.
	CapturedInPresence bool

	rules     []validate.Rule
	normalize []func(string) string
	// partialDate: a date validator with "partial": true accepts a date
	// of birth of which the document gives only the year, or the year
	// and month ("1985-00-00", "1985-03-00": 00.00.1985, 00.03.1985).
	partialDate bool
}

// AcceptsPartialDate reports whether a date field takes a date of birth
// whose day, or day and month, are unknown, as registration offices write
// it: "1985-00-00" for 00.00.1985. Its date validator says so with
// "partial": true.
func (f *Field) AcceptsPartialDate() bool { return f.partialDate }

// Option is one choice of a select or multiselect field.
type Option struct {
	Value string
	Label Text
	// SourceValues are the values of the field's Source that mean this
	// option, e.g. "M" from the ID document for "maennlich".
	SourceValues []string
}

// ValidatorSpec is a validator named by a field, with its parameters.
type ValidatorSpec struct {
	Name   string
	Params validate.Params
}

// Condition is met while the named field has the given value. For a bool
// field an empty value counts as "false"; for a multiselect field the value
// must be among those chosen. A hidden field meets no condition.
type Condition struct {
	Field  string `json:"field"`
	Equals string `json:"equals"`
}

// Fee is an amount charged for the service, in euro cents, when its
// condition (if any) is met.
type Fee struct {
	Cents int
	When  *Condition
}

// Fields returns all fields in form order.
func (s *Service) Fields() []*Field { return append([]*Field(nil), s.fields...) }

// Field returns the field with the given id.
func (s *Service) Field(id string) (*Field, bool) {
	f, ok := s.byID[id]
	return f, ok
}

// Visible reports which fields are shown for the given values.
func (s *Service) Visible(values map[string]string) map[string]bool {
	vis := make(map[string]bool, len(s.fields))
	var visit func(f *Field) bool
	visit = func(f *Field) bool {
		if v, done := vis[f.ID]; done {
			return v
		}
		ok := f.VisibleIf == nil || s.met(f.VisibleIf, values, visit)
		vis[f.ID] = ok
		return ok
	}
	for _, f := range s.fields {
		visit(f) // Load refused cycles, so this ends.
	}
	return vis
}

// met evaluates c; visible reports whether its field is shown.
func (s *Service) met(c *Condition, values map[string]string, visible func(*Field) bool) bool {
	f := s.byID[c.Field]
	if !visible(f) {
		return false
	}
	v := strings.TrimSpace(values[f.ID])
	switch f.Type {
	case TypeBool:
		if v == "" {
			v = "false"
		}
	case TypeMultiselect:
		return slices.Contains(splitMulti(v), c.Equals)
	}
	return v == c.Equals
}

// Fee returns the fee for an application with the given values: the first
// fee whose condition is met. ok is false if none applies (no fee).
func (s *Service) Fee(values map[string]string) (cents int, ok bool) {
	vis := s.Visible(values)
	visible := func(f *Field) bool { return vis[f.ID] }
	for _, fee := range s.Fees {
		if fee.When == nil || s.met(fee.When, values, visible) {
			return fee.Cents, true
		}
	}
	return 0, false
}

// FieldError is a failed check of one field.
type FieldError struct {
	Field string
	Err   *validate.Error // code and German and English message
}

func (e FieldError) Error() string { return "field " + e.Field + ": " + e.Err.Error() }
func (e FieldError) Unwrap() error { return e.Err }

// FieldErrors are the failed checks of an application, at most one per
// field, in form order; values for fields the service does not have come last.
type FieldErrors []FieldError

// For returns the error of a field, or nil.
func (fe FieldErrors) For(field string) *validate.Error {
	for _, e := range fe {
		if e.Field == field {
			return e.Err
		}
	}
	return nil
}

// Err returns nil if there are no errors, else one error listing the
// fields and codes (never the values).
func (fe FieldErrors) Err() error {
	if len(fe) == 0 {
		return nil
	}
	parts := make([]string, len(fe))
	for i, e := range fe {
		parts[i] = e.Field + " (" + e.Err.Code + ")"
	}
	return fmt.Errorf("catalog: %d invalid fields: %s", len(fe), strings.Join(parts, ", "))
}

// Validate checks the values of an application at the moment now (whose
// calendar day in its location is "today"). Only shown fields are checked;
// values are judged without surrounding white space. Each field gets its
// first failing check: mandatory, then type, then its validators.
func (s *Service) Validate(values map[string]string, now time.Time) FieldErrors {
	vis := s.Visible(values)
	shown := make(map[string]string, len(values))
	for id, v := range values {
		if vis[id] {
			shown[id] = strings.TrimSpace(v)
		}
	}
	ctx := validate.Context{Now: now, Values: shown, Label: s.label}
	var errs FieldErrors
	for _, f := range s.fields {
		if !vis[f.ID] {
			continue
		}
		if err := f.check(shown[f.ID], ctx); err != nil {
			errs = append(errs, FieldError{Field: f.ID, Err: err})
		}
	}
	for _, id := range slices.Sorted(maps.Keys(values)) {
		if _, ok := s.byID[id]; !ok {
			errs = append(errs, FieldError{Field: id, Err: validate.NewError(validate.CodeUnknownField)})
		}
	}
	return errs
}

func (s *Service) label(id string) (de, en string) {
	if f, ok := s.byID[id]; ok {
		return f.Label.DE, f.Label.EN
	}
	return "", ""
}

// check applies the mandatory rule, the type and the validators to a
// trimmed value.
func (f *Field) check(v string, ctx validate.Context) *validate.Error {
	if v == "" {
		switch {
		case f.Mandatory && f.Type == TypeBool:
			return validate.NewError(validate.CodeConfirm)
		case f.Mandatory:
			return validate.NewError(validate.CodeRequired)
		}
		return nil
	}
	if err := f.checkType(v); err != nil {
		return asValidateError(err)
	}
	if f.Mandatory && f.Type == TypeBool && v != "true" {
		return validate.NewError(validate.CodeConfirm)
	}
	for _, r := range f.rules {
		if err := r(v, ctx); err != nil {
			return asValidateError(err)
		}
	}
	return nil
}

func (f *Field) checkType(v string) error {
	switch f.Type {
	case TypeText:
		return validate.Line(v, MaxText)
	case TypeTextarea:
		return validate.Paragraph(v, MaxTextarea)
	case TypeDate:
		if f.partialDate {
			_, _, err := validate.ParsePartialDate(v)
			return err
		}
		return validate.Date(v)
	case TypeNumber:
		return validate.Number(v)
	case TypeBool:
		return validate.Bool(v)
	case TypeSelect:
		if f.option(v) == nil {
			return validate.NewError(validate.CodeOption)
		}
	case TypeMultiselect:
		items := splitMulti(v)
		for i, item := range items {
			if f.option(item) == nil || slices.Contains(items[:i], item) {
				return validate.NewError(validate.CodeOption)
			}
		}
	}
	return nil
}

// asValidateError keeps *validate.Error as it is; anything else (which the
// validators do not return) becomes a generic message without its text,
// which might hold the value.
func asValidateError(err error) *validate.Error {
	if e, ok := err.(*validate.Error); ok {
		return e
	}
	return &validate.Error{Code: "invalid", DE: "Die Eingabe ist ungültig.", EN: "The input is not valid."}
}

func (f *Field) option(value string) *Option {
	for i := range f.Options {
		if f.Options[i].Value == value {
			return &f.Options[i]
		}
	}
	return nil
}

// splitMulti splits a multiselect value into its option values.
func splitMulti(v string) []string {
	if strings.TrimSpace(v) == "" {
		return nil
	}
	parts := strings.Split(v, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

// Prune returns what should be stored of an application: the values of
// shown fields only (data minimisation: an answer to a question that no
// longer applies is dropped), without surrounding white space, in the
// canonical form of their validators (an IBAN without spaces, a plate as
// "B-AB 1234"). Empty values and values of unknown fields are dropped.
func (s *Service) Prune(values map[string]string) map[string]string {
	vis := s.Visible(values)
	out := make(map[string]string, len(values))
	for id, v := range values {
		f, ok := s.byID[id]
		if !ok || !vis[id] {
			continue
		}
		v = strings.TrimSpace(v)
		if f.Type == TypeMultiselect {
			v = strings.Join(splitMulti(v), ",")
		}
		for _, n := range f.normalize {
			v = n(v)
		}
		if v != "" {
			out[id] = v
		}
	}
	return out
}

// Sources of prefill values, by the names the MRZ reader gives its fields.
// A source hint is "mrz." followed by one of these.
var mrzSources = map[string]FieldType{
	"document_code":   TypeSelect,
	"issuing_state":   TypeText,
	"surname":         TypeText,
	"given_names":     TypeText,
	"document_number": TypeText,
	"nationality":     TypeText,
	"birth_date":      TypeDate,
	"sex":             TypeSelect,
	"expiry_date":     TypeDate,
}

// sourceFits reports whether a field of type t can take values of source.
func sourceFits(source string, t FieldType) bool {
	name, ok := strings.CutPrefix(source, "mrz.")
	if !ok {
		return false
	}
	st, ok := mrzSources[name]
	if !ok {
		return false
	}
	switch st {
	case TypeDate:
		return t == TypeDate
	case TypeSelect:
		return t == TypeSelect || t == TypeText
	}
	return t == TypeText || t == TypeTextarea
}

// Prefill maps the fields read from an ID document's machine-readable zone
// (keys as the MRZ reader names them: "surname", "birth_date", …) to the
// fields of this service that name them as source. Values that would not
// fit the field are left out: a date that is not one, a code no option
// stands for (a German ID card states no sex: its "X" fills nothing). A date
// of birth the document gives in part ("1985", "1985-03") fills a field that
// accepts partial dates as "1985-00-00", "1985-03-00", and no other.
func (s *Service) Prefill(mrzFields map[string]string) map[string]string {
	out := map[string]string{}
	for _, f := range s.fields {
		name, ok := strings.CutPrefix(f.Source, "mrz.")
		if !ok {
			continue
		}
		v := strings.TrimSpace(mrzFields[name])
		if v == "" {
			continue
		}
		switch f.Type {
		case TypeDate:
			if validate.Date(v) != nil {
				p, ok := validate.PartialDateFromISO(v)
				if !ok || !f.partialDate {
					continue
				}
				v = p
			}
		case TypeSelect:
			o := f.optionForSource(v)
			if o == nil {
				continue
			}
			v = o.Value
		default:
			if validate.Line(v, MaxText) != nil {
				continue
			}
		}
		out[f.ID] = v
	}
	return out
}

func (f *Field) optionForSource(v string) *Option {
	for i, o := range f.Options {
		if o.Value == v || slices.Contains(o.SourceValues, v) {
			return &f.Options[i]
		}
	}
	return nil
}
