// The JSON form of a service definition and its translation into the model.
// Everything an author can get wrong is caught here, at start-up, as an
// error naming the file and the field: unknown keys, unknown types or
// validators, bad parameters, duplicate ids, conditions on missing fields,
// selections without options, missing German labels.

package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/buergerkoffer/kit/internal/validate"
)

type serviceDef struct {
	ID          string       `json:"id"`
	Version     int          `json:"version"`
	Law         string       `json:"law"`
	LeiKa       string       `json:"leika"`
	Label       Text         `json:"label"`
	Description Text         `json:"description"`
	Fees        []feeDef     `json:"fees"`
	MustSign    *bool        `json:"must_sign"`
	Deadline    Text         `json:"deadline"`
	Sections    []sectionDef `json:"sections"`
}

type feeDef struct {
	Cents *int       `json:"cents"`
	When  *Condition `json:"when"`
}

type sectionDef struct {
	ID    string `json:"id"`
	Label Text   `json:"label"`
	// Fields are decoded one by one, so that an error can name the field.
	Fields []json.RawMessage `json:"fields"`
}

type fieldDef struct {
	ID                 string         `json:"id"`
	Type               FieldType      `json:"type"`
	Mandatory          bool           `json:"mandatory"`
	Label              Text           `json:"label"`
	Help               Text           `json:"help"`
	Options            []optionDef    `json:"options"`
	Validators         []validatorDef `json:"validators"`
	Source             string         `json:"source"`
	VisibleIf          *Condition     `json:"visible_if"`
	CapturedInPresence *bool          `json:"captured_in_presence"`
}

type optionDef struct {
	Value        string   `json:"value"`
	Label        Text     `json:"label"`
	SourceValues []string `json:"source_values"`
}

// validatorDef is either a name ("postal_code") or an object with a name
// and parameters ({"name":"date","not_future":true}).
type validatorDef struct {
	Name   string
	Params validate.Params
}

func (v *validatorDef) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &v.Name)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("a validator is a name or an object with \"name\": %w", ErrJSON)
	}
	name, ok := m["name"].(string)
	if !ok || name == "" {
		return fmt.Errorf("validator without \"name\": %w", ErrMissing)
	}
	delete(m, "name")
	v.Name = name
	if len(m) > 0 {
		v.Params = m
	}
	return nil
}

var idRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// leikaRE is a service of the Leistungskatalog (LeiKa) as FIT-Connect
// names it: the URN prefix and the 14-digit Leistungsschlüssel.
var leikaRE = regexp.MustCompile(`^urn:de:fim:leika:leistung:[0-9]{14}$`)
var optionValueRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// decodeStrict decodes exactly one JSON value, raw, into v, refusing
// unknown keys. raw starts at offset start of file, to which error positions
// refer; a negative start means the place is unknown and errors give none.
func decodeStrict(file []byte, start int, raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return describeJSONError(file, int64(start), err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("data after the definition: %w", ErrJSON)
	}
	return nil
}

// describeJSONError turns a decoder error into one an author can act on:
// with line and column, and with our sentinel errors.
func describeJSONError(data []byte, start int64, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Errorf("%s%v: %w", position(data, start, syn.Offset), syn, ErrJSON)
	case errors.As(err, &typ):
		what := "the value"
		if typ.Field != "" {
			what = strconv.Quote(typ.Field)
		}
		return fmt.Errorf("%s%s must be %s, not a JSON %s: %w",
			position(data, start, typ.Offset), what, kindName(typ.Type), typ.Value, ErrJSON)
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return fmt.Errorf("the file ends in the middle of the definition: %w", ErrJSON)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// encoding/json has no type for this error; its text is stable.
		return fmt.Errorf("%s: %w", strings.TrimPrefix(err.Error(), "json: unknown field "), ErrUnknownKey)
	}
	return err
}

func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int:
		return "a whole number"
	case reflect.String:
		return "a string"
	case reflect.Slice:
		return "a list"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Pointer:
		return kindName(t.Elem())
	}
	return t.String()
}

// position returns "line L, column C: " for offset within the value that
// starts at start in data, or "" if start is negative.
func position(data []byte, start, offset int64) string {
	if start < 0 {
		return ""
	}
	offset = min(start+offset, int64(len(data)))
	before := data[:offset]
	line := bytes.Count(before, []byte("\n")) + 1
	col := int(offset) - bytes.LastIndexByte(before, '\n')
	return fmt.Sprintf("line %d, column %d: ", line, col)
}

// builder collects the errors of one file.
type builder struct {
	file string
	errs []error
}

func (b *builder) fail(field string, format string, args ...any) {
	b.errs = append(b.errs, &DefinitionError{File: b.file, Field: field, Err: fmt.Errorf(format, args...)})
}

