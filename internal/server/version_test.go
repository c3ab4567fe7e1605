package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/buergerkoffer/kit/internal/syncproto"
	"github.com/buergerkoffer/kit/internal/version"
)

// Every answer names the server's revisions and release; a request in no
// revision the server speaks is refused with 426 before authentication,
// naming who needs the update; health is always answered.
func TestProtocolGate(t *testing.T) {
	k := startKit(t)
	l := k.enrol("koffer", tenantA, 2)
	pull := "/v1/tenants/" + tenantA + "/pull?after=0"
	laterLaptop := syncproto.Range{Min: syncproto.Revision + 1, Max: syncproto.Revision + 4}.String()

	st, _, h := k.do("GET", pull, l.token, nil, nil) // a laptop from before the header: revision 1
	if st != http.StatusOK || h.Get(syncproto.HeaderProtocol) != syncproto.Revisions().String() ||
		h.Get(syncproto.HeaderVersion) != version.String() {
		t.Fatalf("legacy laptop: %d, headers %v", st, h)
	}
	for _, c := range []struct {
		laptop, update string
	}{
		{laterLaptop, "server"}, // a later laptop
		{"0-0", ""},             // not a revision: malformed
		{"x", ""},
	} {
		st, b, _ := k.do("GET", pull, l.token, nil, map[string]string{syncproto.HeaderProtocol: c.laptop})
		if c.update == "" {
			if st != http.StatusBadRequest {
				t.Errorf("laptop %q: %d %s, want 400", c.laptop, st, b)
			}
			continue
		}
		var u syncproto.UpgradeRequired
		if err := json.Unmarshal(b, &u); st != http.StatusUpgradeRequired || err != nil || u.Update != c.update ||
			!strings.HasPrefix(u.Error, "Bitte Bürgerkoffer aktualisieren") {
			t.Errorf("laptop %q: %d %s, want 426 naming the %s", c.laptop, st, b, c.update)
		}
	}
	// Health answers any laptop, so that it can find out.
	if st, _, h := k.do("GET", "/v1/health", "", nil, map[string]string{syncproto.HeaderProtocol: "7-9"}); st != http.StatusOK ||
		h.Get(syncproto.HeaderProtocol) == "" {
		t.Errorf("health for a later laptop: %d %v", st, h)
	}
}

// The release a device sends is kept, and changes with its next request
// after an update; a header that is not printable is cleaned.
func TestDeviceVersionKept(t *testing.T) {
	k := startKit(t)
	l := k.enrol("koffer", tenantA, 2)
	pull := "/v1/tenants/" + tenantA + "/pull?after=0"
	for _, c := range []struct{ sent, want string }{
		{"v1.2.0", "v1.2.0"},
		{"", "v1.2.0"}, // a request without it changes nothing
		{"v1.3.0-2-gabc\tü x", "v1.3.0-2-gabcx"},
		{strings.Repeat("9", 100), strings.Repeat("9", maxVersionLen)},
	} {
		hdr := map[string]string{}
		if c.sent != "" {
			hdr[syncproto.HeaderVersion] = c.sent
		}
		if st, b, _ := k.do("GET", pull, l.token, nil, hdr); st != http.StatusOK {
			t.Fatalf("pull: %d %s", st, b)
		}
		ds, err := k.srv.Devices(k.ctx, tenantA)
		if err != nil || len(ds) != 1 || ds[0].Version != c.want {
			t.Fatalf("sent %q: devices %+v, %v; want version %q", c.sent, ds, err, c.want)
		}
	}
}
