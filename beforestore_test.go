package dicomrecv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dicomrecv/dicomrecv/internal/dimse"
	"github.com/dicomrecv/dicomrecv/internal/scutest"
	"github.com/dicomrecv/dicomrecv/internal/testutil"
	"github.com/dicomrecv/dicomrecv/internal/testutil/testds"
)

// A refusing callback: the sender gets the failure status with the
// callback's comment, nothing is stored, and the next object on the same
// association is stored.
func TestBeforeStoreRefusals(t *testing.T) {
	for _, tc := range []struct {
		name    string
		fn      BeforeStoreFunc
		status  uint16
		comment string
	}{
		{"error", func(ctx context.Context, r *BeforeStoreRequest) error {
			return errors.New("PatientID is required")
		}, dimse.StatusRefusedByCallback, "PatientID is required"},
		{"chosen status", func(ctx context.Context, r *BeforeStoreRequest) error {
			return &StoreError{Status: StatusNotAuthorized, Comment: "sender not authorized"}
		}, dimse.StatusNotAuthorized, "sender not authorized"},
		{"wrapped chosen status", func(ctx context.Context, r *BeforeStoreRequest) error {
			return fmt.Errorf("registry: %w", &StoreError{Status: StatusOutOfResources, Comment: "registry down"})
		}, dimse.StatusOutOfResources, "registry down"},
		{"success is not a refusal status", func(ctx context.Context, r *BeforeStoreRequest) error {
			return &StoreError{Status: 0, Comment: "odd"}
		}, dimse.StatusRefusedByCallback, "refused with status 0x0000: odd"},
		{"panic", func(ctx context.Context, r *BeforeStoreRequest) error {
			panic("boom")
		}, dimse.StatusRefusedByCallback, "onBeforeStore panicked: boom"},
		{"deadline", func(ctx context.Context, r *BeforeStoreRequest) error {
			<-ctx.Done()
			time.Sleep(50 * time.Millisecond)
			r.Set("PatientName", "LATE") // after the deadline: ignored
			return nil
		}, dimse.StatusRefusedByCallback, "onBeforeStore did not return before beforeStoreTimeout"},
		{"unknown attribute name", func(ctx context.Context, r *BeforeStoreRequest) error {
			r.Set("PatientsName", "X")
			return nil
		}, dimse.StatusRefusedByCallback, "PatientsName: unknown keyword, did you mean PatientName?"},
		{"long comment truncated", func(ctx context.Context, r *BeforeStoreRequest) error {
			return errors.New(strings.Repeat("very long reason ", 10))
		}, dimse.StatusRefusedByCallback, strings.TrimSpace(strings.Repeat("very long reason ", 10)[:64])},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, Config{BeforeStoreTimeout: 300 * time.Millisecond})
			var calls atomic.Int32
			ts.OnBeforeStore(func(ctx context.Context, r *BeforeStoreRequest) error {
				if calls.Add(1) == 1 {
					return tc.fn(ctx, r)
				}
				return nil
			})
			c := ts.associate(t, scutest.Options{Contexts: ctContext(1)})
			ds := testds.ExplicitLE(testds.Instance(ctImage, "1.2.13.1", "1.2.13", "1.2.13.9", []byte{1, 2})...)
			rsp, err := c.Store(1, ctImage, "1.2.13.1", ds)
			if err != nil {
				t.Fatal(err)
			}
			if rsp.Status != tc.status || rsp.ErrorComment != tc.comment {
				t.Fatalf("status 0x%04X %q, want 0x%04X %q", rsp.Status, rsp.ErrorComment, tc.status, tc.comment)
			}
			if n, names := countFiles(t, ts.dir); n != 0 {
				t.Fatalf("refused object stored: %v", names)
			}
			if rsp, err := c.Store(1, ctImage, "1.2.13.1", ds); err != nil || rsp.Status != dimse.StatusSuccess {
				t.Fatalf("next object: %v %+v", err, rsp)
			}
			c.Release()
		})
	}
}

