package catalog_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/buergerkoffer/kit/internal/catalog"
	"github.com/buergerkoffer/kit/internal/validate"
)

var now = time.Date(2024, 6, 15, 10, 0, 0, 0, time.FixedZone("CEST", 2*3600))

func embedded(t *testing.T) *catalog.Catalog {
	t.Helper()
	c, err := catalog.LoadEmbedded()
	if err != nil {
		t.Fatalf("embedded catalog: %v", err)
	}
	return c
}

func service(t *testing.T, id string) *catalog.Service {
	t.Helper()
	s, ok := embedded(t).Service(id)
	if !ok {
		t.Fatalf("no service %q", id)
	}
	return s
}

func TestLoadEmbedded_FiveServices(t *testing.T) {
	c := embedded(t)
	var got []string
	for _, s := range c.Services() {
		got = append(got, s.ID)
	}
	want := []string{"anmeldung", "bewohnerparkausweis", "fuehrungszeugnis", "hundeanmeldung", "meldebescheinigung"}
	if !slices.Equal(got, want) {
		t.Fatalf("got services %v, want %v", got, want)
	}
	if _, ok := c.Service("reisepass"); ok {
		t.Error("found a passport service; passports are not done offline")
	}
}

// The fields each service must have, with their types, as DOMAIN.md lists them.
func TestLoadEmbedded_KeyFields(t *testing.T) {
	want := map[string]map[string]catalog.FieldType{
		"anmeldung": {
			"surname": catalog.TypeText, "given_names": catalog.TypeText, "earlier_names": catalog.TypeTextarea,
			"birth_date": catalog.TypeDate, "birth_place": catalog.TypeText, "sex": catalog.TypeSelect,
			"nationalities": catalog.TypeText, "religion": catalog.TypeSelect, "marital_status": catalog.TypeSelect,
			"steuer_id": catalog.TypeText, "previous_postal_code": catalog.TypeText, "new_postal_code": catalog.TypeText,
			"dwelling_status": catalog.TypeSelect, "move_in_date": catalog.TypeDate,
			"id_document_type": catalog.TypeSelect, "id_issuing_authority": catalog.TypeText, "id_issue_date": catalog.TypeDate,
			"id_expiry_date": catalog.TypeDate, "id_serial": catalog.TypeText,
			"landlord_name": catalog.TypeText, "landlord_address": catalog.TypeTextarea, "landlord_move_in_date": catalog.TypeDate,
		},
		"meldebescheinigung": {"kind": catalog.TypeSelect, "surname": catalog.TypeText, "birth_date": catalog.TypeDate, "postal_code": catalog.TypeText},
		"fuehrungszeugnis": {
			"type": catalog.TypeSelect, "extended": catalog.TypeBool, "authority_name": catalog.TypeText,
			"authority_postal_code": catalog.TypeText, "purpose": catalog.TypeText, "birth_date": catalog.TypeDate,
		},
		"hundeanmeldung": {
			"owner_surname": catalog.TypeText, "breed": catalog.TypeText, "dog_birth_date": catalog.TypeDate,
			"acquisition_date": catalog.TypeDate, "chip_number": catalog.TypeText, "previous_owner_name": catalog.TypeText,
			"liability_insurer": catalog.TypeText, "tax_relief": catalog.TypeMultiselect, "further_dogs": catalog.TypeNumber,
		},
		"bewohnerparkausweis": {
			"postal_code": catalog.TypeText, "plate": catalog.TypeText, "registration_certificate_presented": catalog.TypeBool,
			"keeper_consent_presented": catalog.TypeBool,
		},
	}
	c := embedded(t)
	for id, fields := range want {
		s, _ := c.Service(id)
		for fid, typ := range fields {
			f, ok := s.Field(fid)
			if !ok {
				t.Errorf("%s: no field %q", id, fid)
				continue
			}
			if f.Type != typ {
				t.Errorf("%s.%s: got type %s, want %s", id, fid, f.Type, typ)
			}
		}
	}
}

