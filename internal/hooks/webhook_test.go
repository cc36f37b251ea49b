package hooks_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/dicomrecv/dicomrecv/internal/hooks"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// request is what the test server saw of one POST.
type request struct {
	Event, Attempt, ContentType, Auth, Body string
}

// recorder is a webhook receiver: it answers the first failFirst requests
// with the statuses in fail (cycling), then 204.
type recorder struct {
	mu   sync.Mutex
	reqs []request
	fail []int
	n    int
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.reqs = append(rc.reqs, request{r.Header.Get("X-Dicomrecv-Event"), r.Header.Get("X-Dicomrecv-Attempt"),
		r.Header.Get("Content-Type"), r.Header.Get("Authorization"), string(body)})
	n := rc.n
	rc.n++
	rc.mu.Unlock()
	if r.Method != http.MethodPost {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	if n < len(rc.fail) {
		if rc.fail[n] == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "0")
		}
		w.WriteHeader(rc.fail[n])
		io.WriteString(w, "try again")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (rc *recorder) requests() []request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]request(nil), rc.reqs...)
}

// counts records OnDelivered and OnDrop calls.
type counts struct {
	mu        sync.Mutex
	delivered map[string]int // event -> n
	dropped   map[string]int // event/reason -> n
}

func newCounts() *counts {
	return &counts{delivered: map[string]int{}, dropped: map[string]int{}}
}

func (c *counts) onDelivered(ev string) {
	c.mu.Lock()
	c.delivered[ev]++
	c.mu.Unlock()
}

func (c *counts) onDrop(ev, reason string) {
	c.mu.Lock()
	c.dropped[ev+"/"+reason]++
	c.mu.Unlock()
}

func (c *counts) get() (map[string]int, map[string]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return clone(c.delivered), clone(c.dropped)
}

func clone(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func closeWithin(t *testing.T, s hooks.Sink, d time.Duration) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return s.Close(ctx)
}

func payload(name string, n int) []byte {
	b, err := hooks.Encode(name, time.Date(2024, 3, 1, 12, 0, 0, n, time.UTC), map[string]any{"n": n})
	if err != nil {
		panic(err)
	}
	return b
}

