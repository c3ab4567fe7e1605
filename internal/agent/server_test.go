package agent_test

// A minimal server of syncproto for the client's and the loop's tests,
// with switches to make it fail the ways a real network and server do.
// The real server (internal/server) gets its own end-to-end tests.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/buergerkoffer/kit/internal/syncproto"
)

type upload struct {
	data     []byte
	length   int64
	complete bool
}

type fakeServer struct {
	t   *testing.T
	srv *httptest.Server

	mu      sync.Mutex
	tenant  string
	tokens  map[string]bool // valid tokens
	feed    []syncproto.Entry
	seqOf   map[string]int64 // change id -> seq
	uploads map[string]*upload
	hits    map[string]int // "push", "pull", "health", "head", "patch", "enrol"

	// Failure switches.
	down        bool             // every request: connection closed, no answer
	fail        map[string][]int // endpoint -> statuses to answer, one per request
	retryAfter  string           // Retry-After sent with a failing 429/503
	retryIDs    map[string]bool  // push answers retry for these
	rejectAll   bool             // push answers rejected
	retryAll    bool             // push answers retry
	cutPullAt   int              // a pull stops (connection closed) after this many entries, once
	cutUploadAt int64            // a PATCH is cut when the upload reaches this many bytes, once
	patchOffs   []int64          // Upload-Offset of every PATCH
	conflicts   int              // PATCHes answered 409
	received    int64            // attachment bytes the server read
	pulls       []int64          // after= of every pull
	pushBodies  int
	serverKID   string // the server key a pull page announces ("" none)
	serverKey   string
}

const testTenant = "musterstadt"
const testToken = "tok-1"

func newFakeServer(t *testing.T) *fakeServer {
	f := &fakeServer{t: t, tenant: testTenant, tokens: map[string]bool{testToken: true}, seqOf: map[string]int64{},
		uploads: map[string]*upload{}, hits: map[string]int{}, fail: map[string][]int{}, retryIDs: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/health", f.health)
	mux.HandleFunc("POST /v1/enrol", f.enrol)
	mux.HandleFunc("POST /v1/tenants/{tenant}/push", f.auth("push", f.push))
	mux.HandleFunc("GET /v1/tenants/{tenant}/pull", f.auth("pull", f.pull))
	mux.HandleFunc("HEAD /v1/tenants/{tenant}/records/{record}/attachments/{sha}", f.auth("head", f.head))
	mux.HandleFunc("PATCH /v1/tenants/{tenant}/records/{record}/attachments/{sha}", f.auth("patch", f.patch))
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeServer) URL() string { return f.srv.URL }

func (f *fakeServer) set(fn func(f *fakeServer)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeServer) hit(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits[name]
}

// addRemote adds a change of another device to the feed.
func (f *fakeServer) addRemote(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range n {
		seq := int64(len(f.feed) + 1)
		id := fmt.Sprintf("remote-%d", seq)
		f.feed = append(f.feed, syncproto.Entry{Seq: seq, Version: 1, Change: syncproto.Change{ID: id, RecordID: "rec-" + id,
			RecordType: "appointment", Op: "create", Fields: []string{"status"}, Device: "other"}})
		f.seqOf[id] = seq
	}
}

func writeErr(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(syncproto.Error{Error: msg})
}

// hangUp closes the connection without an answer.
func hangUp(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	conn.Close()
}

// gate counts a request and answers it with a queued failure, if any;
// false: answered.
func (f *fakeServer) gate(name string, w http.ResponseWriter) bool {
	f.mu.Lock()
	f.hits[name]++
	if f.down {
		f.mu.Unlock()
		hangUp(w)
		return false
	}
	if q := f.fail[name]; len(q) > 0 {
		status := q[0]
		f.fail[name] = q[1:]
		ra := f.retryAfter
		f.mu.Unlock()
		if ra != "" {
			w.Header().Set("Retry-After", ra)
		}
		writeErr(w, status, "injected failure")
		return false
	}
	f.mu.Unlock()
	return true
}

func (f *fakeServer) auth(name string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !f.gate(name, w) {
			return
		}
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		f.mu.Lock()
		valid := ok && f.tokens[tok]
		f.mu.Unlock()
		if !valid {
			writeErr(w, http.StatusUnauthorized, "unknown or revoked token")
			return
		}
		if r.PathValue("tenant") != f.tenant {
			writeErr(w, http.StatusForbidden, "not your tenant")
			return
		}
		h(w, r)
	}
}

func (f *fakeServer) health(w http.ResponseWriter, r *http.Request) {
	if !f.gate("health", w) {
		return
	}
	_ = json.NewEncoder(w).Encode(syncproto.Health{Status: "ok", Protocol: syncproto.Version})
}

func (f *fakeServer) enrol(w http.ResponseWriter, r *http.Request) {
	if !f.gate("enrol", w) {
		return
	}
	var req syncproto.EnrolRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Code == "" {
		writeErr(w, http.StatusBadRequest, "malformed")
		return
	}
	if req.Code != "good-code" {
		writeErr(w, http.StatusUnauthorized, "unknown code")
		return
	}
	_ = json.NewEncoder(w).Encode(syncproto.EnrolResponse{Tenant: f.tenant, DeviceID: "dev-1", Token: testToken})
}