func TestLoadEmbedded_ServiceFacts(t *testing.T) {
	tests := []struct {
		id       string
		label    string
		mustSign bool
		law      string
	}{
		{"anmeldung", "Anmeldung / Ummeldung einer Wohnung", true, "BMG §§ 17, 23, 24"},
		{"meldebescheinigung", "Meldebescheinigung", false, "BMG § 18"},
		{"fuehrungszeugnis", "Führungszeugnis", true, "BZRG §§ 30, 30a"},
		{"hundeanmeldung", "Anmeldung eines Hundes", true, "Hundesteuersatzung der Gemeinde"},
		{"bewohnerparkausweis", "Bewohnerparkausweis", true, "StVO § 45 Abs. 1b Nr. 2a"},
	}
	for _, tt := range tests {
		s := service(t, tt.id)
		if s.Label.DE != tt.label || s.MustSign != tt.mustSign || s.Law != tt.law {
			t.Errorf("%s: got %q sign=%v law=%q, want %q sign=%v law=%q", tt.id, s.Label.DE, s.MustSign, s.Law, tt.label, tt.mustSign, tt.law)
		}
		if s.Version < 1 || s.Description.DE == "" || s.Label.EN == "" {
			t.Errorf("%s: version, description or English label missing", tt.id)
		}
	}
	if got := service(t, "anmeldung").LeiKa; got != "urn:de:fim:leika:leistung:99115005104000" {
		t.Errorf("anmeldung LeiKa %q, want the Bundesportal's Wohnsitz-Anmeldung 99115005104000", got)
	}
	if got := service(t, "anmeldung").Deadline.DE; !strings.Contains(got, "zwei Wochen") {
		t.Errorf("anmeldung deadline %q does not say two weeks", got)
	}
}

func TestFee(t *testing.T) {
	tests := []struct {
		service string
		values  map[string]string
		cents   int
		ok      bool
	}{
		{"meldebescheinigung", map[string]string{"kind": "einfach"}, 750, true},
		{"meldebescheinigung", map[string]string{"kind": "erweitert"}, 900, true},
		{"meldebescheinigung", map[string]string{}, 0, false},
		{"fuehrungszeugnis", map[string]string{"type": "N"}, 1300, true},
		{"fuehrungszeugnis", map[string]string{"type": "O", "extended": "true"}, 1300, true},
		{"bewohnerparkausweis", nil, 3070, true},
		{"anmeldung", nil, 0, false},
		{"hundeanmeldung", nil, 0, false},
	}
	for _, tt := range tests {
		cents, ok := service(t, tt.service).Fee(tt.values)
		if cents != tt.cents || ok != tt.ok {
			t.Errorf("%s %v: got %d, %v, want %d, %v", tt.service, tt.values, cents, ok, tt.cents, tt.ok)
		}
	}
}

// anmeldung returns a complete, valid Anmeldung of a person moving within
// Germany into a sole dwelling.
func anmeldung() map[string]string {
	return map[string]string{
		"surname": "Mustermann", "given_names": "Erika", "birth_date": "1964-08-12", "birth_place": "Berlin",
		"sex": "weiblich", "nationalities": "D", "marital_status": "verheiratet", "steuer_id": "36574261809",
		"move_in_date": "2024-06-10", "new_street": "Heidestraße", "new_house_number": "17",
		"new_postal_code": "01067", "new_city": "Dresden", "dwelling_status": "alleinige",
		"moved_from_abroad": "false", "previous_street": "Musterweg", "previous_house_number": "3",
		"previous_postal_code": "51147", "previous_city": "Köln",
		"id_document_type": "personalausweis", "id_issuing_authority": "Stadt Köln", "id_issue_date": "2020-03-01",
		"id_expiry_date": "2030-02-28", "id_serial": "T22000129",
		"landlord_confirmation_presented": "true", "landlord_name": "Wohnbau GmbH",
		"landlord_address": "Hauptstraße 1\n01067 Dresden", "landlord_is_owner": "true", "landlord_move_in_date": "2024-06-10",
	}
}

