package agent_test

// Enrolment is tried once: a retry after a lost answer would use up the
// code a second time, or leave a device on the server that no laptop
// holds. The clerk is told what happened and asks for a new code. And a
// device token never travels over plain HTTP to another machine.

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/buergerkoffer/kit/internal/agent"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

func TestClient_EnrolIsNotRetried(t *testing.T) {
	for _, tc := range []struct {
		name     string
		setup    func(f *fakeServer)
		describe string // a part of what the clerk reads
	}{
		{"lost answer", func(f *fakeServer) { f.down = true }, "neuen Code"},
		{"server error", func(f *fakeServer) { f.fail["enrol"] = []int{503, 503} }, "neuen Code"},
		{"throttled", func(f *fakeServer) { f.fail["enrol"] = []int{429, 429}; f.retryAfter = "60" }, "warten"},
		{"unknown code", func(f *fakeServer) { f.fail["enrol"] = []int{401} }, "neuen Code"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeServer(t)
			f.set(tc.setup)
			c := newClient(t, f.URL(), func(c *agent.ClientConfig) { c.Token = "" })
			_, err := c.Enrol(context.Background(), syncproto.EnrolRequest{Code: "good-code", Name: "Koffer 3"})
			if err == nil {
				t.Fatal("enrolled although the server did not answer yes")
			}
			if n := f.hit("enrol"); n != 1 {
				t.Errorf("enrolment sent %d times, want once", n)
			}
			got := agent.Describe(err)
			if !strings.Contains(got, tc.describe) || strings.Contains(got, "automatisch") {
				t.Errorf("the clerk reads %q, want it to say %q", got, tc.describe)
			}
		})
	}
}

func TestNewClient_RefusesPlainHTTP(t *testing.T) {
	for _, u := range []string{"http://example.org", "http://192.0.2.7:8470", "http://[2001:db8::1]:8470",
		"http://0.0.0.0:8470", "http://localhost.example.org", "http://10.0.0.1"} {
		_, err := agent.NewClient(agent.ClientConfig{BaseURL: u})
		if !errors.Is(err, agent.ErrInsecureURL) {
			t.Errorf("%s: %v, want ErrInsecureURL", u, err)
			continue
		}
		if got := agent.Describe(err); !strings.Contains(got, "https://") {
			t.Errorf("%s: the clerk reads %q", u, got)
		}
	}
	for _, u := range []string{"http://127.0.0.1:8470", "http://127.1.2.3", "http://[::1]:8470", "http://localhost:8470",
		"http://LOCALHOST", "https://example.org", "https://192.0.2.7:8470"} {
		c, err := agent.NewClient(agent.ClientConfig{BaseURL: u})
		if err != nil {
			t.Errorf("%s: %v", u, err)
			continue
		}
		c.Close()
	}
}

// An enrolment that never reached the server leaves the code as it was.
func TestClient_EnrolNotReached(t *testing.T) {
	f := newFakeServer(t)
	url := f.URL()
	f.srv.Close()
	c := newClient(t, url, func(c *agent.ClientConfig) { c.Token = "" })
	_, err := c.Enrol(context.Background(), syncproto.EnrolRequest{Code: "good-code"})
	if err == nil {
		t.Fatal("enrolled without a server")
	}
	if got := agent.Describe(err); !strings.Contains(got, "noch gültig") {
		t.Errorf("the clerk reads %q", got)
	}
}
