package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Limits of the HTTP endpoints. They serve operators and monitoring, never
// peers, so they are small.
const (
	// ReadyTimeout bounds one call of the readiness func by /readyz.
	ReadyTimeout      = 5 * time.Second
	readHeaderTimeout = 10 * time.Second
	idleTimeout       = 60 * time.Second
	writeTimeout      = 30 * time.Second
	maxHeaderBytes    = 16 << 10
	// maxScrapesInFlight bounds concurrent /metrics requests; more get 503.
	maxScrapesInFlight = 4
)

// ReadyFunc reports whether the receiver can take objects: nil when it is
// listening and its storage is writable, else an error saying why.
type ReadyFunc func(context.Context) error

// Handler returns the endpoint's handler:
//
//   - GET /metrics: the metrics in the Prometheus text format (OpenMetrics
//     on request), gzip-compressed when the client accepts it;
//   - GET /healthz: 200 "ok" while the process runs;
//   - GET /readyz: 200 "ok" when ready returns nil within ReadyTimeout, else
//     503 with the error text. A nil ready is always ready.
//
// log receives errors of the metrics handler; nil discards them. On a nil
// *Metrics, /metrics serves an empty exposition.
func (m *Metrics) Handler(ready ReadyFunc, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	reg := m.Registry()
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:            printlnLogger{log},
		ErrorHandling:       promhttp.ContinueOnError,
		Registry:            reg,
		MaxRequestsInFlight: maxScrapesInFlight,
		EnableOpenMetrics:   true,
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeText(w, http.StatusOK, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if ready != nil {
			ctx, cancel := context.WithTimeout(r.Context(), ReadyTimeout)
			defer cancel()
			if err := ready(ctx); err != nil {
				writeText(w, http.StatusServiceUnavailable, "not ready: "+err.Error()+"\n")
				return
			}
		}
		writeText(w, http.StatusOK, "ok\n")
	})
	return mux
}

func writeText(w http.ResponseWriter, code int, body string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, body)
}

// printlnLogger adapts slog to promhttp.Logger.
type printlnLogger struct{ log *slog.Logger }

func (l printlnLogger) Println(v ...any) { l.log.Warn("metrics: " + fmt.Sprint(v...)) }

// Endpoint is a running HTTP listener of this package (Serve, ServePprof).
type Endpoint struct {
	srv  *http.Server
	ln   net.Listener
	done chan struct{} // closed when Serve returned
	err  error         // Serve's error other than http.ErrServerClosed, set before done
	once sync.Once
}

// Serve listens on addr ("host:port"; port 0 picks a free port, see
// Endpoint.Addr) and serves m.Handler(ready, log) until Shutdown. It returns
// once the listener is bound, so a failure to bind is its error.
func (m *Metrics) Serve(addr string, ready ReadyFunc, log *slog.Logger) (*Endpoint, error) {
	return serve(addr, m.Handler(ready, log), writeTimeout, log)
}

// ServePprof listens on addr and serves the Go profiler (net/http/pprof) at
// /debug/pprof/ on a mux of its own, never on http.DefaultServeMux. The
// profiler reveals memory contents (heap profiles, command line): bind it to
// a loopback address. It has no write timeout, so that CPU profiles and
// traces of any duration (?seconds=N) complete.
func ServePprof(addr string, log *slog.Logger) (*Endpoint, error) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index) // also serves the named profiles (heap, goroutine, ...)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return serve(addr, mux, 0, log)
}

func serve(addr string, h http.Handler, wt time.Duration, log *slog.Logger) (*Endpoint, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: listen %s: %w", addr, err)
	}
	e := &Endpoint{
		srv: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: readHeaderTimeout,
			WriteTimeout:      wt,
			IdleTimeout:       idleTimeout,
			MaxHeaderBytes:    maxHeaderBytes,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		},
		ln:   ln,
		done: make(chan struct{}),
	}
	go func() {
		defer close(e.done)
		if err := e.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			e.err = err
			log.Error("metrics: endpoint stopped", "addr", ln.Addr().String(), "err", err)
		}
	}()
	return e, nil
}

// Addr returns the bound address (useful with port 0).
func (e *Endpoint) Addr() net.Addr { return e.ln.Addr() }

// Shutdown stops listening and waits for requests in progress until ctx
// ends; then it closes the remaining connections. It returns ctx's error
// when it had to cut requests short, or the error that stopped serving
// early. Calling it again returns at once.
func (e *Endpoint) Shutdown(ctx context.Context) error {
	var err error
	e.once.Do(func() {
		err = e.srv.Shutdown(ctx)
		if err != nil {
			_ = e.srv.Close()
		}
		<-e.done
		if err == nil {
			err = e.err
		}
	})
	return err
}