func TestValidate_CompleteAnmeldungPasses(t *testing.T) {
	if errs := service(t, "anmeldung").Validate(anmeldung(), now); len(errs) != 0 {
		t.Errorf("got %v, want no errors", errs.Err())
	}
}

func TestValidate_InvalidPostalCodeInGerman(t *testing.T) {
	v := anmeldung()
	v["new_postal_code"] = "1067"
	errs := service(t, "anmeldung").Validate(v, now)
	if len(errs) != 1 {
		t.Fatalf("got %v, want one error", errs.Err())
	}
	e := errs.For("new_postal_code")
	if e == nil {
		t.Fatalf("no error for new_postal_code: %v", errs.Err())
	}
	if got, want := e.Message("de"), "Die Postleitzahl muss aus 5 Ziffern bestehen."; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if strings.Contains(errs.Err().Error(), "1067") {
		t.Errorf("error %q repeats the value", errs.Err())
	}
}

func TestValidate_Errors(t *testing.T) {
	tests := []struct {
		name   string
		change map[string]string
		field  string
		code   string
	}{
		{"mandatory empty", map[string]string{"surname": "  "}, "surname", validate.CodeRequired},
		{"mandatory missing", map[string]string{"birth_place": ""}, "birth_place", validate.CodeRequired},
		{"confirmation not ticked", map[string]string{"landlord_confirmation_presented": "false"}, "landlord_confirmation_presented", validate.CodeConfirm},
		{"not an option", map[string]string{"sex": "M"}, "sex", validate.CodeOption},
		{"birth date in the future", map[string]string{"birth_date": "2024-06-16"}, "birth_date", validate.CodeDateFuture},
		{"move-in tomorrow", map[string]string{"move_in_date": "2024-06-16"}, "move_in_date", validate.CodeDateFuture},
		{"not a date", map[string]string{"id_issue_date": "2023-02-29"}, "id_issue_date", validate.CodeDate},
		{"expired document", map[string]string{"id_expiry_date": "2024-06-14"}, "id_expiry_date", validate.CodeDatePast},
		{"wrong Steuer-ID", map[string]string{"steuer_id": "36574261890"}, "steuer_id", validate.CodeSteuerIDCheck},
		{"bool not yes/no", map[string]string{"landlord_is_owner": "ja"}, "landlord_is_owner", validate.CodeBool},
		{"line break in a line", map[string]string{"new_street": "Heide\nstraße"}, "new_street", validate.CodeText},
		{"unknown field", map[string]string{"favourite_colour": "blau"}, "favourite_colour", validate.CodeUnknownField},
	}
	s := service(t, "anmeldung")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := anmeldung()
			for k, x := range tt.change {
				v[k] = x
			}
			errs := s.Validate(v, now)
			e := errs.For(tt.field)
			if e == nil || e.Code != tt.code {
				t.Fatalf("got %v, want %s on %s", errs.Err(), tt.code, tt.field)
			}
			if len(errs) != 1 {
				t.Errorf("got %v, want only the one error", errs.Err())
			}
			if e.DE == "" || e.EN == "" {
				t.Errorf("message missing: %+v", e)
			}
		})
	}
}

func TestValidate_DateOrderNamesTheOtherField(t *testing.T) {
	v := map[string]string{"dog_birth_date": "2022-03-01", "acquisition_date": "2022-02-01"}
	e := service(t, "hundeanmeldung").Validate(v, now).For("acquisition_date")
	if e == nil || e.Code != validate.CodeDateOrder {
		t.Fatalf("got %v, want date_order", e)
	}
	if !strings.Contains(e.DE, "„Geburtsdatum (Wurftag)“") || !strings.Contains(e.EN, "“Date of birth”") {
		t.Errorf("got %q / %q, want the labels of the dog's birth date named", e.DE, e.EN)
	}
}

