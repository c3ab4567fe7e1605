package fitconnect

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/go-jose/go-jose/v4"
)

// ServiceType is a public service: Identifier is "urn:de:fim:leika:leistung:<key>".
type ServiceType struct{ Name, Identifier string }

// Destination is what GET /v1/destinations/{id} tells a sender.
type Destination struct {
	ID, Status, EncryptionKid string
	Services                  []DestinationService
	MetadataVersions          []string
}

// DestinationService is one service a destination accepts.
type DestinationService struct {
	Identifier        string
	SubmissionSchemas []SubmissionSchema
	Regions           []string
}

// SubmissionSchema is a data schema a destination accepts for a service.
type SubmissionSchema struct{ SchemaURI, MimeType string }

// destinationStatusActive is the only status a sender may submit to.
const destinationStatusActive = "active"

type destinationJSON struct {
	DestinationID    string   `json:"destinationId"`
	Status           string   `json:"status"`
	EncryptionKid    string   `json:"encryptionKid"`
	MetadataVersions []string `json:"metadataVersions"`
	Services         []struct {
		Identifier        string   `json:"identifier"`
		Regions           []string `json:"regions"`
		SubmissionSchemas []struct {
			SchemaURI string `json:"schemaUri"`
			MimeType  string `json:"mimeType"`
		} `json:"submissionSchemas"`
	} `json:"services"`
}

// Destination is GET /v1/destinations/{id}.
func (c *Client) Destination(ctx context.Context, id string) (Destination, error) {
	var doc destinationJSON
	err := c.do(ctx, call{op: "get destination", method: http.MethodGet,
		url: c.endpoint("v1", "destinations", id), auth: true, out: &doc})
	if err != nil {
		return Destination{}, err
	}
	if !strings.EqualFold(doc.DestinationID, id) {
		return Destination{}, errors.New("fitconnect: get destination: answer is for another destination")
	}
	return doc.destination(), nil
}

func (doc destinationJSON) destination() Destination {
	d := Destination{ID: doc.DestinationID, Status: doc.Status, EncryptionKid: doc.EncryptionKid,
		MetadataVersions: doc.MetadataVersions}
	for _, s := range doc.Services {
		ds := DestinationService{Identifier: s.Identifier, Regions: s.Regions}
		for _, sch := range s.SubmissionSchemas {
			ds.SubmissionSchemas = append(ds.SubmissionSchemas, SubmissionSchema{sch.SchemaURI, sch.MimeType})
		}
		d.Services = append(d.Services, ds)
	}
	return d
}

// Offers reports whether the destination accepts the service with the given identifier.
func (d Destination) Offers(identifier string) bool {
	_, ok := d.service(identifier)
	return ok
}

func (d Destination) service(identifier string) (DestinationService, bool) {
	for _, s := range d.Services {
		if s.Identifier == identifier {
			return s, true
		}
	}
	return DestinationService{}, false
}

// Recipient is a destination checked for one service: active, offers the service, and its
// encryption key passed every check (RSA >= 4096, key_ops wrapKey, alg RSA-OAEP-256, x5c
// chain to a trust anchor).
type Recipient struct {
	DestinationID string
	Service       ServiceType
	Kid           string
	// Schemas are the submission schemas the destination lists for the service. FITKO has
	// the sender pick one of them; Accepts tells the caller whether its data schema is listed.
	Schemas []SubmissionSchema
	key     *rsa.PublicKey
}

// Accepts reports whether the destination lists the data schema for the service.
func (r Recipient) Accepts(schemaURI, mimeType string) bool {
	for _, s := range r.Schemas {
		if s.SchemaURI == schemaURI && s.MimeType == mimeType {
			return true
		}
	}
	return false
}

// Recipient fetches and checks the destination and its encryption key for service.
func (c *Client) Recipient(ctx context.Context, destinationID string, service ServiceType) (Recipient, error) {
	d, err := c.Destination(ctx, destinationID)
	if err != nil {
		return Recipient{}, err
	}
	if d.Status != destinationStatusActive {
		return Recipient{}, fmt.Errorf("%w (status %q)", ErrDestinationInactive, d.Status)
	}
	offered, ok := d.service(service.Identifier)
	if !ok {
		return Recipient{}, fmt.Errorf("%w (%s)", ErrServiceNotOffered, service.Identifier)
	}
	if !slices.Contains(d.MetadataVersions, MetadataVersion) {
		return Recipient{}, fmt.Errorf("%w (%s; the destination takes %v)", ErrMetadataVersion, MetadataVersion, d.MetadataVersions)
	}
	key, err := c.destinationKey(ctx, destinationID, d.EncryptionKid, encryptionPolicy)
	if err != nil {
		return Recipient{}, err
	}
	return Recipient{DestinationID: destinationID, Service: service, Kid: d.EncryptionKid,
		Schemas: offered.SubmissionSchemas, key: key}, nil
}

// destinationKey is GET /v1/destinations/{id}/keys/{kid}, checked against policy p.
func (c *Client) destinationKey(ctx context.Context, destinationID, kid string, p keyPolicy) (*rsa.PublicKey, error) {
	if kid == "" {
		return nil, fmt.Errorf("%w (no key id)", ErrKeyMalformed)
	}
	var k jwk
	err := c.do(ctx, call{op: "get destination key", method: http.MethodGet,
		url: c.endpoint("v1", "destinations", destinationID, "keys", kid), auth: true, out: &k})
	if err != nil {
		return nil, err
	}
	if k.Kid != kid {
		return nil, fmt.Errorf("%w (answer is for another kid)", ErrKeyMalformed)
	}
	return checkKey(k, p, c.anchors, c.now())
}

// Encrypt makes a compact JWE (RSA-OAEP-256 + A256GCM, kid set, no compression).
func (r Recipient) Encrypt(plain []byte) (string, error) {
	if r.key == nil {
		return "", errors.New("fitconnect: encrypt: recipient has no checked key (use Client.Recipient)")
	}
	rcpt := jose.Recipient{Algorithm: jose.RSA_OAEP_256, Key: r.key, KeyID: r.Kid}
	enc, err := jose.NewEncrypter(jose.A256GCM, rcpt, &jose.EncrypterOptions{})
	if err != nil {
		return "", fmt.Errorf("fitconnect: encrypt: %w", err)
	}
	obj, err := enc.Encrypt(plain)
	if err != nil {
		return "", fmt.Errorf("fitconnect: encrypt: %w", err)
	}
	return obj.CompactSerialize()
}
