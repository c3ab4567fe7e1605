package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/hlc"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

// A pulled change whose clock reading is a day ahead of this laptop's
// clock is stored, but does not move the laptop's clock: its next change
// is stamped with its own time, not a day ahead.
func TestApplyPull_ClockFromTheFutureDoesNotMoveTheClock(t *testing.T) {
	ctx := context.Background()
	ss, _ := newSession(t)
	st := ss.Store()
	future := hlc.Timestamp{Wall: time.Now().Add(24 * time.Hour).UnixMilli()}
	e := syncproto.Entry{Seq: 1, Version: 1, Change: syncproto.Change{
		ID: domain.NewID(), RecordID: domain.NewID(), RecordType: string(domain.TypeConflict), Op: "create",
		Fields: []string{"status"}, Plain: map[string]syncproto.FieldChange{"status": {New: "open"}},
		HLC: future.String(), Device: syncproto.CentralDevice, Clerk: "system", CreatedAt: time.Now().UTC().Format(time.RFC3339Nano)}}
	e.State = map[string]syncproto.FieldState{"status": {Src: e.ID, Version: 1}}
	if err := st.ApplyPull(ctx, syncproto.Page{}, []syncproto.Entry{e}, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := ss.CreateCase(ctx, sampleCase()); err != nil {
		t.Fatal(err)
	}
	v, err := st.Meta(ctx, "hlc")
	if err != nil {
		t.Fatal(err)
	}
	ts, err := hlc.Parse(v)
	if err != nil {
		t.Fatal(err)
	}
	if hlc.Ahead(ts, time.Now(), hlc.DefaultMaxLead) {
		t.Errorf("the laptop's clock moved to %v after a pull from the future", ts.Time())
	}
}
