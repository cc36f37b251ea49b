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
	"sync"
	"testing"

	"github.com/dicomrecv/dicomrecv"
	"github.com/dicomrecv/dicomrecv/internal/testutil"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) lines() []map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]string
	sc := bufio.NewScanner(bytes.NewReader(s.b.Bytes()))
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
	dir := t.TempDir()
	audit := &syncBuffer{}
	srv, err := newServer(dicomrecv.Config{AETitle: "ANON-SCP", OutDir: dir}, []byte("0123456789abcdef-test-key"), audit)
	if err != nil {
		t.Fatal(err)
	}
	stored := make(chan dicomrecv.FileStoredEvent, 4)
	srv.OnFileStored(func(ev dicomrecv.FileStoredEvent) { stored <- ev })
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	_, port, _ := net.SplitHostPort(srv.Addr().String())
	// storescu +II gives each copy a new SOP Instance UID: two objects of the same patient.
	out, err := exec.Command(storescu, "-v", "+II", "--repeat", "2", "-aec", "ANON-SCP", "127.0.0.1", port, sample).CombinedOutput()
	if err != nil || strings.Count(string(out), "Store Response (Warning") != 2 {
		t.Fatalf("storescu: %v\n%s", err, out)
	}
	var files []string
	for i := 0; i < 2; i++ {
		files = append(files, (<-stored).File)
	}
	lines := audit.lines()
	// storescu +II also invents the patient's ID; both copies carry the same one.
	original := lines[0]["patientId"]
	if len(lines) != 2 || original == "" || lines[1]["patientId"] != original || lines[0]["pseudonym"] != lines[1]["pseudonym"] ||
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
	a := &anonymizer{key: []byte("0123456789abcdef-test-key"), audit: os.Stderr}
	if a.pseudonym(original) != lines[0]["pseudonym"] {
		t.Fatal("pseudonym not stable")
	}
}
