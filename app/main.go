// Command app is the clerks' desktop app. It only wires: open the field
// store and the catalog, build the UI from app/ui, run.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"

	"github.com/buergerkoffer/kit/app/ui"
	"github.com/buergerkoffer/kit/internal/catalog"
	"github.com/buergerkoffer/kit/internal/store"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "buergerkoffer:", err)
		os.Exit(1)
	}
}

func run() error {
	defDB := "field.db"
	if dir, err := os.UserConfigDir(); err == nil {
		defDB = filepath.Join(dir, "Buergerkoffer", "field.db")
	}
	db := flag.String("db", defDB, "path of the field store")
	lang := flag.String("lang", "de", "language: de or en")
	flag.Parse()
	if err := os.MkdirAll(filepath.Dir(*db), 0o700); err != nil {
		return fmt.Errorf("data folder: %w", err)
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

	a := fyneapp.NewWithID("de.buergerkoffer.kit")
	w := a.NewWindow("Bürgerkoffer")
	w.Resize(fyne.NewSize(900, 600))
	k := &ui.Kit{Store: st, Catalog: cat, Lang: *lang, Window: w}
	if err := k.Start(ctx); err != nil {
		return err
	}
	w.ShowAndRun()
	return nil
}
