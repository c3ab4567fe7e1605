//go:build !windows

package store_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/buergerkoffer/kit/internal/store"
)

// Where the Debian package is installed, the app and the agent default to
// its folder; elsewhere to the user's configuration folder.
func TestDefaultPath(t *testing.T) {
	want := "/var/lib/buergerkoffer/field.db"
	if _, err := os.Stat("/var/lib/buergerkoffer"); err != nil {
		dir, err := os.UserConfigDir()
		if err != nil {
			t.Skip(err)
		}
		want = filepath.Join(dir, "Buergerkoffer", "field.db")
	}
	if got := store.DefaultPath(); got != want {
		t.Errorf("DefaultPath() = %q, want %q", got, want)
	}
}
