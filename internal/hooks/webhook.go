package hooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Webhook defaults, used where WebhookConfig leaves a field zero.
const (
	DefaultWebhookSenders = 1
	DefaultMaxAttempts    = 5
	DefaultBackoffBase    = 500 * time.Millisecond
	DefaultBackoffMax     = 30 * time.Second
	DefaultWebhookTimeout = 10 * time.Second
)

// maxResponseDrain is how much of a response body is read (and discarded)
// so that the connection can be reused; a longer body closes it.
const maxResponseDrain = 64 << 10

// WebhookConfig configures a Webhook. Only URL is required.
type WebhookConfig struct {
	// URL receives a POST per event: http or https.
	URL string
	// Header holds extra request headers, e.g. Authorization. Content-Type
	// (application/json), User-Agent, X-Dicomrecv-Event (the event name) and
	// X-Dicomrecv-Attempt (1, 2, ...) are set by the Webhook.
	Header http.Header
	// QueueSize bounds the events waiting for delivery (default
	// DefaultQueueSize). When it is full, events are dropped: receiving
	// never waits for the webhook.
	QueueSize int
	// Senders is the number of goroutines posting events (default 1). Each
	// sender posts its events in queue order and retries an event before it
	// takes the next, so with one sender the receiver sees events in order;
	// with more, events overtake one another.
	Senders int
	// MaxAttempts is how many times an event is posted before it is dropped
	// (default 5). Any answer other than 2xx, and any transport error, is a
	// failed attempt.
	MaxAttempts int
	// BackoffBase and BackoffMax shape the wait between attempts: attempt n
	// failed, the sender waits BackoffBase·2^(n-1), at most BackoffMax, with
	// jitter (between half and all of it), or longer when a 429 or 503
	// answer carries Retry-After (still at most BackoffMax). Defaults 0.5 s
	// and 30 s.
	BackoffBase, BackoffMax time.Duration
	// Timeout bounds one attempt, response included (default 10 s).
	Timeout time.Duration
	// Client sends the requests; nil means a client of the Webhook's own
	// (proxy from the environment, as http.DefaultTransport), whose idle
	// connections Close closes.
	Client *http.Client
	// Logger receives drops and failures (nil discards them).
	Logger *slog.Logger
	// OnDelivered, when set, is called for each event answered 2xx, on a
	// sender goroutine. It must be quick and safe for concurrent use.
	OnDelivered func(event string)
	// OnDrop, when set, is called for each event dropped, with the reason
	// (DropQueueFull, DropFailed, DropShutdown), on the goroutine of
	// Enqueue or of a sender. It must be quick and safe for concurrent use.
	OnDrop func(event, reason string)
}

// Webhook posts events to a URL from a bounded queue.
type Webhook struct {
	cfg       WebhookConfig
	url       string
	ownClient bool
	p         *pipeline
}

// NewWebhook validates cfg, applies its defaults and starts the senders.
func NewWebhook(cfg WebhookConfig) (*Webhook, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("eventWebhook: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("eventWebhook: %q is not an http or https URL", cfg.URL)
	}
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"QueueSize", int64(cfg.QueueSize)}, {"Senders", int64(cfg.Senders)}, {"MaxAttempts", int64(cfg.MaxAttempts)},
		{"BackoffBase", int64(cfg.BackoffBase)}, {"BackoffMax", int64(cfg.BackoffMax)}, {"Timeout", int64(cfg.Timeout)},
	} {
		if f.v < 0 {
			return nil, fmt.Errorf("eventWebhook: %s is negative", f.name)
		}
	}
	if cfg.Senders == 0 {
		cfg.Senders = DefaultWebhookSenders
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.BackoffBase == 0 {
		cfg.BackoffBase = DefaultBackoffBase
	}
	if cfg.BackoffMax == 0 {
		cfg.BackoffMax = DefaultBackoffMax
	}
	if cfg.BackoffMax < cfg.BackoffBase {
		cfg.BackoffMax = cfg.BackoffBase
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultWebhookTimeout
	}
	w := &Webhook{cfg: cfg, url: u.String()}
	if cfg.Client == nil {
		w.cfg.Client = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
		w.ownClient = true
	}
	w.p = newPipeline("webhook", cfg.QueueSize, cfg.Logger, cfg.OnDelivered, cfg.OnDrop)
	w.p.start(cfg.Senders, w.deliver)
	return w, nil
}