// parseService decodes and checks one definition.
func parseService(file string, data []byte) (*Service, []error) {
	b := &builder{file: file}
	var def serviceDef
	if err := decodeStrict(data, 0, data, &def); err != nil {
		b.fail("", "%w", err)
		return nil, b.errs
	}
	s := &Service{
		ID: def.ID, Version: def.Version, Law: def.Law, LeiKa: def.LeiKa,
		Label: def.Label, Description: def.Description, Deadline: def.Deadline,
		byID: map[string]*Field{},
	}
	switch {
	case def.ID == "":
		b.fail("", "\"id\": %w", ErrMissing)
	case !idRE.MatchString(def.ID):
		b.fail("", "service id %q: %w", def.ID, ErrBadID)
	}
	if def.Version < 1 {
		b.fail("", "\"version\" must be a whole number from 1: %w", ErrMissing)
	}
	if strings.TrimSpace(def.Law) == "" {
		b.fail("", "\"law\" (the legal basis): %w", ErrMissing)
	}
	if def.LeiKa != "" && !leikaRE.MatchString(def.LeiKa) {
		b.fail("", "\"leika\" %q must be urn:de:fim:leika:leistung: and the 14-digit key: %w", def.LeiKa, ErrBadLeiKa)
	}
	if def.Label.DE == "" {
		b.fail("", "service label: %w", ErrMissingLabel)
	}
	if def.Description.EN != "" && def.Description.DE == "" {
		b.fail("", "description: %w", ErrMissingLabel)
	}
	if def.MustSign == nil {
		b.fail("", "\"must_sign\": %w", ErrMissing)
	} else {
		s.MustSign = *def.MustSign
	}
	if len(def.Sections) == 0 {
		b.fail("", "\"sections\": %w", ErrMissing)
	}

	// Fields first, then what refers to them.
	sectionIDs := map[string]bool{}
	for _, sd := range def.Sections {
		sec := &Section{ID: sd.ID, Label: sd.Label}
		switch {
		case !idRE.MatchString(sd.ID):
			b.fail("", "section id %q: %w", sd.ID, ErrBadID)
		case sectionIDs[sd.ID]:
			b.fail("", "section %q: %w", sd.ID, ErrDuplicate)
		}
		sectionIDs[sd.ID] = true
		if sd.Label.DE == "" {
			b.fail("", "section %q: %w", sd.ID, ErrMissingLabel)
		}
		if len(sd.Fields) == 0 {
			b.fail("", "section %q has no fields: %w", sd.ID, ErrMissing)
		}
		for i, raw := range sd.Fields {
			var fd fieldDef
			// RawMessage holds a copy; where it occurs once in the file,
			// errors can give the line.
			start := -1
			if bytes.Count(data, raw) == 1 {
				start = bytes.Index(data, raw)
			}
			if err := decodeStrict(data, start, raw, &fd); err != nil {
				b.fail(fieldName(raw, sd.ID, i), "%w", err)
				// Go on with what can be read, so that fields referring to
				// this one do not report it missing as well.
				if json.Unmarshal(raw, &fd) != nil && fd.ID == "" {
					continue
				}
			}
			f := b.field(fd)
			if _, dup := s.byID[f.ID]; dup {
				b.fail(f.ID, "field id used twice: %w", ErrDuplicate)
				continue
			}
			s.byID[f.ID] = f
			s.fields = append(s.fields, f)
			sec.Fields = append(sec.Fields, f)
		}
		s.Sections = append(s.Sections, sec)
	}
	for _, f := range s.fields {
		b.references(s, f)
	}
	b.cycles(s)
	for i, fd := range def.Fees {
		fee := Fee{When: fd.When}
		if fd.Cents == nil || *fd.Cents < 0 {
			b.fail("", "fee %d: \"cents\" must be a whole number ≥ 0: %w", i+1, ErrBadFee)
		} else {
			fee.Cents = *fd.Cents
		}
		if fd.When != nil {
			b.condition(s, "", fmt.Sprintf("fee %d", i+1), fd.When)
		}
		s.Fees = append(s.Fees, fee)
	}
	if len(b.errs) > 0 {
		return nil, b.errs
	}
	return s, nil
}

// fieldName names a field that could not be decoded: by its id if it has
// one, else by its place.
func fieldName(raw json.RawMessage, section string, i int) string {
	var probe struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(raw, &probe) == nil && probe.ID != "" {
		return probe.ID
	}
	return fmt.Sprintf("%s[%d]", section, i+1)
}

