package server

// This file serves a pull: one page of a tenant's feed, as JSON lines
// (revision 1) or frames (revision 2, syncproto/pullframe.go), read
// from the read pool in chunks (no read transaction stays open while the
// page goes out over the network, and no page is ever held in memory),
// with each record's content key wrapped under a fresh page key that is
// sealed for the pulling device. The page also names the tenant's current
// server key, which is how laptops learn of a rotation.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/buergerkoffer/kit/internal/crypto"
	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/syncproto"
	gojson "github.com/goccy/go-json"
)

// pullChunk is how many feed rows are read, written and flushed at a time.
const pullChunk = 256

// feedEntry is syncproto.Entry with the stored JSON passed through as it
// is, which spares decoding and re-encoding it for every pulled change.
// It encodes to the same JSON as syncproto.Entry.
type feedEntry struct {
	Seq         int64           `json:"seq"`
	Version     int64           `json:"version"`
	ID          string          `json:"id"`
	RecordID    string          `json:"record_id"`
	RecordType  string          `json:"record_type"`
	Op          string          `json:"op"`
	Fields      json.RawMessage `json:"fields"`
	Plain       json.RawMessage `json:"plain,omitempty"`
	Secret      []byte          `json:"secret,omitempty"`
	BaseVersion int64           `json:"base_version"`
	HLC         string          `json:"hlc"`
	Device      string          `json:"device"`
	Clerk       string          `json:"clerk"`
	CreatedAt   string          `json:"created_at"`
	State       json.RawMessage `json:"state"`
	Deleted     bool            `json:"deleted"`
	Key         []byte          `json:"key,omitempty"`
}

type feedLine struct {
	Entry *feedEntry `json:"entry"`
}

// pullParams reads after and limit; limit defaults to
// syncproto.DefaultPullLimit and is capped at syncproto.MaxPullLimit.
func pullParams(r *http.Request) (after int64, limit int, err error) {
	q := r.URL.Query()
	if v := q.Get("after"); v != "" {
		if after, err = strconv.ParseInt(v, 10, 64); err != nil || after < 0 {
			return 0, 0, fmt.Errorf("after must be a seq (0 or more)")
		}
	}
	limit = syncproto.DefaultPullLimit
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 {
			return 0, 0, fmt.Errorf("limit must be 1 or more")
		}
	}
	return after, min(limit, syncproto.MaxPullLimit), nil
}

