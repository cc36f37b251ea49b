package battery

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dicomrecv/dicomrecv"
	"github.com/dicomrecv/dicomrecv/dicom"
	"github.com/dicomrecv/dicomrecv/internal/dimse"
	"github.com/dicomrecv/dicomrecv/internal/pdu"
	"github.com/dicomrecv/dicomrecv/internal/scutest"
	"github.com/dicomrecv/dicomrecv/internal/testutil"
	"github.com/dicomrecv/dicomrecv/internal/testutil/testds"
)

// The timeouts of the servers under test: short, so that every timer fires
// within the battery's time budget.
const (
	artim   = 1 * time.Second
	idle    = 2 * time.Second
	dimseTO = 2 * time.Second
	pduRead = 2 * time.Second
)

// Bounds of the timing assertions. These are correctness bounds on timers,
// not speed tests: an answer that needs no timer must come before any timer
// could have caused it (prompt); a timer must not fire early (early) nor
// much later than configured (late).
const (
	prompt = 1 * time.Second
	early  = 100 * time.Millisecond
	late   = 2 * time.Second
	// giveUp bounds every wait of the battery, so that a server that never
	// answers fails the case instead of hanging it.
	giveUp = 15 * time.Second
)

// SOP classes and transfer syntaxes used by the cases.
const (
	ctImage      = "1.2.840.10008.5.1.4.1.1.2"
	mrImage      = "1.2.840.10008.5.1.4.1.1.4"
	verification = "1.2.840.10008.1.1"
)

// ctSmall is the file that storescu sends after each case.
var ctSmall = filepath.Join(testutil.PydicomTestFiles, "CT_small.dcm")

// env is a running server under test and what it reported.
type env struct {
	srv  *dicomrecv.Server
	addr string // host:port
	port string
	dir  string

	mu     sync.Mutex
	stored []dicomrecv.FileStoredEvent
	errs   []dicomrecv.ErrorEvent
}

// baseConfig is the configuration of every server of the battery: short
// timeouts, no fsync, logs to the test log.
func baseConfig(t *testing.T) dicomrecv.Config {
	f := false
	return dicomrecv.Config{
		Host:           "127.0.0.1",
		Port:           0,
		OutDir:         t.TempDir(),
		ARTIMTimeout:   artim,
		IdleTimeout:    idle,
		DIMSETimeout:   dimseTO,
		PDUReadTimeout: pduRead,
		Fsync:          &f,
		Logger:         slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

// testLog sends log lines to t.Log. The server logs only while it runs,
// and every case shuts its server down before it ends.
type testLog struct{ t *testing.T }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// startEnv starts a server with cfg and collects its events.
func startEnv(t *testing.T, cfg dicomrecv.Config) *env {
	t.Helper()
	srv, err := dicomrecv.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{srv: srv, dir: cfg.OutDir}
	srv.OnFileStored(func(ev dicomrecv.FileStoredEvent) {
		e.mu.Lock()
		e.stored = append(e.stored, ev)
		e.mu.Unlock()
	})
	srv.OnError(func(ev dicomrecv.ErrorEvent) {
		e.mu.Lock()
		e.errs = append(e.errs, ev)
		e.mu.Unlock()
	})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	e.addr = srv.Addr().String()
	_, e.port, _ = net.SplitHostPort(e.addr)
	return e
}

// shutdown stops the server; every association of a case has ended by
// then, so Shutdown must return nil (nothing left to abort) at once. A
// second call is a no-op.
func (e *env) shutdown(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), giveUp)
	defer cancel()
	start := time.Now()
	if err := e.srv.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v (an association was still running after %v)", err, time.Since(start))
	} else if d := time.Since(start); d > prompt {
		t.Errorf("Shutdown took %v with no association left, want at most %v", d, prompt)
	}
}

func (e *env) storedEvents() []dicomrecv.FileStoredEvent {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]dicomrecv.FileStoredEvent(nil), e.stored...)
}

func (e *env) errorEvents() []dicomrecv.ErrorEvent {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]dicomrecv.ErrorEvent(nil), e.errs...)
}

