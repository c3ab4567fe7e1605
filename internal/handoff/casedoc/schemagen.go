package casedoc

// This file writes a service's JSON Schema (draft 2020-12) from its
// catalog definition: the form's fields under their catalog ids with their
// types, options and when they are required, and the parts every service
// shares (the ID document and its checks; who captured, signed and sealed
// the case, when and where). The schemas in assets/schemas are its output,
// kept in the repository so that a reviewer and the receiving authority
// read them as files; a test keeps them in step with the catalog.

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/buergerkoffer/kit/internal/catalog"
)

// SchemaVersion is the version of the data documents' layout. It is part
// of every schema's $id and file name; a change of the layout (not of a
// label) makes a new version, so that a destination can tell them apart.
const SchemaVersion = "1.0.0"

// SchemaURI is the $id of a service's data schema.
func SchemaURI(service string) string {
	return "https://schema.buergerkoffer.de/handoff/" + service + "/" + SchemaVersion + "/" + service + ".schema.json"
}

// SchemaFile is the schema's file name within assets.Schemas.
func SchemaFile(service string) string {
	return "schemas/" + service + "-" + SchemaVersion + ".schema.json"
}

// obj keeps a schema object's keys in the order written, so the files
// read top-down (encoding/json would sort a map's keys).
type obj []kv

type kv struct {
	k string
	v any
}

func (o obj) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, e := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(e.k)
		v, err := json.Marshal(e.v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.k, err)
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// GenerateSchema returns the JSON Schema of a service's data documents,
// indented.
func GenerateSchema(svc *catalog.Service) ([]byte, error) {
	s := obj{
		{"$schema", "https://json-schema.org/draft/2020-12/schema"},
		{"$id", SchemaURI(svc.ID)},
		{"title", svc.Label.DE + " – Übergabe aus dem Bürgerkoffer"},
		{"description", "Ein versiegelter Antrag „" + svc.Label.DE + "“ (" + svc.Law + "), im Außeneinsatz aufgenommen: " +
			"die Formularfelder unter den Kennungen des Dienstekatalogs, das Ausweisdokument mit den Prüfergebnissen, " +
			"und wann, wo und von wem der Antrag aufgenommen, unterschrieben (Vier-Augen-Prinzip) und versiegelt wurde."},
		{"type", "object"},
		{"additionalProperties", false},
		{"required", []string{"caseId", "service", "form", "captured", "signed", "sealed"}},
		{"properties", obj{
			{"caseId", obj{{"description", "Kennung des Falls (UUID)"}, {"$ref", "#/$defs/uuid"}}},
			{"service", serviceSchema(svc)},
			{"form", formSchema(svc)},
			{"idDocument", obj{{"$ref", "#/$defs/idDocument"}}},
			{"captured", capturedSchema()},
			{"signed", signedSchema()},
			{"sealed", sealedSchema()},
		}},
		{"$defs", sharedDefs()},
	}
	out, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("casedoc: schema of %s: %w", svc.ID, err)
	}
	return append(out, '\n'), nil
}

func serviceSchema(svc *catalog.Service) obj {
	return obj{
		{"type", "object"},
		{"additionalProperties", false},
		{"required", []string{"id", "catalogVersion", "leika", "name"}},
		{"properties", obj{
			{"id", obj{{"const", svc.ID}}},
			{"catalogVersion", obj{{"description", "Version der Dienstdefinition, nach der aufgenommen wurde"}, {"type", "integer"}, {"minimum", 1}}},
			{"leika", obj{{"const", svc.LeiKa}}},
			{"name", obj{{"type", "string"}}},
		}},
	}
}

