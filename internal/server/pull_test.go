package server

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"testing"

	"github.com/buergerkoffer/kit/internal/crypto"
	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

// pullFrames pulls one page in revision 2 and returns its page key (to
// open the keys with) and its entries.
func (l *laptop) pullFrames(after int64, query string) (crypto.ContentKey, []syncproto.Entry, *syncproto.End) {
	l.k.t.Helper()
	st, b, hdr := l.k.do("GET", fmt.Sprintf("/v1/tenants/%s/pull?after=%d%s", l.tenant, after, query), l.token, nil,
		map[string]string{syncproto.HeaderProtocol: "1-2"})
	if st != http.StatusOK || hdr.Get("Content-Type") != syncproto.PullTypeFrames {
		l.k.t.Fatalf("%s pull in revision 2: %d %s %q", l.name, st, hdr.Get("Content-Type"), b)
	}
	r := syncproto.NewPullReader(bytes.NewReader(b))
	var pk crypto.ContentKey
	var entries []syncproto.Entry
	for {
		var line syncproto.PullLine
		err := r.Next(&line)
		if err == io.EOF {
			l.k.t.Fatal("revision 2 pull without end")
		}
		if err != nil {
			l.k.t.Fatal(err)
		}
		switch {
		case line.Page != nil:
			if pk, err = crypto.OpenKey(l.priv, line.Page.JWE); err != nil {
				l.k.t.Fatal(err)
			}
		case line.Entry != nil:
			entries = append(entries, *line.Entry)
		case line.End != nil:
			return pk, entries, line.End
		}
	}
}

// A pull in revision 2 carries what one in revision 1 carries, but the
// pulling device's own changes, merged as it pushed them, as stubs (in
// full on request), and each record's key once per page; an agent of
// revision 1 (or of before the header) still gets JSON lines, every entry
// whole.
func TestPull_Revision2CarriesWhatRevision1Does(t *testing.T) {
	k := startKit(t)
	a, b := k.enrol("a", tenantA, 2), k.enrol("b", tenantA, 3)
	c1, k1 := a.create(domain.TypeVisit, domain.Fields{"place": "Ort 1", "venue_address": "Marktplatz 1"})
	c2, k2 := a.create(domain.TypeVisit, domain.Fields{"place": "Ort 2"})
	wantStatus(t, a.push([]syncproto.RecordKey{k1, k2}, c1, c2), syncproto.StatusApplied, syncproto.StatusApplied)
	wantStatus(t, a.push(nil, a.change("update", domain.TypeVisit, c1.RecordID, 1,
		domain.Fields{"venue_address": "Marktplatz 1"}, domain.Fields{"venue_address": "Saal A"})), syncproto.StatusApplied)
	wantStatus(t, b.push(nil, b.change("update", domain.TypeVisit, c2.RecordID, 1, nil,
		domain.Fields{"venue_address": "Saal B"})), syncproto.StatusApplied)

	// A, in revision 1: four entries whole, as JSON lines (pull checks
	// the content type), without keys (its own records).
	rev1 := a.pull(0, 0)
	if len(rev1.entries) != 4 {
		t.Fatalf("revision 1: %d entries", len(rev1.entries))
	}
	st, _, hdr := k.do("GET", "/v1/tenants/"+tenantA+"/pull?after=0", a.token, nil,
		map[string]string{syncproto.HeaderProtocol: "1-1"})
	if st != http.StatusOK || hdr.Get("Content-Type") != syncproto.PullTypeLines {
		t.Fatalf("laptop 1-1: %d %q", st, hdr.Get("Content-Type"))
	}

	// A, in revision 2: its three changes as stubs, B's edit whole.
	_, got, end := a.pullFrames(0, "")
	if len(got) != 4 || end.LastSeq != rev1.end.LastSeq {
		t.Fatalf("revision 2: %d entries, end %+v", len(got), end)
	}
	for i, e := range got {
		w := rev1.entries[i]
		if w.Device == a.id {
			if !e.Own || e.Seq != w.Seq || e.Version != w.Version {
				t.Errorf("own change %d: got %+v, want a stub of seq %d version %d", w.Seq, e, w.Seq, w.Version)
			}
			continue
		}
		if !reflect.DeepEqual(e, w) {
			t.Errorf("entry %d:\n got %+v\nwant %+v", w.Seq, e, w)
		}
	}
	// On request, its own changes whole: the same entries as revision 1.
	_, full, _ := a.pullFrames(0, "&own=full")
	if !reflect.DeepEqual(full, rev1.entries) {
		t.Errorf("own=full:\n got %+v\nwant %+v", full, rev1.entries)
	}

	// B gets A's records with their keys, each once, that open to A's.
	pk, bGot, _ := b.pullFrames(0, "")
	bRev1 := b.pull(0, 0).entries
	keyed := map[string]int{}
	for i, e := range bGot {
		w := bRev1[i]
		if e.Own != (w.Device == b.id) {
			t.Errorf("entry %d: own %v, device %s", w.Seq, e.Own, w.Device)
		}
		if e.Own {
			continue
		}
		if len(e.Key) > 0 {
			keyed[e.RecordID]++
			raw, err := crypto.UnwrapKey(crypto.DataKey(pk), e.Key, []byte("record_key:"+e.RecordID))
			if ck := a.keys[e.RecordID]; err != nil || !bytes.Equal(raw, ck[:]) {
				t.Errorf("key of %s does not open to A's: %v", e.RecordID, err)
			}
		}
		e.Key, w.Key = nil, nil
		if !reflect.DeepEqual(e, w) {
			t.Errorf("entry %d:\n got %+v\nwant %+v", w.Seq, e, w)
		}
	}
	if keyed[c1.RecordID] != 1 || keyed[c2.RecordID] != 1 {
		t.Errorf("keys sent per record: %v, want one each", keyed)
	}
}
