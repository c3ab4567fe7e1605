package agent_test

// A device token never travels over plain HTTP to another machine.

import (
	"errors"
	"strings"
	"testing"

	"github.com/buergerkoffer/kit/internal/agent"
)

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
