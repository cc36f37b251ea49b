package dicomrecv

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dicomrecv/dicomrecv/dicom"
	"github.com/dicomrecv/dicomrecv/internal/dimse"
	"github.com/dicomrecv/dicomrecv/internal/pdu"
	"github.com/dicomrecv/dicomrecv/internal/scutest"
	"github.com/dicomrecv/dicomrecv/internal/testutil/testds"
)

const (
	ctImage  = "1.2.840.10008.5.1.4.1.1.2"
	mrImage  = "1.2.840.10008.5.1.4.1.1.4"
	findRoot = "1.2.840.10008.5.1.4.1.2.2.1"
)

func ctContext(ids ...byte) []scutest.Context {
	var cs []scutest.Context
	for _, id := range ids {
		cs = append(cs, scutest.Context{ID: id, AbstractSyntax: ctImage, TransferSyntaxes: []string{dicom.ExplicitVRLittleEndian}})
	}
	return cs
}

func (ts *testServer) associate(t testing.TB, o scutest.Options) *scutest.Conn {
	t.Helper()
	c, err := scutest.Associate(fmt.Sprintf("127.0.0.1:%d", ts.port), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// countFiles counts the files under dir: stored objects and temporary
// files, not the study journal.
func countFiles(t testing.TB, dir string) (n int, names []string) {
	t.Helper()
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && !strings.Contains(info.Name(), "studies.journal") {
			n++
			names = append(names, p)
		}
		return nil
	})
	return n, names
}

