// Package casedoc owns what one sealed case hands off to the authority's
// specialist procedure: its data document (JSON, valid against the
// service's schema in assets/schemas) and its attachments (the signature
// picture, the ISO/IEC 19794-7 record and the case's other files), each
// with a stable id. It reads the case through the central server's own
// decrypting view (server.Record, server.OpenAttachment), as the office
// does, and logs the reading in the office audit log as the actor
// "handoff". It never logs or returns a personal value in an error.
package casedoc

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/buergerkoffer/kit/internal/catalog"
	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/server"
)

// Document is what one sealed case hands off.
type Document struct {
	CaseID      string
	Service     string // catalog service id, e.g. "anmeldung"
	ServiceName string
	LeiKa       string // "urn:de:fim:leika:leistung:<key>"
	SchemaURI   string // the data schema's $id
	MimeType    string // "application/json"
	Data        []byte // validated against the service's schema
	Attachments []Attachment
}

// Attachment is one file of a case, as handed off.
type Attachment struct {
	ID                                       string // UUIDv5 of (case id, sha256 of the bytes): stable across runs and crashes
	Filename, MimeType, Purpose, Description string
	Data                                     []byte
}

// Why a case cannot be handed off. Each error Build returns wraps one of
// these (or a database error) and names the case, fields and schema, never
// a value.
var (
	// ErrNotFound: no such case in the tenant (or a deleted one).
	ErrNotFound = errors.New("casedoc: no such case")
	// ErrNotSealed: the case has not been sealed yet.
	ErrNotSealed = errors.New("casedoc: case is not sealed")
	// ErrNoSchema: the case's service has no data schema or no LeiKa id.
	ErrNoSchema = errors.New("casedoc: service has no hand-off schema")
	// ErrIncomplete: something the schema or the service requires is
	// missing (a form field, the signature).
	ErrIncomplete = errors.New("casedoc: case is incomplete")
	// ErrInvalid: the case's data does not fit its schema.
	ErrInvalid = errors.New("casedoc: case data does not fit its schema")
)

// AuditActor is the user name the office audit log shows for a hand-off's
// reading of a case.
const AuditActor = "handoff"

// MimeJSON is the data document's media type.
const MimeJSON = "application/json"

var (
	catOnce sync.Once
	cat     *catalog.Catalog
	catErr  error
)

func embeddedCatalog() (*catalog.Catalog, error) {
	catOnce.Do(func() { cat, catErr = catalog.LoadEmbedded() })
	return cat, catErr
}

// Build reads a sealed case from the central server (decrypting server-side,
// as the office does) and makes its Document. It refuses a case that is not
// sealed.
func Build(ctx context.Context, srv *server.Server, tenant, caseID string) (Document, error) {
	c, err := loadCase(ctx, srv, tenant, caseID)
	if err != nil {
		return Document{}, err
	}
	if err := audit(ctx, srv, tenant, caseID); err != nil {
		return Document{}, err
	}
	if err := checkSealed(c); err != nil {
		return Document{}, err
	}
	svc, sch, err := serviceOf(c)
	if err != nil {
		return Document{}, err
	}
	facts, err := readFacts(ctx, srv, tenant, c)
	if err != nil {
		return Document{}, err
	}
	data, err := dataDocument(svc, c, facts)
	if err != nil {
		return Document{}, err
	}
	if err := sch.validate(caseID, data); err != nil {
		return Document{}, err
	}
	atts, err := attachments(ctx, srv, tenant, svc, c)
	if err != nil {
		return Document{}, err
	}
	return Document{CaseID: caseID, Service: svc.ID, ServiceName: svc.Label.DE, LeiKa: svc.LeiKa,
		SchemaURI: SchemaURI(svc.ID), MimeType: MimeJSON, Data: data, Attachments: atts}, nil
}

// loadCase is the decrypted case, or ErrNotFound.
func loadCase(ctx context.Context, srv *server.Server, tenant, caseID string) (server.RecordView, error) {
	if !domain.ValidID(caseID) {
		return server.RecordView{}, fmt.Errorf("casedoc: case id is not a UUID: %w", ErrNotFound)
	}
	v, err := srv.Record(ctx, tenant, caseID)
	if errors.Is(err, server.ErrNotFound) {
		return server.RecordView{}, fmt.Errorf("casedoc: case %s of %s: %w", caseID, tenant, ErrNotFound)
	}
	if err != nil {
		return server.RecordView{}, fmt.Errorf("casedoc: read case %s: %w", caseID, err)
	}
	if v.Type != domain.TypeCase || v.Deleted {
		return server.RecordView{}, fmt.Errorf("casedoc: record %s is no case: %w", caseID, ErrNotFound)
	}
	return v, nil
}

// audit writes the reading to the office audit log, as opening a case in
// the office does: the actor "handoff", the case, no content.
func audit(ctx context.Context, srv *server.Server, tenant, caseID string) error {
	err := srv.Office().AddOfficeAudit(ctx, server.OfficeAuditEntry{Tenant: tenant, At: srv.Now(),
		Username: AuditActor, Action: "case.open", Record: caseID, Addr: "", Detail: "handoff"})
	if err != nil {
		return fmt.Errorf("casedoc: audit reading case %s: %w", caseID, err)
	}
	return nil
}

// sealedStatuses are the statuses of a case that has been sealed.
var sealedStatuses = map[domain.Status]bool{domain.StatusSealed: true, domain.StatusSubmitted: true,
	domain.StatusAccepted: true, domain.StatusRejected: true, domain.StatusNeedsInfo: true}

func checkSealed(c server.RecordView) error {
	st := domain.Status(c.Fields[domain.FieldStatus])
	if !sealedStatuses[st] || c.Fields["sealed_at"] == "" {
		return fmt.Errorf("casedoc: case %s is %q: %w", c.ID, st, ErrNotSealed)
	}
	return nil
}

// serviceOf is the case's catalog service and its schema.
func serviceOf(c server.RecordView) (*catalog.Service, *schema, error) {
	cat, err := embeddedCatalog()
	if err != nil {
		return nil, nil, fmt.Errorf("casedoc: %w", err)
	}
	id := c.Fields["service_id"]
	svc, ok := cat.Service(id)
	if !ok {
		return nil, nil, fmt.Errorf("casedoc: case %s: service %q is not in the catalog: %w", c.ID, id, ErrNoSchema)
	}
	if svc.LeiKa == "" {
		return nil, nil, fmt.Errorf("casedoc: case %s: service %s has no LeiKa id: %w", c.ID, id, ErrNoSchema)
	}
	sch, err := schemaOf(id)
	if err != nil {
		return nil, nil, fmt.Errorf("casedoc: case %s: %w", c.ID, err)
	}
	return svc, sch, nil
}
