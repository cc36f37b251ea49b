package metrics_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/dicomrecv/dicomrecv/internal/hooks"
	"github.com/dicomrecv/dicomrecv/internal/metrics"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	ctImage = "1.2.840.10008.5.1.4.1.1.2"
	mrImage = "1.2.840.10008.5.1.4.1.1.4"
)

// serve starts m's endpoint on a free loopback port and returns its base
// URL and a client; both are shut down at the end of the test.
func serve(t *testing.T, m *metrics.Metrics, ready metrics.ReadyFunc) (string, *http.Client) {
	t.Helper()
	ep, err := m.Serve("127.0.0.1:0", ready, nil)
	if err != nil {
		t.Fatalf("Serve: %v", err)
	}
	client := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
	t.Cleanup(func() {
		client.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := ep.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return "http://" + ep.Addr().String(), client
}

func get(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", url, err)
	}
	return resp.StatusCode, string(body)
}

// scrape GETs /metrics and parses the text exposition format into
// sample -> value, where sample is the metric name followed by its labels
// sorted by name, e.g. `x_total{a="1",b="2"}`. Only samples whose name
// starts with prefix are kept.
func scrape(t *testing.T, c *http.Client, base, prefix string) map[string]float64 {
	t.Helper()
	code, body := get(t, c, base+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: status %d: %s", code, body)
	}
	out, err := parseText(body, prefix)
	if err != nil {
		t.Fatalf("/metrics: %v\n%s", err, body)
	}
	return out
}

// parseText parses the Prometheus text format (version 0.0.4): comment
// lines, then `name{label="value",...} value [timestamp]`.
func parseText(body, prefix string) (map[string]float64, error) {
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(body))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, labels, rest, err := parseSample(line)
		if err != nil {
			return nil, fmt.Errorf("line %d %q: %w", n, line, err)
		}
		fields := strings.Fields(rest)
		if len(fields) < 1 || len(fields) > 2 {
			return nil, fmt.Errorf("line %d %q: want value [timestamp]", n, line)
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		key := name
		if len(labels) > 0 {
			slices.Sort(labels)
			key += "{" + strings.Join(labels, ",") + "}"
		}
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("line %d: sample %s twice", n, key)
		}
		out[key] = v
	}
	return out, sc.Err()
}

// parseSample splits a sample line into its name, its labels (each as
// `name="value"` with the value unescaped and re-quoted) and the rest.
func parseSample(line string) (name string, labels []string, rest string, err error) {
	i := strings.IndexAny(line, "{ ")
	if i <= 0 {
		return "", nil, "", errors.New("no metric name")
	}
	name, line = line[:i], line[i:]
	if line[0] == ' ' {
		return name, nil, line, nil
	}
	line = line[1:]
	for {
		if strings.HasPrefix(line, "}") {
			return name, labels, line[1:], nil
		}
		eq := strings.Index(line, "=\"")
		if eq <= 0 {
			return "", nil, "", errors.New("bad label")
		}
		lname := line[:eq]
		line = line[eq+2:]
		var val strings.Builder
		for {
			if line == "" {
				return "", nil, "", errors.New("unterminated label value")
			}
			c := line[0]
			line = line[1:]
			if c == '"' {
				break
			}
			if c == '\\' {
				if line == "" {
					return "", nil, "", errors.New("bad escape")
				}
				switch line[0] {
				case 'n':
					c = '\n'
				case '\\', '"':
					c = line[0]
				default:
					return "", nil, "", errors.New("bad escape")
				}
				line = line[1:]
			}
			val.WriteByte(c)
		}
		labels = append(labels, lname+"="+strconv.Quote(val.String()))
		line = strings.TrimPrefix(line, ",")
	}
}

func TestParseText(t *testing.T) {
	got, err := parseText("# HELP x y\n# TYPE x counter\nx_total{b=\"q\\\"\\\\\\n\",a=\"1\"} 2\ny 1.5 1700000000\nz{} 3\n", "")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{`x_total{a="1",b="q\"\\\n"}`: 2, "y": 1.5, "z": 3}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parseText (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"{a=\"1\"} 1", "x{a=\"1} 1", "x{a} 1", "x", "x 1 2 3", "x{a=\"\\q\"} 1"} {
		if _, err := parseText(bad, ""); err == nil {
			t.Errorf("parseText(%q): no error", bad)
		}
	}
}

