package agent

// Client speaks syncproto to `syncd serve`: one method per endpoint, with
// retries for what may heal by itself (no connection, 5xx, 429) and none
// for what will not (every other 4xx).

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-resty/resty/v2"

	"github.com/buergerkoffer/kit/internal/backoff"
	"github.com/buergerkoffer/kit/internal/syncproto"
	"github.com/buergerkoffer/kit/internal/version"
)

// Defaults of ClientConfig.
const (
	DefaultTimeout      = 30 * time.Second
	DefaultRetryCount   = 3
	DefaultRetryWait    = 500 * time.Millisecond
	DefaultRetryMaxWait = 10 * time.Second
)

// maxResponseBytes bounds every JSON answer (push results, errors),
// decoded.
const maxResponseBytes = 16 << 20

// minCompressBytes: a smaller request body goes uncompressed (the coding's
// header would eat what it saves).
const minCompressBytes = 512

// ClientConfig configures a Client. Zero values mean the defaults.
type ClientConfig struct {
	BaseURL string // https://server:port, without /v1
	Token   string // the device token; "" for health and enrol
	// CAPEM, when not "", is the only CA the client trusts for the server
	// (the enrolment's pinned CA); "" trusts the system's pool.
	CAPEM string
	// Timeout ends an attempt that moved no byte for this long (connect,
	// TLS, sending, waiting for the answer, reading it). It is not a cap
	// on a whole pull or upload, which may take long on a slow link.
	Timeout time.Duration
	// RetryCount is how often a failed request is tried again (no
	// connection, 5xx, 429); 0 means DefaultRetryCount, < 0 none.
	RetryCount int
	// RetryWait and RetryMaxWait bound the capped exponential backoff
	// with jitter between tries; a server's Retry-After is respected
	// within them.
	RetryWait, RetryMaxWait time.Duration
	// HTTPClient, if not nil, is copied and used underneath (tests); its
	// Transport must be an *http.Transport when CAPEM is set.
	HTTPClient *http.Client
	// Log receives the client's diagnostics at debug level; nil for none.
	// Tokens are never logged.
	Log *slog.Logger
	// NoCompression sends no Content-Encoding and asks for none, as
	// agents before the codings did (tests play such an agent with it).
	NoCompression bool
	// Protocol and Version are what the laptop says it speaks and is
	// (syncproto.Revisions(), version.String() when zero); tests set them
	// to play another release.
	Protocol syncproto.Range
	Version  string
}

// Client is an HTTP client for every endpoint of syncproto. It is safe for
// concurrent use.
type Client struct {
	hc   *http.Client
	r    *resty.Client // with retries
	once *resty.Client // one attempt: health probes, upload chunks

	// As resty's, for the upload's own retries: how many, and the wait
	// between them.
	retries int
	backoff backoff.Policy

	protocol   syncproto.Range // the revisions this laptop speaks
	protocolOK atomic.Bool     // the server's overlap them (protocol.go)

	codecs *codecState // the server's codings (transport.go)
}

