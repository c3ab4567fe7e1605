package fitconnect

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// Config of a sender client.
type Config struct {
	SubmissionAPI string         // base URL of the Submission API (no trailing /v1)
	TokenURL      string         // OAuth 2.0 token endpoint (client credentials)
	ClientID      string         //
	ClientSecret  string         //
	Scopes        []string       // optional
	TrustAnchors  *x509.CertPool // the administration PKI's root(s); required
	HTTPClient    *http.Client   // optional; the default has timeouts
	Now           func() time.Time
}

// Client talks to one Submission API as one sender. It is safe for concurrent use.
type Client struct {
	base    *url.URL
	http    *http.Client
	anchors *x509.CertPool
	now     func() time.Time
	tokens  *tokenCache
	jwks    *jwksCache
}

// LoadTrustAnchors reads the PEM certificates of the administration PKI's root(s).
func LoadTrustAnchors(pemFile string) (*x509.CertPool, error) {
	raw, err := os.ReadFile(pemFile)
	if err != nil {
		return nil, fmt.Errorf("fitconnect: read trust anchors: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(raw) {
		return nil, fmt.Errorf("fitconnect: trust anchor file %s holds no PEM certificate", pemFile)
	}
	return pool, nil
}

// New checks cfg and makes a client. It does not talk to the network.
func New(cfg Config) (*Client, error) {
	base, err := checkConfig(cfg)
	if err != nil {
		return nil, err
	}
	c := &Client{base: base, http: cfg.HTTPClient, anchors: cfg.TrustAnchors, now: cfg.Now}
	if c.http == nil {
		c.http = defaultHTTPClient()
	}
	if c.now == nil {
		c.now = time.Now
	}
	c.tokens = newTokenCache(cfg, c.http, c.now)
	c.jwks = &jwksCache{}
	return c, nil
}

func checkConfig(cfg Config) (*url.URL, error) {
	switch {
	case cfg.TrustAnchors == nil:
		return nil, errors.New("fitconnect: config: trust anchors are required")
	case cfg.ClientID == "" || cfg.ClientSecret == "":
		return nil, errors.New("fitconnect: config: client id and secret are required")
	case cfg.TokenURL == "":
		return nil, errors.New("fitconnect: config: token URL is required")
	}
	base, err := url.Parse(strings.TrimRight(cfg.SubmissionAPI, "/"))
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" {
		return nil, fmt.Errorf("fitconnect: config: submission API %q is not an http(s) URL", cfg.SubmissionAPI)
	}
	if strings.HasSuffix(base.Path, "/v1") {
		return nil, errors.New("fitconnect: config: submission API must be given without /v1")
	}
	return base, nil
}

func defaultHTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = 60 * time.Second
	return &http.Client{Timeout: 5 * time.Minute, Transport: tr}
}

// endpoint is the URL of a path below the Submission API base; the segments are escaped.
func (c *Client) endpoint(segments ...string) string {
	u := *c.base
	for _, s := range segments {
		u.Path += "/" + s
	}
	raw := make([]string, len(segments))
	for i, s := range segments {
		raw[i] = url.PathEscape(s)
	}
	u.RawPath = c.base.EscapedPath() + "/" + strings.Join(raw, "/")
	return u.String()
}

// origin is scheme://host of the Submission API, the issuer of the service's events.
func (c *Client) origin() string { return c.base.Scheme + "://" + c.base.Host }
