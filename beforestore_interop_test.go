package dicomrecv

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dicomrecv/dicomrecv/dicom"
	"github.com/dicomrecv/dicomrecv/internal/dimse"
	"github.com/dicomrecv/dicomrecv/internal/scutest"
	"github.com/dicomrecv/dicomrecv/internal/testutil"
	"github.com/dicomrecv/dicomrecv/internal/testutil/testds"
)

// anonymize is the acceptance callback: new PatientName, PatientID
// and PatientBirthDate, OtherPatientIDs deleted, Rows set to its own value.
func anonymize(ctx context.Context, r *BeforeStoreRequest) error {
	r.Set("PatientName", "ANON^PATIENT")
	r.Set("PatientID", "ID123")
	r.Set("PatientBirthDate", "19700101")
	r.Delete("OtherPatientIDs")
	if rows, ok := r.Tags["Rows"]; ok {
		r.Set("Rows", rows)
	}
	return nil
}

// tail returns a data set's bytes from its pixel data element on (decoded),
// or nil when it has none.
func pixelTail(t *testing.T, ds []byte, tsUID string) []byte {
	t.Helper()
	ts, ok := dicom.LookupTransferSyntax(tsUID)
	if !ok {
		t.Fatalf("transfer syntax %s", tsUID)
	}
	if ts.Deflated {
		b, err := io.ReadAll(flate.NewReader(bytes.NewReader(ds)))
		if err != nil {
			t.Fatal(err)
		}
		ds = b
	}
	h, err := dicom.ReadHeader(bytes.NewReader(ds), ts.Encoding, dicom.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if h.PixelData == nil {
		return nil
	}
	return ds[h.PixelData.Offset:]
}

// DCMTK storescu sends every pydicom sample, in its own transfer syntax and
// converted to each uncompressed one, through the acceptance callback: the
// stored file has the new values with the right VRs (dcmdump), pixel data
// byte-identical to what was sent, and pydicom reads it.
func TestInteropBeforeStoreEdits(t *testing.T) {
	samples := loadSamples(t)
	testutil.RequireTool(t, testutil.Python)
	type receiver struct {
		*testServer
		proxy *recordingProxy
	}
	newReceiver := func(cfg Config) receiver {
		cfg.ExtractTags = []string{"Rows"}
		ts := startServer(t, cfg)
		ts.OnBeforeStore(anonymize)
		return receiver{ts, newRecordingProxy(t, fmt.Sprintf("127.0.0.1:%d", ts.port))}
	}
	all := newReceiver(Config{})
	only := map[string]receiver{}
	for _, u := range uncompressedTS {
		only[u] = newReceiver(Config{TransferSyntaxMode: ModeCustom, TransferSyntaxes: []string{u}})
	}
	var stored []string
	for _, s := range samples {
		if s.problem != "" || brokenSamples[s.name] != "" {
			continue
		}
		for _, v := range s.variants() {
			r := all
			if v.forced {
				r = only[v.ts]
			}
			name := s.name + "/" + strings.Join(v.opts, "")
			args := append(append([]string{"-v"}, v.opts...), "-aet", "STORESCU", "-aec", "STORE-SCP", "127.0.0.1", r.proxy.port(), s.path)
			out, _ := dcmtk(t, "storescu", args...)
			rec := r.proxy.takeRecordings()
			if rsp := testutil.StoreResponses(out); len(rsp) != 1 || !strings.Contains(rsp[0], "Warning") {
				t.Errorf("%s: responses %q, want a coercion warning\n%s", name, rsp, lastLines(out, 6))
				continue
			}
			ev, sent := storedAndSent(t, name, r.storedCh, rec)
			meta, ds := readStored(t, ev.File)
			if meta.TransferSyntaxUID != v.ts {
				t.Errorf("%s: stored in %s", name, meta.TransferSyntaxUID)
			}
			if want, got := pixelTail(t, sent[ev.SOPInstanceUID], v.ts), pixelTail(t, ds, v.ts); !bytes.Equal(want, got) {
				t.Errorf("%s: pixel data (%d bytes) differs from what was sent (%d bytes)", name, len(got), len(want))
			}
			if e := s.header.Lookup(0x00280010); e != nil {
				sts, _ := dicom.LookupTransferSyntax(s.meta.TransferSyntaxUID)
				if want, _ := e.Render(sts.Encoding, nil, false); ev.Tags["Rows"] != want {
					t.Errorf("%s: Rows %q, the sample's is %q", name, ev.Tags["Rows"], want)
				}
			}
			dump, err := dcmtk(t, "dcmdump", "-q", ev.File)
			if err != nil {
				t.Errorf("%s: dcmdump: %v", name, err)
				continue
			}
			for _, want := range []string{"(0010,0010) PN [ANON^PATIENT]", "(0010,0020) LO [ID123]", "(0010,0030) DA [19700101]"} {
				if !strings.Contains(dump, want) {
					t.Errorf("%s: dcmdump lacks %s", name, want)
				}
			}
			if strings.Contains(dump, "(0010,1000)") {
				t.Errorf("%s: OtherPatientIDs still there", name)
			}
			if ev.Tags["Rows"] != "" && !strings.Contains(dump, "(0028,0010) US "+ev.Tags["Rows"]) {
				t.Errorf("%s: dcmdump does not show Rows as US %s", name, ev.Tags["Rows"])
			}
			stored = append(stored, ev.File)
		}
	}
	if len(stored) < 100 {
		t.Fatalf("only %d edited files", len(stored))
	}
	// pydicom reads every edited file with the new values.
	script := `import sys, json, pydicom
out = {}
for p in sys.argv[1:]:
    ds = pydicom.dcmread(p)
    out[p] = [str(ds.PatientName), ds.PatientID, ds.PatientBirthDate, "OtherPatientIDs" in ds]
print(json.dumps(out))`
	cmd := exec.Command(testutil.Python, append([]string{"-c", script}, stored...)...)
	cmd.Stderr = os.Stderr
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("pydicom: %v", err)
	}
	var res map[string][]any
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	for _, f := range stored {
		r := res[f]
		if len(r) != 4 || r[0] != "ANON^PATIENT" || r[1] != "ID123" || r[2] != "19700101" || r[3] != false {
			t.Errorf("pydicom reads %s as %v", filepath.Base(f), r)
		}
	}
}