// Fields shown only under a condition are mandatory only while shown.
func TestValidate_ConditionalMandatory(t *testing.T) {
	s := service(t, "anmeldung")

	// Secondary dwelling: the main dwelling's address becomes mandatory.
	v := anmeldung()
	v["dwelling_status"] = "neben"
	errs := s.Validate(v, now)
	for _, f := range []string{"main_dwelling_street", "main_dwelling_house_number", "main_dwelling_postal_code", "main_dwelling_city"} {
		if e := errs.For(f); e == nil || e.Code != validate.CodeRequired {
			t.Errorf("secondary dwelling: %s got %v, want required", f, e)
		}
	}

	// From abroad: the German previous address is hidden (its values are
	// ignored, even invalid ones) and the country is mandatory.
	v = anmeldung()
	v["moved_from_abroad"] = "true"
	v["previous_postal_code"] = "kaputt"
	errs = s.Validate(v, now)
	if e := errs.For("previous_country"); e == nil || e.Code != validate.CodeRequired {
		t.Errorf("from abroad: previous_country got %v, want required", e)
	}
	if e := errs.For("previous_postal_code"); e != nil {
		t.Errorf("from abroad: hidden previous_postal_code checked: %v", e)
	}

	// An unticked bool counts as "false": without moved_from_abroad the
	// German previous address is asked for.
	v = anmeldung()
	delete(v, "moved_from_abroad")
	delete(v, "previous_street")
	if e := s.Validate(v, now).For("previous_street"); e == nil || e.Code != validate.CodeRequired {
		t.Errorf("bool left empty: previous_street got %v, want required", e)
	}
}

func fuehrungszeugnis(typ string) map[string]string {
	return map[string]string{
		"type": typ, "surname": "MUSTERMANN", "birth_name": "GABLER", "given_names": "ERIKA",
		"birth_date": "1964-08-12", "birth_place": "Berlin", "nationalities": "D",
		"street": "Heidestraße", "house_number": "17", "postal_code": "51147", "city": "Köln",
		"id_document_type": "personalausweis", "id_serial": "T22000129", "id_expiry_date": "2030-10-31",
		"identity_checked": "true",
	}
}

func TestValidate_FuehrungszeugnisTypeO(t *testing.T) {
	s := service(t, "fuehrungszeugnis")
	if errs := s.Validate(fuehrungszeugnis("N"), now); len(errs) != 0 {
		t.Fatalf("type N: got %v, want no errors", errs.Err())
	}
	errs := s.Validate(fuehrungszeugnis("O"), now)
	for _, f := range []string{"authority_name", "authority_street", "authority_postal_code", "authority_city", "purpose"} {
		if e := errs.For(f); e == nil || e.Code != validate.CodeRequired {
			t.Errorf("type O: %s got %v, want required", f, e)
		}
	}
	if e := errs.For("authority_reference"); e != nil {
		t.Errorf("type O: optional authority_reference got %v", e)
	}

	v := fuehrungszeugnis("O")
	for k, x := range map[string]string{"authority_name": "Landratsamt", "authority_street": "Amtsweg", "authority_house_number": "1",
		"authority_postal_code": "01067", "authority_city": "Dresden", "purpose": "Waffenbesitzkarte"} {
		v[k] = x
	}
	if errs := s.Validate(v, now); len(errs) != 0 {
		t.Errorf("complete type O: got %v", errs.Err())
	}
}

func TestValidate_FuehrungszeugnisApplicantAtLeast14(t *testing.T) {
	s := service(t, "fuehrungszeugnis")
	v := fuehrungszeugnis("N")
	v["birth_date"] = "2010-06-16" // 14 tomorrow
	e := s.Validate(v, now).For("birth_date")
	if e == nil || e.Code != validate.CodeMinAge {
		t.Fatalf("got %v, want min_age", e)
	}
	if got, want := e.DE, "Die Person muss mindestens 14 Jahre alt sein."; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	v["birth_date"] = "2010-06-15" // 14 today
	if e := s.Validate(v, now).For("birth_date"); e != nil {
		t.Errorf("14 today: got %v", e)
	}
}