// formSchema: the fields of the form in catalog order. A mandatory field
// is required while it is shown: always, or while its condition holds
// (if/then); a hidden field is not part of the form.
func formSchema(svc *catalog.Service) obj {
	props := obj{}
	var required []string
	conditional := map[catalog.Condition][]string{}
	var conds []catalog.Condition
	for _, f := range svc.Fields() {
		props = append(props, kv{f.ID, fieldSchema(f)})
		switch {
		case !f.Mandatory:
		case f.VisibleIf == nil:
			required = append(required, f.ID)
		default:
			c := *f.VisibleIf
			if _, seen := conditional[c]; !seen {
				conds = append(conds, c)
			}
			conditional[c] = append(conditional[c], f.ID)
		}
	}
	s := obj{
		{"description", "Die Formularfelder; ausgeblendete Felder fehlen."},
		{"type", "object"},
		{"additionalProperties", false},
		{"required", required},
		{"properties", props},
	}
	if len(conds) > 0 {
		var all []obj
		for _, c := range conds {
			ctl, _ := svc.Field(c.Field)
			all = append(all, obj{
				{"if", obj{{"required", []string{c.Field}}, {"properties", obj{{c.Field, conditionSchema(ctl, c.Equals)}}}}},
				{"then", obj{{"required", conditional[c]}}},
			})
		}
		s = append(s, kv{"allOf", all})
	}
	return s
}

func conditionSchema(ctl *catalog.Field, equals string) obj {
	switch ctl.Type {
	case catalog.TypeBool:
		return obj{{"const", equals == "true"}}
	case catalog.TypeMultiselect:
		return obj{{"contains", obj{{"const", equals}}}}
	}
	return obj{{"const", equals}}
}

// fieldPatterns are the format checks of the catalog's validators that a
// pattern states exactly; the others stay with the catalog.
var fieldPatterns = map[string]string{
	"postal_code": "^[0-9]{5}$",
	"steuer_id":   "^[1-9][0-9]{10}$",
}

func fieldSchema(f *catalog.Field) obj {
	s := obj{{"title", f.Label.DE}}
	switch f.Type {
	case catalog.TypeText:
		s = append(s, kv{"type", "string"}, kv{"minLength", 1}, kv{"maxLength", catalog.MaxText})
	case catalog.TypeTextarea:
		s = append(s, kv{"type", "string"}, kv{"minLength", 1}, kv{"maxLength", catalog.MaxTextarea})
	case catalog.TypeDate:
		if f.AcceptsPartialDate() {
			s = append(s, kv{"description", "JJJJ-MM-TT; unbekannter Tag oder Monat als 00 (z. B. 1985-00-00)"},
				kv{"$ref", "#/$defs/partialDate"})
		} else {
			s = append(s, kv{"$ref", "#/$defs/date"})
		}
	case catalog.TypeNumber:
		s = append(s, kv{"type", "number"})
	case catalog.TypeBool:
		if f.Mandatory {
			s = append(s, kv{"description", "Bestätigung; nur „ja“ ist zulässig"}, kv{"const", true})
		} else {
			s = append(s, kv{"type", "boolean"})
		}
	case catalog.TypeSelect:
		s = append(s, kv{"type", "string"}, kv{"enum", optionValues(f)})
	case catalog.TypeMultiselect:
		s = append(s, kv{"type", "array"}, kv{"items", obj{{"enum", optionValues(f)}}}, kv{"uniqueItems", true})
	}
	for _, v := range f.Validators {
		if p, ok := fieldPatterns[v.Name]; ok {
			s = append(s, kv{"pattern", p})
		}
	}
	return s
}

func optionValues(f *catalog.Field) []string {
	var vs []string
	for _, o := range f.Options {
		vs = append(vs, o.Value)
	}
	return vs
}

func capturedSchema() obj {
	return obj{
		{"description", "Aufnahme: wann, von wem, auf welchem Laptop, bei welchem Einsatz"},
		{"type", "object"},
		{"additionalProperties", false},
		{"required", []string{"at", "by", "device"}},
		{"properties", obj{
			{"at", obj{{"$ref", "#/$defs/dateTime"}}},
			{"by", obj{{"description", "Kennung der aufnehmenden Sachbearbeiterin / des Sachbearbeiters"}, {"$ref", "#/$defs/id"}}},
			{"device", obj{{"$ref", "#/$defs/device"}}},
			{"visit", obj{
				{"description", "Der Außeneinsatz, bei dem aufgenommen wurde"},
				{"type", "object"},
				{"additionalProperties", false},
				{"required", []string{"id"}},
				{"properties", obj{
					{"id", obj{{"$ref", "#/$defs/uuid"}}},
					{"place", obj{{"type", "string"}}},
					{"venueAddress", obj{{"type", "string"}}},
					{"day", obj{{"$ref", "#/$defs/date"}}},
				}},
			}},
			{"appointmentId", obj{{"$ref", "#/$defs/uuid"}}},
		}},
	}
}

