package casedoc

// This file loads the services' data schemas from assets and validates a
// data document against one. Validation errors name where in the document
// and which rule failed, never the value found there (it is personal).

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"

	"github.com/buergerkoffer/kit/assets"
)

type schema struct {
	uri string
	sch *jsonschema.Schema
}

var (
	schemaMu    sync.Mutex
	schemaCache = map[string]*schema{}
)

// schemaOf compiles (once) the schema of a service; ErrNoSchema if assets
// has none.
func schemaOf(service string) (*schema, error) {
	schemaMu.Lock()
	defer schemaMu.Unlock()
	if s, ok := schemaCache[service]; ok {
		return s, nil
	}
	raw, err := fs.ReadFile(assets.Schemas, SchemaFile(service))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("service %s: %s: %w", service, SchemaFile(service), ErrNoSchema)
	}
	if err != nil {
		return nil, fmt.Errorf("schema of %s: %w", service, err)
	}
	s, err := compileSchema(SchemaURI(service), raw)
	if err != nil {
		return nil, err
	}
	schemaCache[service] = s
	return s, nil
}

// compileSchema compiles a schema document that must carry uri as its $id.
func compileSchema(uri string, raw []byte) (*schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("schema %s: %w", uri, err)
	}
	if m, ok := doc.(map[string]any); !ok || m["$id"] != uri {
		return nil, fmt.Errorf("schema %s: its $id is not %s", uri, uri)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource(uri, doc); err != nil {
		return nil, fmt.Errorf("schema %s: %w", uri, err)
	}
	sch, err := c.Compile(uri)
	if err != nil {
		return nil, fmt.Errorf("schema %s: %w", uri, err)
	}
	return &schema{uri: uri, sch: sch}, nil
}

// validate checks a data document; a document that does not fit is a
// *FieldsError.
func (s *schema) validate(caseID string, data []byte) error {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("casedoc: case %s: data document: %w", caseID, err)
	}
	err = s.sch.Validate(inst)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return fmt.Errorf("casedoc: case %s: validate against %s: %w", caseID, s.uri, err)
	}
	missing, other := describe(ve)
	return &FieldsError{CaseID: caseID, SchemaURI: s.uri, Missing: missing, Invalid: other}
}

// FieldsError is a data document that does not fit its schema. It names
// places in the document (JSON pointers such as "/form/city"), never the
// values there. It wraps ErrIncomplete if something required is missing,
// else ErrInvalid.
type FieldsError struct {
	CaseID, SchemaURI string
	Missing           []string // required values that are absent
	Invalid           []string // "pointer: keyword" of values that break a rule
}

func (e *FieldsError) Error() string {
	if len(e.Missing) > 0 {
		return fmt.Sprintf("casedoc: case %s lacks what %s requires: %s", e.CaseID, e.SchemaURI, strings.Join(e.Missing, ", "))
	}
	return fmt.Sprintf("casedoc: case %s does not fit %s: %s", e.CaseID, e.SchemaURI, strings.Join(e.Invalid, "; "))
}

func (e *FieldsError) Unwrap() error {
	if len(e.Missing) > 0 {
		return ErrIncomplete
	}
	return ErrInvalid
}

// describe walks the error tree to its leaves: the required properties
// missing (as paths), and the other failures as "path: keyword".
func describe(ve *jsonschema.ValidationError) (missing, other []string) {
	seen := map[string]bool{}
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		at := "/" + strings.Join(e.InstanceLocation, "/")
		var line string
		if r, ok := e.ErrorKind.(*kind.Required); ok {
			for _, m := range r.Missing {
				line = strings.TrimSuffix(at, "/") + "/" + m
				if !seen[line] {
					missing = append(missing, line)
					seen[line] = true
				}
			}
			return
		}
		line = at + ": " + strings.Join(e.ErrorKind.KeywordPath(), "/")
		if !seen[line] {
			other = append(other, line)
			seen[line] = true
		}
	}
	walk(ve)
	sort.Strings(missing)
	sort.Strings(other)
	return missing, other
}
