package catalog_test

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/buergerkoffer/kit/internal/catalog"
)

// validDefinition is a small definition that loads; the broken ones below
// are made from it by one replacement each.
const validDefinition = `{
  "id": "test",
  "version": 1,
  "law": "Testgesetz § 1",
  "label": {"de": "Prüfantrag", "en": "Test application"},
  "fees": [{"cents": 500, "when": {"field": "kind", "equals": "b"}}],
  "must_sign": false,
  "sections": [
    {
      "id": "main",
      "label": {"de": "Angaben"},
      "fields": [
        {"id": "kind", "type": "select", "label": {"de": "Art"},
         "options": [{"value": "a", "label": {"de": "A"}}, {"value": "b", "label": {"de": "B"}}],
         "captured_in_presence": true},
        {"id": "detail", "type": "text", "mandatory": true, "label": {"de": "Einzelheit"},
         "visible_if": {"field": "kind", "equals": "b"}, "captured_in_presence": true},
        {"id": "start", "type": "date", "label": {"de": "Beginn"},
         "validators": [{"name": "date", "not_future": true}], "captured_in_presence": true},
        {"id": "end", "type": "date", "label": {"de": "Ende"},
         "validators": [{"name": "date", "not_before": "start"}], "captured_in_presence": true},
        {"id": "plz", "type": "text", "label": {"de": "PLZ"}, "validators": ["postal_code"], "captured_in_presence": false}
      ]
    }
  ]
}`

func load(files map[string]string) error {
	fsys := fstest.MapFS{}
	for name, data := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(data)}
	}
	_, err := catalog.Load(fsys)
	return err
}

func TestLoad_ValidDefinition(t *testing.T) {
	if err := load(map[string]string{"test.json": validDefinition}); err != nil {
		t.Fatal(err)
	}
}

