package fitconnect_test

import (
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/buergerkoffer/kit/internal/fitconnect"
)

func testContent() fitconnect.Content {
	return fitconnect.Content{
		Service:   testService,
		SchemaURI: "https://schema.buergerkoffer.example/hundesteuer/1.0.0/data.schema.json",
		MimeType:  "application/json",
		Data:      []byte(`{"hund":{"rasse":"Dackel"}}`),
		Attachments: []fitconnect.Attachment{
			{ID: "3b241101-e2bb-4255-8caf-4136c566a962", Filename: "unterschrift-Erika-Mustermann.png", MimeType: "image/png",
				Purpose: "attachment", Description: "Unterschrift", Data: []byte("\x89PNG...")},
			{ID: "6fa459ea-ee8a-4ca4-894e-db77e160355e", Filename: "gesicht.iso19794-7", MimeType: "application/octet-stream",
				Purpose: "report", Data: []byte("FAC\x00...")},
		},
	}
}

func sha512Hex(b []byte) string { s := sha512.Sum512(b); return hex.EncodeToString(s[:]) }

func TestMetadata_HashesAndFields(t *testing.T) {
	c := testContent()
	raw, err := fitconnect.Metadata(c)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Schema           string `json:"$schema"`
		ContentStructure struct {
			Data struct {
				Hash             struct{ Type, Content string }
				SubmissionSchema struct{ SchemaURI, MimeType string } `json:"submissionSchema"`
			}
			Attachments []struct {
				Hash                                     struct{ Type, Content string }
				Purpose, Filename, MimeType, Description string
				AttachmentID                             string `json:"attachmentId"`
			}
		} `json:"contentStructure"`
		PublicServiceType struct{ Name, Identifier string } `json:"publicServiceType"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	cs := doc.ContentStructure
	if doc.Schema != fitconnect.MetadataSchemaURI || cs.Data.Hash.Type != "sha512" || cs.Data.Hash.Content != sha512Hex(c.Data) ||
		cs.Data.SubmissionSchema.SchemaURI != c.SchemaURI || cs.Data.SubmissionSchema.MimeType != "application/json" ||
		doc.PublicServiceType.Identifier != testLeiKa || doc.PublicServiceType.Name != testService.Name {
		t.Fatalf("metadata = %s", raw)
	}
	if len(cs.Attachments) != len(c.Attachments) {
		t.Fatalf("attachments = %d", len(cs.Attachments))
	}
	for i, a := range cs.Attachments {
		in := c.Attachments[i]
		if a.AttachmentID != in.ID || a.Hash.Type != "sha512" || a.Hash.Content != sha512Hex(in.Data) ||
			a.Purpose != in.Purpose || a.Filename != in.Filename || a.MimeType != in.MimeType || a.Description != in.Description {
			t.Errorf("attachment %d = %+v", i, a)
		}
	}
}

func TestMetadata_RefusesBadContent(t *testing.T) {
	cases := map[string]func(*fitconnect.Content){
		"purpose not in the schema": func(c *fitconnect.Content) { c.Attachments[0].Purpose = "photo" },
		"attachment id not a UUID":  func(c *fitconnect.Content) { c.Attachments[0].ID = "signature" },
		"duplicate attachment id":   func(c *fitconnect.Content) { c.Attachments[1].ID = c.Attachments[0].ID },
		"no MIME type":              func(c *fitconnect.Content) { c.Attachments[0].MimeType = "" },
		"data MIME type":            func(c *fitconnect.Content) { c.MimeType = "text/plain" },
		"service not a URN":         func(c *fitconnect.Content) { c.Service.Identifier = "99108008001000" },
		"schema URI not a URI":      func(c *fitconnect.Content) { c.SchemaURI = "" },
	}
	for name, mutate := range cases {
		c := testContent()
		mutate(&c)
		_, err := fitconnect.Metadata(c)
		if !errors.Is(err, fitconnect.ErrMetadataInvalid) {
			t.Errorf("%s: err = %v, want ErrMetadataInvalid", name, err)
			continue
		}
		if strings.Contains(err.Error(), "Mustermann") {
			t.Errorf("%s: error text carries a file name: %v", name, err)
		}
	}
}

func TestValidateMetadata_MissingHashRefused(t *testing.T) {
	raw, err := fitconnect.Metadata(testContent())
	if err != nil {
		t.Fatal(err)
	}
	if err := fitconnect.ValidateMetadata(raw); err != nil {
		t.Fatalf("own document refused: %v", err)
	}
	for name, edit := range map[string]func(m map[string]any){
		"data hash": func(m map[string]any) { delete(cs(m)["data"].(map[string]any), "hash") },
		"attachment hash": func(m map[string]any) {
			delete(cs(m)["attachments"].([]any)[1].(map[string]any), "hash")
		},
		"upper-case hash": func(m map[string]any) {
			h := cs(m)["data"].(map[string]any)["hash"].(map[string]any)
			h["content"] = strings.ToUpper(h["content"].(string))
		},
		"sha256": func(m map[string]any) {
			cs(m)["data"].(map[string]any)["hash"].(map[string]any)["type"] = "sha256"
		},
		"no contentStructure": func(m map[string]any) { delete(m, "contentStructure") },
		"metadata 2.x schema": func(m map[string]any) {
			m["$schema"] = "https://schema.fitko.de/fit-connect/metadata/2.0.0/metadata.schema.json"
		},
	} {
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		edit(m)
		err := fitconnect.ValidateMetadata(mustJSON(t, m))
		if !errors.Is(err, fitconnect.ErrMetadataInvalid) {
			t.Errorf("%s: err = %v, want ErrMetadataInvalid", name, err)
		}
	}
	if err := fitconnect.ValidateMetadata([]byte("{")); !errors.Is(err, fitconnect.ErrMetadataInvalid) {
		t.Errorf("broken JSON: err = %v", err)
	}
}

func TestValidateMetadata_ErrorNamesThePlace(t *testing.T) {
	raw, _ := fitconnect.Metadata(testContent())
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	delete(cs(m)["attachments"].([]any)[0].(map[string]any), "hash")
	err := fitconnect.ValidateMetadata(mustJSON(t, m))
	if err == nil || !strings.Contains(err.Error(), "/contentStructure/attachments/0") || !strings.Contains(err.Error(), "hash") {
		t.Fatalf("err = %v, want the place and the missing property", err)
	}
	if strings.Contains(err.Error(), "Mustermann") {
		t.Fatalf("error text carries a file name: %v", err)
	}
}

func cs(m map[string]any) map[string]any { return m["contentStructure"].(map[string]any) }