func signedSchema() obj {
	return obj{
		{"description", "Unterschrift bzw. Bestätigung der Angaben durch die antragstellende Person; " +
			"witnessedBy hat sie bezeugt, confirmedBy (Vier-Augen-Prinzip) als zweite Person bestätigt"},
		{"type", "object"},
		{"additionalProperties", false},
		{"required", []string{"at", "witnessedBy", "onPad"}},
		{"properties", obj{
			{"at", obj{{"$ref", "#/$defs/dateTime"}}},
			{"witnessedBy", obj{{"$ref", "#/$defs/id"}}},
			{"confirmedBy", obj{{"$ref", "#/$defs/id"}}},
			{"onPad", obj{{"description", "auf dem Unterschriftenpad unterschrieben (Anlagen: PNG und ISO/IEC 19794-7)"}, {"type", "boolean"}}},
		}},
	}
}

func sealedSchema() obj {
	return obj{
		{"description", "Versiegelung für das Rathaus und Eingang beim zentralen Server"},
		{"type", "object"},
		{"additionalProperties", false},
		{"required", []string{"at", "by", "device", "arrivedAt"}},
		{"properties", obj{
			{"at", obj{{"$ref", "#/$defs/dateTime"}}},
			{"by", obj{{"$ref", "#/$defs/id"}}},
			{"device", obj{{"$ref", "#/$defs/device"}}},
			{"arrivedAt", obj{{"$ref", "#/$defs/dateTime"}}},
		}},
	}
}

func sharedDefs() obj {
	text := obj{{"type", "string"}, {"minLength", 1}, {"maxLength", catalog.MaxText}}
	return obj{
		{"uuid", obj{{"type", "string"}, {"pattern", "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"}}},
		{"id", obj{{"type", "string"}, {"minLength", 1}, {"maxLength", catalog.MaxText}}},
		{"date", obj{{"type", "string"}, {"format", "date"}}},
		{"partialDate", obj{{"type", "string"}, {"pattern", "^[0-9]{4}-(0[0-9]|1[0-2])-([0-2][0-9]|3[01])$"}}},
		{"dateTime", obj{{"type", "string"}, {"format", "date-time"}}},
		{"device", obj{
			{"description", "Der Laptop, wie er beim Server angemeldet ist"},
			{"type", "object"},
			{"additionalProperties", false},
			{"required", []string{"id"}},
			{"properties", obj{{"id", obj{{"$ref", "#/$defs/id"}}}, {"name", obj{{"type", "string"}}}}},
		}},
		{"idDocument", obj{
			{"description", "Das vorgelegte Ausweisdokument, wie es das Lesegerät gelesen hat, und was der Server davon prüft"},
			{"type", "object"},
			{"additionalProperties", false},
			{"required", []string{"documentNumber", "checks"}},
			{"properties", obj{
				{"surname", text},
				{"givenNames", text},
				{"birthName", text},
				{"birthDate", obj{{"$ref", "#/$defs/partialDate"}}},
				{"birthPlace", text},
				{"sex", obj{{"enum", []string{"F", "M", "X"}}}},
				{"nationality", text},
				{"documentType", text},
				{"documentNumber", text},
				{"documentExpiry", obj{{"$ref", "#/$defs/date"}}},
				{"issuingState", text},
				{"checks", obj{
					{"type", "array"},
					{"items", obj{
						{"type", "object"},
						{"additionalProperties", false},
						{"required", []string{"check", "passed"}},
						{"properties", obj{
							{"check", obj{{"enum", CheckNames}}},
							{"passed", obj{{"type", "boolean"}}},
						}},
					}},
				}},
			}},
		}},
	}
}