func TestValidate_ExtendedNeedsWrittenRequest(t *testing.T) {
	s := service(t, "fuehrungszeugnis")
	v := fuehrungszeugnis("N")
	v["extended"] = "true"
	if e := s.Validate(v, now).For("extended_request_presented"); e == nil || e.Code != validate.CodeConfirm {
		t.Errorf("got %v, want confirm", e)
	}
}

func TestValidate_Multiselect(t *testing.T) {
	s := service(t, "hundeanmeldung")
	base := map[string]string{
		"owner_surname": "Mustermann", "owner_given_names": "Erika", "owner_birth_date": "1964-08-12",
		"owner_street": "Heidestraße", "owner_house_number": "17", "owner_postal_code": "01067", "owner_city": "Dresden",
		"breed": "Labrador", "dog_birth_date": "2022-03-01", "acquisition_date": "2022-06-01",
		"chip_number": "276098106235196",
	}
	for in, want := range map[string]string{
		"tierheim":               "",
		"tierheim, rettungshund": "",
		"tierheim,katze":         validate.CodeOption,
		"tierheim,tierheim":      validate.CodeOption,
		"tierheim,":              validate.CodeOption,
	} {
		v := map[string]string{"tax_relief": in}
		for k, x := range base {
			v[k] = x
		}
		errs := s.Validate(v, now)
		got := ""
		if e := errs.For("tax_relief"); e != nil {
			got = e.Code
		}
		if got != want || len(errs) > 1 || (want == "" && len(errs) != 0) {
			t.Errorf("tax_relief %q: got %v, want %q", in, errs.Err(), want)
		}
	}
}

func TestValidate_DogDates(t *testing.T) {
	s := service(t, "hundeanmeldung")
	v := map[string]string{"dog_birth_date": "2022-03-01", "acquisition_date": "2022-02-01", "chip_number": "999012345678901", "further_dogs": "21"}
	errs := s.Validate(v, now)
	for field, code := range map[string]string{
		"acquisition_date": validate.CodeDateOrder,
		"chip_number":      validate.CodeChipTest,
		"further_dogs":     validate.CodeRange,
	} {
		if e := errs.For(field); e == nil || e.Code != code {
			t.Errorf("%s: got %v, want %s", field, e, code)
		}
	}
}

func TestPrune(t *testing.T) {
	s := service(t, "hundeanmeldung")
	got := s.Prune(map[string]string{
		"breed":          "  Labrador ",
		"sepa_mandate":   "false",
		"iban":           "de89 3704 0044 0532 0130 00", // hidden: no mandate
		"chip_number":    "276 098 106 235 196",
		"tax_relief":     "tierheim , rettungshund",
		"dog_name":       "",
		"not_a_field":    "x",
		"owner_email":    " erika@example.de ",
		"owner_phone":    "0351 1234567",
		"previous_owner": "",
	})
	want := map[string]string{
		"breed": "Labrador", "sepa_mandate": "false", "chip_number": "276098106235196",
		"tax_relief": "tierheim,rettungshund", "owner_email": "erika@example.de", "owner_phone": "0351 1234567",
	}
	if len(got) != len(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: got %q, want %q", k, got[k], w)
		}
	}

	got = s.Prune(map[string]string{"sepa_mandate": "true", "iban": "de89 3704 0044 0532 0130 00"})
	if got["iban"] != "DE89370400440532013000" {
		t.Errorf("shown IBAN: got %q, want the normalised IBAN", got["iban"])
	}
	plate := service(t, "bewohnerparkausweis").Prune(map[string]string{"plate": "m x 1e"})
	if plate["plate"] != "M-X 1E" {
		t.Errorf("plate: got %q, want %q", plate["plate"], "M-X 1E")
	}
}

