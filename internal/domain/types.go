package domain

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Clerk is a member of the Bürgerbüro who signs in on the laptop.
type Clerk struct {
	ID          string
	Username    string
	DisplayName string
}

// Device is one field laptop, enrolled for one tenant (town).
type Device struct {
	ID     string
	Name   string
	Tenant string
}

// Visit is a field day at a place: a village hall, a care home, a district
// office, staffed by (usually) two clerks.
type Visit struct {
	ID           string
	Place        string // "Dorfgemeinschaftshaus Oberweiler"
	VenueAddress string // where the kit is set up, not a citizen's address
	Day          string // YYYY-MM-DD
	ClerkIDs     []string
}

// Fields returns the visit as record fields.
func (v Visit) Fields() Fields {
	return Fields{"place": v.Place, "venue_address": v.VenueAddress, "day": v.Day,
		"clerk_ids": strings.Join(v.ClerkIDs, ",")}
}

// VisitFromFields builds a Visit from record fields.
func VisitFromFields(id string, f Fields) Visit {
	v := Visit{ID: id, Place: f["place"], VenueAddress: f["venue_address"], Day: f["day"]}
	if s := f["clerk_ids"]; s != "" {
		v.ClerkIDs = strings.Split(s, ",")
	}
	return v
}

// AppointmentStatus tells whether a centrally booked appointment stands.
type AppointmentStatus string

// Appointment statuses. A moved appointment keeps its record; MovedTo says
// when it now is.
const (
	AppointmentBooked    AppointmentStatus = "booked"
	AppointmentCancelled AppointmentStatus = "cancelled"
	AppointmentMoved     AppointmentStatus = "moved"
)

// Appointment is a slot booked centrally for a citizen during a visit.
type Appointment struct {
	ID           string
	VisitID      string
	StartsAt     time.Time
	Minutes      int
	ServiceID    string
	Status       AppointmentStatus
	MovedTo      time.Time // zero unless Status is moved
	CitizenName  string    // personal
	CitizenPhone string    // personal
	Note         string    // personal
}

// Fields returns the appointment as record fields.
func (a Appointment) Fields() Fields {
	f := Fields{"visit_id": a.VisitID, "starts_at": fmtTime(a.StartsAt),
		"minutes": strconv.Itoa(a.Minutes), "service_id": a.ServiceID, "status": string(a.Status),
		"moved_to": fmtTime(a.MovedTo), "citizen_name": a.CitizenName,
		"citizen_phone": a.CitizenPhone, "note": a.Note}
	return f
}

// AppointmentFromFields builds an Appointment from record fields.
func AppointmentFromFields(id string, f Fields) (Appointment, error) {
	a := Appointment{ID: id, VisitID: f["visit_id"], ServiceID: f["service_id"],
		Status: AppointmentStatus(f["status"]), CitizenName: f["citizen_name"],
		CitizenPhone: f["citizen_phone"], Note: f["note"]}
	var err error
	if a.StartsAt, err = parseTime(f["starts_at"]); err != nil {
		return a, fmt.Errorf("appointment %s: starts_at: %w", id, err)
	}
	if a.MovedTo, err = parseTime(f["moved_to"]); err != nil {
		return a, fmt.Errorf("appointment %s: moved_to: %w", id, err)
	}
	if s := f["minutes"]; s != "" {
		if a.Minutes, err = strconv.Atoi(s); err != nil {
			return a, fmt.Errorf("appointment %s: minutes: %w", id, err)
		}
	}
	return a, nil
}

// Person is a citizen as identified in the field, usually from an ID
// document. Every field is personal data.
type Person struct {
	ID             string
	Surname        string
	GivenNames     string
	BirthName      string
	BirthDate      string // YYYY-MM-DD; YYYY-00-00 or YYYY-MM-00 where the document gives only part of it
	BirthPlace     string
	Sex            string // F, M, X
	Nationality    string // ICAO code, "D" for Germany
	DocumentType   string // ID, P, ...
	DocumentNumber string
	DocumentExpiry string // YYYY-MM-DD
	IssuingState   string
}

// Fields returns the person as record fields.
func (p Person) Fields() Fields {
	return Fields{"surname": p.Surname, "given_names": p.GivenNames, "birth_name": p.BirthName,
		"birth_date": p.BirthDate, "birth_place": p.BirthPlace, "sex": p.Sex,
		"nationality": p.Nationality, "document_type": p.DocumentType,
		"document_number": p.DocumentNumber, "document_expiry": p.DocumentExpiry,
		"issuing_state": p.IssuingState}
}

// PersonFromFields builds a Person from record fields.
func PersonFromFields(id string, f Fields) Person {
	return Person{ID: id, Surname: f["surname"], GivenNames: f["given_names"],
		BirthName: f["birth_name"], BirthDate: f["birth_date"], BirthPlace: f["birth_place"],
		Sex: f["sex"], Nationality: f["nationality"], DocumentType: f["document_type"],
		DocumentNumber: f["document_number"], DocumentExpiry: f["document_expiry"],
		IssuingState: f["issuing_state"]}
}