// TestScrape calls every method and checks the exact samples /metrics
// serves.
func TestScrape(t *testing.T) {
	m := metrics.New(metrics.Options{NoRuntimeMetrics: true})
	base, c := serve(t, m, nil)

	for range 3 {
		m.AssociationOpened()
	}
	m.AssociationClosed()
	m.AssociationAccepted()
	m.AssociationAccepted()
	m.AssociationRejected(metrics.RejectCalledAE)
	m.AssociationRejected(metrics.RejectReason(3, 2))
	m.AssociationRejected("no such reason")
	m.AssociationAborted(metrics.AbortByPeer)
	m.AssociationAborted("martians")

	m.CStore(0x0000, ctImage, 1000, 2*time.Millisecond)
	m.CStore(0x0000, ctImage+"\x00", 500, 20*time.Millisecond) // padding trimmed
	m.CStore(0x0000, mrImage, 250, 3*time.Second)
	m.CStore(0xA700, ctImage, 0, 500*time.Microsecond)
	m.CStore(0xA7FE, "1.2.3.4.5", 10, 0)                         // unknown class and code in A7xx
	m.CStore(0x1234, "1.2.840.10008.1.2.1", 0, time.Millisecond) // a transfer syntax is no SOP class
	m.BeforeStoreRefused()
	m.StudyCompleted()
	m.StudyCompleted()
	m.StorageError()
	m.HookDelivered(metrics.HookWebhook, "FileStored")
	m.HookDelivered(metrics.HookCommand, "StudyCompleted")
	m.HookDropped(metrics.HookWebhook, "FileStored", metrics.DropQueueFull)
	m.HookDropped(metrics.HookWebhook, "FileStored", metrics.DropQueueFull)
	m.HookDropped("ftp", "Bogus", "cosmic rays")

	got := scrape(t, c, base, "dicomrecv_")
	want := map[string]float64{
		"dicomrecv_associations_active":                                       2,
		"dicomrecv_associations_accepted_total":                               2,
		`dicomrecv_associations_rejected_total{reason="called-ae"}`:           1,
		`dicomrecv_associations_rejected_total{reason="calling-ae"}`:          0,
		`dicomrecv_associations_rejected_total{reason="application-context"}`: 0,
		`dicomrecv_associations_rejected_total{reason="protocol-version"}`:    0,
		`dicomrecv_associations_rejected_total{reason="limit"}`:               1,
		`dicomrecv_associations_rejected_total{reason="shutdown"}`:            0,
		`dicomrecv_associations_rejected_total{reason="other"}`:               1,
		`dicomrecv_associations_aborted_total{by="peer"}`:                     1,
		`dicomrecv_associations_aborted_total{by="local"}`:                    0,
		`dicomrecv_associations_aborted_total{by="other"}`:                    1,

		`dicomrecv_cstore_total{sop_class="` + ctImage + `",status="0000"}`: 2,
		`dicomrecv_cstore_total{sop_class="` + mrImage + `",status="0000"}`: 1,
		`dicomrecv_cstore_total{sop_class="` + ctImage + `",status="A700"}`: 1,
		`dicomrecv_cstore_total{sop_class="other",status="A7xx"}`:           1,
		`dicomrecv_cstore_total{sop_class="other",status="other"}`:          1,
		"dicomrecv_received_bytes_total":                                    1760,

		`dicomrecv_cstore_duration_seconds_bucket{le="0.001"}`:  3,
		`dicomrecv_cstore_duration_seconds_bucket{le="0.0025"}`: 4,
		`dicomrecv_cstore_duration_seconds_bucket{le="0.005"}`:  4,
		`dicomrecv_cstore_duration_seconds_bucket{le="0.01"}`:   4,
		`dicomrecv_cstore_duration_seconds_bucket{le="0.025"}`:  5,
		`dicomrecv_cstore_duration_seconds_bucket{le="0.05"}`:   5,
		`dicomrecv_cstore_duration_seconds_bucket{le="0.1"}`:    5,
		`dicomrecv_cstore_duration_seconds_bucket{le="0.25"}`:   5,
		`dicomrecv_cstore_duration_seconds_bucket{le="0.5"}`:    5,
		`dicomrecv_cstore_duration_seconds_bucket{le="1"}`:      5,
		`dicomrecv_cstore_duration_seconds_bucket{le="2.5"}`:    5,
		`dicomrecv_cstore_duration_seconds_bucket{le="5"}`:      6,
		`dicomrecv_cstore_duration_seconds_bucket{le="10"}`:     6,
		`dicomrecv_cstore_duration_seconds_bucket{le="30"}`:     6,
		`dicomrecv_cstore_duration_seconds_bucket{le="60"}`:     6,
		`dicomrecv_cstore_duration_seconds_bucket{le="120"}`:    6,
		`dicomrecv_cstore_duration_seconds_bucket{le="+Inf"}`:   6,
		"dicomrecv_cstore_duration_seconds_sum":                 0.002 + 0.020 + 3 + 0.0005 + 0 + 0.001,
		"dicomrecv_cstore_duration_seconds_count":               6,

		"dicomrecv_before_store_refused_total":                                                1,
		"dicomrecv_studies_completed_total":                                                   2,
		"dicomrecv_storage_errors_total":                                                      1,
		`dicomrecv_hook_delivered_total{event="FileStored",hook="webhook"}`:                   1,
		`dicomrecv_hook_delivered_total{event="StudyCompleted",hook="command"}`:               1,
		`dicomrecv_hook_dropped_total{event="FileStored",hook="webhook",reason="queue-full"}`: 2,
		`dicomrecv_hook_dropped_total{event="other",hook="other",reason="other"}`:             1,
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b float64) bool {
		return a == b || (a-b < 1e-9 && b-a < 1e-9) // the sum of float seconds
	})); diff != "" {
		t.Errorf("/metrics (-want +got):\n%s", diff)
	}
}

