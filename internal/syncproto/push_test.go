package syncproto_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"github.com/buergerkoffer/kit/internal/syncproto"
)

func samplePush(n int) syncproto.PushRequest {
	req := syncproto.PushRequest{Seals: []syncproto.Seal{{ID: "01a227fc-3c67-7ace-a960-1ba5cbf0e4a0", JWE: "eyJ.x.y.z"}},
		Audit: &syncproto.AuditHead{Count: 3, Hash: "ab"}}
	secret := bytes.Repeat([]byte{0x5a, 0xc3, 0x11}, 120)
	for i := range n {
		rec := fmt.Sprintf("01a227fc-3e81-77a8-aa62-%012x", 0x98aaa05c1713+i)
		req.Changes = append(req.Changes, syncproto.Change{ID: fmt.Sprintf("01a227fc-3e81-77a0-aa30-%012x", 0x1a48db87a412+i),
			RecordID: rec, RecordType: "case", Op: "create",
			Fields: []string{"form.note", "service_id", "status"},
			Plain:  map[string]syncproto.FieldChange{"service_id": {New: "anmeldung"}, "status": {Old: "draft", New: "draft"}},
			Secret: secret, HLC: "001795967172225-0000000000", Clerk: "01a227fc-3983-70a3-8056-73e905727f9b",
			CreatedAt: "2026-11-29T15:46:12.225494306Z"})
		req.Keys = append(req.Keys, syncproto.RecordKey{RecordID: rec, SealID: req.Seals[0].ID, Wrapped: []byte{1, 2, 3}})
	}
	return req
}

// A push body of either revision decodes to the request it was made of.
func TestPushBodyRoundTrip(t *testing.T) {
	req := samplePush(3)
	req.Changes[1].ID = "not-a-uuid" // stays as it is, for the server to refuse
	for _, rev := range []int{1, syncproto.RevisionCompact} {
		b, err := json.Marshal(syncproto.NewPushBody(&req, rev))
		if err != nil {
			t.Fatal(err)
		}
		var body syncproto.PushBody
		if err := json.Unmarshal(b, &body); err != nil {
			t.Fatal(err)
		}
		if got := body.Request(); !reflect.DeepEqual(got, req) {
			t.Errorf("revision %d: got\n%+v\nwant\n%+v", rev, got, req)
		}
		compact := bytes.Contains(b, []byte(`"key_wrapped"`))
		if compact != (rev >= syncproto.RevisionCompact) || bytes.Contains(b, []byte(`"device"`)) {
			t.Errorf("revision %d body: %s", rev, b)
		}
	}
	// A revision-1 body as agents before push.go sent it reads the same.
	old, _ := json.Marshal(req)
	var body syncproto.PushBody
	if err := json.Unmarshal(old, &body); err != nil {
		t.Fatal(err)
	}
	if got := body.Request(); !reflect.DeepEqual(got, req) {
		t.Errorf("old body: got %+v", got)
	}
}

func TestCompactID(t *testing.T) {
	const id = "01a227fc-3e81-77a0-aa30-1a48db87a412"
	c := syncproto.CompactID(id)
	if len(c) != 22 {
		t.Fatalf("CompactID = %q", c)
	}
	var back syncproto.WireID
	if err := json.Unmarshal([]byte(`"`+string(c)+`"`), &back); err != nil || string(back) != id {
		t.Errorf("%q decodes to %q, %v", c, back, err)
	}
	for _, s := range []string{"01A227FC-3E81-77A0-AA30-1A48DB87A412", "x", "01a227fc+3e81-77a0-aa30-1a48db87a412"} {
		if got := syncproto.CompactID(s); string(got) != s {
			t.Errorf("CompactID(%q) = %q, want it unchanged", s, got)
		}
	}
}

// Encoding and decoding a push of 1,000 changes in revision 2 with zstd,
// as agent and server do.
func BenchmarkPushBody(b *testing.B) {
	req := samplePush(1000)
	b.Run("encode", func(b *testing.B) {
		for b.Loop() {
			raw, _ := json.Marshal(syncproto.NewPushBody(&req, syncproto.RevisionCompact))
			if _, err := syncproto.Compress(raw, syncproto.EncodingZstd); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(raw)))
		}
	})
	raw, _ := json.Marshal(syncproto.NewPushBody(&req, syncproto.RevisionCompact))
	z, _ := syncproto.Compress(raw, syncproto.EncodingZstd)
	b.Run("decode", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		for b.Loop() {
			dec, _ := syncproto.NewDecoder(bytes.NewReader(z), syncproto.EncodingZstd)
			var body syncproto.PushBody
			if err := json.NewDecoder(dec).Decode(&body); err != nil {
				b.Fatal(err)
			}
			dec.Close()
			_ = body.Request()
		}
	})
}
