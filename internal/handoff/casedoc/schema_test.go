package casedoc

import (
	"bytes"
	"encoding/json"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/buergerkoffer/kit/assets"
	"github.com/buergerkoffer/kit/internal/catalog"
)

var update = flag.Bool("update", false, "rewrite assets/schemas from the catalog")

// The schemas in assets are what the catalog generates: a change of the
// catalog that changes a schema shows up here (run with -update, review the
// diff, and raise SchemaVersion if the layout changed).
func TestSchemas_MatchCatalog(t *testing.T) {
	cat, err := catalog.LoadEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	for _, svc := range cat.Services() {
		want, err := GenerateSchema(svc)
		if err != nil {
			t.Fatal(err)
		}
		if *update {
			if err := os.WriteFile(filepath.Join("..", "..", "..", "assets", SchemaFile(svc.ID)), want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := fs.ReadFile(assets.Schemas, SchemaFile(svc.ID))
		if err != nil {
			t.Fatalf("%s: %v (go test ./internal/handoff/casedoc -run TestSchemas_MatchCatalog -update)", svc.ID, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what the catalog generates; run with -update and review", SchemaFile(svc.ID))
		}
	}
}

// Every field of every service appears in its schema's form, with the
// catalog's label; every mandatory field shown unconditionally is required.
func TestSchemas_HaveEveryCatalogField(t *testing.T) {
	cat, err := catalog.LoadEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	for _, svc := range cat.Services() {
		raw, err := fs.ReadFile(assets.Schemas, SchemaFile(svc.ID))
		if err != nil {
			t.Fatal(err)
		}
		var s struct {
			ID         string `json:"$id"`
			Properties struct {
				Form struct {
					Required   []string `json:"required"`
					Properties map[string]struct {
						Title string `json:"title"`
					} `json:"properties"`
				} `json:"form"`
				Service struct {
					Properties struct {
						LeiKa struct {
							Const string `json:"const"`
						} `json:"leika"`
					} `json:"properties"`
				} `json:"service"`
			} `json:"properties"`
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			t.Fatalf("%s: %v", svc.ID, err)
		}
		if s.ID != SchemaURI(svc.ID) || s.Properties.Service.Properties.LeiKa.Const != svc.LeiKa {
			t.Errorf("%s: $id %q, leika %q", svc.ID, s.ID, s.Properties.Service.Properties.LeiKa.Const)
		}
		required := map[string]bool{}
		for _, r := range s.Properties.Form.Required {
			required[r] = true
		}
		for _, f := range svc.Fields() {
			p, ok := s.Properties.Form.Properties[f.ID]
			if !ok {
				t.Errorf("%s: field %s missing from the schema", svc.ID, f.ID)
				continue
			}
			if p.Title != f.Label.DE {
				t.Errorf("%s: field %s titled %q, catalog label %q", svc.ID, f.ID, p.Title, f.Label.DE)
			}
			if want := f.Mandatory && f.VisibleIf == nil; required[f.ID] != want {
				t.Errorf("%s: field %s required=%v, want %v", svc.ID, f.ID, required[f.ID], want)
			}
		}
		if len(s.Properties.Form.Properties) != len(svc.Fields()) {
			t.Errorf("%s: schema has %d form fields, catalog %d", svc.ID, len(s.Properties.Form.Properties), len(svc.Fields()))
		}
		if _, err := schemaOf(svc.ID); err != nil {
			t.Errorf("%s: does not compile: %v", svc.ID, err)
		}
	}
}