// TestRuntimeMetrics checks that New registers the Go and process
// collectors unless told not to, and that the promhttp handler counts its
// errors on the same registry.
func TestRuntimeMetrics(t *testing.T) {
	for _, tc := range []struct {
		opts metrics.Options
		want bool
	}{{metrics.Options{}, true}, {metrics.Options{NoRuntimeMetrics: true}, false}} {
		m := metrics.New(tc.opts)
		base, c := serve(t, m, nil)
		got := scrape(t, c, base, "")
		if _, ok := got["go_goroutines"]; ok != tc.want {
			t.Errorf("%+v: go_goroutines served: %v, want %v", tc.opts, ok, tc.want)
		}
		if v, ok := got[`promhttp_metric_handler_errors_total{cause="gathering"}`]; !ok || v != 0 {
			t.Errorf("%+v: promhttp_metric_handler_errors_total{cause=gathering} = %v, %v; want 0, true", tc.opts, v, ok)
		}
	}
}

func TestRejectReason(t *testing.T) {
	// PS3.8 §9.3.4, Table 9-21: (source, reason) of an A-ASSOCIATE-RJ.
	for _, tc := range []struct {
		source, reason byte
		want           string
	}{
		{1, 1, metrics.RejectOther},
		{1, 2, metrics.RejectApplicationContext},
		{1, 3, metrics.RejectCallingAE},
		{1, 7, metrics.RejectCalledAE},
		{2, 1, metrics.RejectOther},
		{2, 2, metrics.RejectProtocolVersion},
		{3, 1, metrics.RejectShutdown},
		{3, 2, metrics.RejectLimit},
		{3, 0, metrics.RejectOther},
		{0, 0, metrics.RejectOther},
		{255, 255, metrics.RejectOther},
	} {
		if got := metrics.RejectReason(tc.source, tc.reason); got != tc.want {
			t.Errorf("RejectReason(%d, %d) = %q, want %q", tc.source, tc.reason, got, tc.want)
		}
	}
}

