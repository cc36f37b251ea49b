package metrics_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dicomrecv/dicomrecv/internal/metrics"
)

func TestProbes(t *testing.T) {
	var notReady atomic.Pointer[error]
	var gotDeadline atomic.Bool
	ready := func(ctx context.Context) error {
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= metrics.ReadyTimeout {
			gotDeadline.Store(true)
		}
		if p := notReady.Load(); p != nil {
			return *p
		}
		return nil
	}
	m := metrics.New(metrics.Options{NoRuntimeMetrics: true})
	base, c := serve(t, m, ready)

	errStorage := errors.New("storage: /data is not writable")
	tests := []struct {
		name     string
		notReady error
		method   string
		path     string
		code     int
		body     string
	}{
		{"healthz", nil, http.MethodGet, "/healthz", 200, "ok\n"},
		{"healthz while not ready", errStorage, http.MethodGet, "/healthz", 200, "ok\n"},
		{"readyz", nil, http.MethodGet, "/readyz", 200, "ok\n"},
		{"readyz not ready", errStorage, http.MethodGet, "/readyz", 503, "not ready: storage: /data is not writable\n"},
		{"readyz HEAD", errStorage, http.MethodHead, "/readyz", 503, ""},
		{"readyz POST", nil, http.MethodPost, "/readyz", 405, ""},
		{"metrics POST", nil, http.MethodPost, "/metrics", 405, ""},
		{"unknown path", nil, http.MethodGet, "/", 404, ""},
		{"no pprof here", nil, http.MethodGet, "/debug/pprof/", 404, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.notReady != nil {
				notReady.Store(&tc.notReady)
			} else {
				notReady.Store(nil)
			}
			req, err := http.NewRequest(tc.method, base+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.code {
				t.Errorf("%s %s: status %d, want %d", tc.method, tc.path, resp.StatusCode, tc.code)
			}
			if tc.body != "" && string(b) != tc.body {
				t.Errorf("%s %s: body %q, want %q", tc.method, tc.path, string(b), tc.body)
			}
		})
	}
	if !gotDeadline.Load() {
		t.Errorf("the readiness func got no deadline of at most ReadyTimeout")
	}
}

// TestReadyzNil: without a readiness func the endpoint is always ready.
func TestReadyzNil(t *testing.T) {
	base, c := serve(t, metrics.New(metrics.Options{NoRuntimeMetrics: true}), nil)
	if code, body := get(t, c, base+"/readyz"); code != 200 || body != "ok\n" {
		t.Errorf("/readyz = %d %q, want 200 ok", code, body)
	}
}

func TestPprof(t *testing.T) {
	ep, err := metrics.ServePprof("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
	defer func() {
		c.CloseIdleConnections()
		if err := ep.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	}()
	base := "http://" + ep.Addr().String()
	for _, tc := range []struct {
		path string
		code int
		has  string
	}{
		{"/debug/pprof/", 200, "goroutine"},
		{"/debug/pprof/goroutine?debug=1", 200, "goroutine profile:"},
		{"/debug/pprof/cmdline", 200, ""},
		{"/debug/pprof/symbol", 200, "num_symbols"},
		{"/metrics", 404, ""},
	} {
		code, body := get(t, c, base+tc.path)
		if code != tc.code || !strings.Contains(body, tc.has) {
			t.Errorf("GET %s = %d (body has %q: %v), want %d", tc.path, code, tc.has, strings.Contains(body, tc.has), tc.code)
		}
	}
}

func TestServeErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	m := metrics.New(metrics.Options{NoRuntimeMetrics: true})
	if ep, err := m.Serve(ln.Addr().String(), nil, nil); err == nil {
		_ = ep.Shutdown(context.Background())
		t.Errorf("Serve on a bound address: no error")
	}
	if ep, err := metrics.ServePprof("256.0.0.1:0", nil); err == nil {
		_ = ep.Shutdown(context.Background())
		t.Errorf("ServePprof on a bad address: no error")
	}
}

// TestShutdown checks that Shutdown stops listening, cuts a request that
// outlives its context, and can be called twice.
func TestShutdown(t *testing.T) {
	block := make(chan struct{})
	entered := make(chan struct{})
	ready := func(ctx context.Context) error {
		close(entered)
		select {
		case <-block:
		case <-ctx.Done():
		}
		return nil
	}
	m := metrics.New(metrics.Options{NoRuntimeMetrics: true})
	ep, err := m.Serve("127.0.0.1:0", ready, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: &http.Transport{}}
	defer c.CloseIdleConnections()
	base := "http://" + ep.Addr().String()
	reqDone := make(chan error, 1)
	go func() {
		resp, err := c.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
		}
		reqDone <- err
	}()
	<-entered
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // nothing may wait: the blocked /readyz is cut
	if err := ep.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Shutdown with a request in flight and a done context = %v, want context.Canceled", err)
	}
	close(block)
	<-reqDone
	if err := ep.Shutdown(context.Background()); err != nil {
		t.Errorf("second Shutdown = %v, want nil", err)
	}
	if conn, err := net.Dial("tcp", ep.Addr().String()); err == nil {
		conn.Close()
		t.Errorf("still listening after Shutdown")
	}
}
