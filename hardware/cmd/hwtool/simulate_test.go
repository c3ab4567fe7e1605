// Tests for `hwtool simulate --device mrz`: it prints a port that a driver
// can open and read documents from, and stops when interrupted.
package main

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/hardware"
	"github.com/buergerkoffer/kit/hardware/idreader"
	"github.com/buergerkoffer/kit/hardware/sim"
)

func TestSimulate_MRZ(t *testing.T) {
	p, err := sim.OpenPTY()
	if err != nil {
		t.Skip(err)
	}
	p.Close()
	docs := filepath.Join(t.TempDir(), "docs.json")
	want := []string{
		"I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<",
		"D231458907UTO7408122F1204159<<<<<<<6",
	}
	if err := os.WriteFile(docs, []byte(`[{"description":"TD2","mrz":["`+want[0]+`","`+want[1]+`"]}]`), 0o600); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"simulate", "--device", "mrz", "--framing", "stx", "--interval", "20ms", "--docs", docs, "--garbage"},
			strings.NewReader(""), &stdout, &stderr)
	}()
	waitFor(t, "the port", func() bool { return strings.Contains(stdout.String(), "\n") })
	path := strings.TrimSpace(stdout.String())

	port, err := hardware.OpenSerial(path, 9600)
	if err != nil {
		t.Fatal(err)
	}
	defer port.Close()
	dec := idreader.NewDecoder(idreader.FramingSTX)
	var got []idreader.Document
	buf := make([]byte, 256)
	for end := time.Now().Add(3 * time.Second); len(got) == 0 && time.Now().Before(end); {
		n, err := port.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		docs, _ := dec.Feed(buf[:n])
		got = append(got, docs...)
	}
	if len(got) == 0 || !reflect.DeepEqual(got[0].Lines, want) {
		t.Fatalf("read %v, want %q", got, want)
	}

	cancel()
	select {
	case c := <-code:
		if c != 0 {
			t.Errorf("exit %d, want 0; stderr %q", c, stderr.String())
		}
	case <-time.After(3 * time.Second):
		t.Fatal("simulate did not stop when interrupted")
	}
}

func TestReadDocs_BothLayouts(t *testing.T) {
	dir := t.TempDir()
	lists := filepath.Join(dir, "lists.json")
	objs := filepath.Join(dir, "objs.json")
	os.WriteFile(lists, []byte(`[["A","B"],["C","D","E"]]`), 0o600)
	os.WriteFile(objs, []byte(`[{"mrz":["A","B"]},{"mrz":["C","D","E"]}]`), 0o600)
	want := [][]string{{"A", "B"}, {"C", "D", "E"}}
	for _, p := range []string{lists, objs} {
		got, err := readDocs(p)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("readDocs(%s) = %v, %v", filepath.Base(p), got, err)
		}
	}
	if _, err := readDocs(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("missing file read")
	}
}