// The callback runs for every C-STORE, even without ExtractTags, and sees
// the four UIDs and who sent the object; unchanged objects answer success.
func TestBeforeStoreRequest(t *testing.T) {
	ts := startServer(t, Config{})
	type seen struct {
		Tags                                      map[string]string
		CallingAETitle, CalledAETitle, RemoteAddr string
		TransferSyntaxUID                         string
	}
	got := make(chan seen, 1)
	ts.OnBeforeStore(func(ctx context.Context, r *BeforeStoreRequest) error {
		if _, ok := ctx.Deadline(); !ok {
			return errors.New("no deadline")
		}
		got <- seen{Tags: r.Tags, CallingAETitle: r.CallingAETitle, CalledAETitle: r.CalledAETitle,
			RemoteAddr: r.RemoteAddr, TransferSyntaxUID: r.TransferSyntaxUID}
		return nil
	})
	c := ts.associate(t, scutest.Options{CallingAE: "MODALITY", CalledAE: "ARCHIVE", Contexts: ctContext(1)})
	rsp, err := c.Store(1, ctImage, "1.2.14.1", testds.ExplicitLE(testds.Instance(ctImage, "1.2.14.1", "1.2.14", "1.2.14.9", []byte{1, 2})...))
	if err != nil || rsp.Status != dimse.StatusSuccess {
		t.Fatalf("%v %+v", err, rsp)
	}
	r := <-got
	want := map[string]string{"SOPClassUID": ctImage, "SOPInstanceUID": "1.2.14.1", "StudyInstanceUID": "1.2.14", "SeriesInstanceUID": "1.2.14.9"}
	for k, v := range want {
		if r.Tags[k] != v {
			t.Errorf("Tags[%s] = %q, want %q", k, r.Tags[k], v)
		}
	}
	if r.CallingAETitle != "MODALITY" || r.CalledAETitle != "ARCHIVE" || !strings.HasPrefix(r.RemoteAddr, "127.0.0.1:") ||
		r.TransferSyntaxUID != "1.2.840.10008.1.2.1" {
		t.Errorf("request %+v", r)
	}
	c.Release()
}

// Callbacks run in parallel across associations: a slow one delays only
// its own association.
func TestBeforeStoreConcurrency(t *testing.T) {
	ts := startServer(t, Config{})
	release := make(chan struct{})
	ts.OnBeforeStore(func(ctx context.Context, r *BeforeStoreRequest) error {
		if r.CallingAETitle == "SLOW" {
			<-release
		}
		return nil
	})
	slow := ts.associate(t, scutest.Options{CallingAE: "SLOW", Contexts: ctContext(1)})
	fast := ts.associate(t, scutest.Options{CallingAE: "FAST", Contexts: ctContext(1)})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		slow.Store(1, ctImage, "1.2.15.1", testds.ExplicitLE(testds.Instance(ctImage, "1.2.15.1", "1.2.15", "1.2.15.9", []byte{1, 2})...))
	}()
	for i := 0; i < 5; i++ {
		sop := fmt.Sprintf("1.2.15.2.%d", i)
		rsp, err := fast.Store(1, ctImage, sop, testds.ExplicitLE(testds.Instance(ctImage, sop, "1.2.15", "1.2.15.9", bytes.Repeat([]byte{1}, 64))...))
		if err != nil || rsp.Status != 0 {
			t.Fatalf("fast association: %v %+v", err, rsp)
		}
	}
	close(release)
	wg.Wait()
}

// A refusing callback seen from DCMTK: storescu reports the failure status
// and our comment, no file exists, and the next object on the same
// association is stored.
func TestInteropBeforeStoreRefusal(t *testing.T) {
	ct := filepath.Join(testutil.PydicomTestFiles, "CT_small.dcm")
	mr := filepath.Join(testutil.PydicomTestFiles, "MR_small.dcm")
	testutil.RequireFile(t, ct)
	ts := startServer(t, Config{ExtractTags: []string{"Modality"}})
	ts.OnBeforeStore(func(ctx context.Context, r *BeforeStoreRequest) error {
		if r.Tags["Modality"] == "CT" {
			return errors.New("CT not accepted here")
		}
		return nil
	})
	out := ts.storescu(t, []string{"-nh"}, ct, mr)
	rsp := testutil.StoreResponses(out)
	if len(rsp) != 2 || !strings.HasPrefix(rsp[0], "Error") || rsp[1] != "Success" {
		t.Fatalf("responses %q\n%s", rsp, lastLines(out, 20))
	}
	if strings.Count(out, "Requesting Association") != 1 {
		t.Fatalf("storescu opened more than one association:\n%s", out)
	}
	// storescu's debug output shows the response's Error Comment.
	if out := ts.storescu(t, []string{"-d"}, ct); !strings.Contains(out, "(0000,0902) LO [CT not accepted here]") {
		t.Fatalf("storescu does not show our Error Comment:\n%s", lastLines(out, 40))
	}
	evs := ts.waitStored(t, 1)
	if n, names := countFiles(t, ts.dir); n != 1 || len(evs) != 1 || evs[0].SOPClassUID != mrImage {
		t.Fatalf("files %v, events %+v", names, evs)
	}
}
