// Package dicomrecv is a DICOM C-STORE SCP: a receiver that accepts
// associations from modalities, PACS and routers, answers C-ECHO, stores
// every C-STORE'd object atomically on disk (or S3), and tells the caller
// about each stored file.
//
// A Server is configured with a Config, started with Start and stopped with
// Shutdown, like net/http.Server:
//
//	srv, err := dicomrecv.New(dicomrecv.Config{Port: 11112, OutDir: "./dicom-storage"})
//	if err != nil { ... }
//	srv.OnFileStored(func(ev dicomrecv.FileStoredEvent) { log.Println(ev.File) })
//	if err := srv.Start(); err != nil { ... }
//	defer srv.Shutdown(context.Background())
package dicomrecv

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dicomrecv/dicomrecv/internal/assoc"
	"github.com/dicomrecv/dicomrecv/internal/metrics"
	"github.com/dicomrecv/dicomrecv/internal/study"
	"github.com/dicomrecv/dicomrecv/storage"
	"github.com/dicomrecv/dicomrecv/storage/fs"
	"github.com/dicomrecv/dicomrecv/storage/s3"
)

var stderr io.Writer = os.Stderr

// ErrServerClosed is returned by Start after Shutdown.
var ErrServerClosed = errors.New("dicomrecv: server closed")

// Server is a DICOM receiver. Create it with New.
type Server struct {
	s   *settings
	log *slog.Logger

	hmu         sync.Mutex
	onStarted   []func(ServerStartedEvent)
	onStored    []func(FileStoredEvent)
	onError     []func(ErrorEvent)
	onStudy     []func(StudyCompletedEvent)
	beforeStore BeforeStoreFunc

	events       chan any
	dispatchDone chan struct{}

	mu        sync.Mutex
	started   bool
	closed    bool
	ln        net.Listener
	backend   storage.Backend
	conns     map[*association]struct{}
	connWG    sync.WaitGroup
	acceptWG  sync.WaitGroup
	active    atomic.Int64
	perPeer   map[string]int // established associations per remote IP, under mu
	policy    *assoc.Policy
	studies   *study.Tracker
	metrics   *metrics.Metrics // nil when MetricsAddr is empty
	endpoints []*metrics.Endpoint
}

// New validates cfg and returns a Server that is not yet listening. Every
// bad field is reported as a *ConfigError naming it.
func New(cfg Config) (*Server, error) {
	s, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	srv := &Server{
		s:            s,
		log:          s.log,
		events:       make(chan any, MaxPendingEvents),
		dispatchDone: make(chan struct{}),
		conns:        map[*association]struct{}{},
		perPeer:      map[string]int{},
	}
	if s.MetricsAddr != "" {
		srv.metrics = metrics.New(metrics.Options{})
	}
	srv.policy = &assoc.Policy{
		AETitle:                   s.aeTitle,
		RequireCalledAETitle:      s.RequireCalledAETitle,
		AllowedCallingAETitles:    s.AllowedCallingAETitles,
		Peers:                     s.peers,
		AbstractSyntax:            s.abstract,
		TransferSyntax:            s.transfer,
		MaxPDULength:              s.maxPDU,
		ImplementationClassUID:    ImplementationClassUID,
		ImplementationVersionName: ImplementationVersionName,
	}
	return srv, nil
}