// NewClient returns a client for the server at cfg.BaseURL.
func NewClient(cfg ClientConfig) (*Client, error) {
	base, err := url.Parse(cfg.BaseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("agent: client: server URL %q is not an http(s) URL", cfg.BaseURL)
	}
	if base.Scheme == "http" && !isLoopbackHost(base.Hostname()) {
		return nil, fmt.Errorf("agent: client: server URL %q: %w", cfg.BaseURL, ErrInsecureURL)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	switch {
	case cfg.RetryCount == 0:
		cfg.RetryCount = DefaultRetryCount
	case cfg.RetryCount < 0:
		cfg.RetryCount = 0
	}
	if cfg.RetryWait <= 0 {
		cfg.RetryWait = DefaultRetryWait
	}
	if cfg.RetryMaxWait <= 0 {
		cfg.RetryMaxWait = DefaultRetryMaxWait
	}
	if cfg.RetryMaxWait < cfg.RetryWait {
		cfg.RetryMaxWait = cfg.RetryWait
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	codecs := &codecState{off: cfg.NoCompression}
	codecs.serverProtocol.Store("1")
	hc, err := newHTTPClient(cfg, codecs)
	if err != nil {
		return nil, err
	}
	if cfg.Protocol == (syncproto.Range{}) {
		cfg.Protocol = syncproto.Revisions()
	}
	if cfg.Version == "" {
		cfg.Version = version.String()
	}
	baseURL := strings.TrimRight(base.String(), "/")
	mk := func(retries int) *resty.Client {
		r := resty.NewWithClient(hc).
			SetBaseURL(baseURL).
			SetDisableWarn(true).
			SetLogger(restyLogger{log}).
			SetResponseBodyLimit(maxResponseBytes).
			SetHeader("User-Agent", "buergerkoffer-syncd-agent/"+syncproto.Version).
			SetHeader(syncproto.HeaderProtocol, cfg.Protocol.String()).
			SetHeader(syncproto.HeaderVersion, cfg.Version).
			SetRetryCount(retries).
			SetRetryWaitTime(cfg.RetryWait).
			SetRetryMaxWaitTime(cfg.RetryMaxWait).
			SetRetryAfter(retryAfterHeader).
			AddRetryCondition(shouldRetry).
			AddRetryHook(discardRetried(retries))
		if cfg.Token != "" {
			r.SetAuthToken(cfg.Token)
		}
		return r
	}
	return &Client{hc: hc, r: mk(cfg.RetryCount), once: mk(0), retries: cfg.RetryCount,
		backoff:  backoff.Policy{Min: cfg.RetryWait, Max: cfg.RetryMaxWait, Jitter: true},
		protocol: cfg.Protocol, codecs: codecs}, nil
}

// isLoopbackHost reports whether a URL's host is this machine: localhost,
// 127.0.0.0/8 or ::1. Other names are not resolved: what a name points to
// may change, a literal loopback address cannot.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Close closes idle connections. The client stays usable.
func (c *Client) Close() { c.hc.CloseIdleConnections() }

// shouldRetry is the retry condition: network errors, 5xx and 429. Once a
// condition is added, resty no longer retries errors by itself, so this
// one answers for them too.
func shouldRetry(resp *resty.Response, err error) bool {
	if err != nil {
		// resp is nil only when resty could not build the request; a
		// refused certificate will not be accepted on the next try.
		return resp != nil && !IsCertificate(err) && !errors.Is(err, resty.ErrResponseBodyTooLarge)
	}
	if resp == nil {
		return false
	}
	s := resp.StatusCode()
	return s == http.StatusTooManyRequests || s >= 500
}

// discardRetried returns a retry hook that closes the body of an answer
// that is going to be retried: streamed answers (SetDoNotParseResponse)
// would otherwise hold their connection. Attempts count from 1 and the
// hook runs for the last one too, whose body is left to the caller.
func discardRetried(retries int) resty.OnRetryFunc {
	return func(resp *resty.Response, _ error) {
		if resp == nil || resp.RawResponse == nil || resp.Request == nil || resp.Request.Attempt > retries {
			return
		}
		if rc := resp.RawBody(); rc != nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(rc, 64<<10))
			_ = rc.Close()
		}
	}
}

// retryAfterHeader honours a server's Retry-After (seconds or an HTTP
// date); 0 lets resty use its backoff.
func retryAfterHeader(_ *resty.Client, resp *resty.Response) (time.Duration, error) {
	if resp == nil || resp.RawResponse == nil {
		return 0, nil
	}
	return parseRetryAfter(resp.Header().Get("Retry-After"), time.Now()), nil
}

