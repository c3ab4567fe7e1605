package agent_test

// memLocal is a test double of the field store (*store.Store): the
// outbox, attachments, checkpoint and sync state in memory, with the same
// contract as agent.Local. It stands in until the lead's store is wired
// into end-to-end tests; the network in these tests is real.

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/buergerkoffer/kit/internal/agent"
	"github.com/buergerkoffer/kit/internal/store"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

var _ agent.Local = (*memLocal)(nil)

type memChange struct {
	c        syncproto.Change
	pushed   bool
	rejected string
	inFlight int64 // the batch that carries it, 0 if none
}

type memUpload struct {
	u        store.Upload
	data     []byte
	uploaded bool
}

var memLocals atomic.Int32

type memLocal struct {
	name       string // prefix of change ids, unique per test double
	mu         sync.Mutex
	enrol      store.Enrolment
	enrolled   bool
	outbox     []*memChange
	uploads    []*memUpload
	checkpoint int64
	pulled     map[string]int // change id -> times applied
	pages      []string
	state      map[string]string
	request    int // "sync now" presses
	applyCalls int
	maxChunk   int
	claims     int
	maxFlight  int // most changes in flight at once

	serverKeyCalls int   // SetServerKey calls
	serverKeyErr   error // what SetServerKey answers
}

func newMemLocal(serverURL string) *memLocal {
	return &memLocal{name: fmt.Sprintf("l%d", memLocals.Add(1)), enrolled: true, enrol: store.Enrolment{ServerURL: serverURL, Tenant: testTenant, DeviceID: "dev-1",
		Token: testToken}, pulled: map[string]int{}, state: map[string]string{}}
}

// write adds n changes to the outbox, as the app does.
func (m *memLocal) write(n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for range n {
		id := fmt.Sprintf("%s-chg-%d", m.name, len(m.outbox)+1)
		m.outbox = append(m.outbox, &memChange{c: syncproto.Change{ID: id, RecordID: "rec-" + id, RecordType: "case",
			Op: "create", Fields: []string{"status"}, Secret: []byte("sealed"), HLC: "0000000001-0000"}})
	}
}

func (m *memLocal) addUpload(sha string, data []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.uploads = append(m.uploads, &memUpload{u: store.Upload{SHA256: sha, RecordID: "rec-" + sha, Size: int64(len(data))}, data: data})
}

func (m *memLocal) get(key string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state[key]
}

func (m *memLocal) cp() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.checkpoint
}

func (m *memLocal) pending() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, c := range m.outbox {
		if !c.pushed && c.rejected == "" {
			n++
		}
	}
	return n
}

func (m *memLocal) Enrolment(context.Context) (store.Enrolment, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.enrolled {
		return store.Enrolment{}, store.ErrNotEnrolled
	}
	return m.enrol, nil
}

func (m *memLocal) ClaimPush(_ context.Context, limit int, batch int64) (syncproto.PushRequest, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.claims++
	req := syncproto.PushRequest{}
	flying := 0
	for _, c := range m.outbox {
		if c.inFlight != 0 {
			flying++
		}
	}
	for _, c := range m.outbox {
		if len(req.Changes) == limit {
			break
		}
		if !c.pushed && c.rejected == "" && c.inFlight == 0 {
			c.inFlight = batch
			req.Changes = append(req.Changes, c.c)
		}
	}
	m.maxFlight = max(m.maxFlight, flying+len(req.Changes))
	return req, nil
}

func (m *memLocal) ReleasePush(_ context.Context, req syncproto.PushRequest) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.land(req)
	return nil
}

func (m *memLocal) ResetPush(context.Context) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int64
	for _, c := range m.outbox {
		if c.inFlight != 0 {
			c.inFlight = 0
			n++
		}
	}
	return n, nil
}

// land clears the in-flight marks of req's changes.
func (m *memLocal) land(req syncproto.PushRequest) {
	ids := map[string]bool{}
	for _, c := range req.Changes {
		ids[c.ID] = true
	}
	for _, c := range m.outbox {
		if ids[c.c.ID] {
			c.inFlight = 0
		}
	}
}

func (m *memLocal) AckPush(_ context.Context, req syncproto.PushRequest, resp syncproto.PushResponse) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(resp.Results) != len(req.Changes) {
		return fmt.Errorf("mem: %d results for %d changes", len(resp.Results), len(req.Changes))
	}
	m.land(req)
	byID := map[string]*memChange{}
	for _, c := range m.outbox {
		byID[c.c.ID] = c
	}
	for _, r := range resp.Results {
		c := byID[r.ID]
		switch r.Status {
		case syncproto.StatusApplied, syncproto.StatusDuplicate:
			c.pushed = true
		case syncproto.StatusRejected:
			c.rejected = r.Reason
		}
	}
	return nil
}

func (m *memLocal) PendingUploads(ctx context.Context, fn func(store.Upload) error) error {
	m.mu.Lock()
	var ups []store.Upload
	for _, u := range m.uploads {
		if !u.uploaded {
			ups = append(ups, u.u)
		}
	}
	m.mu.Unlock()
	for _, u := range ups {
		if err := fn(u); err != nil {
			return err
		}
	}
	return nil
}

func (m *memLocal) UploadData(_ context.Context, recordID, sha string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, u := range m.uploads {
		if u.u.RecordID == recordID && u.u.SHA256 == sha {
			return u.data, nil
		}
	}
	return nil, store.ErrNotFound
}

func (m *memLocal) MarkUploaded(_ context.Context, recordID, sha string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, u := range m.uploads {
		if u.u.RecordID == recordID && u.u.SHA256 == sha {
			u.uploaded = true
		}
	}
	return nil
}

func (m *memLocal) Checkpoint(context.Context) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.checkpoint, nil
}

func (m *memLocal) ApplyPull(_ context.Context, page syncproto.Page, entries []syncproto.Entry, lastSeq int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if lastSeq < m.checkpoint {
		return fmt.Errorf("mem: checkpoint back from %d to %d", m.checkpoint, lastSeq)
	}
	for _, e := range entries {
		if e.Seq <= m.checkpoint || e.Seq > lastSeq {
			return fmt.Errorf("mem: entry %d outside (%d, %d]", e.Seq, m.checkpoint, lastSeq)
		}
		m.pulled[e.ID]++
	}
	m.applyCalls++
	m.maxChunk = max(m.maxChunk, len(entries))
	m.pages = append(m.pages, page.ID)
	m.checkpoint = lastSeq
	m.state[store.StateCheckpoint] = strconv.FormatInt(lastSeq, 10)
	return nil
}

// Compact keeps every pulled entry (memLocal keeps none but counts).
func (m *memLocal) Compact(context.Context) (store.CompactReport, error) {
	return store.CompactReport{}, nil
}

func (m *memLocal) SetSyncState(_ context.Context, kv map[string]string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, v := range kv {
		m.state[k] = v
	}
	return nil
}

func (m *memLocal) Pending(context.Context) (int64, int64, error) {
	n := m.pending()
	return int64(n), int64(n * 100), nil
}

func (m *memLocal) Watermark(context.Context) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return fmt.Sprintf("%d/%d", len(m.outbox), m.request), nil
}

func (m *memLocal) SetServerKey(_ context.Context, publicPEM, kid string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.serverKeyCalls++
	if m.serverKeyErr != nil {
		return m.serverKeyErr
	}
	m.enrol.ServerPublicKey, m.enrol.ServerKeyID = publicPEM, kid
	return nil
}