// TestWebhookRetries: the server fails the first attempts (500, 429 with
// Retry-After, 503); every event still arrives, once answered 2xx, in
// order, with its attempt number.
func TestWebhookRetries(t *testing.T) {
	rc := &recorder{fail: []int{500, 429, 503}}
	ts := httptest.NewServer(rc)
	defer ts.Close()
	c := newCounts()
	w, err := hooks.NewWebhook(hooks.WebhookConfig{
		URL:         ts.URL + "/events",
		Header:      http.Header{"Authorization": {"Bearer s3cret"}},
		BackoffBase: time.Millisecond,
		BackoffMax:  5 * time.Millisecond,
		OnDelivered: c.onDelivered,
		OnDrop:      c.onDrop,
	})
	if err != nil {
		t.Fatal(err)
	}
	events := []string{hooks.EventFileStored, hooks.EventFileStored, hooks.EventStudyCompleted}
	for i, ev := range events {
		if !w.Enqueue(ev, payload(ev, i)) {
			t.Fatalf("Enqueue %d refused", i)
		}
	}
	if err := closeWithin(t, w, 30*time.Second); err != nil {
		t.Fatalf("Close: %v", err)
	}
	var want []request
	for a := 1; a <= 4; a++ {
		want = append(want, request{events[0], fmt.Sprint(a), "application/json", "Bearer s3cret", string(payload(events[0], 0))})
	}
	for i, ev := range events[1:] {
		want = append(want, request{ev, "1", "application/json", "Bearer s3cret", string(payload(ev, i+1))})
	}
	if diff := cmp.Diff(want, rc.requests()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	if got, want := w.Stats(), (hooks.Stats{Delivered: 3}); got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
	delivered, dropped := c.get()
	if diff := cmp.Diff(map[string]int{"FileStored": 2, "StudyCompleted": 1}, delivered); diff != "" {
		t.Errorf("OnDelivered (-want +got):\n%s", diff)
	}
	if len(dropped) != 0 {
		t.Errorf("OnDrop called: %v", dropped)
	}
}

// TestWebhookGivesUp: an event failing MaxAttempts times is dropped and
// counted; the next one is still delivered.
func TestWebhookGivesUp(t *testing.T) {
	rc := &recorder{fail: []int{500, 500, 400}}
	ts := httptest.NewServer(rc)
	defer ts.Close()
	c := newCounts()
	w, err := hooks.NewWebhook(hooks.WebhookConfig{
		URL: ts.URL, MaxAttempts: 3, BackoffBase: time.Millisecond,
		OnDelivered: c.onDelivered, OnDrop: c.onDrop,
	})
	if err != nil {
		t.Fatal(err)
	}
	w.Enqueue(hooks.EventFileStored, payload(hooks.EventFileStored, 1))
	w.Enqueue(hooks.EventStudyCompleted, payload(hooks.EventStudyCompleted, 2))
	if err := closeWithin(t, w, 30*time.Second); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got, want := w.Stats(), (hooks.Stats{Delivered: 1, Failed: 1}); got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
	if n := len(rc.requests()); n != 4 {
		t.Errorf("%d requests, want 3 attempts + 1", n)
	}
	delivered, dropped := c.get()
	if diff := cmp.Diff(map[string]int{"StudyCompleted": 1}, delivered); diff != "" {
		t.Errorf("OnDelivered (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]int{"FileStored/failed": 1}, dropped); diff != "" {
		t.Errorf("OnDrop (-want +got):\n%s", diff)
	}
}

// TestWebhookNeverBlocks: while the server holds the first request, 10,000
// Enqueues all return (so none waited on the network); what did not fit
// in the queue is counted as dropped, and what did is delivered once the
// server answers.
func TestWebhookNeverBlocks(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	var got atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-release
		io.Copy(io.Discard, r.Body)
		got.Add(1)
	}))
	defer ts.Close()
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	defer free() // also on failure, before ts.Close
	c := newCounts()
	const queue, total = 100, 10000
	w, err := hooks.NewWebhook(hooks.WebhookConfig{
		URL: ts.URL, QueueSize: queue, Timeout: time.Minute,
		OnDelivered: c.onDelivered, OnDrop: c.onDrop,
	})
	if err != nil {
		t.Fatal(err)
	}
	w.Enqueue(hooks.EventFileStored, payload(hooks.EventFileStored, 0))
	<-entered // the sender is stuck in the server now
	accepted := 1
	p := payload(hooks.EventFileStored, 1)
	for range total - 1 {
		if w.Enqueue(hooks.EventFileStored, p) {
			accepted++
		}
	}
	if got.Load() != 0 {
		t.Fatalf("the server answered while held")
	}
	if accepted != queue+1 {
		t.Errorf("%d events accepted, want the queue (%d) + the one in flight", accepted, queue)
	}
	st := w.Stats()
	if st.QueueFull != total-uint64(accepted) || st.Queued != queue {
		t.Errorf("Stats while held = %+v, want QueueFull %d, Queued %d", st, total-accepted, queue)
	}
	free()
	if err := closeWithin(t, w, time.Minute); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if st := w.Stats(); st.Delivered != uint64(accepted) || st.Dropped() != total-uint64(accepted) {
		t.Errorf("Stats = %+v, want %d delivered, %d dropped", st, accepted, total-accepted)
	}
	delivered, dropped := c.get()
	if delivered["FileStored"] != accepted || dropped["FileStored/queue-full"] != total-accepted {
		t.Errorf("callbacks: delivered %v, dropped %v", delivered, dropped)
	}
}

// TestWebhookDown: nothing listens; every event is dropped and counted,
// none is lost silently.
func TestWebhookDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // connection refused from now on
	c := newCounts()
	w, err := hooks.NewWebhook(hooks.WebhookConfig{
		URL: "http://" + addr + "/hook", QueueSize: 10, MaxAttempts: 2, BackoffBase: time.Millisecond,
		OnDelivered: c.onDelivered, OnDrop: c.onDrop,
	})
	if err != nil {
		t.Fatal(err)
	}
	const total = 10000
	p := payload(hooks.EventFileStored, 1)
	for range total {
		w.Enqueue(hooks.EventFileStored, p)
	}
	if err := closeWithin(t, w, time.Minute); err != nil {
		t.Fatalf("Close: %v", err)
	}
	st := w.Stats()
	if st.Delivered != 0 || st.Dropped() != total || st.Failed == 0 || st.QueueFull == 0 {
		t.Errorf("Stats = %+v, want all %d dropped, some failed, some queue-full", st, total)
	}
	delivered, dropped := c.get()
	if len(delivered) != 0 || dropped["FileStored/failed"] != int(st.Failed) || dropped["FileStored/queue-full"] != int(st.QueueFull) {
		t.Errorf("callbacks: delivered %v, dropped %v; Stats %+v", delivered, dropped, st)
	}
}