// Enqueue queues the event for posting and reports whether it was queued.
// It never blocks: when the queue is full, or after Close, the event is
// dropped (and reported to OnDrop). Webhook keeps payload.
func (w *Webhook) Enqueue(event string, payload []byte) bool {
	return w.p.enqueue(item{event, payload})
}

// Close stops taking events and posts what is queued until ctx ends; then
// it abandons requests and back-offs in progress, drops the rest (reason
// DropShutdown) and returns ctx's error. It returns once the senders have
// stopped. Close may be called more than once.
func (w *Webhook) Close(ctx context.Context) error {
	err := w.p.close(ctx)
	if w.ownClient {
		w.cfg.Client.CloseIdleConnections()
	}
	return err
}

// Stats returns what the Webhook did so far.
func (w *Webhook) Stats() Stats { return w.p.stats() }

// deliver posts it until it is delivered, MaxAttempts failed, or Close
// gives up.
func (w *Webhook) deliver(it item) {
	ctx := w.p.ctx
	for attempt := 1; ; attempt++ {
		retryAfter, err := w.post(ctx, it, attempt)
		if err == nil {
			w.p.ok(it.event)
			return
		}
		if ctx.Err() != nil {
			w.p.drop(it.event, DropShutdown, err)
			return
		}
		if attempt >= w.cfg.MaxAttempts {
			w.p.drop(it.event, DropFailed, err, "attempts", attempt, "url", redact(w.url))
			return
		}
		d := w.backoff(attempt, retryAfter)
		w.p.log.Debug("webhook hook: attempt failed", "event", it.event, "attempt", attempt, "retryIn", d, "err", err)
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			w.p.drop(it.event, DropShutdown, err)
			return
		}
	}
}

// errStatus is a non-2xx answer.
type errStatus struct{ code int }

func (e errStatus) Error() string { return fmt.Sprintf("HTTP status %d", e.code) }

// post makes one attempt. On a 429 or 503 answer it also returns the
// Retry-After delay, if any.
func (w *Webhook) post(ctx context.Context, it item, attempt int) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(it.payload))
	if err != nil {
		return 0, err
	}
	for k, vs := range w.cfg.Header {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "dicomrecv")
	req.Header.Set("X-Dicomrecv-Event", it.event)
	req.Header.Set("X-Dicomrecv-Attempt", strconv.Itoa(attempt))
	resp, err := w.cfg.Client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its text repeats the URL, which may carry credentials
		}
		return 0, err
	}
	_, _ = io.CopyN(io.Discard, resp.Body, maxResponseDrain)
	_ = resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return 0, nil
	}
	var ra time.Duration
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		ra = retryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	return ra, errStatus{resp.StatusCode}
}

// backoff returns the wait after failed attempt n (1-based).
func (w *Webhook) backoff(n int, retryAfter time.Duration) time.Duration {
	d := w.cfg.BackoffMax
	if n-1 < 62 {
		if b := w.cfg.BackoffBase << (n - 1); b > 0 && b < d && b>>(n-1) == w.cfg.BackoffBase {
			d = b
		}
	}
	d = d/2 + rand.N(d/2+1) // jitter: spread senders that failed together
	if retryAfter > d {
		d = retryAfter
	}
	return min(d, w.cfg.BackoffMax)
}

// retryAfter parses a Retry-After header (RFC 9110 §10.2.3): seconds, or
// an HTTP date. Anything else, or a time in the past, is 0.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseUint(v, 10, 32); err == nil {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// redact returns u without user information, query and fragment, which
// may carry credentials, for logs.
func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return (&url.URL{Scheme: p.Scheme, Host: p.Host, Path: p.Path}).String()
}
