// Package catalog owns the services a clerk can capture in the field
// (Anmeldung, Meldebescheinigung, Führungszeugnis, …) as data: it loads their
// definitions (JSON, one file per service), refuses at start-up any
// definition the code cannot understand, and applies a definition to the
// values of an application: which fields are shown, which are mandatory,
// which values are valid, what the fee is, and which fields the ID document
// fills in.
//
// The definitions ship inside the binary (package assets); an operator may
// point the kit at a directory of their own instead. Values are strings keyed
// by field id: dates "YYYY-MM-DD", yes/no "true"/"false", the options of a
// multiselect joined by commas.
package catalog

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/buergerkoffer/kit/assets"
)

// Catalog is the set of services loaded from one place.
type Catalog struct {
	services []*Service
	byID     map[string]*Service
}

// LoadEmbedded loads the catalog that ships with the kit.
func LoadEmbedded() (*Catalog, error) {
	sub, err := fs.Sub(assets.Catalog, "catalog")
	if err != nil {
		return nil, fmt.Errorf("catalog: embedded files: %w", err)
	}
	return Load(sub)
}

// Load reads every *.json file at the root of fsys as one service
// definition (other files and subdirectories are ignored). Every problem in
// every file is reported, each as a *DefinitionError naming the file and, if
// it concerns one, the field; they are joined into the one error returned.
func Load(fsys fs.FS) (*Catalog, error) {
	names, err := fs.Glob(fsys, "*.json")
	if err != nil {
		return nil, fmt.Errorf("catalog: list definitions: %w", err)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("catalog: %w", ErrEmptyCatalog)
	}
	c := &Catalog{byID: map[string]*Service{}}
	var errs []error
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			errs = append(errs, &DefinitionError{File: name, Err: err})
			continue
		}
		s, ferrs := parseService(name, data)
		if len(ferrs) > 0 {
			errs = append(errs, ferrs...)
			continue
		}
		if want := strings.TrimSuffix(path.Base(name), ".json"); s.ID != want {
			errs = append(errs, &DefinitionError{File: name, Err: fmt.Errorf("service id %q must match the file name %q: %w", s.ID, want+".json", ErrFileName)})
			continue
		}
		c.services = append(c.services, s)
		c.byID[s.ID] = s
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// Services returns the services in the order of their file names.
func (c *Catalog) Services() []*Service {
	return append([]*Service(nil), c.services...)
}

// Service returns the service with the given id.
func (c *Catalog) Service(id string) (*Service, bool) {
	s, ok := c.byID[id]
	return s, ok
}

// DefinitionError is a problem with one service definition. It names the
// file and, where the problem lies in a field, the field; Err says what is
// wrong and wraps one of the Err… values of this package.
type DefinitionError struct {
	File  string // the file name within the catalog, e.g. "anmeldung.json"
	Field string // the field id, or "" for the service or a section
	Err   error
}

func (e *DefinitionError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("catalog: %s: field %q: %v", e.File, e.Field, e.Err)
	}
	return fmt.Sprintf("catalog: %s: %v", e.File, e.Err)
}

func (e *DefinitionError) Unwrap() error { return e.Err }

// What can be wrong with a definition.
var (
	ErrEmptyCatalog     = errors.New("no service definitions (*.json) found")
	ErrJSON             = errors.New("not valid JSON")
	ErrUnknownKey       = errors.New("unknown key")
	ErrMissing          = errors.New("required entry missing")
	ErrMissingLabel     = errors.New("German label missing")
	ErrBadID            = errors.New("id must be lower-case letters, digits and underscores, starting with a letter")
	ErrFileName         = errors.New("service id and file name differ")
	ErrDuplicate        = errors.New("duplicate id")
	ErrUnknownType      = errors.New("unknown field type")
	ErrNoOptions        = errors.New("selection without options")
	ErrBadOption        = errors.New("bad option")
	ErrUnknownValidator = errors.New("unknown validator")
	ErrValidatorParams  = errors.New("bad validator parameters")
	ErrValidatorType    = errors.New("validator does not fit the field type")
	ErrBadCondition     = errors.New("bad condition")
	ErrUnknownSource    = errors.New("unknown or unfitting prefill source")
	ErrBadFee           = errors.New("bad fee")
	ErrBadLeiKa         = errors.New("bad LeiKa identifier")
)
