package server

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

// checkPushDecode fails if the fast decoder takes a body and makes of it
// anything but what encoding/json makes.
func checkPushDecode(t *testing.T, body []byte) bool {
	t.Helper()
	var fast syncproto.PushRequest
	if !fastDecodePush(body, &fast) {
		return false
	}
	var want syncproto.PushRequest
	if err := json.Unmarshal(body, &want); err != nil {
		t.Fatalf("fast decoder took %q, encoding/json: %v", body, err)
	}
	if !reflect.DeepEqual(fast, want) {
		t.Fatalf("%q:\nfast %#v\nwant %#v", body, fast, want)
	}
	return true
}

var pushDecodeSeeds = []string{
	`{"changes":[]}`,
	`{}`,
	` { "seals" : [ { "id" : "s" , "jwe" : "j" } ] , "keys" : [ {"record_id":"r","seal_id":"s","wrapped":"AAEC"} ], "changes" : [ ] } `,
	`{"changes":[{"id":"a","record_id":"b","record_type":"case","op":"create","fields":["x","y"],"plain":{"x":{"old":"","new":"1"},"x":{"new":"2"}},"secret":"","base_version":-0,"hlc":"h","device":"","clerk":"c","created_at":"t"}]}`,
	`{"changes":[{"fields":[],"plain":{},"secret":"aGVsbG8=","base_version":9223372036854775807}]}`,
	`{"changes":[{"base_version":9223372036854775808}]}`,
	`{"changes":[{"base_version":1.0}]}`,
	`{"changes":[{"base_version":01}]}`,
	`{"changes":[{"ID":"x"}]}`,
	`{"changes":[{"id":"x","id":"y"}]}`,
	`{"changes":[{"id":"\u0041"}]}`,
	`{"changes":[{"id":"ä€😀"}]}`,
	`{"changes":[{"secret":"aGVsbG8"}]}`,
	`{"changes":[{"secret":"aGVs\nbG8="}]}`,
	`{"changes":null}`,
	`{"changes":[null]}`,
	`{"changes":[]} x`,
	`{"changes":[],}`,
	`{"changes":[1,]}`,
	`{"keys":[{"wrapped":null}]}`,
	`{"seals":[{"id":"a"}],"seals":[]}`,
	"{\"changes\":[{\"id\":\"\xff\"}]}",
	"{\"changes\":[{\"id\":\"a\tb\"}]}",
}

func TestPushDecodeMatches(t *testing.T) {
	for _, s := range pushDecodeSeeds {
		checkPushDecode(t, []byte(s))
	}
	k := startKit(t)
	a := k.enrol("a", tenantA, 2)
	body := benchBatch(t, a, 50)
	if !checkPushDecode(t, body) {
		t.Fatal("the fast decoder did not take a laptop's push")
	}
	c, key := a.create(domain.TypeCase, domain.Fields{"status": "draft", "form.surname": "Müller <&> \u2028"})
	body, _ = json.Marshal(a.request([]syncproto.RecordKey{key}, c))
	checkPushDecode(t, body)
}

func FuzzPushDecode(f *testing.F) {
	for _, s := range pushDecodeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkPushDecode(t, b) })
}
