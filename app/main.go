// Command buergerkoffer is the clerks' desktop app. It only wires: open the
// field store and the catalog, build the UI from app/ui, run.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"

	"github.com/buergerkoffer/kit/app/demo"
	"github.com/buergerkoffer/kit/app/ui"
	"github.com/buergerkoffer/kit/assets"
	"github.com/buergerkoffer/kit/internal/catalog"
	"github.com/buergerkoffer/kit/internal/store"
	"github.com/buergerkoffer/kit/internal/version"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "buergerkoffer:", err)
		showFatal("Der Bürgerkoffer kann nicht starten:\n\n" + err.Error() +
			"\n\nBitte die IT verständigen (ist dieses Konto in der Gruppe „Buergerkoffer“?).")
		os.Exit(1)
	}
}

func run() error {
	db := flag.String("db", store.DefaultPath(), "path of the field store")
	lang := flag.String("lang", "", "language for this run: de or en (default: the saved setting)")
	demoMode := flag.Bool("demo", false, "demo kit: set up demo clerks, enrol with --server/--enrol-code, use the simulators' ports")
	serverURL := flag.String("server", "", "demo: the central server")
	code := flag.String("enrol-code", "", "demo: a one-time enrolment code (from syncd admin enrol)")
	idPort := flag.String("id-reader", "", "demo: the ID reader's port")
	padPort := flag.String("pad", "", "demo: the signature pad's port")
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Fprintln(stdout(), "buergerkoffer", version.String())
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(*db), 0o700); err != nil {
		return fmt.Errorf("data folder: %w", err)
	}
	if l := os.Getenv("LANG"); runtime.GOOS != "windows" && os.Getenv("LANGUAGE") == "" &&
		(l == "" || l == "C" || l == "POSIX" || strings.HasPrefix(l, "C.")) {
		// Fyne's own texts (context menus) follow the system locale; a
		// kiosk or Xvfb session without one gets the counter's language.
		os.Setenv("LANGUAGE", "de")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cat, err := catalog.LoadEmbedded()
	if err != nil {
		return fmt.Errorf("service catalog: %w", err)
	}
	st, err := store.Open(ctx, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	hint := ""
	if *demoMode {
		if hint, err = demo.Prepare(ctx, st, demo.Config{ServerURL: *serverURL, Code: *code, IDReader: *idPort, Pad: *padPort}); err != nil {
			return err
		}
	}

	a := fyneapp.NewWithID("de.buergerkoffer.kit")
	a.SetIcon(fyne.NewStaticResource("icon.png", assets.Icon))
	w := a.NewWindow("Bürgerkoffer")
	w.Resize(fyne.NewSize(1100, 760))
	k := &ui.Kit{Store: st, Catalog: cat, Lang: *lang, Window: w, DemoHint: hint}
	if err := k.Start(ctx); err != nil {
		return err
	}
	defer k.Close()
	w.ShowAndRun()
	return nil
}