func TestPrefill_GermanIDCard(t *testing.T) {
	// Fields as the MRZ reader gives them for the specimen card (shared/testdata/mrz-public.json).
	mrz := map[string]string{
		"document_code": "ID", "issuing_state": "D", "document_number": "T22000129",
		"birth_date": "1964-08-12", "sex": "X", "expiry_date": "2020-10-31", "nationality": "D",
		"surname": "MUSTERMANN", "given_names": "ERIKA",
	}
	got := service(t, "anmeldung").Prefill(mrz)
	want := map[string]string{
		"surname": "MUSTERMANN", "given_names": "ERIKA", "birth_date": "1964-08-12", "nationalities": "D",
		"id_document_type": "personalausweis", "id_expiry_date": "2020-10-31", "id_serial": "T22000129",
	}
	if len(got) != len(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: got %q, want %q", k, got[k], w)
		}
	}
	if _, ok := got["sex"]; ok {
		t.Errorf("sex prefilled with %q from an ID card that states none", got["sex"])
	}
}

func TestPrefill_PassportAndBadValues(t *testing.T) {
	mrz := map[string]string{"document_code": "P", "sex": "F", "surname": "ERIKSSON", "birth_date": "1974-02-30", "document_number": "L898902C3"}
	got := service(t, "anmeldung").Prefill(mrz)
	if got["id_document_type"] != "reisepass" || got["sex"] != "weiblich" || got["surname"] != "ERIKSSON" {
		t.Errorf("got %v", got)
	}
	if _, ok := got["birth_date"]; ok {
		t.Errorf("impossible birth date prefilled: %q", got["birth_date"])
	}
	// Prefill uses the service's own field ids.
	dog := service(t, "hundeanmeldung").Prefill(map[string]string{"surname": "MUSTERMANN"})
	if dog["owner_surname"] != "MUSTERMANN" || len(dog) != 1 {
		t.Errorf("hundeanmeldung: got %v", dog)
	}
}

func TestCapturedInPresence(t *testing.T) {
	s := service(t, "hundeanmeldung")
	for id, want := range map[string]bool{"breed": true, "owner_surname": true, "liability_insurer": false, "clerk_note": false} {
		f, _ := s.Field(id)
		if f.CapturedInPresence != want {
			t.Errorf("%s: got %v, want %v", id, f.CapturedInPresence, want)
		}
	}
}

func TestLoad_Directory(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "test.json"), []byte(validDefinition), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "README.txt"), []byte("ignored"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := catalog.Load(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Service("test"); !ok || len(c.Services()) != 1 {
		t.Errorf("got %d services, want test only", len(c.Services()))
	}
}

func TestLoad_EmptyDirectory(t *testing.T) {
	_, err := catalog.Load(fstest.MapFS{"README.txt": {Data: []byte("x")}})
	if !errors.Is(err, catalog.ErrEmptyCatalog) {
		t.Errorf("got %v, want ErrEmptyCatalog", err)
	}
}

// Every shipped service names its LeiKa service, so that it can be handed
// off through FIT-Connect; no two share one.
func TestEmbedded_EveryServiceHasLeiKa(t *testing.T) {
	c, err := catalog.LoadEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, s := range c.Services() {
		key, ok := strings.CutPrefix(s.LeiKa, "urn:de:fim:leika:leistung:")
		if !ok || len(key) != 14 {
			t.Errorf("%s: LeiKa %q is not urn:de:fim:leika:leistung:<14 digits>", s.ID, s.LeiKa)
		}
		if other, dup := seen[s.LeiKa]; dup {
			t.Errorf("%s and %s share LeiKa %s", s.ID, other, s.LeiKa)
		}
		seen[s.LeiKa] = s.ID
	}
}