// Case is one citizen's application for one service of the catalog.
type Case struct {
	ID             string
	ServiceID      string // catalog id, e.g. "anmeldung"
	ServiceVersion string
	PersonID       string
	VisitID        string
	AppointmentID  string // empty for walk-ins
	Status         Status
	Form           Fields // the catalog form's values, by catalog field id; personal
	CreatedBy      string // clerk id
	CreatedAt      time.Time
	SignedAt       time.Time
	SignedBy       string // clerk who witnessed the signature
	ConfirmedBy    string // second clerk (four-eyes), if required
	SealedAt       time.Time
	SealedBy       string
	SubmittedAt    time.Time
	DecidedAt      time.Time
	DecidedBy      string // the town hall's staff member who decided
	DecisionNote   string // the reason of a rejection, the question of a Rückfrage
	Amends         string // id of the case this one amends
}

// Fields returns the case as record fields; form values become "form.<id>".
func (c Case) Fields() Fields {
	f := Fields{"service_id": c.ServiceID, "service_version": c.ServiceVersion,
		"person_id": c.PersonID, "visit_id": c.VisitID, "appointment_id": c.AppointmentID,
		"status": string(c.Status), "created_by": c.CreatedBy, "created_at": fmtTime(c.CreatedAt),
		"signed_at": fmtTime(c.SignedAt), "signed_by": c.SignedBy, "confirmed_by": c.ConfirmedBy,
		"sealed_at": fmtTime(c.SealedAt), "sealed_by": c.SealedBy,
		"submitted_at": fmtTime(c.SubmittedAt), "decided_at": fmtTime(c.DecidedAt),
		FieldDecidedBy: c.DecidedBy, FieldDecisionNote: c.DecisionNote, "amends": c.Amends}
	for k, v := range c.Form {
		f[FormPrefix+k] = v
	}
	return f
}

// CaseFromFields builds a Case from record fields.
func CaseFromFields(id string, f Fields) (Case, error) {
	c := Case{ID: id, ServiceID: f["service_id"], ServiceVersion: f["service_version"],
		PersonID: f["person_id"], VisitID: f["visit_id"], AppointmentID: f["appointment_id"],
		Status: Status(f["status"]), CreatedBy: f["created_by"], SignedBy: f["signed_by"],
		ConfirmedBy: f["confirmed_by"], SealedBy: f["sealed_by"], Amends: f["amends"],
		DecidedBy: f[FieldDecidedBy], DecisionNote: f[FieldDecisionNote], Form: Fields{}}
	for _, t := range []struct {
		name string
		dst  *time.Time
	}{{"created_at", &c.CreatedAt}, {"signed_at", &c.SignedAt}, {"sealed_at", &c.SealedAt},
		{"submitted_at", &c.SubmittedAt}, {"decided_at", &c.DecidedAt}} {
		v, err := parseTime(f[t.name])
		if err != nil {
			return c, fmt.Errorf("case %s: %s: %w", id, t.name, err)
		}
		*t.dst = v
	}
	for k, v := range f {
		if name, ok := strings.CutPrefix(k, FormPrefix); ok {
			c.Form[name] = v
		}
	}
	return c, nil
}

// AttachmentKind says what an attachment of a case is.
type AttachmentKind string

// Attachment kinds. A signature is kept three ways: a picture for people,
// the raw pad packets (replayable through the simulator), and an ISO/IEC
// 19794-7 time series.
const (
	AttachmentSignaturePNG AttachmentKind = "signature_png"
	AttachmentPadRaw       AttachmentKind = "pad_raw"
	AttachmentISO19794     AttachmentKind = "iso19794_7"
)

// MediaType returns the media type of an attachment kind.
func (k AttachmentKind) MediaType() string {
	switch k {
	case AttachmentSignaturePNG:
		return "image/png"
	case AttachmentISO19794:
		return "application/vnd.iso.19794-7"
	default:
		return "application/octet-stream"
	}
}

// FileName is the name a case's attachment of kind k gets when it leaves
// the system (an office download, a FIT-Connect hand-off).
func (k AttachmentKind) FileName(caseID string) string {
	switch k {
	case AttachmentSignaturePNG:
		return "unterschrift-" + caseID + ".png"
	case AttachmentISO19794:
		return "unterschrift-" + caseID + ".iso19794-7"
	case AttachmentPadRaw:
		return "unterschrift-" + caseID + ".isdv4"
	}
	return caseID + "-" + string(k) + ".bin"
}

// Valid reports whether k is a known kind.
func (k AttachmentKind) Valid() bool {
	switch k {
	case AttachmentSignaturePNG, AttachmentPadRaw, AttachmentISO19794:
		return true
	}
	return false
}

// Attachment is a file belonging to a case, addressed by its record and
// the SHA-256 of its content (hex): two cases with the same bytes have two
// attachments, each under its own case's key.
type Attachment struct {
	SHA256    string
	RecordID  string
	Kind      AttachmentKind
	MediaType string
	Size      int64
	CreatedAt time.Time
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.Parse(time.RFC3339Nano, s)
}