// waitErrorEvent waits for an ErrorEvent about the connection from local
// (the client's address), as the design requires for every
// association-level failure.
func (e *env) waitErrorEvent(t *testing.T, local string) {
	t.Helper()
	deadline := time.Now().Add(giveUp)
	for time.Now().Before(deadline) {
		for _, ev := range e.errorEvents() {
			if ev.RemoteAddr == local && ev.Message != "" {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("no ErrorEvent for the connection from %s (got %+v)", local, e.errorEvents())
}

// files lists the regular files under the storage directory outside the
// server's state directory, and those left in its temporary directory.
func (e *env) files(t *testing.T) (objects, temps []string) {
	t.Helper()
	state := filepath.Join(e.dir, ".dicomrecv")
	err := filepath.WalkDir(e.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		switch {
		case strings.HasPrefix(p, filepath.Join(state, "tmp")+string(filepath.Separator)):
			temps = append(temps, p)
		case strings.HasPrefix(p, state+string(filepath.Separator)):
			// The study journal and its lock.
		default:
			objects = append(objects, p)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walking %s: %v", e.dir, err)
	}
	return objects, temps
}

// checkStored checks that exactly want objects are stored and that no
// temporary file is left. A failed transfer may still be cleaning up when
// the client sees the connection close, so temporary files are given a
// little time to go.
func (e *env) checkStored(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(giveUp)
	for {
		objects, temps := e.files(t)
		if len(temps) == 0 || time.Now().After(deadline) {
			if len(temps) != 0 {
				t.Errorf("temporary files left: %v", temps)
			}
			if len(objects) != want {
				t.Errorf("%d objects stored, want %d: %v", len(objects), want, objects)
			}
			if evs := e.storedEvents(); len(evs) > want {
				t.Errorf("%d FileStored events, want %d: %+v", len(evs), want, evs)
			}
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// storescuCT sends CT_small.dcm with DCMTK's storescu and checks that it is
// stored: the normal association that must work after every case.
func (e *env) storescuCT(t *testing.T) {
	t.Helper()
	tool := testutil.RequireTool(t, "storescu")
	testutil.RequireFile(t, ctSmall)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, tool, "-v", "-aet", "STORESCU", "-aec", "STORE-SCP", "127.0.0.1", e.port, ctSmall)
	cmd.Env = append(os.Environ(), "TCP_NODELAY=1")
	out, err := cmd.CombinedOutput()
	if got := testutil.StoreResponses(string(out)); err != nil || len(got) != 1 || got[0] != "Success" {
		t.Fatalf("storescu after the case: %v\n%s", err, out)
	}
}

// ctSmallSOPInstance is the SOP Instance UID of CT_small.dcm.
func ctSmallSOPInstance(t *testing.T) string {
	t.Helper()
	f, err := os.Open(ctSmall)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := dicom.ReadFileMeta(f)
	if err != nil {
		t.Fatal(err)
	}
	return m.MediaStorageSOPInstanceUID
}

// checkFinalEvents checks, after Shutdown (when every event has been
// delivered), that the FileStored events are the want objects of the case
// followed by CT_small.dcm, and that each names a file that exists.
func (e *env) checkFinalEvents(t *testing.T, want int) {
	t.Helper()
	evs := e.storedEvents()
	if len(evs) != want+1 {
		t.Fatalf("%d FileStored events, want %d of the case and 1 of storescu: %+v", len(evs), want, evs)
	}
	if sop := ctSmallSOPInstance(t); evs[want].SOPInstanceUID != sop {
		t.Errorf("last FileStored event is for %s, want CT_small.dcm's %s", evs[want].SOPInstanceUID, sop)
	}
	for _, ev := range evs {
		if _, err := os.Stat(ev.File); err != nil {
			t.Errorf("FileStored event names %s: %v", ev.File, err)
		}
	}
	objects, temps := e.files(t)
	if len(objects) != want+1 || len(temps) != 0 {
		t.Errorf("after shutdown: objects %v, temporary files %v; want %d objects and no temporary file", objects, temps, want+1)
	}
}

// ---- raw peers ----

// dial opens a raw connection, not yet associated.
func (e *env) dial(t *testing.T) *scutest.Conn {
	t.Helper()
	c, err := scutest.Dial(e.addr, giveUp)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// associate opens an association proposing ctxs (CT image storage in
// explicit VR little endian on ID 1 when none).
func (e *env) associate(t *testing.T, ctxs ...scutest.Context) *scutest.Conn {
	t.Helper()
	if len(ctxs) == 0 {
		ctxs = []scutest.Context{ctContext(1)}
	}
	c, err := scutest.Associate(e.addr, scutest.Options{CallingAE: "BATTERY", CalledAE: "STORE-SCP", Contexts: ctxs, Timeout: giveUp})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	for _, ctx := range ctxs {
		if c.Accepted(ctx.ID) == "" {
			t.Fatalf("context %d (%s) not accepted", ctx.ID, ctx.AbstractSyntax)
		}
	}
	return c
}

func ctContext(id byte) scutest.Context {
	return scutest.Context{ID: id, AbstractSyntax: ctImage, TransferSyntaxes: []string{dicom.ExplicitVRLittleEndian}}
}

func mrContext(id byte) scutest.Context {
	return scutest.Context{ID: id, AbstractSyntax: mrImage, TransferSyntaxes: []string{dicom.ExplicitVRLittleEndian}}
}

func echoContext(id byte) scutest.Context {
	return scutest.Context{ID: id, AbstractSyntax: verification, TransferSyntaxes: []string{dicom.ImplicitVRLittleEndian}}
}

// write writes b and fails the case on error.
func write(t *testing.T, c *scutest.Conn, b []byte) {
	t.Helper()
	if err := c.WriteRaw(b); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// answer is what the server sent after a trigger, up to the end of the
// connection.
type answer struct {
	msgs   []pdu.Message
	first  time.Duration // from the trigger to the first PDU
	closed time.Duration // from the trigger to the end of the stream
	reset  bool          // the stream ended with a reset, not a close
}

// readAnswer reads PDUs until the server closes the connection, then
// closes the client's side too (so that a server waiting in Sta13 for the
// peer's close is released at once). since is the time of the trigger.
func readAnswer(t *testing.T, c *scutest.Conn, since time.Time) answer {
	t.Helper()
	defer c.Close()
	return readAnswerOpen(t, c, since)
}

// readAnswerOpen is readAnswer without the close: the client keeps its
// side of the connection open.
func readAnswerOpen(t *testing.T, c *scutest.Conn, since time.Time) answer {
	t.Helper()
	_ = c.NC.SetReadDeadline(since.Add(giveUp))
	var a answer
	for {
		m, err := c.ReadPDU()
		if err != nil {
			a.closed = time.Since(since)
			switch {
			case errors.Is(err, io.EOF):
			case errors.Is(err, syscall.ECONNRESET):
				a.reset = true
			case errors.Is(err, os.ErrDeadlineExceeded):
				t.Fatalf("the server neither answered nor closed within %v (got %s)", giveUp, describe(a.msgs))
			default:
				t.Fatalf("reading the answer after %s: %v", describe(a.msgs), err)
			}
			return a
		}
		if len(a.msgs) == 0 {
			a.first = time.Since(since)
		}
		a.msgs = append(a.msgs, m)
	}
}

func describe(msgs []pdu.Message) string {
	if len(msgs) == 0 {
		return "no PDU"
	}
	var s []string
	for _, m := range msgs {
		switch m := m.(type) {
		case *pdu.Abort:
			s = append(s, m.String())
		case *pdu.AssociateRJ:
			s = append(s, m.String())
		default:
			s = append(s, m.Type().String())
		}
	}
	return strings.Join(s, ", ")
}

// wantAbort checks that the answer is exactly one A-ABORT with source and
// reason, within the bound, followed by the close (not a reset, which could
// destroy the A-ABORT before the peer reads it).
func (a answer) wantAbort(t *testing.T, source, reason byte, lo, hi time.Duration) {
	t.Helper()
	want := &pdu.Abort{Source: source, Reason: reason}
	if len(a.msgs) != 1 {
		t.Fatalf("server sent %s, want only %s", describe(a.msgs), want)
	}
	got, ok := a.msgs[0].(*pdu.Abort)
	if !ok || *got != *want {
		t.Fatalf("server sent %s, want %s", describe(a.msgs), want)
	}
	if a.first < lo || a.first > hi {
		t.Errorf("A-ABORT after %v, want it between %v and %v", a.first, lo, hi)
	}
	if a.reset {
		t.Errorf("connection reset after the A-ABORT; PS3.8 Sta13 wants the peer to close")
	}
	if a.closed > a.first+prompt {
		t.Errorf("connection closed %v after the A-ABORT", a.closed-a.first)
	}
}

// wantReject checks that the answer is exactly one A-ASSOCIATE-RJ with
// these values, promptly, followed by the close.
func (a answer) wantReject(t *testing.T, result, source, reason byte) {
	t.Helper()
	want := &pdu.AssociateRJ{Result: result, Source: source, Reason: reason}
	if len(a.msgs) != 1 {
		t.Fatalf("server sent %s, want only %s", describe(a.msgs), want)
	}
	got, ok := a.msgs[0].(*pdu.AssociateRJ)
	if !ok || *got != *want {
		t.Fatalf("server sent %s, want %s", describe(a.msgs), want)
	}
	if a.first > prompt {
		t.Errorf("A-ASSOCIATE-RJ after %v, want it within %v", a.first, prompt)
	}
	if a.reset {
		t.Errorf("connection reset after the A-ASSOCIATE-RJ")
	}
	if a.closed > a.first+prompt {
		t.Errorf("connection closed %v after the A-ASSOCIATE-RJ", a.closed-a.first)
	}
}

// wantClose checks that the server sent nothing and closed the connection
// between lo and hi after the trigger.
func (a answer) wantClose(t *testing.T, lo, hi time.Duration) {
	t.Helper()
	if len(a.msgs) != 0 {
		t.Fatalf("server sent %s, want a plain close", describe(a.msgs))
	}
	if a.closed < lo || a.closed > hi {
		t.Errorf("connection closed after %v, want between %v and %v", a.closed, lo, hi)
	}
}

// timer returns the window in which a timer of d must fire.
func timer(d time.Duration) (lo, hi time.Duration) { return d - early, d + late }

// ---- DIMSE ----

// response reads a DIMSE response within prompt and checks it: the
// command, the status and the Error Comment (a failure status always has
// one, at most 64 characters, without backslash or control characters:
// PS3.5 Table 6.2-1, LO). comment is the expected Error Comment, or its
// prefix when it ends with "*".
func response(t *testing.T, c *scutest.Conn, field, status uint16, comment string) *dimse.Command {
	t.Helper()
	since := time.Now()
	_ = c.NC.SetReadDeadline(since.Add(giveUp))
	rsp, err := c.ReadResponse()
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	if d := time.Since(since); d > prompt {
		t.Errorf("response after %v, want it within %v", d, prompt)
	}
	if rsp.Field != field || rsp.Status != status {
		t.Fatalf("response %s status 0x%04X (%q), want %s status 0x%04X",
			dimse.CommandName(rsp.Field), rsp.Status, rsp.ErrorComment, dimse.CommandName(field), status)
	}
	if dimse.StatusCategory(status) == "failure" {
		prefix, isPrefix := strings.CutSuffix(comment, "*")
		switch {
		case rsp.ErrorComment == "":
			t.Errorf("failure status 0x%04X without an Error Comment", status)
		case isPrefix && !strings.HasPrefix(rsp.ErrorComment, prefix), !isPrefix && rsp.ErrorComment != comment:
			t.Errorf("Error Comment %q, want %q", rsp.ErrorComment, comment)
		}
		if len(rsp.ErrorComment) > 64 || strings.ContainsFunc(rsp.ErrorComment, func(r rune) bool { return r < 0x20 || r == '\\' || r > 0x7E }) {
			t.Errorf("Error Comment %q is not a valid LO value", rsp.ErrorComment)
		}
	}
	return rsp
}

// release releases the association: it must still be usable.
func release(t *testing.T, c *scutest.Conn) {
	t.Helper()
	since := time.Now()
	_ = c.NC.SetDeadline(since.Add(giveUp))
	if err := c.Release(); err != nil {
		t.Fatalf("release: %v", err)
	}
	if d := time.Since(since); d > prompt {
		t.Errorf("A-RELEASE-RP after %v, want it within %v", d, prompt)
	}
}

// storeCommand encodes a C-STORE-RQ announcing a data set.
func storeCommand(id uint16, class, inst string) []byte {
	return dimse.AppendCommand(nil, &dimse.Command{Field: dimse.CStoreRQ, MessageID: id,
		AffectedSOPClassUID: class, AffectedSOPInstanceUID: inst, HasDataSetType: true, DataSetType: 0})
}

// cmdElem encodes a command element (implicit VR little endian).
func cmdElem(tag uint32, v []byte) []byte {
	b := binary.LittleEndian.AppendUint16(nil, uint16(tag>>16))
	b = binary.LittleEndian.AppendUint16(b, uint16(tag))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(v)))
	return append(b, v...)
}

func us(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }

func uid(s string) []byte {
	if len(s)%2 == 1 {
		s += "\x00"
	}
	return []byte(s)
}

// rawCommand builds a command set from elements, with its group length.
func rawCommand(elems ...[]byte) []byte {
	body := slices.Concat(elems...)
	return append(cmdElem(0x00000000, binary.LittleEndian.AppendUint32(nil, uint32(len(body)))), body...)
}

// ---- PDUs ----

// rawPDU is a PDU of type typ with body, its length field right.
func rawPDU(typ byte, body []byte) []byte {
	return append(pduHeader(typ, uint32(len(body))), body...)
}

// pduHeader is a PDU header claiming length bytes.
func pduHeader(typ byte, length uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte{typ, 0}, length)
}

// Message control headers (PS3.8 Annex E.2).
const (
	mchData        = 0x00
	mchCommand     = 0x01
	mchLastData    = 0x02
	mchLastCommand = 0x03
)

// pdv is a PDV item with its length field right.
func pdv(ctx, mch byte, data []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(data))+2)
	return append(append(b, ctx, mch), data...)
}

// pdata is a P-DATA-TF PDU of the PDV items.
func pdata(items ...[]byte) []byte {
	return rawPDU(0x04, slices.Concat(items...))
}

// item is a variable item of an A-ASSOCIATE-RQ (2-byte length).
func item(typ byte, parts ...[]byte) []byte {
	v := slices.Concat(parts...)
	b := binary.BigEndian.AppendUint16([]byte{typ, 0}, uint16(len(v)))
	return append(b, v...)
}

// pcItem is a presentation context item of an A-ASSOCIATE-RQ.
func pcItem(id byte, abstract string, transfer ...string) []byte {
	parts := [][]byte{{id, 0, 0, 0}, item(0x30, []byte(abstract))}
	for _, ts := range transfer {
		parts = append(parts, item(0x40, []byte(ts)))
	}
	return item(0x20, parts...)
}

// userInfoItem is a user information item with a maximum length.
func userInfoItem(maxLength uint32) []byte {
	return item(0x50, item(0x51, binary.BigEndian.AppendUint32(nil, maxLength)), item(0x52, []byte("1.2.3.4")))
}

// rawRQ encodes an A-ASSOCIATE-RQ by hand, so that it can carry anything a
// hostile peer might send. items follow the fixed fields as they are.
func rawRQ(version uint16, called, calling string, items ...[]byte) []byte {
	body := binary.BigEndian.AppendUint16(nil, version)
	body = append(body, 0, 0)
	cd, cg := pdu.PadAE(called), pdu.PadAE(calling)
	body = append(body, cd[:]...)
	body = append(body, cg[:]...)
	body = append(body, make([]byte, 32)...)
	return rawPDU(0x01, append(body, slices.Concat(items...)...))
}

// goodRQ is a well-formed A-ASSOCIATE-RQ proposing CT image storage on
// context 1.
func goodRQ() []byte {
	return rawRQ(1, "STORE-SCP", "BATTERY", item(0x10, []byte(pdu.ApplicationContextName)),
		pcItem(1, ctImage, dicom.ExplicitVRLittleEndian), userInfoItem(16384))
}

// ctDataSet is a valid CT data set of SOP instance sop with n pixel bytes.
func ctDataSet(sop string, n int) []byte {
	return testds.ExplicitLE(testds.Instance(ctImage, sop, "1.2.999.1", "1.2.999.1.1", make([]byte, n))...)
}

// localAddr is the client's address as the server sees it.
func localAddr(c *scutest.Conn) string { return c.NC.LocalAddr().String() }

func itoa(n int) string { return strconv.Itoa(n) }

func mustf(t *testing.T, err error, format string, args ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", fmt.Sprintf(format, args...), err)
	}
}
