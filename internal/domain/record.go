package domain

import (
	"fmt"
	"sort"
	"strings"
)

// RecordType names a kind of synced record.
type RecordType string

// The synced record types.
const (
	TypeVisit       RecordType = "visit"
	TypeAppointment RecordType = "appointment"
	TypePerson      RecordType = "person"
	TypeCase        RecordType = "case"
	// TypeConflict records a field changed on two sides at once. The
	// server writes it; a clerk resolves it. See ConflictFields.
	TypeConflict RecordType = "conflict"
)

// Valid reports whether t is a known record type.
func (t RecordType) Valid() bool {
	_, ok := plainFields[t]
	return ok
}

// Fields is a record's content as named string values. An absent field and
// an empty one mean the same: not set.
type Fields map[string]string

// Names returns the field names in sorted order.
func (f Fields) Names() []string {
	names := make([]string, 0, len(f))
	for k := range f {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// Clone returns a copy of f.
func (f Fields) Clone() Fields {
	c := make(Fields, len(f))
	for k, v := range f {
		c[k] = v
	}
	return c
}

// NonEmpty returns the fields that are set (what a create writes).
func (f Fields) NonEmpty() Fields {
	out := make(Fields, len(f))
	for k, v := range f {
		if v != "" {
			out[k] = v
		}
	}
	return out
}

// FormPrefix prefixes the fields of a case's form: form field "surname" of
// a case is the record field "form.surname".
const FormPrefix = "form."

// plainFields lists, per record type, the fields that are not personal data.
// They are stored and synced in clear because listing, routing and the sync
// engine's conflict rules need them. Every other field is personal data:
// encrypted at rest and sealed for the server. New fields are therefore
// personal unless someone decides otherwise here.
var plainFields = map[RecordType]map[string]bool{
	TypeVisit: set("place", "venue_address", "day", "clerk_ids", "tenant"),
	TypeAppointment: set("visit_id", "starts_at", "minutes", "service_id", "status",
		"moved_to", "booked_by"),
	TypePerson: set(),
	TypeCase: set("service_id", "service_version", "person_id", "visit_id", "appointment_id",
		"status", "created_by", "created_at", "signed_at", "signed_by", "confirmed_by",
		"sealed_at", "sealed_by", "submitted_at", "decided_at", "amends", "decided_by", "decision_note"),
	TypeConflict: set(ConflictFields...),
}

// ConflictFields are the fields of a conflict record, all plain: values of
// personal fields are not copied into it, they stay sealed in the two
// change entries it names ("a" is the side the server had, "b" the change
// that arrived based on an older version).
var ConflictFields = []string{
	"record_id", "record_type", "field", "kind", "base_version",
	"a_change", "a_device", "a_clerk", "a_hlc", "a_value",
	"b_change", "b_device", "b_clerk", "b_hlc", "b_value", "base_value",
	"winner", "rule", "status", "resolution", "resolved_by", "resolved_at",
}

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// AttachmentPrefix prefixes the fields that reference attachments by
// content address: "attachment.signature_png" holds that PNG's SHA-256. A
// hash of a signature picture reveals nothing, and sync needs it in clear to
// upload the attachment before the change that references it.
const AttachmentPrefix = "attachment."

// IsPersonal reports whether a field of a record type holds personal data.
func IsPersonal(t RecordType, field string) bool {
	if strings.HasPrefix(field, AttachmentPrefix) {
		return false
	}
	return !plainFields[t][field]
}

// Split divides fields into the plain ones and the personal ones.
func Split(t RecordType, f Fields) (plain, personal Fields) {
	plain, personal = Fields{}, Fields{}
	for k, v := range f {
		if IsPersonal(t, k) {
			personal[k] = v
		} else {
			plain[k] = v
		}
	}
	return plain, personal
}

// CheckFieldName rejects names that cannot be stored or synced safely.
func CheckFieldName(name string) error {
	if name == "" || len(name) > 128 || strings.ContainsAny(name, "\x00\n\r\t ") {
		return fmt.Errorf("domain: invalid field name %q", name)
	}
	return nil
}