// Changing the Study Instance UID moves the file to the new path with a
// matching meta header; the response names the request's UIDs; with
// coercionStatus success the sender gets 0x0000.
func TestBeforeStoreChangesUIDs(t *testing.T) {
	ts := startServer(t, Config{CoercionStatus: "success"})
	ts.OnBeforeStore(func(ctx context.Context, r *BeforeStoreRequest) error {
		r.Set("StudyInstanceUID", "2.25.1234")
		r.Set("SOPInstanceUID", "2.25.1234.1")
		return nil
	})
	c := ts.associate(t, scutest.Options{Contexts: ctContext(1)})
	ds := testds.ExplicitLE(testds.Instance(ctImage, "1.2.16.1", "1.2.16", "1.2.16.9", bytes.Repeat([]byte{5, 6}, 100))...)
	rsp, err := c.Store(1, ctImage, "1.2.16.1", ds)
	if err != nil || rsp.Status != dimse.StatusSuccess || rsp.AffectedSOPInstanceUID != "1.2.16.1" {
		t.Fatalf("%v %+v", err, rsp)
	}
	c.Release()
	ev := ts.waitStored(t, 1)[0]
	want := storedPath(ts.dir, "2.25.1234", "1.2.16.9", "2.25.1234.1")
	if ev.File != want || ev.StudyInstanceUID != "2.25.1234" || ev.SOPInstanceUID != "2.25.1234.1" {
		t.Fatalf("event %+v, want file %s", ev, want)
	}
	meta, stored := readStored(t, want)
	if meta.MediaStorageSOPInstanceUID != "2.25.1234.1" {
		t.Fatalf("meta SOP instance %s", meta.MediaStorageSOPInstanceUID)
	}
	if _, err := os.Stat(storedPath(ts.dir, "1.2.16", "1.2.16.9", "1.2.16.1")); !os.IsNotExist(err) {
		t.Fatal("a file at the old path")
	}
	h, err := dicom.ReadHeader(bytes.NewReader(stored), dicom.ExplicitLittle, dicom.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if uid, _ := h.UID(dicom.TagStudyInstanceUID); uid != "2.25.1234" {
		t.Fatalf("stored Study Instance UID %s", uid)
	}
	if !bytes.Equal(stored[h.Length:], ds[len(ds)-200:]) {
		t.Fatal("pixel data changed")
	}
}

// Changes that cannot be made refuse the object with a clear comment.
func TestBeforeStoreBadChanges(t *testing.T) {
	for _, tc := range []struct {
		name    string
		fn      func(r *BeforeStoreRequest)
		comment string
	}{
		{"value the VR cannot hold", func(r *BeforeStoreRequest) { r.Set("Rows", "70000") }, "(0028,0010) US"},
		{"text for a number", func(r *BeforeStoreRequest) { r.Set("Rows", "many") }, "(0028,0010) US"},
		{"bad date", func(r *BeforeStoreRequest) { r.Set("PatientBirthDate", "2023-13-45") }, "(0010,0030) DA"},
		{"SOP class", func(r *BeforeStoreRequest) { r.Set("SOPClassUID", mrImage) }, "may not change the SOP Class UID"},
		{"invalid study UID", func(r *BeforeStoreRequest) { r.Set("StudyInstanceUID", "1..2") }, "(0020,000D) UI"},
		{"character set", func(r *BeforeStoreRequest) { r.Set("SpecificCharacterSet", "ISO_IR 100") }, "(0008,0005)"},
		{"pixel data", func(r *BeforeStoreRequest) { r.Delete("PixelData") }, "(7FE0,0010)"},
		{"non-ASCII in the default repertoire", func(r *BeforeStoreRequest) { r.Set("PatientName", "Müller") }, "(0010,0010)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, Config{})
			ts.OnBeforeStore(func(ctx context.Context, r *BeforeStoreRequest) error {
				tc.fn(r)
				return nil
			})
			c := ts.associate(t, scutest.Options{Contexts: ctContext(1)})
			rsp, err := c.Store(1, ctImage, "1.2.17.1", testds.ExplicitLE(testds.Instance(ctImage, "1.2.17.1", "1.2.17", "1.2.17.9", []byte{1, 2})...))
			if err != nil {
				t.Fatal(err)
			}
			if rsp.Status != dimse.StatusRefusedByCallback || !strings.Contains(rsp.ErrorComment, tc.comment) {
				t.Fatalf("status 0x%04X %q, want 0xC006 mentioning %q", rsp.Status, rsp.ErrorComment, tc.comment)
			}
			if n, names := countFiles(t, ts.dir); n != 0 {
				t.Fatalf("files %v", names)
			}
			c.Release()
		})
	}
}