// Start opens the storage, binds the listening socket and starts accepting
// associations in the background. It returns once the server listens, or
// the error that prevented it (a bind error, an unusable storage directory).
func (srv *Server) Start() error {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.closed {
		return ErrServerClosed
	}
	if srv.started {
		return errors.New("dicomrecv: server already started")
	}
	backend, err := srv.openBackend()
	if err != nil {
		return err
	}
	addr := net.JoinHostPort(srv.s.Host, strconv.Itoa(srv.s.Port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		backend.Close()
		return fmt.Errorf("dicomrecv: listen on %s: %w", addr, err)
	}
	srv.ln = ln
	srv.backend = backend
	srv.started = true
	go srv.dispatch()
	undo := func(err error) error {
		ln.Close()
		backend.Close()
		close(srv.events)
		<-srv.dispatchDone
		srv.started = false
		return err
	}
	tracker, err := srv.newTracker()
	if err != nil {
		return undo(err)
	}
	if err := srv.serveEndpoints(); err != nil {
		tracker.Close()
		return undo(err)
	}
	srv.studies = tracker
	port := ln.Addr().(*net.TCPAddr).Port
	srv.log.Info("listening", "addr", ln.Addr().String(), "aeTitle", srv.s.aeTitle, "storage", srv.storageName())
	srv.emit(ServerStartedEvent{Message: "Server started", Port: port, AETitle: srv.s.aeTitle})
	srv.acceptWG.Add(1)
	go srv.acceptLoop(ln)
	return nil
}

func (srv *Server) storageName() string {
	if fb, ok := srv.backend.(*fs.Backend); ok {
		return fb.Dir()
	}
	if srv.s.S3 != nil {
		return "s3://" + srv.s.S3.Bucket + "/" + srv.s.S3.Prefix
	}
	return srv.s.StorageBackend
}

func (srv *Server) openBackend() (storage.Backend, error) {
	switch srv.s.StorageBackend {
	case BackendFilesystem:
		b, err := fs.New(fs.Config{Dir: srv.s.OutDir, NoFsync: !srv.s.fsync, Duplicate: srv.s.duplicate, Logger: srv.log})
		if err != nil {
			return nil, fmt.Errorf("dicomrecv: outDir %q: %w", srv.s.OutDir, err)
		}
		return b, nil
	case BackendS3:
		cfg := *srv.s.S3
		cfg.Duplicate = srv.s.duplicate
		if cfg.Logger == nil {
			cfg.Logger = srv.log
		}
		ctx, cancel := context.WithTimeout(context.Background(), s3.StartupTimeout+5*time.Second)
		defer cancel()
		b, err := s3.New(ctx, cfg)
		if err != nil {
			return nil, fmt.Errorf("dicomrecv: s3Config: %w", err)
		}
		return b, nil
	}
	return nil, fmt.Errorf("dicomrecv: storage backend %q not available", srv.s.StorageBackend)
}

// Addr returns the listening address, or nil before Start.
func (srv *Server) Addr() net.Addr {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.ln == nil {
		return nil
	}
	return srv.ln.Addr()
}

// acceptLoop accepts connections until the listener closes. Temporary
// errors (e.g. too many open files) back off and retry, as net/http does: an
// accept error never ends the server.
func (srv *Server) acceptLoop(ln net.Listener) {
	defer srv.acceptWG.Done()
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if delay == 0 {
				delay = 5 * time.Millisecond
			} else if delay *= 2; delay > time.Second {
				delay = time.Second
			}
			srv.log.Warn("accept failed; retrying", "err", err, "delay", delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		if tc, ok := nc.(*net.TCPConn); ok {
			_ = tc.SetNoDelay(true)
			_ = tc.SetKeepAlive(true)
			nc = withQuickAck(tc)
		}
		if srv.s.tls != nil {
			// The handshake runs on the first read, under the ARTIM timer.
			nc = tls.Server(nc, srv.s.tls)
		}
		a := srv.newAssociation(nc)
		srv.mu.Lock()
		if srv.closed {
			srv.mu.Unlock()
			nc.Close()
			return
		}
		srv.conns[a] = struct{}{}
		srv.connWG.Add(1)
		srv.mu.Unlock()
		go func() {
			defer srv.connWG.Done()
			a.serve()
			srv.mu.Lock()
			delete(srv.conns, a)
			srv.mu.Unlock()
		}()
	}
}

// Shutdown stops the server gracefully: it stops accepting connections,
// closes those whose association request has not been accepted yet (a
// request read after that is rejected, transient), lets established
// associations finish until ctx is done, then aborts the rest (A-ABORT). It
// then delivers the pending events and closes the storage. It returns
// ctx.Err() when associations had to be aborted.
func (srv *Server) Shutdown(ctx context.Context) error {
	srv.mu.Lock()
	if srv.closed {
		srv.mu.Unlock()
		return nil
	}
	srv.closed = true
	started := srv.started
	ln := srv.ln
	// Connections that have not sent their association request yet (state
	// Sta2) hold nothing: close them now (PS3.8 AA-2) instead of waiting
	// for their ARTIM timer.
	for a := range srv.conns {
		if a.counted == "" {
			a.nc.Close()
		}
	}
	srv.mu.Unlock()
	if !started {
		return nil
	}
	ln.Close()
	srv.acceptWG.Wait()

	done := make(chan struct{})
	go func() {
		srv.connWG.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		srv.mu.Lock()
		for a := range srv.conns {
			a.abort("server shutdown deadline")
		}
		srv.mu.Unlock()
		<-done
	}
	// Pending studies are emitted now rather than lost; a handler that
	// hangs is given a bounded time.
	fctx := ctx
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		fctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
	}
	if ferr := srv.studies.FlushContext(fctx); ferr != nil {
		srv.log.Warn("pending studies not all delivered at shutdown", "err", ferr)
	}
	srv.studies.Close()
	close(srv.events)
	<-srv.dispatchDone
	for _, ep := range srv.endpoints {
		ep.Shutdown(fctx)
	}
	if cerr := srv.backend.Close(); cerr != nil && err == nil {
		err = cerr
	}
	srv.log.Info("stopped")
	return err
}

