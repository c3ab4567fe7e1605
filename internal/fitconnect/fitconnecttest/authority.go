package fitconnecttest

// The receiving authority: what a specialist procedure does with a submission it picks up. It decrypts the
// metadata, the data and every attachment with the destination's private key, validates the metadata
// against the metadata schema, checks the SHA-512 hashes and the attachment list against the announced ids,
// and answers with a reject-submission event when a check fails.

import (
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/go-jose/go-jose/v4"
)

// Reasons a submission is refused; Refusal.Err wraps one of them.
var (
	ErrEncryption          = errors.New("part not decryptable with the destination's key as RSA-OAEP-256 + A256GCM")
	ErrMetadataSyntax      = errors.New("metadata is not JSON")
	ErrMetadataSchema      = errors.New("metadata violates the metadata schema")
	ErrServiceMismatch     = errors.New("metadata names another public service than the submission")
	ErrDataMismatch        = errors.New("data and its description in the metadata disagree")
	ErrHashMismatch        = errors.New("SHA-512 hash does not match")
	ErrAttachmentsMismatch = errors.New("attachments in the metadata differ from the announced ones")
)

const eventProblemBase = "https://schema.fitko.de/fit-connect/events/problems/"

// Problem is one reason of a reject-submission event.
type Problem struct {
	Type, Title, Detail, Instance string
}

// Received is a submission that arrived complete and passed every check of the authority.
type Received struct {
	SubmissionID, CaseID string
	Service              string // LeiKa identifier of the submission's service type
	Metadata             []byte
	Data                 []byte
	Attachments          map[string][]byte // by attachment id, decrypted
	Creates              int               // how many submissions were created for the same data hash (must be 1)
}

// Refusal is a submission the authority refused.
type Refusal struct {
	SubmissionID, CaseID string
	Err                  error     // wraps one of the Err… reasons
	Problems             []Problem // as sent in the reject-submission event
}

type refusal struct {
	err     error
	problem Problem
}

func refuse(reason error, slug, title, instance, detail string) *refusal {
	return &refusal{
		err:     fmt.Errorf("%s: %w: %s", instance, reason, detail),
		problem: Problem{Type: eventProblemBase + slug, Title: title, Detail: detail, Instance: instance},
	}
}

// inbound is a submitted submission as the authority picks it up.
type inbound struct {
	id, caseID  string
	service     serviceType
	announced   []string
	attachments map[string]string
	metadataJWE string
	dataJWE     string
}

type metadataHash struct {
	Type    string `json:"type"`
	Content string `json:"content"`
}

type metadataDoc struct {
	ContentStructure struct {
		Data *struct {
			Hash             metadataHash `json:"hash"`
			SubmissionSchema struct {
				SchemaURI string `json:"schemaUri"`
				MimeType  string `json:"mimeType"`
			} `json:"submissionSchema"`
		} `json:"data"`
		Attachments []metadataAttachment `json:"attachments"`
	} `json:"contentStructure"`
	PublicServiceType *struct {
		Identifier string `json:"identifier"`
	} `json:"publicServiceType"`
}

type metadataAttachment struct {
	AttachmentID string       `json:"attachmentId"`
	Hash         metadataHash `json:"hash"`
	Filename     string       `json:"filename"`
	MimeType     string       `json:"mimeType"`
	Purpose      string       `json:"purpose"`
}

// check runs the authority's checks in order and stops at the first failure.
func (s *Service) check(in inbound) (Received, *refusal) {
	meta, ref := s.decrypt(in.metadataJWE, "metadata")
	if ref != nil {
		return Received{}, ref
	}
	doc, ref := s.readMetadata(meta)
	if ref != nil {
		return Received{}, ref
	}
	if ref := checkService(doc, in.service); ref != nil {
		return Received{}, ref
	}
	data, ref := s.checkData(doc, in)
	if ref != nil {
		return Received{}, ref
	}
	atts, ref := s.checkAttachments(doc, in)
	if ref != nil {
		return Received{}, ref
	}
	return Received{
		SubmissionID: in.id, CaseID: in.caseID, Service: in.service.Identifier,
		Metadata: meta, Data: data, Attachments: atts,
	}, nil
}

// decrypt opens one compact JWE: RSA-OAEP-256 with the destination's encryption key (by kid), A256GCM,
// no compression.
func (s *Service) decrypt(jwe, instance string) ([]byte, *refusal) {
	if err := s.checkJWEHeader(jwe); err != nil {
		return nil, refuse(ErrEncryption, "encryption-issue", "Entschlüsselungsfehler", instance, err.Error())
	}
	obj, err := jose.ParseEncryptedCompact(jwe, []jose.KeyAlgorithm{jose.RSA_OAEP_256}, []jose.ContentEncryption{jose.A256GCM})
	if err != nil {
		return nil, refuse(ErrEncryption, "encryption-issue", "Entschlüsselungsfehler", instance, "unreadable JWE")
	}
	plain, err := obj.Decrypt(s.keys.encKey)
	if err != nil {
		return nil, refuse(ErrEncryption, "encryption-issue", "Entschlüsselungsfehler", instance, "decryption failed")
	}
	return plain, nil
}