func (f *fakeServer) push(w http.ResponseWriter, r *http.Request) {
	var req syncproto.PushRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, syncproto.MaxBodyBytes+1)).Decode(&req); err != nil {
		writeErr(w, http.StatusBadRequest, "malformed body")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pushBodies++
	res := syncproto.PushResponse{Results: []syncproto.PushResult{}}
	for _, c := range req.Changes {
		switch {
		case f.rejectAll:
			res.Results = append(res.Results, syncproto.PushResult{ID: c.ID, Status: syncproto.StatusRejected, Reason: "test"})
		case f.retryAll || f.retryIDs[c.ID]:
			res.Results = append(res.Results, syncproto.PushResult{ID: c.ID, Status: syncproto.StatusRetry})
		case f.seqOf[c.ID] != 0:
			res.Results = append(res.Results, syncproto.PushResult{ID: c.ID, Status: syncproto.StatusDuplicate, Seq: f.seqOf[c.ID]})
		default:
			seq := int64(len(f.feed) + 1)
			c.Device = "dev-1"
			f.feed = append(f.feed, syncproto.Entry{Seq: seq, Version: c.BaseVersion + 1, Change: c})
			f.seqOf[c.ID] = seq
			res.Results = append(res.Results, syncproto.PushResult{ID: c.ID, Status: syncproto.StatusApplied, Seq: seq,
				Version: c.BaseVersion + 1})
		}
	}
	_ = json.NewEncoder(w).Encode(res)
}

func (f *fakeServer) pull(w http.ResponseWriter, r *http.Request) {
	after, err1 := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	limit, err2 := strconv.Atoi(r.URL.Query().Get("limit"))
	if err1 != nil || err2 != nil || limit <= 0 {
		writeErr(w, http.StatusBadRequest, "bad parameters")
		return
	}
	f.mu.Lock()
	f.pulls = append(f.pulls, after)
	var page []syncproto.Entry
	for _, e := range f.feed {
		if e.Seq > after && len(page) < limit {
			page = append(page, e)
		}
	}
	head := int64(len(f.feed))
	cut := f.cutPullAt
	f.cutPullAt = 0
	kid, key := f.serverKID, f.serverKey
	f.mu.Unlock()

	w.Header().Set("Content-Type", "application/x-ndjson")
	enc := json.NewEncoder(w)
	_ = enc.Encode(syncproto.PullLine{Page: &syncproto.Page{ID: "page-" + strconv.FormatInt(after, 10), JWE: "jwe",
		ServerKeyID: kid, ServerPublicKey: key}})
	last := after
	for i := range page {
		if cut > 0 && i == cut {
			http.NewResponseController(w).Flush()
			panic(http.ErrAbortHandler) // the connection drops mid-stream
		}
		_ = enc.Encode(syncproto.PullLine{Entry: &page[i]})
		last = page[i].Seq
	}
	if len(page) < limit {
		last = max(last, head) // the whole rest of the feed was sent
	}
	_ = enc.Encode(syncproto.PullLine{End: &syncproto.End{LastSeq: last, More: last < head, HeadSeq: head}})
}

func (f *fakeServer) head(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	u := f.uploads[uploadKey(r)]
	f.mu.Unlock()
	if u == nil {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	w.Header().Set(syncproto.HeaderUploadOffset, strconv.Itoa(len(u.data)))
	w.Header().Set(syncproto.HeaderUploadLength, strconv.FormatInt(u.length, 10))
	w.WriteHeader(http.StatusOK)
}

// uploadKey is what the fake keys an upload by: its record and address.
func uploadKey(r *http.Request) string { return r.PathValue("record") + "/" + r.PathValue("sha") }

func (f *fakeServer) patch(w http.ResponseWriter, r *http.Request) {
	key := uploadKey(r)
	off, err1 := strconv.ParseInt(r.Header.Get(syncproto.HeaderUploadOffset), 10, 64)
	length, err2 := strconv.ParseInt(r.Header.Get(syncproto.HeaderUploadLength), 10, 64)
	if err1 != nil || err2 != nil || length > syncproto.MaxAttachmentBytes {
		writeErr(w, http.StatusBadRequest, "bad upload headers")
		return
	}
	if r.ContentLength > syncproto.MaxChunkBytes {
		writeErr(w, http.StatusRequestEntityTooLarge, "chunk too large")
		return
	}
	f.mu.Lock()
	f.patchOffs = append(f.patchOffs, off)
	u := f.uploads[key]
	if u == nil {
		u = &upload{length: length}
		f.uploads[key] = u
	}
	have := int64(len(u.data))
	cut := f.cutUploadAt
	f.mu.Unlock()
	if off != have {
		f.mu.Lock()
		f.conflicts++
		f.mu.Unlock()
		writeErr(w, http.StatusConflict, "offset mismatch")
		return
	}
	want := r.ContentLength
	if cut > 0 && have < cut && have+want > cut {
		// Read up to the cut, keep it, and drop the connection.
		buf := make([]byte, cut-have)
		n, _ := io.ReadFull(r.Body, buf)
		f.mu.Lock()
		u.data = append(u.data, buf[:n]...)
		f.received += int64(n)
		f.cutUploadAt = 0
		f.mu.Unlock()
		hangUp(w)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	u.data = append(u.data, body...)
	f.received += int64(len(body))
	if int64(len(u.data)) == u.length {
		sum := sha256.Sum256(u.data)
		if hex.EncodeToString(sum[:]) != r.Header.Get(syncproto.HeaderUploadSHA256) {
			u.data = nil
			writeErr(w, http.StatusUnprocessableEntity, "sealed bytes do not match")
			return
		}
		u.complete = true
	}
	w.Header().Set(syncproto.HeaderUploadOffset, strconv.Itoa(len(u.data)))
	w.WriteHeader(http.StatusNoContent)
}
