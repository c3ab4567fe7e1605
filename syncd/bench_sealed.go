package main

// `syncd bench --sealed K`: before the laptops come back online, each
// captures K real cases of the catalog's services (spread over all of
// them), signs them with the simulated pad's signature, has a second clerk
// confirm them (four-eyes) and seals them, as the app does. The central
// server then holds K sealed cases per laptop that the FIT-Connect
// hand-off can take (`--dir D` keeps D/central.db and its master key).

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/buergerkoffer/kit/internal/catalog"
	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/handoff/casedoc/sample"
	"github.com/buergerkoffer/kit/internal/server"
)

// benchSealCases has every laptop seal cfg.sealed cases, laptop i taking
// the services from (i*cfg.sealed) on, round robin, so that all services
// appear once there are five cases in all.
func benchSealCases(ctx context.Context, laptops []*benchLaptop, cfg benchConfig) error {
	if cfg.sealed == 0 {
		return nil
	}
	cat, err := catalog.LoadEmbedded()
	if err != nil {
		return err
	}
	svcs := cat.Services()
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, len(laptops))
	for i, l := range laptops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = benchSealOn(ctx, l, svcs, i, cfg.sealed)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sealed cases: %w", err)
	}
	cfg.logf("%d sealed cases per laptop (signed on the simulated pad, four-eyes, sealed) in %.1fs",
		cfg.sealed, time.Since(start).Seconds())
	return nil
}

// benchSealOn seals k cases on laptop i, during a visit of today, with a
// second clerk of that laptop confirming each.
func benchSealOn(ctx context.Context, l *benchLaptop, svcs []*catalog.Service, i, k int) error {
	w, err := sample.AddWitness(ctx, l.ss, "bench-zweite", []byte("bench-password-2"))
	if err != nil {
		return err
	}
	v, err := l.ss.CreateVisit(ctx, domain.Visit{Place: fmt.Sprintf("Außenstelle %d", i), VenueAddress: "Marktplatz 1",
		Day: time.Now().UTC().Format("2006-01-02"), ClerkIDs: []string{l.ss.Clerk().ID}})
	if err != nil {
		return err
	}
	for j := range k {
		n := i*k + j
		if _, err := sample.SealedCase(ctx, l.ss, svcs[n%len(svcs)], v.ID, w, n, time.Now()); err != nil {
			return fmt.Errorf("laptop %d, case %d: %w", i, j, err)
		}
	}
	return nil
}

// benchPrintKept says where the central database and its master key are
// when --dir keeps them.
func benchPrintKept(w io.Writer, dir, serverDB, masterKey, tenant string) {
	db := serverDB
	if db == "" {
		db = dir + string(os.PathSeparator) + "central.db"
	}
	key := masterKey
	if key == "" {
		key = os.Getenv(server.EnvMasterKeyFile)
	}
	if key == "" && !server.IsPostgresURL(db) {
		key = db + ".key"
	}
	fmt.Fprintf(w, "bench: central database %s\nbench: master key %s\nbench: tenant %s\n", server.RedactDB(db), key, tenant)
}