func (s *Service) checkJWEHeader(jwe string) error {
	raw, err := base64.RawURLEncoding.DecodeString(strings.SplitN(jwe, ".", 2)[0])
	if err != nil {
		return errors.New("protected header is not base64url")
	}
	var h map[string]any
	if err := json.Unmarshal(raw, &h); err != nil {
		return errors.New("protected header is not JSON")
	}
	switch {
	case h["alg"] != "RSA-OAEP-256":
		return fmt.Errorf("alg %v, want RSA-OAEP-256", h["alg"])
	case h["enc"] != "A256GCM":
		return fmt.Errorf("enc %v, want A256GCM", h["enc"])
	case h["kid"] != s.keys.encKid:
		return errors.New("kid is not the destination's encryptionKid")
	case h["zip"] != nil:
		return errors.New("compressed JWE (zip) is not allowed")
	}
	return nil
}

func (s *Service) readMetadata(meta []byte) (metadataDoc, *refusal) {
	var doc metadataDoc
	if err := json.Unmarshal(meta, &doc); err != nil {
		return doc, refuse(ErrMetadataSyntax, "syntax-violation", "Syntaxfehler", "metadata", "metadata is not a JSON object")
	}
	if err := s.validateMetadata(meta); err != nil {
		return doc, refuse(ErrMetadataSchema, "schema-violation", "Schemafehler", "metadata", err.Error())
	}
	return doc, nil
}

func checkService(doc metadataDoc, service serviceType) *refusal {
	if doc.PublicServiceType == nil {
		return refuse(ErrServiceMismatch, "service-mismatch", "Verwaltungsleistung fehlt", "metadata",
			"publicServiceType is missing")
	}
	if doc.PublicServiceType.Identifier != service.Identifier {
		return refuse(ErrServiceMismatch, "service-mismatch", "Verwaltungsleistung abweichend", "metadata",
			"publicServiceType.identifier differs from the submission's serviceType")
	}
	return nil
}

// checkData opens the data and checks it against contentStructure.data: hash, MIME type, schema URI.
func (s *Service) checkData(doc metadataDoc, in inbound) ([]byte, *refusal) {
	desc := doc.ContentStructure.Data
	switch {
	case desc == nil && in.dataJWE == "":
		return nil, nil
	case desc == nil:
		return nil, refuse(ErrDataMismatch, "missing-schema", "Fachdatenschema fehlt", "data", "data sent without contentStructure.data")
	case in.dataJWE == "":
		return nil, refuse(ErrDataMismatch, "missing-data", "Fachdaten fehlen", "data", "metadata describes data that was not sent")
	}
	data, ref := s.decrypt(in.dataJWE, "data")
	if ref != nil {
		return nil, ref
	}
	if ref := checkHash(desc.Hash, data, "data"); ref != nil {
		return nil, ref
	}
	if desc.SubmissionSchema.MimeType == "application/json" && !json.Valid(data) {
		return nil, refuse(ErrDataMismatch, "syntax-violation", "Syntaxfehler", "data", "data is not JSON")
	}
	if uris, ok := s.opt.SchemaURIs[in.service.Identifier]; ok && !slices.Contains(uris, desc.SubmissionSchema.SchemaURI) {
		return nil, refuse(ErrDataMismatch, "unsupported-schema", "Fachdatenschema nicht unterstützt", "data",
			"the destination does not accept this submission schema")
	}
	if err := s.validateData(desc.SubmissionSchema.SchemaURI, data); err != nil {
		return nil, refuse(ErrDataMismatch, "schema-violation", "Schemafehler", "data", err.Error())
	}
	return data, nil
}

// checkAttachments requires the metadata to describe exactly the announced attachments, each with a
// filename, and every upload to decrypt to the described hash.
func (s *Service) checkAttachments(doc metadataDoc, in inbound) (map[string][]byte, *refusal) {
	described := map[string]metadataAttachment{}
	for _, a := range doc.ContentStructure.Attachments {
		if _, dup := described[a.AttachmentID]; dup {
			return nil, refuse(ErrAttachmentsMismatch, "attachments-mismatch", "Anlagen abweichend", "metadata", "an attachment is described twice")
		}
		described[a.AttachmentID] = a
	}
	announced := slices.Sorted(slices.Values(in.announced))
	if !slices.Equal(announced, slices.Sorted(maps.Keys(described))) {
		return nil, refuse(ErrAttachmentsMismatch, "attachments-mismatch", "Anlagen abweichend", "metadata",
			fmt.Sprintf("metadata describes %d attachments, %d were announced, and the ids differ", len(described), len(announced)))
	}
	out := map[string][]byte{}
	for _, id := range announced {
		instance := "attachment:" + id
		if strings.TrimSpace(described[id].Filename) == "" {
			return nil, refuse(ErrAttachmentsMismatch, "attachments-mismatch", "Dateiname fehlt", instance, "the attachment has no filename")
		}
		plain, ref := s.decrypt(in.attachments[id], instance)
		if ref != nil {
			return nil, ref
		}
		if ref := checkHash(described[id].Hash, plain, instance); ref != nil {
			return nil, ref
		}
		out[id] = plain
	}
	return out, nil
}

func checkHash(want metadataHash, plain []byte, instance string) *refusal {
	sum := sha512.Sum512(plain)
	if want.Type != "sha512" || want.Content != hex.EncodeToString(sum[:]) {
		return refuse(ErrHashMismatch, "hash-mismatch", "Prüfsumme stimmt nicht", instance,
			"the SHA-512 hash in the metadata does not match the decrypted content")
	}
	return nil
}

func sha512Hex(b []byte) string {
	sum := sha512.Sum512(b)
	return hex.EncodeToString(sum[:])
}
