// The registry lets a service definition name its checks as data
// ({"name":"date","not_future":true}) while the checks themselves stay code.

package validate

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
)

// ParamKind is the kind of value a validator parameter takes.
type ParamKind int

const (
	// ParamBool is true or false.
	ParamBool ParamKind = iota + 1
	// ParamInt is a whole number ≥ 0.
	ParamInt
	// ParamNumber is any number.
	ParamNumber
	// ParamField is the id of another field of the same service whose value
	// the rule reads from Context.Values. The catalog checks that the field
	// exists and has the same type as the field being checked.
	ParamField
)

// ValueKind is the kind of value a validator checks, so that a catalog can
// refuse a validator on a field it does not fit (an IBAN check on a date).
type ValueKind int

const (
	ValueText   ValueKind = iota + 1 // free text (one or more lines)
	ValueDate                        // a date YYYY-MM-DD
	ValueNumber                      // a decimal number
)

// Params are a validator's settings from a service definition, as
// encoding/json decodes them: bool, float64 or string (Go callers may also
// pass int).
type Params map[string]any

// Errors about a validator's parameters; Build wraps them with the name.
var (
	ErrUnknownParam = errors.New("unknown parameter")
	ErrParamType    = errors.New("parameter of the wrong type")
	ErrParamValue   = errors.New("parameter value not allowed")
)

// Validator is a check that a service definition can name.
type Validator struct {
	// Name is how definitions refer to it.
	Name string
	// Applies is the kind of value it checks.
	Applies ValueKind
	// Params are the parameters it takes, by name.
	Params map[string]ParamKind
	// Normalize, if not nil, returns the canonical form of a value this
	// validator accepts (an IBAN without spaces), to be stored instead of
	// what was typed.
	Normalize func(string) string

	build func(Params) (Rule, error)
}

// Build checks the parameters against v.Params and returns the configured
// rule. Errors name the validator and the parameter, never a citizen's data.
func (v *Validator) Build(p Params) (Rule, error) {
	for _, name := range slices.Sorted(maps.Keys(p)) {
		kind, ok := v.Params[name]
		if !ok {
			return nil, fmt.Errorf("validator %q: %q: %w", v.Name, name, ErrUnknownParam)
		}
		if !kindOK(kind, p[name]) {
			return nil, fmt.Errorf("validator %q: %q must be %s: %w", v.Name, name, kind, ErrParamType)
		}
	}
	r, err := v.build(p)
	if err != nil {
		return nil, fmt.Errorf("validator %q: %w", v.Name, err)
	}
	return r, nil
}

// FieldParams returns the fields that p refers to by parameters of kind
// ParamField, sorted by parameter name.
func (v *Validator) FieldParams(p Params) []string {
	var out []string
	for _, name := range slices.Sorted(maps.Keys(p)) {
		if v.Params[name] == ParamField {
			if s, ok := p[name].(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

func (k ParamKind) String() string {
	switch k {
	case ParamBool:
		return "true or false"
	case ParamInt:
		return "a whole number ≥ 0"
	case ParamNumber:
		return "a number"
	case ParamField:
		return "a field id"
	}
	return "unknown"
}

func kindOK(k ParamKind, v any) bool {
	switch k {
	case ParamBool:
		_, ok := v.(bool)
		return ok
	case ParamInt:
		f, ok := number(v)
		return ok && f >= 0 && f == math.Trunc(f) && f <= math.MaxInt32
	case ParamNumber:
		_, ok := number(v)
		return ok
	case ParamField:
		s, ok := v.(string)
		return ok && s != ""
	}
	return false
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, !math.IsNaN(n) && !math.IsInf(n, 0)
	case int:
		return float64(n), true
	}
	return 0, false
}

// Lookup returns the validator registered under name.
func Lookup(name string) (*Validator, bool) {
	v, ok := registry[name]
	return v, ok
}

// Names returns the names of all registered validators, sorted.
func Names() []string {
	return slices.Sorted(maps.Keys(registry))
}

// simple registers a Func without parameters.
func simple(name string, f Func, normalize func(string) string) *Validator {
	return &Validator{Name: name, Applies: ValueText, Normalize: normalize,
		build: func(Params) (Rule, error) { return rule(f), nil }}
}

var registry = map[string]*Validator{}

func register(vs ...*Validator) {
	for _, v := range vs {
		registry[v.Name] = v
	}
}

func init() {
	register(
		simple("postal_code", PostalCode, strings.TrimSpace),
		simple("steuer_id", SteuerID, NormalizeSteuerID),
		simple("iban", IBAN, NormalizeIBAN),
		simple("microchip", Microchip, func(s string) string { return strings.ReplaceAll(strings.TrimSpace(s), " ", "") }),
		simple("plate", Plate, NormalizePlate),
		simple("email", Email, strings.TrimSpace),
		simple("phone", Phone, strings.TrimSpace),
		simple("nationalities", Nationalities, NormalizeNationalities),
		simple("document_number", DocumentNumber, func(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }),
		&Validator{
			Name:    "date",
			Applies: ValueDate,
			Params: map[string]ParamKind{
				"not_future": ParamBool, "not_past": ParamBool,
				"min_age": ParamInt, "max_age": ParamInt,
				"not_before": ParamField, "not_after": ParamField,
				"partial": ParamBool,
			},
			build: buildDate,
		},
		&Validator{
			Name:    "range",
			Applies: ValueNumber,
			Params:  map[string]ParamKind{"min": ParamNumber, "max": ParamNumber},
			build:   buildRange,
		},
	)
}

func buildDate(p Params) (Rule, error) {
	var r DateRule
	r.NotFuture, _ = p["not_future"].(bool)
	r.NotPast, _ = p["not_past"].(bool)
	minAge, _ := number(p["min_age"])
	maxAge, _ := number(p["max_age"])
	r.MinAge, r.MaxAge = int(minAge), int(maxAge)
	r.NotBefore, _ = p["not_before"].(string)
	r.NotAfter, _ = p["not_after"].(string)
	r.Partial, _ = p["partial"].(bool)
	switch {
	case r.NotFuture && r.NotPast:
		return nil, fmt.Errorf("not_future and not_past together leave only today: %w", ErrParamValue)
	case r.MaxAge > 0 && r.MinAge > r.MaxAge:
		return nil, fmt.Errorf("min_age is above max_age: %w", ErrParamValue)
	case r.NotBefore != "" && r.NotBefore == r.NotAfter:
		return nil, fmt.Errorf("not_before and not_after name the same field: %w", ErrParamValue)
	}
	return r.Check, nil
}

func buildRange(p Params) (Rule, error) {
	r := RangeRule{Min: math.Inf(-1), Max: math.Inf(1)}
	lo, hasMin := number(p["min"])
	hi, hasMax := number(p["max"])
	if !hasMin && !hasMax {
		return nil, fmt.Errorf("needs min or max: %w", ErrParamValue)
	}
	if hasMin {
		r.Min = lo
	}
	if hasMax {
		r.Max = hi
	}
	if r.Min > r.Max {
		return nil, fmt.Errorf("min is above max: %w", ErrParamValue)
	}
	return func(value string, _ Context) error { return r.Check(value) }, nil
}