// Every kind of broken definition is refused at start-up with an error that
// names the file and, where there is one, the field.
func TestLoad_BrokenDefinitions(t *testing.T) {
	tests := []struct {
		name     string
		old, new string
		want     error
		field    string // "" if the error concerns no field
		mention  string // a further word the message must contain
	}{
		{"LeiKa identifier without the URN prefix",
			`"version": 1,`, `"version": 1, "leika": "99115005104000",`,
			catalog.ErrBadLeiKa, "", "99115005104000"},
		{"LeiKa key of the wrong length",
			`"version": 1,`, `"version": 1, "leika": "urn:de:fim:leika:leistung:9911500510400",`,
			catalog.ErrBadLeiKa, "", "leika"},
		{"unknown field type",
			`"id": "plz", "type": "text"`, `"id": "plz", "type": "postleitzahl"`,
			catalog.ErrUnknownType, "plz", "postleitzahl"},
		{"unknown validator",
			`["postal_code"]`, `["plz_check"]`,
			catalog.ErrUnknownValidator, "plz", "plz_check"},
		{"validator parameter of the wrong type",
			`"not_future": true`, `"not_future": "ja"`,
			catalog.ErrValidatorParams, "start", "not_future"},
		{"unknown validator parameter",
			`"not_future": true`, `"not_in_future": true`,
			catalog.ErrValidatorParams, "start", "not_in_future"},
		{"validator without a name",
			`{"name": "date", "not_future": true}`, `{"not_future": true}`,
			catalog.ErrMissing, "start", "name"},
		{"validator on the wrong type",
			`"validators": ["postal_code"]`, `"validators": [{"name": "date"}]`,
			catalog.ErrValidatorType, "plz", "text"},
		{"validator referring to a missing field",
			`"not_before": "start"`, `"not_before": "anfang"`,
			catalog.ErrValidatorParams, "end", "anfang"},
		{"validator comparing with a field of another type",
			`"not_before": "start"`, `"not_before": "plz"`,
			catalog.ErrValidatorParams, "end", "plz"},
		{"duplicate field id",
			`"id": "plz"`, `"id": "detail"`,
			catalog.ErrDuplicate, "detail", ""},
		{"visible_if referring to a missing field",
			`"visible_if": {"field": "kind"`, `"visible_if": {"field": "sorte"`,
			catalog.ErrBadCondition, "detail", "sorte"},
		{"visible_if on an option that does not exist",
			`"equals": "b"}, "captured_in_presence": true}`, `"equals": "c"}, "captured_in_presence": true}`,
			catalog.ErrBadCondition, "detail", `"c"`},
		{"visible_if on a text field",
			`"visible_if": {"field": "kind", "equals": "b"}`, `"visible_if": {"field": "plz", "equals": "b"}`,
			catalog.ErrBadCondition, "detail", "plz"},
		{"visible_if on itself",
			`"visible_if": {"field": "kind", "equals": "b"}`, `"visible_if": {"field": "detail", "equals": "b"}`,
			catalog.ErrBadCondition, "detail", "itself"},
		{"select without options",
			`"options": [{"value": "a", "label": {"de": "A"}}, {"value": "b", "label": {"de": "B"}}],`, ``,
			catalog.ErrNoOptions, "kind", ""},
		{"options on a text field",
			`"id": "plz", "type": "text",`, `"id": "plz", "type": "text", "options": [{"value": "a", "label": {"de": "A"}}],`,
			catalog.ErrBadOption, "plz", ""},
		{"duplicate option value",
			`{"value": "b", "label": {"de": "B"}}`, `{"value": "a", "label": {"de": "B"}}`,
			catalog.ErrDuplicate, "kind", `"a"`},
		{"option value with a comma",
			`{"value": "b", "label": {"de": "B"}}`, `{"value": "b,c", "label": {"de": "B"}}`,
			catalog.ErrBadOption, "kind", ""},
		{"missing German label of a field",
			`"label": {"de": "Einzelheit"}`, `"label": {"en": "Detail"}`,
			catalog.ErrMissingLabel, "detail", ""},
		{"missing German label of an option",
			`{"value": "a", "label": {"de": "A"}}`, `{"value": "a", "label": {"en": "A"}}`,
			catalog.ErrMissingLabel, "kind", ""},
		{"missing German label of the service",
			`"label": {"de": "Prüfantrag", "en": "Test application"}`, `"label": {"en": "Test application"}`,
			catalog.ErrMissingLabel, "", ""},
		{"missing German label of a section",
			`"label": {"de": "Angaben"}`, `"label": {}`,
			catalog.ErrMissingLabel, "", "main"},
		{"unknown key in a field",
			`"id": "plz", "type": "text",`, `"id": "plz", "type": "text", "pflicht": true,`,
			catalog.ErrUnknownKey, "plz", "pflicht"},
		{"unknown key in a label",
			`"label": {"de": "PLZ"}`, `"label": {"de": "PLZ", "fr": "CP"}`,
			catalog.ErrUnknownKey, "plz", "fr"},
		{"unknown key in the service",
			`"version": 1,`, `"version": 1, "gebuehr": 5,`,
			catalog.ErrUnknownKey, "", "gebuehr"},
		{"wrong JSON type",
			`"mandatory": true`, `"mandatory": "ja"`,
			catalog.ErrJSON, "detail", "mandatory"},
		{"wrong JSON type, with its line",
			`"mandatory": true`, `"mandatory": "ja"`,
			catalog.ErrJSON, "detail", "line 16, column"},
		{"field that is not an object",
			`{"id": "plz", "type": "text", "label": {"de": "PLZ"}, "validators": ["postal_code"], "captured_in_presence": false}`, `5`,
			catalog.ErrJSON, "main[5]", "must be an object"},
		{"syntax error",
			`"version": 1,`, `"version": 1,,`,
			catalog.ErrJSON, "", "line 3"},
		{"data after the definition",
			`]
}`, `]
} {}`,
			catalog.ErrJSON, "", "after"},
		{"missing captured_in_presence",
			`, "captured_in_presence": false}`, `}`,
			catalog.ErrMissing, "plz", "captured_in_presence"},
		{"missing must_sign",
			`"must_sign": false,`, ``,
			catalog.ErrMissing, "", "must_sign"},
		{"missing law",
			`"law": "Testgesetz § 1",`, ``,
			catalog.ErrMissing, "", "law"},
		{"missing version",
			`"version": 1,`, ``,
			catalog.ErrMissing, "", "version"},
		{"bad field id",
			`"id": "plz"`, `"id": "PLZ"`,
			catalog.ErrBadID, "PLZ", ""},
		{"id differs from the file name",
			`"id": "test"`, `"id": "probe"`,
			catalog.ErrFileName, "", "probe"},
		{"unknown prefill source",
			`"id": "plz", "type": "text",`, `"id": "plz", "type": "text", "source": "mrz.postcode",`,
			catalog.ErrUnknownSource, "plz", "mrz.postcode"},
		{"date source on a text field",
			`"id": "plz", "type": "text",`, `"id": "plz", "type": "text", "source": "mrz.birth_date",`,
			catalog.ErrUnknownSource, "plz", ""},
		{"fee condition on a missing field",
			`"when": {"field": "kind"`, `"when": {"field": "sorte"`,
			catalog.ErrBadCondition, "", "fee 1"},
		{"fee without cents",
			`{"cents": 500, `, `{`,
			catalog.ErrBadFee, "", "cents"},
		{"negative fee",
			`"cents": 500`, `"cents": -500`,
			catalog.ErrBadFee, "", "cents"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(validDefinition, tt.old) {
				t.Fatalf("test is broken: %q not in the definition", tt.old)
			}
			broken := strings.Replace(validDefinition, tt.old, tt.new, 1)
			err := load(map[string]string{"test.json": broken})
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			var de *catalog.DefinitionError
			if !errors.As(err, &de) {
				t.Fatalf("got %T, want a *catalog.DefinitionError", err)
			}
			msg := err.Error()
			if de.File != "test.json" || !strings.Contains(msg, "test.json") {
				t.Errorf("error %q does not name the file", msg)
			}
			if tt.field != "" && (de.Field != tt.field || !strings.Contains(msg, `"`+tt.field+`"`)) {
				t.Errorf("error %q names field %q, want %q", msg, de.Field, tt.field)
			}
			if tt.mention != "" && !strings.Contains(msg, tt.mention) {
				t.Errorf("error %q does not mention %s", msg, tt.mention)
			}
		})
	}
}

