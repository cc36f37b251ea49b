package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dicomrecv/dicomrecv/internal/testutil"
)

// A command and a webhook receive every FileStored and StudyCompleted of a
// run.
func TestEventHooks(t *testing.T) {
	storescu := testutil.RequireTool(t, "storescu")
	sample := filepath.Join(testutil.PydicomTestFiles, "CT_small.dcm")
	testutil.RequireFile(t, sample)
	var mu sync.Mutex
	posted := map[string]int{}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct {
			Event string          `json:"event"`
			Data  json.RawMessage `json:"data"`
		}
		if err := json.NewDecoder(r.Body).Decode(&ev); err != nil || r.Header.Get("X-Dicomrecv-Event") != ev.Event {
			http.Error(w, "bad event", 400)
			return
		}
		mu.Lock()
		posted[ev.Event]++
		mu.Unlock()
	}))
	defer hook.Close()
	dir := t.TempDir()
	log := filepath.Join(dir, "commands.log")
	script := filepath.Join(dir, "record.sh")
	os.WriteFile(script, []byte("#!/bin/sh\necho \"$@\" >> "+log+"\n"), 0o755)
	cfg := filepath.Join(dir, "c.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`studyTimeout: 1
fsync: false
eventWebhook: %s
onFileStoredCommand: [%s, stored, "{file}", "{studyInstanceUid}", "{callingAeTitle}"]
onStudyCompletedCommand: [%s, study, "{studyInstanceUid}", "{studyDir}", "{instanceCount}"]
commandConcurrency: 1
`, hook.URL, script, script)), 0o644)
	p := startProcess(t, buildBinary(t), "--config", cfg, "--port", "0", "--out-dir", filepath.Join(dir, "store"))
	// Three instances of one study (storescu invents new SOP instance UIDs).
	out, err := exec.Command(storescu, "-v", "+II", "--repeat", "3", "-aet", "HOOKS", "-aec", "STORE-SCP",
		"127.0.0.1", strconv.Itoa(p.port), sample).CombinedOutput()
	if err != nil || strings.Count(string(out), "Store Response (Success)") != 3 {
		t.Fatalf("storescu: %v\n%s", err, out)
	}
	seen := map[string]int{}
	for seen["StudyCompleted"] == 0 {
		seen[p.next(t).Event]++
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if seen["FileStored"] != 3 {
		t.Fatalf("stdout events %v", seen)
	}
	mu.Lock()
	if posted["FileStored"] != 3 || posted["StudyCompleted"] != 1 || posted["ServerStarted"] != 1 {
		t.Errorf("webhook received %v", posted)
	}
	mu.Unlock()
	f, err := os.Open(log)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lines := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		lines[fields[0]]++
		switch fields[0] {
		case "stored":
			if len(fields) != 4 || !strings.HasSuffix(fields[1], ".dcm") || fields[3] != "HOOKS" {
				t.Errorf("stored command got %q", sc.Text())
			}
		case "study":
			if len(fields) != 4 || !strings.HasSuffix(fields[2], fields[1]) || fields[3] != "3" {
				t.Errorf("study command got %q", sc.Text())
			}
		}
	}
	if lines["stored"] != 3 || lines["study"] != 1 {
		t.Fatalf("commands ran %v", lines)
	}
}

// A webhook that is down does not slow receiving (its queue never blocks),
// and what it cannot deliver is counted.
func TestEventWebhookDown(t *testing.T) {
	storescu := testutil.RequireTool(t, "storescu")
	sample := filepath.Join(testutil.PydicomTestFiles, "CT_small.dcm")
	testutil.RequireFile(t, sample)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	os.WriteFile(cfg, []byte("fsync: false\neventWebhook: http://127.0.0.1:1/down\nmetricsAddr: 127.0.0.1:0\n"), 0o644)
	p := startProcess(t, buildBinary(t), "--config", cfg, "--port", "0", "--out-dir", filepath.Join(dir, "store"))
	start := time.Now()
	out, err := exec.Command(storescu, "-v", "+II", "--repeat", "50", "-aec", "STORE-SCP",
		"127.0.0.1", strconv.Itoa(p.port), sample).CombinedOutput()
	if err != nil || strings.Count(string(out), "Store Response (Success)") != 50 {
		t.Fatalf("storescu: %v\n%s", err, out)
	}
	// Delivering 51 events with 5 attempts and back-off would take many
	// minutes if receiving waited for the webhook.
	if took := time.Since(start); took > 30*time.Second {
		t.Fatalf("50 objects took %v with the webhook down", took)
	}
	metricsURL := "http://" + findMetricsAddr(t, p) + "/metrics"
	deadline := time.Now().Add(30 * time.Second)
	for {
		rsp, err := http.Get(metricsURL)
		if err == nil {
			b, _ := io.ReadAll(rsp.Body)
			rsp.Body.Close()
			if strings.Contains(string(b), `dicomrecv_hook_dropped_total{event="ServerStarted",hook="webhook",reason="failed"} 1`) {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the undelivered event was not counted")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// findMetricsAddr reads the metrics endpoint's address from the log.
func findMetricsAddr(t *testing.T, p *process) string {
	t.Helper()
	for i := 0; i < 100; i++ {
		p.mu.Lock()
		logs := p.stderr.String()
		p.mu.Unlock()
		if i := strings.Index(logs, "msg=metrics addr="); i >= 0 {
			return strings.Fields(logs[i+len("msg=metrics addr="):])[0]
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("no metrics address in the log")
	return ""
}