// field checks what a field says about itself (references to other fields
// are checked later). It returns the field even if it found problems, so
// that fields referring to it do not report it missing as well.
func (b *builder) field(fd fieldDef) *Field {
	id := fd.ID
	if !idRE.MatchString(id) {
		b.fail(id, "field id: %w", ErrBadID)
	}
	f := &Field{
		ID: id, Type: fd.Type, Mandatory: fd.Mandatory, Label: fd.Label, Help: fd.Help,
		Source: fd.Source, VisibleIf: fd.VisibleIf,
	}
	kind, known := fieldTypes[fd.Type]
	if !known {
		b.fail(id, "type %q (known: text, textarea, date, number, bool, select, multiselect): %w", fd.Type, ErrUnknownType)
	}
	if fd.Label.DE == "" {
		b.fail(id, "label: %w", ErrMissingLabel)
	}
	if fd.Help.EN != "" && fd.Help.DE == "" {
		b.fail(id, "help: %w", ErrMissingLabel)
	}
	if fd.CapturedInPresence == nil {
		b.fail(id, "\"captured_in_presence\": %w", ErrMissing)
	} else {
		f.CapturedInPresence = *fd.CapturedInPresence
	}

	selection := fd.Type == TypeSelect || fd.Type == TypeMultiselect
	switch {
	case selection && len(fd.Options) == 0:
		b.fail(id, "%s field: %w", fd.Type, ErrNoOptions)
	case !selection && len(fd.Options) > 0:
		b.fail(id, "options on a %s field: %w", fd.Type, ErrBadOption)
	}
	seen := map[string]bool{}
	for _, od := range fd.Options {
		switch {
		case !optionValueRE.MatchString(od.Value):
			b.fail(id, "option value %q: letters, digits, '_', '.', '-' only: %w", od.Value, ErrBadOption)
		case seen[od.Value]:
			b.fail(id, "option value %q used twice: %w", od.Value, ErrDuplicate)
		}
		seen[od.Value] = true
		if od.Label.DE == "" {
			b.fail(id, "option %q: %w", od.Value, ErrMissingLabel)
		}
		f.Options = append(f.Options, Option{Value: od.Value, Label: od.Label, SourceValues: od.SourceValues})
	}

	for _, vd := range fd.Validators {
		v, ok := validate.Lookup(vd.Name)
		if !ok {
			b.fail(id, "validator %q (known: %s): %w", vd.Name, strings.Join(validate.Names(), ", "), ErrUnknownValidator)
			continue
		}
		if known && v.Applies != kind {
			b.fail(id, "validator %q on a %s field: %w", vd.Name, fd.Type, ErrValidatorType)
			continue
		}
		r, err := v.Build(vd.Params)
		if err != nil {
			b.fail(id, "%w: %w", ErrValidatorParams, err)
			continue
		}
		f.rules = append(f.rules, r)
		if partial, _ := vd.Params["partial"].(bool); vd.Name == "date" && partial {
			f.partialDate = true
		}
		if v.Normalize != nil {
			f.normalize = append(f.normalize, v.Normalize)
		}
		f.Validators = append(f.Validators, ValidatorSpec{Name: vd.Name, Params: vd.Params})
	}

	if fd.Source != "" && known && !sourceFits(fd.Source, fd.Type) {
		b.fail(id, "source %q on a %s field: %w", fd.Source, fd.Type, ErrUnknownSource)
	}
	return f
}

// references checks what a field says about other fields: its condition
// and the fields its validators compare with.
func (b *builder) references(s *Service, f *Field) {
	if f.VisibleIf != nil {
		if f.VisibleIf.Field == f.ID {
			b.fail(f.ID, "visible_if refers to the field itself: %w", ErrBadCondition)
		} else {
			b.condition(s, f.ID, "visible_if", f.VisibleIf)
		}
	}
	for _, vs := range f.Validators {
		v, _ := validate.Lookup(vs.Name)
		for _, other := range v.FieldParams(vs.Params) {
			o, ok := s.byID[other]
			switch {
			case !ok:
				b.fail(f.ID, "validator %q refers to field %q, which does not exist: %w", vs.Name, other, ErrValidatorParams)
			case o == f:
				b.fail(f.ID, "validator %q refers to the field itself: %w", vs.Name, ErrValidatorParams)
			case o.Type != f.Type:
				b.fail(f.ID, "validator %q compares with field %q of type %s: %w", vs.Name, other, o.Type, ErrValidatorParams)
			}
		}
	}
}

// condition checks that c refers to an existing bool or selection field
// and to a value that field can have.
func (b *builder) condition(s *Service, field, what string, c *Condition) {
	o, ok := s.byID[c.Field]
	switch {
	case c.Field == "":
		b.fail(field, "%s without \"field\": %w", what, ErrBadCondition)
	case !ok:
		b.fail(field, "%s refers to field %q, which does not exist: %w", what, c.Field, ErrBadCondition)
	case o.Type == TypeBool:
		if c.Equals != "true" && c.Equals != "false" {
			b.fail(field, "%s: bool field %q is \"true\" or \"false\", not %q: %w", what, c.Field, c.Equals, ErrBadCondition)
		}
	case o.Type == TypeSelect || o.Type == TypeMultiselect:
		if o.option(c.Equals) == nil {
			b.fail(field, "%s: field %q has no option %q: %w", what, c.Field, c.Equals, ErrBadCondition)
		}
	default:
		b.fail(field, "%s refers to %s field %q; only bool, select and multiselect fields can decide: %w", what, o.Type, c.Field, ErrBadCondition)
	}
}

// cycles refuses conditions that depend on themselves (a shown if b, b
// shown if a).
func (b *builder) cycles(s *Service) {
	for _, f := range s.fields {
		cur := f
		for steps := 0; cur != nil && cur.VisibleIf != nil; steps++ {
			next, ok := s.byID[cur.VisibleIf.Field]
			if !ok {
				break // reported by condition
			}
			if next == f {
				b.fail(f.ID, "visible_if conditions form a cycle: %w", ErrBadCondition)
				break
			}
			if steps > len(s.fields) {
				break // a cycle further on; its members report it
			}
			cur = next
		}
	}
}