func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n <= 0 {
			return 0
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// restyLogger passes resty's messages to slog at debug level. They carry
// method, URL and error, never headers.
type restyLogger struct{ log *slog.Logger }

func (l restyLogger) Errorf(format string, v ...any) {
	l.log.Debug("http: " + fmt.Sprintf(format, v...))
}
func (l restyLogger) Warnf(format string, v ...any) {
	l.log.Debug("http: " + fmt.Sprintf(format, v...))
}
func (l restyLogger) Debugf(format string, v ...any) {
	l.log.Debug("http: " + fmt.Sprintf(format, v...))
}

// tenantPath returns /v1/tenants/T/rest with T escaped.
func tenantPath(tenant, rest string) string {
	return "/" + syncproto.Version + "/tenants/" + url.PathEscape(tenant) + "/" + rest
}

// httpError turns a non-2xx answer into an *HTTPError.
func httpError(status int, header http.Header, body []byte) *HTTPError {
	var e syncproto.Error
	_ = json.Unmarshal(body, &e)
	he := &HTTPError{Status: status, Message: errorMessage(body, e.Error)}
	if status == http.StatusUpgradeRequired {
		var u syncproto.UpgradeRequired
		_ = json.Unmarshal(body, &u)
		he.Update = u.Update
	}
	if status == http.StatusTooManyRequests || status >= 500 {
		he.RetryAfter = parseRetryAfter(header.Get("Retry-After"), time.Now())
	}
	return he
}

// check returns the error of a finished request: the transport's, or an
// *HTTPError for a non-2xx status.
func check(op string, resp *resty.Response, err error) error {
	if err != nil {
		return fmt.Errorf("agent: %s: %w", op, err)
	}
	if resp.IsError() || resp.StatusCode() < 200 || resp.StatusCode() > 299 {
		return fmt.Errorf("agent: %s: %w", op, httpError(resp.StatusCode(), resp.Header(), resp.Body()))
	}
	return nil
}

// postJSON sends in as JSON through r (c.r retries, c.once does not) and
// decodes the answer into out.
func (c *Client) postJSON(ctx context.Context, r *resty.Client, op, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("agent: %s: %w", op, err)
	}
	if len(body) > syncproto.MaxBodyBytes {
		return fmt.Errorf("agent: %s: body of %d bytes: %w", op, len(body), ErrTooLarge)
	}
	req := r.R().SetContext(ctx).
		SetHeader("Content-Type", "application/json").
		SetHeader("Accept", "application/json")
	if len(body) >= minCompressBytes && c.codecs.zstdBodies.Load() {
		z, err := syncproto.Compress(body, syncproto.EncodingZstd)
		if err != nil {
			return fmt.Errorf("agent: %s: compress: %w", op, err)
		}
		req.SetHeader("Content-Encoding", syncproto.EncodingZstd)
		body = z
	}
	resp, err := req.SetBody(body).Post(path)
	if err := check(op, resp, err); err != nil {
		return err
	}
	if err := json.Unmarshal(resp.Body(), out); err != nil {
		return fmt.Errorf("agent: %s: answer: %w: %w", op, ErrProtocol, err)
	}
	return nil
}

// Health asks GET /v1/health.
func (c *Client) Health(ctx context.Context) (syncproto.Health, error) {
	return c.health(ctx, c.r)
}

// probe is Health with one attempt: the loop's "is the network back?".
func (c *Client) probe(ctx context.Context) error {
	_, err := c.health(ctx, c.once)
	return err
}

func (c *Client) health(ctx context.Context, r *resty.Client) (syncproto.Health, error) {
	var h syncproto.Health
	resp, err := r.R().SetContext(ctx).SetHeader("Accept", "application/json").Get("/" + syncproto.Version + "/health")
	if err := check("health", resp, err); err != nil {
		return h, err
	}
	if err := json.Unmarshal(resp.Body(), &h); err != nil {
		return h, fmt.Errorf("agent: health: %w: %w", ErrProtocol, err)
	}
	return h, nil
}

// Enrol redeems a one-time enrolment code (POST /v1/enrol), in one
// attempt: the server uses the code up when it enrols the device, so a
// retry after a lost answer would fail on the used code and leave on the
// server a device that no laptop holds. Its errors are described for the
// clerk as an enrolment's (Describe): wait, or ask for a new code.
func (c *Client) Enrol(ctx context.Context, req syncproto.EnrolRequest) (syncproto.EnrolResponse, error) {
	var res syncproto.EnrolResponse
	if err := c.postJSON(ctx, c.once, "enrol", "/"+syncproto.Version+"/enrol", req, &res); err != nil {
		return res, &enrolError{err: err}
	}
	if res.Token == "" || res.Tenant == "" {
		return res, &enrolError{err: fmt.Errorf("agent: enrol: %w: no token or tenant in the answer", ErrProtocol)}
	}
	return res, nil
}

