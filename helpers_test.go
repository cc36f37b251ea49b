package dicomrecv

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dicomrecv/dicomrecv/dicom"
	"github.com/dicomrecv/dicomrecv/internal/dimse"
	"github.com/dicomrecv/dicomrecv/internal/pdu"
	"github.com/dicomrecv/dicomrecv/internal/testutil"
)

// testServer is a Server on a free port with its events collected.
type testServer struct {
	*Server
	t    testing.TB
	port int
	dir  string

	mu       sync.Mutex
	stored   []FileStoredEvent
	errs     []ErrorEvent
	storedCh chan FileStoredEvent
}

// startServer starts a server for a test; cfg.OutDir defaults to a
// temporary directory. Logs go to the test log.
func startServer(t testing.TB, cfg Config) *testServer {
	t.Helper()
	return startServerWith(t, cfg, nil)
}

// startServerWith is startServer with a hook on the Server before Start.
func startServerWith(t testing.TB, cfg Config, hook func(*Server)) *testServer {
	t.Helper()
	if cfg.OutDir == "" && cfg.StorageBackend == "" {
		cfg.OutDir = t.TempDir()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if cfg.Fsync == nil {
		f := false // tests need not survive power cuts
		cfg.Fsync = &f
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{Server: srv, t: t, dir: cfg.OutDir, storedCh: make(chan FileStoredEvent, 1000)}
	srv.OnFileStored(func(ev FileStoredEvent) {
		ts.mu.Lock()
		ts.stored = append(ts.stored, ev)
		ts.mu.Unlock()
		select {
		case ts.storedCh <- ev:
		default:
		}
	})
	srv.OnError(func(ev ErrorEvent) {
		ts.mu.Lock()
		ts.errs = append(ts.errs, ev)
		ts.mu.Unlock()
	})
	if hook != nil {
		hook(srv)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	ts.port = srv.Addr().(*net.TCPAddr).Port
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return ts
}

func (ts *testServer) storedEvents() []FileStoredEvent {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]FileStoredEvent(nil), ts.stored...)
}

// testWriter sends log lines to t.Log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// dcmtk runs a DCMTK tool with TCP_NODELAY set and returns its combined
// output. The exit status is returned, not judged: storescu exits 0 even
// when the receiver answers a failure.
func dcmtk(t testing.TB, tool string, args ...string) (string, error) {
	t.Helper()
	path := testutil.RequireTool(t, tool)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = append(os.Environ(), "TCP_NODELAY=1")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (ts *testServer) addr() []string { return []string{"127.0.0.1", strconv.Itoa(ts.port)} }

// storescu sends files to the test server with storescu -v and the given
// options.
func (ts *testServer) storescu(t testing.TB, opts []string, files ...string) string {
	t.Helper()
	args := append([]string{"-v", "-aet", "STORESCU", "-aec", "STORE-SCP"}, opts...)
	args = append(args, ts.addr()...)
	args = append(args, files...)
	out, _ := dcmtk(t, "storescu", args...)
	return out
}

// recordingProxy forwards connections to target and records, per
// connection, what the client sent.
type recordingProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []*bytes.Buffer
	wg     sync.WaitGroup
}

func newRecordingProxy(t testing.TB, target string) *recordingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &recordingProxy{ln: ln, target: target}
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.wg.Wait() })
	return p
}

func (p *recordingProxy) port() string { return strconv.Itoa(p.ln.Addr().(*net.TCPAddr).Port) }

func (p *recordingProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		buf := &bytes.Buffer{}
		p.mu.Lock()
		p.conns = append(p.conns, buf)
		p.mu.Unlock()
		p.wg.Add(2)
		go func() {
			defer p.wg.Done()
			// Record before forwarding: once the server answers, the bytes it
			// answered are in the recording.
			io.Copy(io.MultiWriter(&lockedWriter{mu: &p.mu, w: buf}, s), c)
			s.(*net.TCPConn).CloseWrite()
		}()
		go func() {
			defer p.wg.Done()
			io.Copy(c, s)
			c.Close()
			s.Close()
		}()
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// takeRecordings returns the client streams recorded so far and forgets
// them.
func (p *recordingProxy) takeRecordings() [][]byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	var r [][]byte
	for _, b := range p.conns {
		r = append(r, append([]byte(nil), b.Bytes()...))
	}
	p.conns = nil
	return r
}

// storedAndSent waits for the FileStored event of one object sent by
// storescu through a recording proxy, and returns it with the one data set
// the proxy recorded (by SOP Instance UID).
func storedAndSent(t *testing.T, name string, stored <-chan FileStoredEvent, rec [][]byte) (FileStoredEvent, map[string][]byte) {
	t.Helper()
	var ev FileStoredEvent
	select {
	case ev = <-stored:
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: no FileStored event", name)
	}
	if len(rec) != 1 {
		t.Fatalf("%s: %d recorded connections", name, len(rec))
	}
	sent, err := sentDataSets(rec[0])
	if err != nil || len(sent) != 1 {
		t.Fatalf("%s: cannot decode the recorded association (%d data sets): %v", name, len(sent), err)
	}
	return ev, sent
}

// sentDataSets decodes a recorded client stream and returns the data sets
// of its C-STORE requests, keyed by Affected SOP Instance UID, exactly as
// they were on the wire.
func sentDataSets(stream []byte) (map[string][]byte, error) {
	r := pdu.NewReader(bytes.NewReader(stream), 0)
	src := &streamSource{r: r}
	mr := dimse.NewReader(src)
	out := map[string][]byte{}
	for {
		ctx, cmd, err := mr.ReadCommand()
		if err != nil {
			if errors.Is(err, errStreamEnd) || errors.Is(err, io.EOF) {
				return out, nil
			}
			return out, err
		}
		if !cmd.HasDataSet() {
			continue
		}
		data, err := io.ReadAll(mr.DataSet(ctx))
		if err != nil {
			return out, err
		}
		if cmd.Field == dimse.CStoreRQ {
			out[cmd.AffectedSOPInstanceUID] = data
		}
	}
}

var errStreamEnd = errors.New("end of recorded stream")

// streamSource is a dimse.PDVSource over a recorded stream that skips every
// PDU but P-DATA-TF.
type streamSource struct {
	r      *pdu.Reader
	inData bool
}

func (s *streamSource) NextPDV() (pdu.PDVHeader, error) {
	for {
		if s.inData {
			h, err := s.r.NextPDV()
			if err == nil {
				return h, nil
			}
			if err != io.EOF {
				return h, err
			}
			s.inData = false
		}
		h, err := s.r.ReadHeader()
		if err != nil {
			return pdu.PDVHeader{}, errStreamEnd
		}
		if h.Type == pdu.TypePDataTF {
			s.inData = true
			continue
		}
		if _, err := s.r.ReadBody(h, 1<<20); err != nil {
			return pdu.PDVHeader{}, err
		}
		if h.Type == pdu.TypeReleaseRQ || h.Type == pdu.TypeAbort {
			return pdu.PDVHeader{}, errStreamEnd
		}
	}
}

func (s *streamSource) Read(p []byte) (int, error) { return s.r.Read(p) }
func (s *streamSource) Next(n int) ([]byte, error) { return s.r.Next(n) }

// readStored reads a stored Part-10 file and returns its meta and data set.
func readStored(t testing.TB, path string) (*dicom.FileMeta, []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("stored file: %v", err)
	}
	meta, ds, err := dicom.SplitFile(b)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return meta, ds
}

// storedPath is where the filesystem backend puts an instance.
func storedPath(dir, study, series, sop string) string {
	return filepath.Join(dir, study, series, sop+".dcm")
}
