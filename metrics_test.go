package dicomrecv

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dicomrecv/dicomrecv/internal/testutil"
)

// scrape reads the Prometheus text format into "name{labels}" -> value.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	rsp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer rsp.Body.Close()
	m := map[string]float64{}
	sc := bufio.NewScanner(rsp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q", line)
		}
		m[line[:i]] = v
	}
	return m
}

// After a storescu run the counters moved by the right amounts; /readyz
// fails once the storage directory is replaced by a file.
func TestMetricsAfterStorescu(t *testing.T) {
	ct := filepath.Join(testutil.PydicomTestFiles, "CT_small.dcm")
	mr := filepath.Join(testutil.PydicomTestFiles, "MR_small.dcm")
	testutil.RequireFile(t, ct)
	ts := startServer(t, Config{MetricsAddr: "127.0.0.1:0", AllowedCallingAETitles: []string{"STORESCU"}})
	base := "http://" + ts.MetricsAddr().String()
	before := scrape(t, base+"/metrics")

	out := ts.storescu(t, nil, ct, mr, ct)
	if rsp := testutil.StoreResponses(out); len(rsp) != 3 {
		t.Fatalf("responses %q", rsp)
	}
	dcmtk(t, "echoscu", append([]string{"-aet", "INTRUDER"}, ts.addr()...)...) // rejected: calling AE
	ts.waitStored(t, 3)
	var ctBytes, mrBytes int64
	for _, ev := range ts.storedEvents() {
		if ev.SOPClassUID == ctImage {
			ctBytes += ev.Bytes
		} else {
			mrBytes += ev.Bytes
		}
	}
	var after map[string]float64
	deadline := time.Now().Add(5 * time.Second)
	for {
		after = scrape(t, base+"/metrics")
		if after["dicomrecv_associations_active"] == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	delta := func(k string) float64 { return after[k] - before[k] }
	for k, want := range map[string]float64{
		`dicomrecv_cstore_total{sop_class="1.2.840.10008.5.1.4.1.1.2",status="0000"}`: 2,
		`dicomrecv_cstore_total{sop_class="1.2.840.10008.5.1.4.1.1.4",status="0000"}`: 1,
		`dicomrecv_received_bytes_total`:                                              float64(ctBytes + mrBytes),
		`dicomrecv_associations_accepted_total`:                                       1,
		`dicomrecv_associations_rejected_total{reason="calling-ae"}`:                  1,
		`dicomrecv_cstore_duration_seconds_count`:                                     3,
		`dicomrecv_associations_active`:                                               0,
		`dicomrecv_storage_errors_total`:                                              0,
	} {
		if got := delta(k); got != want {
			t.Errorf("%s moved by %v, want %v", k, got, want)
		}
	}
	get := func(path string) (int, string) {
		rsp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer rsp.Body.Close()
		b, _ := io.ReadAll(rsp.Body)
		return rsp.StatusCode, string(b)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Fatalf("/healthz %d", code)
	}
	if code, body := get("/readyz"); code != 200 {
		t.Fatalf("/readyz %d %s", code, body)
	}
	// Storage stops being writable, for real even as root: outDir becomes a file.
	if err := os.RemoveAll(ts.dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ts.dir, []byte("not a directory"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, body := get("/readyz"); code != 503 || !strings.Contains(body, "not writable") {
		t.Fatalf("/readyz with outDir replaced by a file: %d %q", code, body)
	}
	// And a C-STORE now fails with 0xA700, counted as a storage error.
	out = ts.storescu(t, nil, ct)
	if rsp := testutil.StoreResponses(out); len(rsp) != 1 || !strings.Contains(rsp[0], "OutOfResources") {
		t.Fatalf("store on a broken outDir: %q", rsp)
	}
	if got := scrape(t, base+"/metrics")["dicomrecv_storage_errors_total"]; got < 1 {
		t.Fatalf("storage errors %v", got)
	}
	os.Remove(ts.dir)
	os.MkdirAll(ts.dir, 0o755)
}

// Serving /metrics, /healthz and /readyz on a free port.
func ExampleServer_MetricsAddr() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	srv, _ := New(Config{OutDir: dir, MetricsAddr: "127.0.0.1:0"})
	if err := srv.Start(); err != nil {
		return
	}
	defer srv.Shutdown(context.Background())
	rsp, err := http.Get(fmt.Sprintf("http://%s/readyz", srv.MetricsAddr()))
	if err == nil {
		fmt.Println(rsp.StatusCode)
		rsp.Body.Close()
	}
	// Output: 200
}