func (s *Server) handlePull(w http.ResponseWriter, r *http.Request, dev Device) {
	after, limit, err := pullParams(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	p, err := s.newPullRun(w, r, dev)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer p.close()
	if err := p.page(); err != nil {
		p.abort(err)
		return
	}
	last, err := p.entries(after, limit)
	if err != nil {
		p.abort(err)
		return
	}
	if err := p.end(last); err != nil {
		p.abort(err)
	}
}

// pullRun is one pull answer on its way out.
type pullRun struct {
	s   *Server
	w   http.ResponseWriter
	r   *http.Request
	ctx context.Context
	dev Device

	pk      crypto.ContentKey // the page key
	jwe     string            // pk sealed for the device
	current TenantKey         // the tenant's current server key
	keys    map[string][]byte // record id -> content key under pk (nil: none for this device)
	sentKey map[string]bool   // records whose key went out in this page (revision 2 sends it once)
	// ownStubs: the device's own changes, merged as pushed, go as stubs
	// (revision 2, unless it asked for them in full).
	ownStubs bool
	keyOnce  bool // a record's key once per page (revision 2)

	out   *countingWriter
	bw    *bufio.Writer
	lines pullLines
	sent  int // entries sent
}

// pullLines writes the lines of a pull in one revision's form.
type pullLines interface {
	page(syncproto.Page) error
	entry(f *FeedRow, key []byte) error
	own(seq, version int64) error
	end(syncproto.End) error
}

// newPullRun makes the page key, seals it for the device, reads the
// tenant's current server key (before any byte goes out, so that a
// database that is away is answered 503) and picks the form the device
// reads: frames for revision 2 and later, JSON lines for
// an agent of revision 1.
func (s *Server) newPullRun(w http.ResponseWriter, r *http.Request, dev Device) (*pullRun, error) {
	pub, err := crypto.ParsePublicKeyPEM([]byte(dev.PublicKeyPEM))
	if err != nil {
		return nil, fmt.Errorf("device %s: %w", dev.ID, err)
	}
	pk, err := crypto.NewContentKey()
	if err != nil {
		return nil, err
	}
	jwe, err := crypto.SealKey(pub, pk, dev.KeyID)
	if err != nil {
		pk.Zero()
		return nil, err
	}
	cur, err := s.st.TenantKey(r.Context(), dev.Tenant)
	if err != nil {
		pk.Zero()
		return nil, err
	}
	p := &pullRun{s: s, w: w, r: r, ctx: r.Context(), dev: dev, pk: pk, jwe: jwe, current: cur,
		keys: map[string][]byte{}, sentKey: map[string]bool{}}
	p.out = &countingWriter{w: w}
	p.bw = bufio.NewWriterSize(p.out, 64<<10)
	client, _ := syncproto.ParseRange(r.Header.Get(syncproto.HeaderProtocol)) // checked by protocolGate
	if min(client.Max, s.protocol.Max) >= syncproto.FramesRevision {
		w.Header().Set("Content-Type", syncproto.PullTypeFrames)
		p.lines = &pullFrames{syncproto.NewPullWriter(p.bw)}
		p.ownStubs = r.URL.Query().Get(syncproto.QueryOwnFull) != "full"
		p.keyOnce = true
	} else {
		w.Header().Set("Content-Type", syncproto.PullTypeLines)
		enc := json.NewEncoder(p.bw)
		enc.SetEscapeHTML(false)
		p.lines = &pullJSONLines{bw: p.bw, enc: enc}
	}
	w.Header().Set("Cache-Control", "no-store")
	return p, nil
}

func (p *pullRun) close() {
	p.pk.Zero()
	if p.out.n > 0 {
		p.s.metrics.pulled(p.dev.Tenant, p.sent, p.out.n)
	}
}

// abort ends a pull that failed. Once a byte has gone out the status is
// 200; a failure then cuts the page short (no End line), which the agent
// treats as an interrupted pull. Before that, a database that is away is
// answered 503. A database that went away mid-page is logged as fail logs
// its 503: a warning, not an error of the server's own making.
func (p *pullRun) abort(err error) {
	unavailable := errors.Is(err, ErrUnavailable)
	if p.out.n == 0 && unavailable {
		p.s.fail(p.w, p.r, err)
		return
	}
	switch {
	case p.ctx.Err() != nil:
	case unavailable:
		p.s.log.Warn("pull cut short: database unavailable", "tenant", p.dev.Tenant, "device", p.dev.ID, "err", err)
	default:
		p.s.log.Error("pull cut short", "tenant", p.dev.Tenant, "device", p.dev.ID, "err", err)
	}
	p.bw.Flush()
}

// page writes the page line: the page key, and the tenant's current
// server key.
func (p *pullRun) page() error {
	return p.lines.page(syncproto.Page{ID: domain.NewID(), JWE: p.jwe, ServerKeyID: p.current.KeyID,
		ServerPublicKey: p.current.PublicPEM})
}

// entries writes up to limit entries after seq after, read and flushed a
// chunk at a time, and returns the seq of the last one (after if none).
func (p *pullRun) entries(after int64, limit int) (int64, error) {
	rc := http.NewResponseController(p.w)
	last := after
	for p.sent < limit {
		n := min(pullChunk, limit-p.sent)
		rows, err := p.s.st.Feed(p.ctx, p.dev.Tenant, last, n)
		if err != nil {
			return last, err
		}
		for i := range rows {
			if err := p.entry(&rows[i]); err != nil {
				return last, err
			}
			last = rows[i].Seq
		}
		p.sent += len(rows)
		if err := p.bw.Flush(); err != nil {
			return last, err
		}
		if err := rc.Flush(); err != nil {
			return last, err
		}
		if len(rows) < n {
			break
		}
	}
	return last, nil
}

// entry writes one feed row: a stub if it is the device's own change as
// it pushed it, else the whole entry with the record's key where the
// device gets it.
func (p *pullRun) entry(f *FeedRow) error {
	if p.ownStubs && f.Device == p.dev.ID {
		asPushed, err := mergedAsPushed(f)
		if err != nil {
			return err
		}
		if asPushed {
			return p.lines.own(f.Seq, f.Version)
		}
	}
	key, err := p.s.pageKeyFor(p.ctx, p.dev, f, p.pk, p.keys)
	if err != nil {
		return err
	}
	if p.keyOnce {
		if p.sentKey[f.RecordID] {
			key = nil
		} else if len(key) > 0 {
			p.sentKey[f.RecordID] = true
		}
	}
	return p.lines.entry(f, key)
}

// mergedAsPushed reports whether the server merged a change as its device
// pushed it: every field it names is its own at the change's version and
// no other field is in its state (no conflict brought the record back),
// and the record is deleted exactly when the change deletes it. The
// device then rebuilds the entry from what it holds.
func mergedAsPushed(f *FeedRow) (bool, error) {
	if f.Deleted != (f.Op == "delete") {
		return false, nil
	}
	e := syncproto.Entry{Seq: f.Seq, Version: f.Version}
	e.ID = f.ID
	if err := gojson.Unmarshal([]byte(f.Fields), &e.Fields); err != nil {
		return false, fmt.Errorf("change %s: fields: %w", f.ID, err)
	}
	if err := gojson.Unmarshal([]byte(f.State), &e.State); err != nil {
		return false, fmt.Errorf("change %s: state: %w", f.ID, err)
	}
	return syncproto.CanonicalState(&e), nil
}

// end writes the End line: the checkpoint, whether more follows, and the
// tenant's policy.
func (p *pullRun) end(last int64) error {
	head, err := p.s.st.HeadSeq(p.ctx, p.dev.Tenant)
	if err != nil {
		return err
	}
	policy, err := readPolicy(p.ctx, p.s.st, p.dev.Tenant)
	if err != nil {
		return err
	}
	if err := p.lines.end(syncproto.End{LastSeq: last, More: last < head, HeadSeq: head, Policy: &policy}); err != nil {
		return err
	}
	return p.bw.Flush()
}

// pullJSONLines is the pull of revision 1: JSON lines, every entry whole.
type pullJSONLines struct {
	bw   *bufio.Writer
	enc  *json.Encoder
	line []byte
}

func (j *pullJSONLines) page(pg syncproto.Page) error {
	return j.enc.Encode(syncproto.PullLine{Page: &pg})
}

func (j *pullJSONLines) end(e syncproto.End) error { return j.enc.Encode(syncproto.PullLine{End: &e}) }

func (j *pullJSONLines) own(int64, int64) error {
	return errors.New("pull: revision 1 has no own-change stubs")
}

func (j *pullJSONLines) entry(f *FeedRow, key []byte) error {
	e := feedEntry{Seq: f.Seq, Version: f.Version, ID: f.ID, RecordID: f.RecordID, RecordType: f.RecordType,
		Op: f.Op, Fields: json.RawMessage(f.Fields), Secret: f.Secret, BaseVersion: f.BaseVersion, HLC: f.HLC,
		Device: f.Device, Clerk: f.Clerk, CreatedAt: f.CreatedAt, State: json.RawMessage(f.State),
		Deleted: f.Deleted, Key: key}
	if f.Plain != "" {
		e.Plain = json.RawMessage(f.Plain)
	}
	var ok bool
	if j.line, ok = appendEntryLine(j.line[:0], &e); ok {
		_, err := j.bw.Write(j.line)
		return err
	}
	return j.enc.Encode(feedLine{Entry: &e})
}

// pullFrames is the pull of revision 2 (syncproto/pullframe.go).
type pullFrames struct{ w *syncproto.PullWriter }

func (p *pullFrames) page(pg syncproto.Page) error { return p.w.Page(pg) }
func (p *pullFrames) end(e syncproto.End) error    { return p.w.End(e) }
func (p *pullFrames) own(seq, version int64) error { return p.w.Own(seq, version) }

func (p *pullFrames) entry(f *FeedRow, key []byte) error {
	e := syncproto.Entry{Seq: f.Seq, Version: f.Version, Deleted: f.Deleted, Key: key}
	e.Change = syncproto.Change{ID: f.ID, RecordID: f.RecordID, RecordType: f.RecordType, Op: f.Op, Secret: f.Secret,
		BaseVersion: f.BaseVersion, HLC: f.HLC, Device: f.Device, Clerk: f.Clerk, CreatedAt: f.CreatedAt}
	if err := gojson.Unmarshal([]byte(f.Fields), &e.Fields); err != nil {
		return fmt.Errorf("change %s: fields: %w", f.ID, err)
	}
	if f.Plain != "" {
		if err := gojson.Unmarshal([]byte(f.Plain), &e.Plain); err != nil {
			return fmt.Errorf("change %s: plain: %w", f.ID, err)
		}
	}
	if err := gojson.Unmarshal([]byte(f.State), &e.State); err != nil {
		return fmt.Errorf("change %s: state: %w", f.ID, err)
	}
	return p.w.Entry(&e)
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// pageKeyFor returns a record's content key wrapped under the page key
// (AAD "record_key:<record id>", as the device expects), or nil where the
// device must not or need not get it: it sent the record itself, the
// record is a case past its draft (a signed application: the laptop keeps
// only its status), the record has no key (a conflict record), or its key
// does not open (logged by record id).
func (s *Server) pageKeyFor(ctx context.Context, dev Device, f *FeedRow, pk crypto.ContentKey, cache map[string][]byte) ([]byte, error) {
	if w, ok := cache[f.RecordID]; ok {
		return w, nil
	}
	var w []byte
	signed := f.RecordType == string(domain.TypeCase) && f.RecordStatus != "" && f.RecordStatus != string(domain.StatusDraft)
	if f.HasKey && f.Key.OriginDevice != dev.ID && !signed {
		var ck crypto.ContentKey
		var err error
		badSeal := "seal:" + f.Key.SealID // in cache: a seal that did not open in this page
		if _, ok := cache[badSeal]; ok && f.Key.SealID != "" {
			err = fmt.Errorf("seal %s: %w (seen in this page)", f.Key.SealID, errBadSeal)
		} else if ck, err = s.contentKey(ctx, s.st, f.Key); errors.Is(err, errBadSeal) {
			cache[badSeal] = nil // one attempt per page, not one RSA operation per record
		}
		if unusableKey(err) {
			// One key that does not open must not stop every laptop's
			// pull at this seq: the entry goes without it (its sealed
			// values stay unreadable on the laptop, as for a signed case).
			s.log.Warn("pull: record key does not open, sent without it", "tenant", dev.Tenant, "device", dev.ID,
				"record", f.RecordID, "seal", f.Key.SealID, "err", err)
			cache[f.RecordID] = nil
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		w, err = crypto.WrapKey(crypto.DataKey(pk), ck[:], recordKeyAAD(f.RecordID))
		ck.Zero()
		if err != nil {
			return nil, fmt.Errorf("wrap key of record %s: %w", f.RecordID, err)
		}
	}
	cache[f.RecordID] = w
	return w, nil
}