// TestWebhookCloseDeadline: Close gives up when its context ends: the
// request in flight and the queue are dropped as shutdown, and later
// Enqueues are refused.
func TestWebhookCloseDeadline(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case entered <- struct{}{}:
		default:
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer ts.Close()
	defer close(release)
	c := newCounts()
	w, err := hooks.NewWebhook(hooks.WebhookConfig{URL: ts.URL, Timeout: time.Hour, OnDrop: c.onDrop})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		w.Enqueue(hooks.EventFileStored, payload(hooks.EventFileStored, i))
	}
	<-entered
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := w.Close(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Close = %v, want context.Canceled", err)
	}
	if w.Enqueue(hooks.EventFileStored, payload(hooks.EventFileStored, 9)) {
		t.Errorf("Enqueue after Close accepted")
	}
	if err := w.Close(context.Background()); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if got, want := w.Stats(), (hooks.Stats{Shutdown: 6}); got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
	if _, dropped := c.get(); dropped["FileStored/shutdown"] != 6 {
		t.Errorf("OnDrop = %v, want 6 FileStored/shutdown", dropped)
	}
}

// TestWebhookSenders: with several senders every event still arrives once.
func TestWebhookSenders(t *testing.T) {
	rc := &recorder{}
	ts := httptest.NewServer(rc)
	defer ts.Close()
	w, err := hooks.NewWebhook(hooks.WebhookConfig{URL: ts.URL, Senders: 4})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for i := range 200 {
		p := payload(hooks.EventFileStored, i)
		want[string(p)] = true
		w.Enqueue(hooks.EventFileStored, p)
	}
	if err := closeWithin(t, w, time.Minute); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, r := range rc.requests() {
		if got[r.Body] {
			t.Errorf("delivered twice: %s", r.Body)
		}
		got[r.Body] = true
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("bodies (-want +got):\n%s", diff)
	}
}

func TestNewWebhookErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  hooks.WebhookConfig
		want string
	}{
		{hooks.WebhookConfig{}, "not an http or https URL"},
		{hooks.WebhookConfig{URL: "ftp://example.com/x"}, "not an http or https URL"},
		{hooks.WebhookConfig{URL: "http:///path"}, "not an http or https URL"},
		{hooks.WebhookConfig{URL: "example.com/hook"}, "not an http or https URL"},
		{hooks.WebhookConfig{URL: "http://a b/"}, "eventWebhook"},
		{hooks.WebhookConfig{URL: "http://localhost/", QueueSize: -1}, "QueueSize is negative"},
		{hooks.WebhookConfig{URL: "http://localhost/", MaxAttempts: -1}, "MaxAttempts is negative"},
		{hooks.WebhookConfig{URL: "http://localhost/", Timeout: -time.Second}, "Timeout is negative"},
	} {
		w, err := hooks.NewWebhook(tc.cfg)
		if err == nil {
			w.Close(context.Background())
			t.Errorf("NewWebhook(%+v): no error", tc.cfg)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewWebhook(%+v) = %v, want it to say %q", tc.cfg, err, tc.want)
		}
	}
}

func TestEncode(t *testing.T) {
	got, err := hooks.Encode("FileStored", time.Date(2024, 3, 1, 13, 4, 5, 0, time.FixedZone("CET", 3600)),
		struct {
			File string `json:"file"`
		}{"/d/1/2/3.dcm"})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"event":"FileStored","time":"2024-03-01T12:04:05Z","data":{"file":"/d/1/2/3.dcm"}}`
	if string(got) != want {
		t.Errorf("Encode = %s, want %s", got, want)
	}
	if _, err := hooks.Encode("x", time.Time{}, make(chan int)); err == nil {
		t.Errorf("Encode of a channel: no error")
	}
}

// BenchmarkEnqueueFull measures Enqueue while the webhook is stuck and its
// queue full: the cost a receiving goroutine pays per event when the
// webhook is down.
func BenchmarkEnqueueFull(b *testing.B) {
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-release
	}))
	defer ts.Close()
	defer close(release)
	w, err := hooks.NewWebhook(hooks.WebhookConfig{URL: ts.URL, QueueSize: 1, OnDrop: func(string, string) {}})
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		w.Close(ctx)
	}()
	p := payload(hooks.EventFileStored, 1)
	w.Enqueue(hooks.EventFileStored, p)
	<-entered
	w.Enqueue(hooks.EventFileStored, p) // fills the queue
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if w.Enqueue(hooks.EventFileStored, p) {
			b.Fatal("queued")
		}
	}
}