// Push sends one batch of changes. The answer has one result per change,
// in order; anything else is ErrProtocol. Pushing a batch again is
// harmless: the server answers duplicate for what it has.
func (c *Client) Push(ctx context.Context, tenant string, req syncproto.PushRequest) (syncproto.PushResponse, error) {
	var res syncproto.PushResponse
	if len(req.Changes) > syncproto.MaxPushChanges {
		return res, fmt.Errorf("agent: push: %d changes: %w", len(req.Changes), ErrTooLarge)
	}
	if req.Changes == nil {
		req.Changes = []syncproto.Change{}
	}
	body := syncproto.NewPushBody(&req, c.revision())
	if err := c.postJSON(ctx, c.r, "push", tenantPath(tenant, "push"), body, &res); err != nil {
		return res, err
	}
	if len(res.Results) != len(req.Changes) {
		return res, fmt.Errorf("agent: push: %w: %d results for %d changes", ErrProtocol, len(res.Results), len(req.Changes))
	}
	for i, r := range res.Results {
		if r.ID == "" && c.protocol.Max >= syncproto.RevisionCompact {
			// A compact answer (revision 2): the results are in order.
			r.ID = req.Changes[i].ID
			res.Results[i].ID = r.ID
		}
		if r.ID != req.Changes[i].ID {
			return res, fmt.Errorf("agent: push: %w: result %d is for another change", ErrProtocol, i)
		}
		switch r.Status {
		case syncproto.StatusApplied, syncproto.StatusDuplicate, syncproto.StatusRetry, syncproto.StatusRejected:
		default:
			return res, fmt.Errorf("agent: push: %w: unknown status %q", ErrProtocol, r.Status)
		}
	}
	return res, nil
}

// revision is the newest protocol revision this laptop and its server
// both speak, as the server's last answer said; 1 before any answer.
func (c *Client) revision() int {
	server, ok := syncproto.ParseRange(c.codecs.serverProtocol.Load().(string))
	if rev := c.protocol.Common(server); ok && rev > 0 {
		return rev
	}
	return 1
}

// Pull streams one page of the tenant's feed after seq after: fn gets the
// Page line, each Entry line and the End line, as they arrive. A stream
// that stops before its End line returns an error wrapping ErrTruncated;
// whatever fn committed until then stays committed. An error from fn ends
// the pull and is returned wrapped.
func (c *Client) Pull(ctx context.Context, tenant string, after int64, limit int, fn func(line syncproto.PullLine) error) error {
	return c.pull(ctx, tenant, after, limit, false, fn)
}

// PullOwnFull is Pull asking for this device's own changes in full
// (syncproto.QueryOwnFull), for a device that lost its record of one.
func (c *Client) PullOwnFull(ctx context.Context, tenant string, after int64, limit int, fn func(line syncproto.PullLine) error) error {
	return c.pull(ctx, tenant, after, limit, true, fn)
}

