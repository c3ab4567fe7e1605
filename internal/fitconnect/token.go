package fitconnect

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// tokenCache holds one access token and renews it shortly before it expires, or on demand
// after the API answered 401.
type tokenCache struct {
	cc   clientcredentials.Config
	http *http.Client
	now  func() time.Time

	mu       sync.Mutex
	tok      *oauth2.Token
	issuedAt time.Time
}

func newTokenCache(cfg Config, hc *http.Client, now func() time.Time) *tokenCache {
	return &tokenCache{
		cc: clientcredentials.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			TokenURL:     cfg.TokenURL,
			Scopes:       cfg.Scopes,
			// FITKO's token endpoint takes the credentials as form parameters.
			AuthStyle: oauth2.AuthStyleInParams,
		},
		http: hc,
		now:  now,
	}
}

// token returns a valid access token; stale names one the API refused, which is renewed.
func (t *tokenCache) token(ctx context.Context, stale string) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tok != nil && t.tok.AccessToken != stale && t.fresh() {
		return t.tok.AccessToken, nil
	}
	tok, err := t.cc.Token(context.WithValue(ctx, oauth2.HTTPClient, t.http))
	if err != nil {
		return "", tokenError(err)
	}
	t.tok, t.issuedAt = tok, t.now()
	return tok.AccessToken, nil
}

// fresh: the token does not expire within a quarter of its lifetime (at most 30 s).
func (t *tokenCache) fresh() bool {
	if t.tok.Expiry.IsZero() {
		return true
	}
	margin := min(t.tok.Expiry.Sub(t.issuedAt)/4, 30*time.Second)
	return t.now().Add(margin).Before(t.tok.Expiry)
}

// tokenError makes a refusal of the token endpoint a *ProblemError, so that callers tell a
// temporary outage (5xx) from wrong credentials (4xx) the same way as for API answers.
func tokenError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		p := &ProblemError{Status: re.Response.StatusCode, Type: re.ErrorCode, Title: "token request refused"}
		return fmt.Errorf("fitconnect: token: %w", p)
	}
	return fmt.Errorf("fitconnect: token: %w", err)
}