func TestLoad_Cycle(t *testing.T) {
	def := strings.Replace(validDefinition,
		`"label": {"de": "Art"},`,
		`"label": {"de": "Art"}, "visible_if": {"field": "toggle", "equals": "true"},`, 1)
	def = strings.Replace(def,
		`{"id": "plz"`,
		`{"id": "toggle", "type": "bool", "label": {"de": "Schalter"}, "visible_if": {"field": "kind", "equals": "a"}, "captured_in_presence": true},
        {"id": "plz"`, 1)
	err := load(map[string]string{"test.json": def})
	if !errors.Is(err, catalog.ErrBadCondition) || !strings.Contains(err.Error(), "cycle") {
		t.Errorf("got %v, want a cycle reported", err)
	}
}

// An operator fixing a directory of definitions sees every problem at once.
func TestLoad_ReportsAllProblems(t *testing.T) {
	a := strings.Replace(validDefinition, `"type": "text", "mandatory"`, `"type": "zahl", "mandatory"`, 1)
	a = strings.Replace(a, `["postal_code"]`, `["plz_check"]`, 1)
	b := strings.Replace(validDefinition, `"id": "test"`, `"id": "zweiter"`, 1)
	b = strings.Replace(b, `"label": {"de": "Art"}`, `"label": {"en": "Kind"}`, 1)
	err := load(map[string]string{"test.json": a, "zweiter.json": b})
	for _, want := range []string{`test.json: field "detail"`, `test.json: field "plz"`, `zweiter.json: field "kind"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("got %v, want it to contain %q", err, want)
		}
	}
}

// A catalog never panics on what it is given: every prefix of a valid
// definition is either loaded or refused with a definition error.
func TestLoad_TruncatedDefinitions(t *testing.T) {
	for i := 0; i < len(validDefinition); i += 7 {
		err := load(map[string]string{"test.json": validDefinition[:i]})
		var de *catalog.DefinitionError
		if !errors.As(err, &de) {
			t.Fatalf("prefix %d: got %v, want a definition error", i, err)
		}
	}
}

func FuzzLoad(f *testing.F) {
	f.Add([]byte(validDefinition))
	f.Add([]byte(`{"id": "test"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := catalog.Load(fstest.MapFS{"test.json": {Data: data}})
		var de *catalog.DefinitionError
		if err != nil && !errors.As(err, &de) {
			t.Fatalf("got %T %v, want a definition error", err, err)
		}
	})
}

func TestVisible_NestedConditions(t *testing.T) {
	def := strings.Replace(validDefinition, `{"id": "plz"`,
		`{"id": "more", "type": "text", "mandatory": true, "label": {"de": "Mehr"}, "visible_if": {"field": "flag", "equals": "true"}, "captured_in_presence": true},
        {"id": "flag", "type": "bool", "label": {"de": "Schalter"}, "visible_if": {"field": "kind", "equals": "b"}, "captured_in_presence": true},
        {"id": "plz"`, 1)
	c, err := catalog.Load(fstest.MapFS{"test.json": {Data: []byte(def)}})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := c.Service("test")
	// flag is ticked but hidden (kind is a): the field it controls is hidden too.
	vis := s.Visible(map[string]string{"kind": "a", "flag": "true"})
	if vis["flag"] || vis["more"] || vis["detail"] || !vis["kind"] {
		t.Errorf("kind a: got %v", vis)
	}
	vis = s.Visible(map[string]string{"kind": "b", "flag": "true"})
	if !vis["flag"] || !vis["more"] || !vis["detail"] {
		t.Errorf("kind b: got %v", vis)
	}
	if errs := s.Validate(map[string]string{"kind": "a", "flag": "true"}, now); len(errs) != 0 {
		t.Errorf("hidden mandatory fields checked: %v", errs.Err())
	}
}

// One mistake gives one error: a field that could not be read is still
// known to the fields and fees that refer to it.
func TestLoad_NoFollowOnErrors(t *testing.T) {
	for name, c := range map[string][2]string{
		"unknown key in a deciding field":  {`"label": {"de": "Art"},`, `"label": {"de": "Art"}, "hilfe": "x",`},
		"bad parameter of a compared date": {`"not_future": true`, `"not_future": "ja"`},
	} {
		err := load(map[string]string{"test.json": strings.Replace(validDefinition, c[0], c[1], 1)})
		joined, ok := err.(interface{ Unwrap() []error })
		if !ok || len(joined.Unwrap()) != 1 {
			t.Errorf("%s: got %v, want exactly one error", name, err)
		}
	}
}