func (c *Client) pull(ctx context.Context, tenant string, after int64, limit int, ownFull bool, fn func(line syncproto.PullLine) error) error {
	if limit <= 0 {
		limit = syncproto.DefaultPullLimit
	}
	limit = min(limit, syncproto.MaxPullLimit)
	req := c.r.R().SetContext(ctx).
		SetHeader("Accept", syncproto.PullTypeFrames+", "+syncproto.PullTypeLines).
		SetQueryParam("after", strconv.FormatInt(after, 10)).
		SetQueryParam("limit", strconv.Itoa(limit)).
		SetDoNotParseResponse(true)
	if ownFull {
		req.SetQueryParam(syncproto.QueryOwnFull, "full")
	}
	resp, err := req.Get(tenantPath(tenant, "pull"))
	if err != nil {
		if resp != nil && resp.RawResponse != nil {
			resp.RawResponse.Body.Close()
		}
		return fmt.Errorf("agent: pull: %w", err)
	}
	body := resp.RawBody()
	defer body.Close()
	if s := resp.StatusCode(); s < 200 || s > 299 {
		msg, _ := io.ReadAll(io.LimitReader(body, 64<<10))
		return fmt.Errorf("agent: pull: %w", httpError(s, resp.Header(), msg))
	}
	dec := pullDecoder(resp.Header().Get("Content-Type"), body)
	var (
		n       int
		lastSeq = after
		sawPage bool
	)
	for {
		var line syncproto.PullLine
		if err := dec(&line); err != nil {
			var se *json.SyntaxError
			var te *json.UnmarshalTypeError
			if errors.As(err, &se) || errors.As(err, &te) || errors.Is(err, syncproto.ErrMalformed) {
				return fmt.Errorf("agent: pull: line %d: %w: %w", n+1, ErrProtocol, err)
			}
			if errors.Is(err, io.EOF) {
				return fmt.Errorf("agent: pull after %d: %w (%d lines)", after, ErrTruncated, n)
			}
			return fmt.Errorf("agent: pull after %d: %w (%d lines): %w", after, ErrTruncated, n, err)
		}
		n++
		switch {
		case line.Page != nil:
			if sawPage || lastSeq != after {
				return fmt.Errorf("agent: pull: line %d: %w: page line after the start", n, ErrProtocol)
			}
			sawPage = true
		case line.Entry != nil:
			if line.Entry.Seq <= lastSeq {
				return fmt.Errorf("agent: pull: line %d: %w: seq %d after %d", n, ErrProtocol, line.Entry.Seq, lastSeq)
			}
			lastSeq = line.Entry.Seq
		case line.End != nil:
			if line.End.LastSeq < lastSeq {
				return fmt.Errorf("agent: pull: %w: end at seq %d before entry %d", ErrProtocol, line.End.LastSeq, lastSeq)
			}
		default:
			return fmt.Errorf("agent: pull: line %d: %w: empty line", n, ErrProtocol)
		}
		if err := fn(line); err != nil {
			return fmt.Errorf("agent: pull: %w", err)
		}
		if line.End != nil {
			return nil
		}
	}
}

// UploadAttachment uploads an attachment's sealed bytes, resumably: it
// asks the server how much it holds (HEAD; 404 is nothing) and sends the
// rest from there in PATCHes of at most syncproto.MaxChunkBytes. A PATCH
// is never sent again blindly: after a broken connection, a 5xx or 429
// (retried like every request, with backoff) and after a 409 the client
// asks the server's offset again and goes on from there. So a 5 MB upload
// cut at 4 MB sends only the last MB again, in this call or, if it gave
// up, in the next. recordID is the attachment's record and sha the SHA-256
// of its plain bytes: the two address it (another record's attachment with
// the same bytes is another upload).
func (c *Client) UploadAttachment(ctx context.Context, tenant, recordID, sha string, data []byte) error {
	if len(data) > syncproto.MaxAttachmentBytes {
		return fmt.Errorf("agent: upload %s: %d bytes: %w", sha, len(data), ErrTooLarge)
	}
	sum := sha256.Sum256(data)
	sealed := hex.EncodeToString(sum[:])
	path := syncproto.AttachmentPath(tenant, recordID, sha)
	size := int64(len(data))
	off, err := c.uploadOffset(ctx, path)
	if err != nil {
		return fmt.Errorf("agent: upload %s: %w", sha, err)
	}
	// Failures in a row without progress: retryable ones up to the
	// client's retry count, offset conflicts up to maxConflicts.
	const maxConflicts = 5
	failures, conflicts := 0, 0
	sent := false
	for off < size || (size == 0 && !sent) {
		if off > size {
			return fmt.Errorf("agent: upload %s: %w: server holds %d of %d bytes", sha, ErrProtocol, off, size)
		}
		end := min(off+syncproto.MaxChunkBytes, size)
		next, err := c.patch(ctx, path, off, size, sealed, recordID, data[off:end])
		sent = true
		switch {
		case err == nil:
			if next <= off && end > off {
				return fmt.Errorf("agent: upload %s: %w: offset did not move from %d", sha, ErrProtocol, off)
			}
			off, failures, conflicts = next, 0, 0
			continue
		case StatusOf(err) == http.StatusConflict:
			// The server has more or less than we thought (a PATCH cut
			// short, or one that arrived twice).
			if conflicts++; conflicts > maxConflicts {
				return fmt.Errorf("agent: upload %s: %w", sha, err)
			}
		case ctx.Err() == nil && (IsNetwork(err) || StatusOf(err) == http.StatusTooManyRequests || StatusOf(err) >= 500):
			if failures++; failures > c.retries {
				return fmt.Errorf("agent: upload %s: %w", sha, err)
			}
			if err := c.sleep(ctx, failures, retryAfter(err)); err != nil {
				return fmt.Errorf("agent: upload %s: %w", sha, err)
			}
		default:
			return fmt.Errorf("agent: upload %s: %w", sha, err)
		}
		if off, err = c.uploadOffset(ctx, path); err != nil {
			return fmt.Errorf("agent: upload %s: %w", sha, err)
		}
	}
	return nil
}

