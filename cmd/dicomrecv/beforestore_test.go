package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dicomrecv/dicomrecv/internal/scutest"
	"github.com/dicomrecv/dicomrecv/internal/testutil"
)

func smallCT(sop string) []byte {
	h := bigHeader("1.2.840.10008.5.1.4.1.1.2", sop, 4)
	return append(h, 1, 2, 3, 4)
}

// The webhook refuses: a non-200 answer (its text is the Error Comment),
// malformed JSON, a timeout. Nothing is stored, and the next object on the
// same association is stored.
func TestBeforeStoreWebhookRefusals(t *testing.T) {
	var calls atomic.Int32
	var mode atomic.Value
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		var body struct {
			Tags                          map[string]string
			CallingAETitle, CalledAETitle string
			RemoteAddr                    string
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Tags["SOPInstanceUID"] == "" ||
			body.CallingAETitle != "SCUTEST" || body.RemoteAddr == "" {
			http.Error(w, "bad request body", 400)
			return
		}
		switch mode.Load().(string) {
		case "forbidden":
			http.Error(w, "patient not in registry", http.StatusForbidden)
		case "malformed":
			w.Write([]byte("{not json"))
		case "slow":
			time.Sleep(2 * time.Second)
			w.WriteHeader(http.StatusNoContent)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	defer hook.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.json")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`{"beforeStoreWebhook": %q, "beforeStoreTimeout": 0.5, "fsync": false}`, hook.URL)), 0o644)
	p := startProcess(t, buildBinary(t), "--config", cfg, "--port", "0", "--out-dir", filepath.Join(dir, "store"))
	const ct = "1.2.840.10008.5.1.4.1.1.2"
	c, err := scutest.Associate(fmt.Sprintf("127.0.0.1:%d", p.port), scutest.Options{
		Contexts: []scutest.Context{{ID: 1, AbstractSyntax: ct, TransferSyntaxes: []string{"1.2.840.10008.1.2.1"}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i, tc := range []struct{ mode, comment string }{
		{"forbidden", "patient not in registry"},
		{"malformed", "beforeStoreWebhook: malformed answer"},
		{"slow", "beforeStoreWebhook timed out"},
	} {
		mode.Store(tc.mode)
		sop := fmt.Sprintf("1.2.3.4.%d", i+10)
		rsp, err := c.Store(1, ct, sop, smallCT(sop))
		if err != nil {
			t.Fatal(err)
		}
		if rsp.Status != 0xC006 || !strings.HasPrefix(rsp.ErrorComment, tc.comment) {
			t.Errorf("%s: status 0x%04X %q, want 0xC006 %q", tc.mode, rsp.Status, rsp.ErrorComment, tc.comment)
		}
	}
	if n := countStored(filepath.Join(dir, "store")); n != 0 {
		t.Fatalf("%d files stored from refused objects", n)
	}
	mode.Store("ok")
	if rsp, err := c.Store(1, ct, "1.2.3.4.20", smallCT("1.2.3.4.20")); err != nil || rsp.Status != 0 {
		t.Fatalf("after the refusals: %v %+v", err, rsp)
	}
	if n := countStored(filepath.Join(dir, "store")); n != 1 {
		t.Fatalf("%d files stored, want 1", n)
	}
	if calls.Load() != 4 {
		t.Fatalf("webhook called %d times, want 4", calls.Load())
	}
}

func TestModifyTagsValidation(t *testing.T) {
	for _, tc := range []struct{ file, want string }{
		{`{"modifyTags": {"PatientsName": "X"}}`, "modifyTags: PatientsName: unknown keyword, did you mean PatientName?"},
		{`{"beforeStoreWebhook": "ftp://x/y"}`, "beforeStoreWebhook"},
	} {
		dir := t.TempDir()
		path := filepath.Join(dir, "c.json")
		os.WriteFile(path, []byte(tc.file), 0o644)
		var stderr strings.Builder
		if code := run([]string{"--config", path, "--out-dir", dir}, &strings.Builder{}, &stderr, nil); code != 2 ||
			!strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%s: exit %d, %q", tc.file, code, stderr.String())
		}
	}
}

// modifyTags and a webhook answering 200 with changes: the stored file
// carries both (the webhook's after the static ones), and the sender gets
// the coercion warning.
func TestModifyTagsAndWebhookChanges(t *testing.T) {
	storescu := testutil.RequireTool(t, "storescu")
	dcmdump := testutil.RequireTool(t, "dcmdump")
	sample := filepath.Join(testutil.PydicomTestFiles, "CT_small.dcm")
	testutil.RequireFile(t, sample)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"PatientID": "PSEUDO-7", "Rows": 128, "PatientSex": null}`))
	}))
	defer hook.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`fsync: false
modifyTags: {PatientName: "ANONYMOUS^PATIENT", PatientBirthDate: "", OtherPatientIDs: null}
beforeStoreWebhook: %s
`, hook.URL)), 0o644)
	p := startProcess(t, buildBinary(t), "--config", cfg, "--port", "0", "--out-dir", filepath.Join(dir, "store"))
	out, err := exec.Command(storescu, "-v", "-aec", "STORE-SCP", "127.0.0.1", fmt.Sprint(p.port), sample).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Received Store Response (Warning") {
		t.Fatalf("storescu: %v\n%s", err, out)
	}
	ev := p.next(t)
	var fs struct{ File string }
	if ev.Event != "FileStored" || json.Unmarshal(ev.Data, &fs) != nil {
		t.Fatalf("event %+v", ev)
	}
	dump, err := exec.Command(dcmdump, "-q", fs.File).Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"(0010,0010) PN [ANONYMOUS^PATIENT]", "(0010,0020) LO [PSEUDO-7]",
		"(0010,0030) DA (no value available)", "(0028,0010) US 128"} {
		if !strings.Contains(string(dump), want) {
			t.Errorf("stored file lacks %s", want)
		}
	}
	if strings.Contains(string(dump), "(0010,0040)") {
		t.Error("PatientSex was not deleted")
	}
}
