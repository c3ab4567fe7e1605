package server

// This file applies changes inside one write transaction: the merge
// (package merge), the change row in the feed, the record's new state and,
// for every conflict, a conflict record written as a central change right
// after. Pushes and central changes both go through it.

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/hlc"
	"github.com/buergerkoffer/kit/internal/merge"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

// SystemClerk is the clerk of the conflict records the server writes.
const SystemClerk = "system"

// applier applies changes of one tenant within one transaction. Records
// it read or changed are kept, and the changes it accepted are buffered,
// until flush writes them, each statement for many rows.
type applier struct {
	s      *Server
	ctx    context.Context
	tx     Tx
	tenant string
	now    time.Time
	rules  merge.Rules

	clock      hlc.Timestamp
	clockDirty bool

	records map[string]*merge.Record // nil value: the server has no such record
	stored  map[string]*merge.Record // the same as the store holds them, for the inbox
	dirty   map[string]bool          // records changed, to write in flush
	order   []string                 // the same, in the order first changed
	rows    []*ChangeRow             // accepted changes, in feed order
	seqs    []int64                  // their seqs, after flush
}

func (s *Server) newApplier(ctx context.Context, tx Tx, tenant string) (*applier, error) {
	a := &applier{s: s, ctx: ctx, tx: tx, tenant: tenant, now: s.now(), rules: s.rules(),
		records: map[string]*merge.Record{}, stored: map[string]*merge.Record{}, dirty: map[string]bool{}}
	v, err := tx.Meta(ctx, metaClock)
	if err != nil {
		return nil, err
	}
	if a.clock, err = hlc.Parse(v); err != nil {
		return nil, fmt.Errorf("read clock: %w", err)
	}
	return a, nil
}

// rules tells merge which form fields are captured with the citizen
// present, from the catalog.
func (s *Server) rules() merge.Rules {
	return merge.Rules{InPresence: func(serviceID, field string) bool {
		svc, ok := s.cat.Service(serviceID)
		if !ok {
			return false
		}
		f, ok := svc.Field(field)
		return ok && f.CapturedInPresence
	}}
}

// next issues a clock value for a change the server makes.
func (a *applier) next() hlc.Timestamp {
	a.clock = hlc.Next(a.clock, a.now)
	a.clockDirty = true
	return a.clock
}

// receive takes a device's change's clock reading (already validated):
// it moves the server's clock past it, as the hybrid logical clock's
// receive rule says. A reading more than the server's MaxClockLead ahead
// of the server's own clock is not believed: the change is restamped with
// the server's next reading, so that a laptop whose clock runs ahead
// neither wins every conflict decided by the later clock nor drags the
// server's clock with it. The change itself is accepted (refusing it
// would keep a citizen's data from the town hall); restamped tells the
// device, so the clerk is asked to check the laptop's clock.
func (a *applier) receive(ch *syncproto.Change) (restamped bool) {
	ts, err := hlc.Parse(ch.HLC)
	if err != nil {
		return false
	}
	if hlc.Ahead(ts, a.now, a.s.maxLead) {
		ch.HLC = a.next().String()
		return true
	}
	a.clock = hlc.Recv(a.clock, ts, a.now)
	a.clockDirty = true
	return false
}

// prefetch reads the records with these ids in one go.
func (a *applier) prefetch(ids []string) error {
	var want []string
	for _, id := range ids {
		if _, ok := a.records[id]; !ok {
			want = append(want, id)
		}
	}
	got, err := a.tx.Records(a.ctx, a.tenant, want)
	if err != nil {
		return err
	}
	for _, id := range want {
		a.records[id], a.stored[id] = got[id], got[id] // nil: none
	}
	return nil
}

// load returns the record as it stands in this transaction (nil: none).
func (a *applier) load(id string) (*merge.Record, error) {
	if r, ok := a.records[id]; ok {
		return r, nil
	}
	r, err := a.tx.Record(a.ctx, a.tenant, id)
	if err != nil {
		return nil, err
	}
	a.records[id], a.stored[id] = r, r
	return r, nil
}

func (a *applier) put(r merge.Record) {
	if !a.dirty[r.ID] {
		a.dirty[r.ID] = true
		a.order = append(a.order, r.ID)
	}
	a.records[r.ID] = &r
}

// flush writes the accepted changes, the changed records and the clock.
// Afterwards seq(i) is the seq of the i-th accepted change.
func (a *applier) flush() error {
	seqs, err := a.tx.AddChanges(a.ctx, a.rows)
	if err != nil {
		return err
	}
	a.seqs = seqs
	var added, changed []*merge.Record
	for _, id := range a.order {
		if a.stored[id] == nil {
			added = append(added, a.records[id])
		} else {
			changed = append(changed, a.records[id])
		}
	}
	if err := a.tx.PutRecords(a.ctx, a.tenant, added, changed); err != nil {
		return err
	}
	put, drop := a.inbox()
	if err := a.tx.PutInbox(a.ctx, a.tenant, put, drop); err != nil {
		return err
	}
	if a.clockDirty {
		if err := a.tx.SetMeta(a.ctx, metaClock, a.clock.String()); err != nil {
			return err
		}
	}
	return nil
}