// TestLabelsBounded feeds CStore every status code and many SOP class
// strings and checks that the label sets stay small.
func TestLabelsBounded(t *testing.T) {
	m := metrics.New(metrics.Options{NoRuntimeMetrics: true})
	base, c := serve(t, m, nil)
	for s := 0; s <= 0xFFFF; s++ {
		m.CStore(uint16(s), fmt.Sprintf("1.2.3.%d", s), 1, 0)
	}
	m.CStore(0, ctImage+" ", 1, 0)
	got := scrape(t, c, base, "dicomrecv_cstore_total")
	statuses := map[string]bool{}
	classes := map[string]bool{}
	var total float64
	for k, v := range got {
		total += v
		_, labels, _, err := parseSample(k + " 0")
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range labels {
			name, val, _ := strings.Cut(l, "=")
			switch name {
			case "status":
				statuses[val] = true
			case "sop_class":
				classes[val] = true
			}
		}
	}
	if total != 0x10001 {
		t.Errorf("sum of dicomrecv_cstore_total = %v, want %d", total, 0x10001)
	}
	// 23 exact codes, A7xx, A9xx, Bxxx, Cxxx, other.
	if len(statuses) != 28 {
		t.Errorf("%d status label values, want 28: %v", len(statuses), statuses)
	}
	if want := map[string]bool{`"other"`: true, strconv.Quote(ctImage): true}; !cmp.Equal(classes, want) {
		t.Errorf("sop_class label values %v, want %v", classes, want)
	}
}

func TestStatusLabel(t *testing.T) {
	m := metrics.New(metrics.Options{NoRuntimeMetrics: true})
	base, c := serve(t, m, nil)
	tests := []struct {
		status uint16
		want   string
	}{
		{0x0000, "0000"}, {0xB000, "B000"}, {0xB007, "B007"}, {0xB006, "B006"}, {0xB123, "Bxxx"},
		{0xA700, "A700"}, {0xA701, "A7xx"}, {0xA900, "A900"}, {0xA9FF, "A9xx"},
		{0xC000, "C000"}, {0xC006, "C006"}, {0xC007, "C007"}, {0xC008, "Cxxx"}, {0xCFFF, "Cxxx"},
		{0x0122, "0122"}, {0x0124, "0124"}, {0x0111, "0111"}, {0x0211, "0211"},
		{0xFE00, "FE00"}, {0xFF00, "other"}, {0x0001, "other"}, {0xA800, "other"},
	}
	for _, tc := range tests {
		m.CStore(tc.status, ctImage, 0, 0)
	}
	got := scrape(t, c, base, "dicomrecv_cstore_total")
	want := map[string]float64{}
	for _, tc := range tests {
		want[`dicomrecv_cstore_total{sop_class="`+ctImage+`",status="`+tc.want+`"}`]++
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("status labels (-want +got):\n%s", diff)
	}
}

func TestSOPClassLabel(t *testing.T) {
	m := metrics.New(metrics.Options{NoRuntimeMetrics: true})
	base, c := serve(t, m, nil)
	tests := []struct{ uid, want string }{
		{ctImage, ctImage},
		{ctImage + "\x00", ctImage},
		{ctImage + " ", ctImage},
		{"1.2.840.10008.5.1.4.1.1.88.11", "1.2.840.10008.5.1.4.1.1.88.11"}, // Basic Text SR
		{"1.2.840.10008.1.1", "1.2.840.10008.1.1"},                         // Verification is a SOP class
		{"1.2.840.10008.1.2", "other"},                                     // a transfer syntax
		{"1.2.840.10008.3.1.1.1", "other"},                                 // the application context
		{"", "other"},
		{"1.2.3", "other"},
		{"\x00\x00", "other"},
		{"CT Image Storage", "other"},
	}
	for _, tc := range tests {
		m.CStore(0, tc.uid, 0, 0)
	}
	got := scrape(t, c, base, "dicomrecv_cstore_total")
	want := map[string]float64{}
	for _, tc := range tests {
		want[`dicomrecv_cstore_total{sop_class="`+tc.want+`",status="0000"}`]++
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sop_class labels (-want +got):\n%s", diff)
	}
}