// sleep waits before the n-th retry: capped exponential backoff with
// jitter, or the server's Retry-After within the same bounds.
func (c *Client) sleep(ctx context.Context, n int, hint time.Duration) error {
	t := time.NewTimer(c.backoff.RetryAfter(n, hint))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// uploadOffset asks how many bytes of an upload the server holds.
func (c *Client) uploadOffset(ctx context.Context, path string) (int64, error) {
	resp, err := c.r.R().SetContext(ctx).Head(path)
	if err == nil && resp.StatusCode() == http.StatusNotFound {
		return 0, nil
	}
	if err := check("upload offset", resp, err); err != nil {
		return 0, err
	}
	v := resp.Header().Get(syncproto.HeaderUploadOffset)
	if v == "" {
		return 0, nil
	}
	off, err := strconv.ParseInt(v, 10, 64)
	if err != nil || off < 0 {
		return 0, fmt.Errorf("agent: upload offset: %w: %s %q", ErrProtocol, syncproto.HeaderUploadOffset, v)
	}
	return off, nil
}

// patch sends one chunk at off, in one attempt, and returns the server's
// new offset.
func (c *Client) patch(ctx context.Context, path string, off, size int64, sealed, recordID string, chunk []byte) (int64, error) {
	resp, err := c.once.R().SetContext(ctx).
		SetHeader("Content-Type", "application/offset+octet-stream").
		SetHeader(syncproto.HeaderUploadOffset, strconv.FormatInt(off, 10)).
		SetHeader(syncproto.HeaderUploadLength, strconv.FormatInt(size, 10)).
		SetHeader(syncproto.HeaderUploadSHA256, sealed).
		SetHeader(syncproto.HeaderRecordID, recordID).
		SetBody(chunk).
		Patch(path)
	if err := check("upload", resp, err); err != nil {
		return 0, err
	}
	if v := resp.Header().Get(syncproto.HeaderUploadOffset); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("agent: upload: %w: %s %q", ErrProtocol, syncproto.HeaderUploadOffset, v)
		}
		return n, nil
	}
	return off + int64(len(chunk)), nil
}

// DownloadAttachment fetches the sealed bytes of a record's attachment.
func (c *Client) DownloadAttachment(ctx context.Context, tenant, recordID, sha string) ([]byte, error) {
	resp, err := c.r.R().SetContext(ctx).
		SetResponseBodyLimit(syncproto.MaxAttachmentBytes).
		Get(syncproto.AttachmentPath(tenant, recordID, sha))
	if err := check("download "+sha, resp, err); err != nil {
		return nil, err
	}
	return resp.Body(), nil
}
