package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// debugFile is the name of the --debug log inside the config directory.
const debugFile = "mailgrant-debug.log"

// startDebugLog opens the debug log (mode 0600) and wraps the HTTP client so
// each request is logged by method, host, path, status and duration. Bodies,
// headers and query strings are never logged: they carry codes and tokens.
func (a *app) startDebugLog() error {
	if err := os.MkdirAll(a.dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", a.dir, err)
	}
	path := filepath.Join(a.dir, debugFile)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open debug log: %w", err)
	}
	a.debugLog, a.debugPath = f, path
	logger := log.New(f, "", log.LstdFlags|log.Lmicroseconds)
	logger.Printf("mailgrant %s: login %s, graph %s, config %s", version, a.env.LoginURL, a.env.GraphURL, a.dir)
	client := *a.env.HTTP
	next := client.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	client.Transport = &loggingTransport{next: next, log: logger}
	a.env.HTTP = &client
	fmt.Fprintf(a.io.err, "mailgrant: debug log: %s\n", path)
	return nil
}

// loggingTransport logs requests without their secrets.
type loggingTransport struct {
	next http.RoundTripper
	log  *log.Logger
}

func (t *loggingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.next.RoundTrip(r)
	took := time.Since(start).Round(time.Millisecond)
	if err != nil {
		t.log.Printf("%s %s%s: failed after %s: %T", r.Method, r.URL.Host, r.URL.Path, took, err)
		return nil, err
	}
	t.log.Printf("%s %s%s: %d in %s", r.Method, r.URL.Host, r.URL.Path, resp.StatusCode, took)
	return resp, nil
}

// CloseIdleConnections passes through, so closing idle connections still
// works with --debug.
func (t *loggingTransport) CloseIdleConnections() {
	if c, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}
