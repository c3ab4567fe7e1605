package fitconnect

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
)

// maxAnswer bounds what is read of any answer; event logs of one case stay far below it.
const maxAnswer = 8 << 20

// call is one request to the Submission API.
type call struct {
	op          string // for errors, e.g. "create submission"
	method, url string
	body        []byte
	contentType string
	auth        bool // send the access token
	out         any  // JSON answer is decoded into it when not nil
}

// do sends the call with an access token; after a 401 it renews the token and tries once more.
func (c *Client) do(ctx context.Context, k call) error {
	var token string
	for attempt := 0; ; attempt++ {
		if k.auth {
			var err error
			if token, err = c.tokens.token(ctx, token); err != nil {
				return fmt.Errorf("fitconnect: %s: %w", k.op, err)
			}
		}
		resp, err := c.send(ctx, k, token)
		if err != nil {
			return fmt.Errorf("fitconnect: %s: %w", k.op, err)
		}
		if resp.StatusCode == http.StatusUnauthorized && k.auth && attempt == 0 {
			drain(resp)
			continue
		}
		return c.finish(k, resp)
	}
}

func (c *Client) send(ctx context.Context, k call, token string) (*http.Response, error) {
	var body io.Reader
	if k.body != nil {
		body = bytes.NewReader(k.body)
	}
	req, err := http.NewRequestWithContext(ctx, k.method, k.url, body)
	if err != nil {
		return nil, err
	}
	if k.contentType != "" {
		req.Header.Set("Content-Type", k.contentType)
	}
	req.Header.Set("Accept", "application/json, application/problem+json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return c.http.Do(req)
}

// finish turns a non-2xx answer into a *ProblemError and decodes a 2xx answer into k.out.
func (c *Client) finish(k call, resp *http.Response) error {
	defer drain(resp)
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return fmt.Errorf("fitconnect: %s: read answer: %w", k.op, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("fitconnect: %s: %w", k.op, parseProblem(resp.StatusCode, resp.Header.Get("Content-Type"), raw))
	}
	if k.out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, k.out); err != nil {
		return fmt.Errorf("fitconnect: %s: answer is not the documented JSON: %w", k.op, err)
	}
	return nil
}

// parseProblem reads RFC 7807 problem details; any other body yields the status alone.
func parseProblem(status int, contentType string, raw []byte) *ProblemError {
	p := &ProblemError{Status: status, Title: http.StatusText(status)}
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt != "application/problem+json" && mt != "application/json" {
		return p
	}
	var doc struct {
		Type, Title, Detail, Instance string
	}
	if json.Unmarshal(raw, &doc) != nil {
		return p
	}
	p.Type, p.Detail, p.Instance = doc.Type, doc.Detail, doc.Instance
	if doc.Title != "" {
		p.Title = doc.Title
	}
	return p
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
}
