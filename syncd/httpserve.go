package main

// The one way `syncd serve` and `syncd office` run an HTTP listener: with
// their timeouts, TLS when given a certificate, the address line scripts
// and tests wait for, and a graceful shutdown when ctx ends.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// httpService is one listener's configuration.
type httpService struct {
	name           string // "serve", "office": the prefix of what it prints
	handler        http.Handler
	cert, key      string // TLS when cert is not ""
	read, write    time.Duration
	log            *slog.Logger
	stdout, stderr io.Writer
}

// run serves on ln until ctx ends (exit code 0) or serving fails (2).
func (h httpService) run(ctx context.Context, ln net.Listener) int {
	hs := &http.Server{
		Handler:           h.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       h.read,
		WriteTimeout:      h.write,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(h.log.Handler(), slog.LevelWarn),
	}
	scheme := "http"
	if h.cert != "" {
		scheme = "https"
	}
	// The address line is what scripts and tests wait for.
	fmt.Fprintf(h.stdout, "syncd %s: listening on %s://%s\n", h.name, scheme, ln.Addr())
	done := make(chan error, 1)
	go func() {
		if h.cert != "" {
			done <- hs.ServeTLS(ln, h.cert, h.key)
		} else {
			done <- hs.Serve(ln)
		}
	}()
	select {
	case err := <-done:
		if !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(h.stderr, "syncd %s: %v\n", h.name, err)
			return 2
		}
	case <-ctx.Done():
		shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := hs.Shutdown(shut); err != nil {
			fmt.Fprintf(h.stderr, "syncd %s: shutdown: %v\n", h.name, err)
		}
		<-done
	}
	return 0
}