// inbox returns the office inbox rows of the changed records that are in
// the inbox, and the ids of those that left it. A record that was not in
// the inbox and is not now (a draft, most of a push) writes nothing.
func (a *applier) inbox() (put []InboxRow, drop []string) {
	for _, id := range a.order {
		row, in := officeCase(a.records[id])
		if in {
			put = append(put, row)
			continue
		}
		if was := a.stored[id]; was != nil {
			if _, wasIn := officeCase(was); wasIn {
				drop = append(drop, id)
			}
		}
	}
	return put, drop
}

func (a *applier) seq(i int) int64 {
	if i < 0 || i >= len(a.seqs) {
		return 0
	}
	return a.seqs[i]
}

// reason turns a merge error into the reason a device is told; merge's
// errors name ids, types and field names only, never values.
func reason(err error) string {
	for _, e := range []error{merge.ErrUnknownRecord, merge.ErrExists, merge.ErrDeleted, merge.ErrBadChange} {
		if errors.Is(err, e) {
			return err.Error()
		}
	}
	return "cannot merge"
}

// incoming is a change with the JSON the feed stores of it, made before
// the write transaction.
type incoming struct {
	ch            *syncproto.Change
	fields, plain string
}

func newIncoming(ch *syncproto.Change) (incoming, error) {
	in := incoming{ch: ch, fields: encodeFields(ch.Fields)}
	if len(ch.Plain) > 0 {
		in.plain = encodePlain(ch.Plain)
	}
	return in, nil
}

// apply merges a change (its Device set by the caller) into its record,
// buffers it for the feed and adds a conflict record per conflict. It
// returns the change's result and the index of its row (-1 if none; the
// seq is known after flush). A change that cannot merge is rejected and
// changes nothing; err is only for failures of the store.
func (a *applier) apply(in incoming) (syncproto.PushResult, int, error) {
	ch := in.ch
	res := syncproto.PushResult{ID: ch.ID}
	cur, err := a.load(ch.RecordID)
	if err != nil {
		return res, -1, err
	}
	mc := merge.Change{
		Side:     merge.Side{Change: ch.ID, Device: ch.Device, Clerk: ch.Clerk, HLC: ch.HLC},
		RecordID: ch.RecordID, RecordType: ch.RecordType, Op: ch.Op, Fields: ch.Fields,
		Plain: make(map[string]merge.PlainChange, len(ch.Plain)), BaseVersion: ch.BaseVersion,
	}
	for k, v := range ch.Plain {
		mc.Plain[k] = merge.PlainChange{Old: v.Old, New: v.New}
	}
	out, err := merge.Apply(cur, mc, a.rules)
	if err != nil {
		res.Status, res.Reason = syncproto.StatusRejected, reason(err)
		return res, -1, nil
	}
	row := &ChangeRow{Tenant: a.tenant, ID: ch.ID, RecordID: ch.RecordID, RecordType: ch.RecordType, Op: ch.Op,
		Fields: in.fields, Plain: in.plain, Secret: ch.Secret, BaseVersion: ch.BaseVersion, Version: out.Record.Version,
		HLC: ch.HLC, Device: ch.Device, Clerk: ch.Clerk, CreatedAt: ch.CreatedAt, ReceivedAt: a.now,
		Deleted: out.Record.Deleted, State: encodeState(out.State)}
	idx := len(a.rows)
	a.rows = append(a.rows, row)
	a.put(out.Record)
	for _, c := range out.Conflicts {
		if err := a.conflict(&out.Record, c); err != nil {
			return res, -1, err
		}
	}
	res.Status, res.Version, res.Conflicts = syncproto.StatusApplied, out.Record.Version, len(out.Conflicts)
	return res, idx, nil
}

// conflict adds a conflict record for c as a central change.
func (a *applier) conflict(rec *merge.Record, c merge.Conflict) error {
	vals := map[string]string{
		"record_id": rec.ID, "record_type": rec.Type, "field": c.Field, "kind": c.Kind,
		"base_version": strconv.FormatInt(c.BaseVersion, 10),
		"a_change":     c.A.Change, "a_device": c.A.Device, "a_clerk": c.A.Clerk, "a_hlc": c.A.HLC, "a_value": c.AValue,
		"b_change": c.B.Change, "b_device": c.B.Device, "b_clerk": c.B.Clerk, "b_hlc": c.B.HLC, "b_value": c.BValue,
		"base_value": c.BaseValue, "winner": c.Winner, "rule": c.Rule, "status": "open",
	}
	ch := &syncproto.Change{ID: domain.NewID(), RecordID: domain.NewID(), RecordType: string(domain.TypeConflict),
		Op: "create", Plain: map[string]syncproto.FieldChange{}, HLC: a.next().String(),
		Device: syncproto.CentralDevice, Clerk: SystemClerk, CreatedAt: a.now.UTC().Format(time.RFC3339Nano)}
	for k, v := range vals {
		if v != "" {
			ch.Fields = append(ch.Fields, k)
			ch.Plain[k] = syncproto.FieldChange{New: v}
		}
	}
	sort.Strings(ch.Fields)
	in, err := newIncoming(ch)
	if err != nil {
		return err
	}
	a.records[ch.RecordID], a.stored[ch.RecordID] = nil, nil // new: no need to look
	res, _, err := a.apply(in)
	if err != nil {
		return err
	}
	if res.Status != syncproto.StatusApplied {
		return fmt.Errorf("write conflict record for %s: %s", rec.ID, res.Reason)
	}
	return nil
}