// serveEndpoints starts the metrics and pprof endpoints, if configured.
func (srv *Server) serveEndpoints() error {
	if srv.s.MetricsAddr != "" {
		ep, err := srv.metrics.Serve(srv.s.MetricsAddr, srv.Ready, srv.log)
		if err != nil {
			return fmt.Errorf("dicomrecv: metricsAddr %q: %w", srv.s.MetricsAddr, err)
		}
		srv.endpoints = append(srv.endpoints, ep)
		srv.log.Info("metrics", "addr", ep.Addr().String())
	}
	if srv.s.PprofAddr != "" {
		ep, err := metrics.ServePprof(srv.s.PprofAddr, srv.log)
		if err != nil {
			for _, e := range srv.endpoints {
				e.Shutdown(context.Background())
			}
			return fmt.Errorf("dicomrecv: pprofAddr %q: %w", srv.s.PprofAddr, err)
		}
		srv.endpoints = append(srv.endpoints, ep)
	}
	return nil
}

// Ready reports whether the server can take objects: it listens and its
// storage is writable (served as /readyz).
func (srv *Server) Ready(ctx context.Context) error {
	srv.mu.Lock()
	started, closed, backend := srv.started, srv.closed, srv.backend
	srv.mu.Unlock()
	switch {
	case !started:
		return errors.New("not started")
	case closed:
		return errors.New("shutting down")
	}
	return backend.Check(ctx)
}

// Metrics returns the server's metrics, nil when MetricsAddr is empty. The
// dicomrecv command counts its event hooks there.
func (srv *Server) Metrics() *metrics.Metrics { return srv.metrics }

// MetricsAddr returns the address the metrics endpoint listens on, or nil.
func (srv *Server) MetricsAddr() net.Addr {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if len(srv.endpoints) == 0 || srv.s.MetricsAddr == "" {
		return nil
	}
	return srv.endpoints[0].Addr()
}

// newTracker starts the study-completion tracker; with the filesystem
// backend its journal lives in {outDir}/.dicomrecv so that a crash loses no
// pending study.
func (srv *Server) newTracker() (*study.Tracker, error) {
	cfg := study.Config{
		Timeout: srv.s.StudyTimeout,
		LevelOf: srv.levelOf(),
		OnComplete: func(ev study.StudyEvent) {
			srv.metrics.StudyCompleted()
			srv.emitWait(StudyCompletedEvent{Study: ev})
		},
		Logger: srv.log,
	}
	if fb, ok := srv.backend.(*fs.Backend); ok {
		cfg.JournalPath = filepath.Join(fb.Dir(), fs.StateDir, "studies.journal")
	} else if srv.s.OutDir != "" {
		dir := filepath.Join(srv.s.OutDir, fs.StateDir)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("dicomrecv: outDir %q: %w", srv.s.OutDir, err)
		}
		cfg.JournalPath = filepath.Join(dir, "studies.journal")
	}
	t, err := study.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("dicomrecv: study tracker: %w", err)
	}
	return t, nil
}

// levelOf places an extracted tag in the study event: by the tag's number
// for standard attributes (study.LevelOfTag), at instance level for custom
// tags (the zero Level, also that of any other name). The levels are worked
// out once: the tracker asks for every tag of every stored instance.
func (srv *Server) levelOf() func(name string) study.Level {
	levels := make(map[string]study.Level, len(srv.s.extract))
	for _, sp := range srv.s.extract {
		if _, seen := levels[sp.Name]; seen {
			continue // the first spec of a name decides
		}
		levels[sp.Name] = study.LevelInstance
		if !sp.Custom {
			levels[sp.Name] = study.LevelOfTag(sp.Tag.Group(), sp.Tag.Element())
		}
	}
	return func(name string) study.Level { return levels[name] }
}

// shuttingDown reports whether Shutdown was called.
func (srv *Server) shuttingDown() bool {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return srv.closed
}
