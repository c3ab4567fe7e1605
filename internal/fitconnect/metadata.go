package fitconnect

import (
	"bytes"
	"crypto/sha512"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
)

// MetadataSchemaURI is the metadata schema every document of this package names and meets.
const MetadataSchemaURI = "https://schema.fitko.de/fit-connect/metadata/" + MetadataVersion + "/metadata.schema.json"

// MetadataVersion is the version of the metadata schema our documents
// declare; a destination must list it in its metadataVersions.
const MetadataVersion = "1.0.0"

//go:embed schema/metadata.schema.json
var metadataSchemaJSON []byte

// Attachment is one attachment as it is sent.
type Attachment struct {
	ID          string // UUID, stable for a case (the worker derives it; see casedoc)
	Filename    string
	MimeType    string
	Purpose     string // "form", "attachment" or "report"
	Description string
	Data        []byte // unencrypted
}

// Content is what one submission carries, unencrypted.
type Content struct {
	Service     ServiceType
	SchemaURI   string // the data's schema $id
	MimeType    string // "application/json"
	Data        []byte // unencrypted data document
	Attachments []Attachment
}

type hashJSON struct {
	Type    string `json:"type"`
	Content string `json:"content"`
}

type metadataJSON struct {
	Schema            string          `json:"$schema"`
	ContentStructure  contentJSON     `json:"contentStructure"`
	PublicServiceType serviceTypeJSON `json:"publicServiceType"`
}

type contentJSON struct {
	Data        *dataJSON        `json:"data,omitempty"`
	Attachments []attachmentJSON `json:"attachments"`
}

type dataJSON struct {
	Hash             hashJSON `json:"hash"`
	SubmissionSchema struct {
		SchemaURI string `json:"schemaUri"`
		MimeType  string `json:"mimeType"`
	} `json:"submissionSchema"`
}

type attachmentJSON struct {
	Hash         hashJSON `json:"hash"`
	Purpose      string   `json:"purpose"`
	Filename     string   `json:"filename,omitempty"`
	Description  string   `json:"description,omitempty"`
	MimeType     string   `json:"mimeType"`
	AttachmentID string   `json:"attachmentId"`
}

// Metadata builds FITKO's metadata document for c (SHA-512 hashes of the data and of every
// attachment, submission schema, attachments, publicServiceType) and validates it against
// the embedded metadata schema before returning it.
func Metadata(c Content) ([]byte, error) {
	if err := checkContent(c); err != nil {
		return nil, err
	}
	doc := metadataJSON{
		Schema:            MetadataSchemaURI,
		ContentStructure:  contentJSON{Attachments: []attachmentJSON{}},
		PublicServiceType: serviceTypeJSON{Name: c.Service.Name, Identifier: c.Service.Identifier},
	}
	if len(c.Data) > 0 {
		d := &dataJSON{Hash: sha512Hash(c.Data)}
		d.SubmissionSchema.SchemaURI, d.SubmissionSchema.MimeType = c.SchemaURI, c.MimeType
		doc.ContentStructure.Data = d
	}
	for _, a := range c.Attachments {
		doc.ContentStructure.Attachments = append(doc.ContentStructure.Attachments, attachmentJSON{
			Hash: sha512Hash(a.Data), Purpose: a.Purpose, Filename: a.Filename,
			Description: a.Description, MimeType: a.MimeType, AttachmentID: a.ID,
		})
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("fitconnect: metadata: %w", err)
	}
	if err := ValidateMetadata(raw); err != nil {
		return nil, err
	}
	return raw, nil
}

// checkContent refuses what the schema cannot see: a duplicate attachment id.
func checkContent(c Content) error {
	seen := make(map[string]bool, len(c.Attachments))
	for _, a := range c.Attachments {
		if seen[strings.ToLower(a.ID)] {
			return fmt.Errorf("%w: attachment id %s appears twice", ErrMetadataInvalid, a.ID)
		}
		seen[strings.ToLower(a.ID)] = true
	}
	return nil
}

func sha512Hash(b []byte) hashJSON {
	sum := sha512.Sum512(b)
	return hashJSON{Type: "sha512", Content: hex.EncodeToString(sum[:])}
}

// ValidateMetadata checks doc against the embedded FIT-Connect metadata schema. The error
// names the failing places and rules, never the values (file names may be personal).
func ValidateMetadata(doc []byte) error {
	sch, err := metadataSchema()
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return fmt.Errorf("%w: not JSON", ErrMetadataInvalid)
	}
	var ve *jsonschema.ValidationError
	if err := sch.Validate(inst); errors.As(err, &ve) {
		return fmt.Errorf("%w: %s", ErrMetadataInvalid, strings.Join(violations(ve), "; "))
	} else if err != nil {
		return fmt.Errorf("%w: %v", ErrMetadataInvalid, err)
	}
	return nil
}

var metadataSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(metadataSchemaJSON))
	if err != nil {
		return nil, fmt.Errorf("fitconnect: embedded metadata schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(MetadataSchemaURI, doc); err != nil {
		return nil, fmt.Errorf("fitconnect: embedded metadata schema: %w", err)
	}
	sch, err := c.Compile(MetadataSchemaURI)
	if err != nil {
		return nil, fmt.Errorf("fitconnect: embedded metadata schema: %w", err)
	}
	return sch, nil
})

// violations lists the leaf errors as "/instance/path: keyword".
func violations(ve *jsonschema.ValidationError) []string {
	if len(ve.Causes) == 0 {
		kw := strings.Join(ve.ErrorKind.KeywordPath(), "/")
		return []string{"/" + strings.Join(ve.InstanceLocation, "/") + ": " + kw + extra(ve)}
	}
	var out []string
	for _, c := range ve.Causes {
		out = append(out, violations(c)...)
	}
	return out
}

// extra names missing properties: their names come from the schema, not from the document.
func extra(ve *jsonschema.ValidationError) string {
	if r, ok := ve.ErrorKind.(*kind.Required); ok {
		return " " + strings.Join(r.Missing, ",")
	}
	return ""
}