// TestConcurrent counts from many goroutines; run with -race.
func TestConcurrent(t *testing.T) {
	m := metrics.New(metrics.Options{NoRuntimeMetrics: true})
	base, c := serve(t, m, nil)
	const workers, each = 8, 500
	classes := []string{ctImage, mrImage, "1.2.3"}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				m.AssociationOpened()
				m.CStore(uint16(i%2)*0xA700, classes[(w+i)%len(classes)], 2, time.Millisecond)
				m.AssociationClosed()
			}
		})
	}
	// Scrapes while counting must not race either.
	scrape(t, c, base, "dicomrecv_")
	wg.Wait()
	got := scrape(t, c, base, "dicomrecv_")
	var stores float64
	for k, v := range got {
		if strings.HasPrefix(k, "dicomrecv_cstore_total{") {
			stores += v
		}
	}
	if stores != workers*each {
		t.Errorf("sum of dicomrecv_cstore_total = %v, want %d", stores, workers*each)
	}
	if v := got["dicomrecv_received_bytes_total"]; v != 2*workers*each {
		t.Errorf("dicomrecv_received_bytes_total = %v, want %d", v, 2*workers*each)
	}
	if v := got["dicomrecv_associations_active"]; v != 0 {
		t.Errorf("dicomrecv_associations_active = %v, want 0", v)
	}
}

// TestNil checks that a nil *Metrics ignores calls and still serves.
func TestNil(t *testing.T) {
	var m *metrics.Metrics
	m.AssociationOpened()
	m.AssociationClosed()
	m.AssociationAccepted()
	m.AssociationRejected(metrics.RejectLimit)
	m.AssociationAborted(metrics.AbortByUs)
	m.CStore(0, ctImage, 1, time.Second)
	m.BeforeStoreRefused()
	m.StudyCompleted()
	m.StorageError()
	m.HookDelivered(metrics.HookCommand, "FileStored")
	m.HookDropped(metrics.HookCommand, "FileStored", metrics.DropFailed)
	if r := m.Registry(); r != nil {
		t.Errorf("nil Metrics: Registry() = %v, want nil", r)
	}
	base, c := serve(t, m, nil)
	if got := scrape(t, c, base, "dicomrecv_"); len(got) != 0 {
		t.Errorf("nil Metrics serves %v, want nothing", got)
	}
}

// TestCStoreAllocs checks that the hot path does not allocate once a
// (status, SOP class) pair was seen.
func TestCStoreAllocs(t *testing.T) {
	m := metrics.New(metrics.Options{NoRuntimeMetrics: true})
	m.CStore(0, ctImage, 100, time.Millisecond)
	m.CStore(0xA700, "1.2.3", 100, time.Millisecond)
	if n := testing.AllocsPerRun(1000, func() {
		m.AssociationOpened()
		m.AssociationAccepted()
		m.CStore(0, ctImage+"\x00", 100, time.Millisecond)
		m.CStore(0xA700, "1.2.3", 100, time.Millisecond)
		m.AssociationRejected(metrics.RejectLimit)
		m.AssociationClosed()
	}); n != 0 {
		t.Errorf("%v allocations per run, want 0", n)
	}
}

func BenchmarkCStore(b *testing.B) {
	m := metrics.New(metrics.Options{NoRuntimeMetrics: true})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.CStore(0, ctImage, 512<<10, 3*time.Millisecond)
		}
	})
}

// TestDropReasonsMatchHooks keeps the Drop label values equal to the
// reasons the hooks package reports.
func TestDropReasonsMatchHooks(t *testing.T) {
	for _, p := range [][2]string{
		{metrics.DropQueueFull, hooks.DropQueueFull},
		{metrics.DropFailed, hooks.DropFailed},
		{metrics.DropTimeout, hooks.DropTimeout},
		{metrics.DropShutdown, hooks.DropShutdown},
	} {
		if p[0] != p[1] {
			t.Errorf("metrics drop reason %q differs from hooks' %q", p[0], p[1])
		}
	}
}