// Each malformed C-STORE gets its failure status with an Error Comment,
// nothing is stored, and the association stays usable.
func TestStoreFailureStatuses(t *testing.T) {
	ts := startServer(t, Config{})
	c := ts.associate(t, scutest.Options{Contexts: append(ctContext(1),
		scutest.Context{ID: 3, AbstractSyntax: mrImage, TransferSyntaxes: []string{dicom.ExplicitVRLittleEndian}})})
	pixels := bytes.Repeat([]byte{1, 2}, 64)
	good := testds.ExplicitLE(testds.Instance(ctImage, "1.2.3.4", "1.2.3", "1.2.3.1", pixels)...)
	withMeta := testds.ExplicitLE(append([]testds.Elem{testds.Str(dicom.TagTransferSyntaxUID, dicom.UI, "1.2.840.10008.1.2.1")},
		testds.Instance(ctImage, "1.2.3.5", "1.2.3", "1.2.3.1", pixels)...)...)
	truncatedPixels := testds.ExplicitLE(testds.Instance(ctImage, "1.2.3.6", "1.2.3", "1.2.3.1", pixels)...)
	truncatedPixels = truncatedPixels[:len(truncatedPixels)-10]
	for _, tc := range []struct {
		name        string
		ctx         byte
		class, inst string
		data        []byte
		status      uint16
	}{
		{"SOP class differs from the data set's", 1, ctImage, "1.2.3.4",
			testds.ExplicitLE(testds.Instance(mrImage, "1.2.3.4", "1.2.3", "1.2.3.1", pixels)...), dimse.StatusDataSetMismatch},
		{"SOP instance differs from the data set's", 1, ctImage, "9.9.9",
			good, dimse.StatusInstanceMismatch},
		{"command SOP class not that of the context", 3, ctImage, "1.2.3.4", good, dimse.StatusSOPClassNotSupported},
		{"file meta elements in the data set", 1, ctImage, "1.2.3.5", withMeta, dimse.StatusFileMetaInDataSet},
		{"unparsable data set", 1, ctImage, "1.2.3.4", []byte{0x08, 0x00, 0x16, 0x00, 'U', 'I', 0xFF, 0x7F, '1'}, dimse.StatusUnparsable},
		{"pixel data cut short", 1, ctImage, "1.2.3.6", truncatedPixels, dimse.StatusUnparsable},
		{"study UID with ..", 1, ctImage, "1.2.3.7",
			testds.ExplicitLE(testds.Instance(ctImage, "1.2.3.7", "1..2", "1.2.3.1", pixels)...), dimse.StatusBadUID},
		{"series UID with /", 1, ctImage, "1.2.3.8",
			testds.ExplicitLE(testds.Instance(ctImage, "1.2.3.8", "1.2.3", "1.2/3", pixels)...), dimse.StatusBadUID},
		{"SOP instance UID of 65 characters", 1, ctImage, "1." + strings.Repeat("2", 63),
			testds.ExplicitLE(testds.Instance(ctImage, "1."+strings.Repeat("2", 63), "1.2.3", "1.2.3.1", pixels)...), dimse.StatusBadUID},
		{"no study UID", 1, ctImage, "1.2.3.9",
			testds.ExplicitLE(testds.Instance(ctImage, "1.2.3.9", "", "1.2.3.1", pixels)...), dimse.StatusBadUID},
	} {
		rsp, err := c.Store(tc.ctx, tc.class, tc.inst, tc.data)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if rsp.Status != tc.status || rsp.ErrorComment == "" || rsp.Field != dimse.CStoreRSP ||
			rsp.AffectedSOPInstanceUID != tc.inst {
			t.Errorf("%s: status 0x%04X comment %q, want 0x%04X with a comment", tc.name, rsp.Status, rsp.ErrorComment, tc.status)
		}
		if len(rsp.ErrorComment) > 64 {
			t.Errorf("%s: error comment of %d characters", tc.name, len(rsp.ErrorComment))
		}
	}
	if n, names := countFiles(t, ts.dir); n != 0 {
		t.Fatalf("failed stores left files: %v", names)
	}
	// The association still works.
	rsp, err := c.Store(1, ctImage, "1.2.3.4", good)
	if err != nil || rsp.Status != dimse.StatusSuccess {
		t.Fatalf("store after failures: %v %+v", err, rsp)
	}
	got, err := os.ReadFile(storedPath(ts.dir, "1.2.3", "1.2.3.1", "1.2.3.4"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ds, err := dicom.SplitFile(got); err != nil || !bytes.Equal(ds, good) {
		t.Fatalf("stored data set differs from the one sent: %v", err)
	}
	if err := c.Release(); err != nil {
		t.Fatal(err)
	}
}

func TestEchoResponse(t *testing.T) {
	ts := startServer(t, Config{})
	c := ts.associate(t, scutest.Options{Contexts: []scutest.Context{
		{ID: 1, AbstractSyntax: VerificationSOPClass, TransferSyntaxes: []string{dicom.ImplicitVRLittleEndian}}}})
	for i := 0; i < 3; i++ {
		cmd := dimse.AppendCommand(nil, &dimse.Command{Field: dimse.CEchoRQ, MessageID: uint16(100 + i), AffectedSOPClassUID: VerificationSOPClass})
		if err := c.W.WriteMessage(1, true, cmd, 0); err != nil {
			t.Fatal(err)
		}
		rsp, err := c.ReadResponse()
		if err != nil {
			t.Fatal(err)
		}
		if rsp.Field != dimse.CEchoRSP || rsp.MessageIDBeingRespondedTo != uint16(100+i) ||
			rsp.AffectedSOPClassUID != VerificationSOPClass || rsp.Status != 0 || rsp.HasDataSet() {
			t.Fatalf("C-ECHO-RSP %+v", rsp)
		}
	}
}

// VerificationSOPClass is the UID of the Verification SOP Class.
const VerificationSOPClass = "1.2.840.10008.1.1"

func TestUnsupportedCommand(t *testing.T) {
	ts := startServer(t, Config{AbstractSyntaxMode: ModeAll})
	c := ts.associate(t, scutest.Options{Contexts: []scutest.Context{
		{ID: 1, AbstractSyntax: findRoot, TransferSyntaxes: []string{dicom.ImplicitVRLittleEndian}}}})
	cmd := dimse.AppendCommand(nil, &dimse.Command{Field: dimse.CFindRQ, MessageID: 9, AffectedSOPClassUID: findRoot,
		HasDataSetType: true, DataSetType: 0})
	if err := c.W.WriteMessage(1, true, cmd, 0); err != nil {
		t.Fatal(err)
	}
	if err := c.W.WriteMessage(1, false, []byte{0x08, 0, 0x52, 0, 'C', 'S', 6, 0, 'S', 'T', 'U', 'D', 'Y', ' '}, 0); err != nil {
		t.Fatal(err)
	}
	rsp, err := c.ReadResponse()
	if err != nil {
		t.Fatal(err)
	}
	if rsp.Field != dimse.CFindRQ|0x8000 || rsp.Status != dimse.StatusUnrecognizedOperation || rsp.MessageIDBeingRespondedTo != 9 {
		t.Fatalf("response %+v", rsp)
	}
	// The association lives on.
	if err := c.Release(); err != nil {
		t.Fatal(err)
	}
}

// A command and a data set fragmented into many small PDVs and PDUs are
// reassembled.
func TestFragmentedMessages(t *testing.T) {
	ts := startServer(t, Config{})
	c := ts.associate(t, scutest.Options{Contexts: ctContext(1)})
	ds := testds.ExplicitLE(testds.Instance(ctImage, "1.2.5.1", "1.2.5", "1.2.5.9", bytes.Repeat([]byte{7, 8}, 5000))...)
	cmd := dimse.AppendCommand(nil, &dimse.Command{Field: dimse.CStoreRQ, MessageID: 1, AffectedSOPClassUID: ctImage,
		AffectedSOPInstanceUID: "1.2.5.1", HasDataSetType: true})
	if err := c.W.WriteMessage(1, true, cmd, 16); err != nil {
		t.Fatal(err)
	}
	if err := c.W.WriteMessage(1, false, ds, 100); err != nil {
		t.Fatal(err)
	}
	rsp, err := c.ReadResponse()
	if err != nil || rsp.Status != 0 {
		t.Fatalf("%v %+v", err, rsp)
	}
	_, got := readStored(t, storedPath(ts.dir, "1.2.5", "1.2.5.9", "1.2.5.1"))
	if !bytes.Equal(got, ds) {
		t.Fatal("stored data set differs")
	}
}

func TestDuplicatePolicyOverTheWire(t *testing.T) {
	for _, tc := range []struct {
		policy string
		status uint16
		dup    bool
	}{{"overwrite", 0, true}, {"keep", 0, true}, {"reject", dimse.StatusDuplicate, false}} {
		t.Run(tc.policy, func(t *testing.T) {
			ts := startServer(t, Config{DuplicatePolicy: tc.policy})
			c := ts.associate(t, scutest.Options{Contexts: ctContext(1)})
			first := testds.ExplicitLE(testds.Instance(ctImage, "1.2.6.1", "1.2.6", "1.2.6.9", []byte{1, 1})...)
			second := testds.ExplicitLE(testds.Instance(ctImage, "1.2.6.1", "1.2.6", "1.2.6.9", []byte{2, 2})...)
			if rsp, err := c.Store(1, ctImage, "1.2.6.1", first); err != nil || rsp.Status != 0 {
				t.Fatalf("first: %v %+v", err, rsp)
			}
			rsp, err := c.Store(1, ctImage, "1.2.6.1", second)
			if err != nil || rsp.Status != tc.status {
				t.Fatalf("second: %v status 0x%04X, want 0x%04X", err, rsp.Status, tc.status)
			}
			_, got := readStored(t, storedPath(ts.dir, "1.2.6", "1.2.6.9", "1.2.6.1"))
			want := first
			if tc.policy == "overwrite" {
				want = second
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("stored copy is not the %s one", map[bool]string{true: "second", false: "first"}[tc.policy == "overwrite"])
			}
			c.Release()
			evs := ts.waitStored(t, 1+btoi(tc.status == 0))
			if evs[0].Duplicate || (tc.status == 0 && !evs[1].Duplicate) {
				t.Fatalf("duplicate flags %v", evs)
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// waitStored waits until n FileStored events arrived.
func (ts *testServer) waitStored(t testing.TB, n int) []FileStoredEvent {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if evs := ts.storedEvents(); len(evs) >= n {
			return evs
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%d FileStored events, want %d", len(ts.storedEvents()), n)
	return nil
}

// With storeWithFileMeta false the file is the data set exactly as received.
func TestDatasetOnly(t *testing.T) {
	ts := startServer(t, Config{DatasetOnly: true})
	c := ts.associate(t, scutest.Options{Contexts: ctContext(1)})
	ds := testds.ExplicitLE(testds.Instance(ctImage, "1.2.7.1", "1.2.7", "1.2.7.9", []byte{3, 4})...)
	if rsp, err := c.Store(1, ctImage, "1.2.7.1", ds); err != nil || rsp.Status != 0 {
		t.Fatalf("%v %+v", err, rsp)
	}
	got, err := os.ReadFile(storedPath(ts.dir, "1.2.7", "1.2.7.9", "1.2.7.1"))
	if err != nil || !bytes.Equal(got, ds) {
		t.Fatalf("file is not the data set: %v", err)
	}
	c.Release()
	if ev := ts.waitStored(t, 1)[0]; ev.TransferSyntaxUID != dicom.ExplicitVRLittleEndian || ev.Bytes != int64(len(ds)) {
		t.Fatalf("event %+v", ev)
	}
}

// Many associations store at once.
func TestConcurrentAssociations(t *testing.T) {
	ts := startServer(t, Config{})
	const assocs, each = 12, 8
	var wg sync.WaitGroup
	errs := make(chan error, assocs)
	for a := 0; a < assocs; a++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := scutest.Associate(fmt.Sprintf("127.0.0.1:%d", ts.port), scutest.Options{Contexts: ctContext(1)})
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			for i := 0; i < each; i++ {
				sop := fmt.Sprintf("1.2.8.%d.%d", a, i)
				rsp, err := c.Store(1, ctImage, sop, testds.ExplicitLE(testds.Instance(ctImage, sop, "1.2.8", fmt.Sprintf("1.2.8.%d", a), bytes.Repeat([]byte{byte(i), 0}, 4096))...))
				if err != nil || rsp.Status != 0 {
					errs <- fmt.Errorf("store %s: %v %+v", sop, err, rsp)
					return
				}
			}
			errs <- c.Release()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n, _ := countFiles(t, ts.dir); n != assocs*each {
		t.Fatalf("%d files, want %d", n, assocs*each)
	}
}

// When the handlers fall behind, responses wait: no event is dropped.
func TestEventsBackPressure(t *testing.T) {
	ts := startServerWith(t, Config{}, func(s *Server) { s.events = make(chan any, 2) })
	release := make(chan struct{})
	var mu sync.Mutex
	var order []string
	ts.OnFileStored(func(ev FileStoredEvent) {
		<-release
		mu.Lock()
		order = append(order, ev.SOPInstanceUID)
		mu.Unlock()
	})
	c := ts.associate(t, scutest.Options{Contexts: ctContext(1)})
	const n = 8
	done := make(chan error, 1)
	go func() {
		for i := 0; i < n; i++ {
			sop := fmt.Sprintf("1.2.9.%d", i)
			rsp, err := c.Store(1, ctImage, sop, testds.ExplicitLE(testds.Instance(ctImage, sop, "1.2.9", "1.2.9.0", []byte{1, 2})...))
			if err != nil || rsp.Status != 0 {
				done <- fmt.Errorf("%v %+v", err, rsp)
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		t.Fatalf("all %d stores were answered while the handler was blocked (%v)", n, err)
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	c.Release()
	ts.waitStored(t, n)
	mu.Lock()
	defer mu.Unlock()
	for i, sop := range order[:n] {
		if sop != fmt.Sprintf("1.2.9.%d", i) {
			t.Fatalf("events out of order: %v", order)
		}
	}
}

func TestAbortOnUnacceptedContext(t *testing.T) {
	ts := startServer(t, Config{})
	c := ts.associate(t, scutest.Options{Contexts: ctContext(1)})
	cmd := dimse.AppendCommand(nil, &dimse.Command{Field: dimse.CEchoRQ, MessageID: 1, AffectedSOPClassUID: VerificationSOPClass})
	if err := c.W.WriteMessage(5, true, cmd, 0); err != nil {
		t.Fatal(err)
	}
	a, err := c.ExpectAbort()
	if err != nil {
		t.Fatal(err)
	}
	if a.Source != pdu.AbortSourceServiceProvider || a.Reason != pdu.AbortReasonInvalidPDUParameterValue {
		t.Fatalf("abort %+v", a)
	}
}
