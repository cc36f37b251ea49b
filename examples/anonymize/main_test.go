package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dicomrecv/dicomrecv"
	"github.com/dicomrecv/dicomrecv/internal/testutil"
)

const testKey = "0123456789abcdef-test-key"

// startAnonymizer starts the example's server on cfg (AE title ANON-SCP, a
// temporary out directory) and returns its port, its anonymizer, its audit
// trail and its FileStored events; it is shut down when the test ends.
func startAnonymizer(t *testing.T, cfg dicomrecv.Config) (string, *anonymizer, *testutil.SyncBuffer, chan dicomrecv.FileStoredEvent) {
	t.Helper()
	cfg.AETitle, cfg.OutDir = "ANON-SCP", t.TempDir()
	audit := &testutil.SyncBuffer{}
	srv, a, err := newServer(cfg, []byte(testKey), audit)
	if err != nil {
		t.Fatal(err)
	}
	stored := make(chan dicomrecv.FileStoredEvent, 8)
	srv.OnFileStored(func(ev dicomrecv.FileStoredEvent) { stored <- ev })
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	_, port, _ := net.SplitHostPort(srv.Addr().String())
	return port, a, audit, stored
}

// auditLines parses the audit trail written so far.
func auditLines(s *testutil.SyncBuffer) []map[string]string {
	var out []map[string]string
	sc := bufio.NewScanner(bytes.NewReader(s.Bytes()))
	for sc.Scan() {
		var m map[string]string
		json.Unmarshal(sc.Bytes(), &m)
		out = append(out, m)
	}
	return out
}

// Two objects of one patient get the same pseudonym; the stored files carry
// no identity; each has its audit line.
func TestAnonymize(t *testing.T) {
	storescu := testutil.RequireTool(t, "storescu")
	dcmdump := testutil.RequireTool(t, "dcmdump")
	sample := filepath.Join(testutil.PydicomTestFiles, "CT_small.dcm")
	testutil.RequireFile(t, sample)
	port, _, audit, stored := startAnonymizer(t, dicomrecv.Config{})
	// storescu +II gives each copy a new SOP Instance UID: two objects of the same patient.
	out, err := exec.Command(storescu, "-v", "+II", "--repeat", "2", "-aec", "ANON-SCP", "127.0.0.1", port, sample).CombinedOutput()
	if err != nil || strings.Count(string(out), "Store Response (Warning") != 2 {
		t.Fatalf("storescu: %v\n%s", err, out)
	}
	var files []string
	for i := 0; i < 2; i++ {
		files = append(files, (<-stored).File)
	}
	lines := auditLines(audit)
	// storescu +II also invents the patient's ID; both copies carry the same one.
	if len(lines) != 2 {
		t.Fatalf("want 2 audit lines, got %v", lines)
	}
	original := lines[0]["patientId"]
	if original == "" || lines[1]["patientId"] != original || lines[0]["pseudonym"] != lines[1]["pseudonym"] ||
		!strings.HasPrefix(lines[0]["pseudonym"], "ANON_") {
		t.Fatalf("audit lines %v", lines)
	}
	for _, f := range files {
		dump, err := exec.Command(dcmdump, "-q", f).Output()
		if err != nil {
			t.Fatal(err)
		}
		d := string(dump)
		for _, want := range []string{"(0010,0010) PN [ANONYMOUS^PATIENT]", "(0010,0020) LO [" + lines[0]["pseudonym"] + "]",
			"(0010,0030) DA (no value available)", "(0012,0062) CS [YES]"} {
			if !strings.Contains(d, want) {
				t.Errorf("%s lacks %s", filepath.Base(f), want)
			}
		}
		if strings.Contains(d, original) || strings.Contains(d, "CompressedSamples^CT1") {
			t.Errorf("%s still holds the patient's identity", filepath.Base(f))
		}
	}
	// The pseudonym is stable across servers with the same key.
	a := &anonymizer{key: []byte(testKey), audit: os.Stderr}
	if a.pseudonym(original) != lines[0]["pseudonym"] {
		t.Fatal("pseudonym not stable")
	}
}

// An object refused after the callback (here: a rejected duplicate) gets no
// FileStored event and no audit line; what it leaves in memory is bounded by
// patients, not by objects, and the next stored object of the patient still
// gets its original PatientID in the audit.
func TestAnonymizeFailedStoreLeavesNoPerObjectState(t *testing.T) {
	storescu := testutil.RequireTool(t, "storescu")
	sample := filepath.Join(testutil.PydicomTestFiles, "CT_small.dcm")
	testutil.RequireFile(t, sample)
	port, a, audit, stored := startAnonymizer(t, dicomrecv.Config{DuplicatePolicy: "reject"})
	// The same object three times: stored once, then refused twice after
	// the callback ran (storescu stops at the first refusal, so the third
	// comes from a second run).
	out, _ := exec.Command(storescu, "-v", "--repeat", "2", "-aec", "ANON-SCP", "127.0.0.1", port, sample).CombinedOutput()
	again, _ := exec.Command(storescu, "-v", "-aec", "ANON-SCP", "127.0.0.1", port, sample).CombinedOutput()
	out = append(out, again...)
	if stored, refused := strings.Count(string(out), "Store Response (Warning"), strings.Count(string(out), "Status: 0x111"); stored != 1 || refused != 2 {
		t.Fatalf("want 1 stored and 2 refused, got %d and %d:\n%s", stored, refused, out)
	}
	<-stored
	// Then two objects of another patient (storescu +II invents their UIDs
	// and patient ID).
	out, err := exec.Command(storescu, "-v", "+II", "--repeat", "2", "-aec", "ANON-SCP", "127.0.0.1", port, sample).CombinedOutput()
	if err != nil || strings.Count(string(out), "Store Response (Warning") != 2 {
		t.Fatalf("storescu +II: %v\n%s", err, out)
	}
	<-stored
	<-stored
	lines := auditLines(audit)
	if len(lines) != 3 {
		t.Fatalf("want 3 audit lines, got %v", lines)
	}
	// CT_small.dcm's PatientID is 1CT1; storescu +II invents one.
	if lines[0]["patientId"] != "1CT1" {
		t.Errorf("first audit line: %v", lines[0])
	}
	for _, l := range lines[1:] {
		if l["patientId"] == "" || l["patientId"] == "1CT1" || l["patientId"] != lines[1]["patientId"] {
			t.Errorf("audit line without the invented original PatientID: %v", l)
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	// The sample's patient has two refused objects outstanding; the +II
	// patient none.
	if len(a.inFlight) != 1 {
		t.Fatalf("in-flight entries %d, want 1 (one per patient with refused objects): %v", len(a.inFlight), a.inFlight)
	}
	for _, p := range a.inFlight {
		if p.count != 2 {
			t.Errorf("outstanding count %d, want 2", p.count)
		}
	}
}

func TestRememberTake(t *testing.T) {
	a := &anonymizer{}
	a.remember("ANON_A", "id-a")
	a.remember("ANON_A", "id-a")
	a.remember("ANON_B", "id-b")
	if got := a.take("ANON_A"); got != "id-a" {
		t.Fatalf("take A = %q", got)
	}
	if len(a.inFlight) != 2 {
		t.Fatalf("A dropped while one object is still in flight: %v", a.inFlight)
	}
	if a.take("ANON_A") != "id-a" || a.take("ANON_B") != "id-b" {
		t.Fatal("take")
	}
	if len(a.inFlight) != 0 {
		t.Fatalf("entries left: %v", a.inFlight)
	}
	if got := a.take("ANON_C"); got != "" {
		t.Fatalf("unknown pseudonym gave %q", got)
	}
}
