package fitconnecttest

// The metadata schema the authority validates against. metadata.schema.json is written from FITKO's
// documentation of the metadata set (the published file was not reachable offline); its $id is the one
// FITKO publishes for version 1.2.0 so that documents naming that $schema fit.

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

//go:embed metadata.schema.json
var metadataSchemaJSON []byte

// MetadataSchemaID is the $id of the embedded metadata schema.
const MetadataSchemaID = "https://schema.fitko.de/fit-connect/metadata/1.2.0/metadata.schema.json"

// MetadataSchema returns the embedded metadata schema (a copy).
func MetadataSchema() []byte { return bytes.Clone(metadataSchemaJSON) }

func compileMetadataSchema() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(metadataSchemaJSON))
	if err != nil {
		return nil, fmt.Errorf("read embedded schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(MetadataSchemaID, doc); err != nil {
		return nil, fmt.Errorf("add schema: %w", err)
	}
	return c.Compile(MetadataSchemaID)
}

func (s *Service) validateMetadata(meta []byte) error {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(meta))
	if err != nil {
		return fmt.Errorf("metadata is not JSON: %w", err)
	}
	if err := s.metaSchema.Validate(inst); err != nil {
		return errors.New(schemaViolations(err))
	}
	return nil
}

// schemaViolations names where and which keyword failed, without the values (they may be a filename).
func schemaViolations(err error) string {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return "metadata violates the schema"
	}
	var found []string
	var walk func(*jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			found = append(found, fmt.Sprintf("/%s (%s)", strings.Join(e.InstanceLocation, "/"), strings.Join(e.ErrorKind.KeywordPath(), "/")))
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	slices.Sort(found)
	return "metadata violates the schema at " + strings.Join(slices.Compact(found), ", ")
}

// compileDataSchemas compiles Options.DataSchemas, each under its URI.
func compileDataSchemas(docs map[string][]byte) (map[string]*jsonschema.Schema, error) {
	out := map[string]*jsonschema.Schema{}
	for uri, raw := range docs {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("read data schema %s: %w", uri, err)
		}
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		if err := c.AddResource(uri, doc); err != nil {
			return nil, fmt.Errorf("add data schema %s: %w", uri, err)
		}
		if out[uri], err = c.Compile(uri); err != nil {
			return nil, fmt.Errorf("compile data schema %s: %w", uri, err)
		}
	}
	return out, nil
}

// validateData checks data against the registered schema of its URI; a URI without one passes.
func (s *Service) validateData(schemaURI string, data []byte) error {
	sch, ok := s.dataSchemas[schemaURI]
	if !ok {
		return nil
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return errors.New("data is not JSON")
	}
	if err := sch.Validate(inst); err != nil {
		return errors.New(strings.Replace(schemaViolations(err), "metadata", "data", 1))
	}
	return nil
}
