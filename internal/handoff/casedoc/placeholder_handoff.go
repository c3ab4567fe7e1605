// Package casedoc: PLACEHOLDER of the contract in FITCONNECT_API.md, so
// that branch handoff compiles before branch casedoc is merged. The merge
// replaces this file with the real package (delete it then).
package casedoc

import (
	"context"
	"errors"

	"github.com/buergerkoffer/kit/internal/server"
)

type Document struct {
	CaseID, Service, ServiceName, LeiKa, SchemaURI, MimeType string
	Data                                                     []byte
	Attachments                                              []Attachment
}
type Attachment struct {
	ID, Filename, MimeType, Purpose, Description string
	Data                                         []byte
}

func Build(ctx context.Context, srv *server.Server, tenant, caseID string) (Document, error) {
	return Document{}, errors.New("casedoc: placeholder")
}
