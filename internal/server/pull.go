package server

// This file serves a pull: one page of a tenant's feed as JSON lines, read
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
	ctx := r.Context()
	after, limit, err := pullParams(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	pub, err := crypto.ParsePublicKeyPEM([]byte(dev.PublicKeyPEM))
	if err != nil {
		s.fail(w, r, fmt.Errorf("device %s: %w", dev.ID, err))
		return
	}
	pk, err := crypto.NewContentKey()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer pk.Zero()
	jwe, err := crypto.SealKey(pub, pk, dev.KeyID)
	if err != nil {
		s.fail(w, r, err)
		return
	}

	cur, err := s.st.TenantKey(ctx, dev.Tenant)
	if err != nil {
		s.fail(w, r, err)
		return
	}

	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-store")
	rc := http.NewResponseController(w)
	out := &countingWriter{w: w}
	sent := 0
	defer func() {
		if out.n > 0 {
			s.metrics.pulled(dev.Tenant, sent, out.n)
		}
	}()
	bw := bufio.NewWriterSize(out, 64<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	// Once a byte has gone out the status is 200; a failure then cuts the
	// page short (no End line), which the agent treats as an interrupted
	// pull. Before that, a database that is away is answered 503. A
	// database that went away mid-page is logged as fail logs its 503: a
	// warning, not an error of the server's own making.
	abort := func(err error) {
		unavailable := errors.Is(err, ErrUnavailable)
		if out.n == 0 && unavailable {
			s.fail(w, r, err)
			return
		}
		switch {
		case ctx.Err() != nil:
		case unavailable:
			s.log.Warn("pull cut short: database unavailable", "tenant", dev.Tenant, "device", dev.ID, "err", err)
		default:
			s.log.Error("pull cut short", "tenant", dev.Tenant, "device", dev.ID, "err", err)
		}
		bw.Flush()
	}
	if err := enc.Encode(syncproto.PullLine{Page: &syncproto.Page{ID: domain.NewID(), JWE: jwe,
		ServerKeyID: cur.KeyID, ServerPublicKey: cur.PublicPEM}}); err != nil {
		abort(err)
		return
	}
	keys := map[string][]byte{} // record id -> content key under the page key (nil: none for this device)
	last := after
	var line []byte
	for sent < limit {
		n := min(pullChunk, limit-sent)
		rows, err := s.st.Feed(ctx, dev.Tenant, last, n)
		if err != nil {
			abort(err)
			return
		}
		for i := range rows {
			f := &rows[i]
			key, err := s.pageKeyFor(ctx, dev, f, pk, keys)
			if err != nil {
				abort(err)
				return
			}
			e := feedEntry{Seq: f.Seq, Version: f.Version, ID: f.ID, RecordID: f.RecordID, RecordType: f.RecordType,
				Op: f.Op, Fields: json.RawMessage(f.Fields), Secret: f.Secret, BaseVersion: f.BaseVersion, HLC: f.HLC,
				Device: f.Device, Clerk: f.Clerk, CreatedAt: f.CreatedAt, State: json.RawMessage(f.State),
				Deleted: f.Deleted, Key: key}
			if f.Plain != "" {
				e.Plain = json.RawMessage(f.Plain)
			}
			var ok bool
			if line, ok = appendEntryLine(line[:0], &e); ok {
				_, err = bw.Write(line)
			} else {
				err = enc.Encode(feedLine{Entry: &e})
			}
			if err != nil {
				abort(err)
				return
			}
			last = f.Seq
		}
		sent += len(rows)
		if err := bw.Flush(); err != nil {
			abort(err)
			return
		}
		if err := rc.Flush(); err != nil {
			abort(err)
			return
		}
		if len(rows) < n {
			break
		}
	}
	head, err := s.st.HeadSeq(ctx, dev.Tenant)
	if err != nil {
		abort(err)
		return
	}
	policy, err := readPolicy(ctx, s.st, dev.Tenant)
	if err != nil {
		abort(err)
		return
	}
	if err := enc.Encode(syncproto.PullLine{End: &syncproto.End{LastSeq: last, More: last < head, HeadSeq: head,
		Policy: &policy}}); err != nil {
		abort(err)
		return
	}
	if err := bw.Flush(); err != nil {
		abort(err)
	}
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
