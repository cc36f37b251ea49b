// Package hooks delivers the receiver's events to external systems for CLI
// users: a webhook (Webhook: an HTTP POST of each event's JSON, retried with
// back-off) and commands (Runner: a program run per FileStored or
// StudyCompleted event, argv templates with placeholders, never a shell).
// It is the CLI's counterpart of DCMTK storescp's --exec-on-reception and
// --exec-on-eostudy.
//
// Both take events already encoded as JSON, the same object the CLI writes
// as a JSON Line (see Encode), through Enqueue, which never blocks: each has
// a bounded queue drained by its own goroutines, and an event that does not
// fit is dropped, logged and reported to OnDrop. Receiving never waits for a
// hook. What still fails after the retries (webhook) or exits with a
// non-zero status (command) is logged and reported to OnDrop as well; what
// is delivered is reported to OnDelivered. Close drains the queue until its
// context ends and counts the rest as lost.
package hooks

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Event names, as the "event" member of an event's JSON.
const (
	EventServerStarted  = "ServerStarted"
	EventFileStored     = "FileStored"
	EventStudyCompleted = "StudyCompleted"
	EventError          = "Error"
)

// Reasons an event is dropped, passed to OnDrop. They are the label values
// of dicomrecv_hook_dropped_total{reason} (internal/metrics).
const (
	// DropQueueFull: the queue was full when the event was enqueued.
	DropQueueFull = "queue-full"
	// DropFailed: the webhook did not answer 2xx after MaxAttempts
	// attempts, or the command could not start or exited with a non-zero
	// status, or the event's JSON lacks what the command needs.
	DropFailed = "failed"
	// DropTimeout: the command ran longer than its timeout and was killed.
	DropTimeout = "timeout"
	// DropShutdown: Close's context ended before the event was delivered,
	// or the event was enqueued after Close.
	DropShutdown = "shutdown"
)

// DefaultQueueSize is the queue length of a Webhook or Runner whose config
// leaves QueueSize zero. Events are a few hundred bytes to a few kilobytes
// (a StudyCompleted lists its instances), so a full queue holds a few
// megabytes to some tens of megabytes.
const DefaultQueueSize = 10000

// Sink takes encoded events. Webhook and Runner are Sinks, so the CLI can
// hand every event to each configured hook in one loop.
type Sink interface {
	// Enqueue queues the event named event, whose JSON is payload, and
	// reports whether it was queued (or needs no delivery). It never
	// blocks. The Sink keeps payload: the caller must not modify it.
	Enqueue(event string, payload []byte) bool
	// Close delivers what it can of the queue until ctx ends, then drops
	// the rest.
	Close(ctx context.Context) error
}

// Encode returns the JSON object of an event as the CLI writes it, one
// JSON Line without its newline: {"event":name,"time":at (RFC 3339, UTC),
// "data":data}. Encode once and give the same bytes to every Sink and to
// the JSON Lines output.
func Encode(name string, at time.Time, data any) ([]byte, error) {
	return json.Marshal(struct {
		Event string    `json:"event"`
		Time  time.Time `json:"time"`
		Data  any       `json:"data"`
	}{name, at.UTC(), data})
}

// Stats counts what a Webhook or Runner did with its events.
type Stats struct {
	// Queued is the number of events waiting now.
	Queued int
	// Delivered counts events a webhook answered 2xx or a command exited 0
	// for.
	Delivered uint64
	// QueueFull, Failed, TimedOut and Shutdown count dropped events by
	// reason (DropQueueFull, DropFailed, DropTimeout, DropShutdown).
	QueueFull, Failed, TimedOut, Shutdown uint64
}

// Dropped returns the number of events dropped for any reason.
func (s Stats) Dropped() uint64 { return s.QueueFull + s.Failed + s.TimedOut + s.Shutdown }

// item is one queued event.
type item struct {
	event   string
	payload []byte
}

// pipeline is the queue and workers shared by Webhook and Runner.
type pipeline struct {
	kind        string // "webhook" or "command", for logs
	log         *slog.Logger
	onDelivered func(event string)
	onDrop      func(event, reason string)

	mu     sync.RWMutex // guards closed against sends on a closed ch
	closed bool
	ch     chan item

	ctx    context.Context // cancelled when Close gives up: stops work in progress
	cancel context.CancelFunc
	done   chan struct{} // closed when every worker returned

	delivered, queueFull, failed, timedOut, shutdown atomic.Uint64

	limiters [3]logLimiter // queue-full, failed, timeout
}

func newPipeline(kind string, queueSize int, log *slog.Logger, onDelivered func(string), onDrop func(string, string)) *pipeline {
	if queueSize <= 0 {
		queueSize = DefaultQueueSize
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &pipeline{
		kind:        kind,
		log:         log,
		onDelivered: onDelivered,
		onDrop:      onDrop,
		ch:          make(chan item, queueSize),
		done:        make(chan struct{}),
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	return p
}

// start runs n workers that call work for each queued item in turn.
func (p *pipeline) start(n int, work func(item)) {
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for it := range p.ch {
				if p.ctx.Err() != nil {
					p.drop(it.event, DropShutdown, nil)
					continue
				}
				work(it)
			}
		})
	}
	go func() {
		wg.Wait()
		close(p.done)
	}()
}

// enqueue queues it without blocking.
func (p *pipeline) enqueue(it item) bool {
	p.mu.RLock()
	if p.closed {
		p.mu.RUnlock()
		p.drop(it.event, DropShutdown, nil)
		return false
	}
	select {
	case p.ch <- it:
		p.mu.RUnlock()
		return true
	default:
		p.mu.RUnlock()
		p.drop(it.event, DropQueueFull, nil)
		return false
	}
}

// close stops taking events, lets the workers drain the queue until ctx
// ends, then cancels work in progress and drops what is left.
func (p *pipeline) close(ctx context.Context) error {
	p.mu.Lock()
	first := !p.closed
	if first {
		p.closed = true
		close(p.ch)
	}
	p.mu.Unlock()
	var err error
	select {
	case <-p.done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	p.cancel()
	<-p.done
	if n := p.shutdown.Load(); n > 0 && first {
		p.log.Warn(p.kind+" hook: events lost at shutdown", "count", n)
	}
	return err
}

// ok records a delivered event.
func (p *pipeline) ok(event string) {
	p.delivered.Add(1)
	if p.onDelivered != nil {
		p.onDelivered(event)
	}
}

// drop records a lost event and logs it (at most once a second per reason,
// with the number of drops not logged since).
func (p *pipeline) drop(event, reason string, err error, attrs ...any) {
	var l *logLimiter
	switch reason {
	case DropQueueFull:
		p.queueFull.Add(1)
		l = &p.limiters[0]
	case DropFailed:
		p.failed.Add(1)
		l = &p.limiters[1]
	case DropTimeout:
		p.timedOut.Add(1)
		l = &p.limiters[2]
	default:
		p.shutdown.Add(1)
	}
	if p.onDrop != nil {
		p.onDrop(event, reason)
	}
	if l == nil {
		return // shutdown: summed up once by close
	}
	if n, ok := l.allow(time.Now()); ok {
		attrs = append(attrs, "event", event, "reason", reason)
		if err != nil {
			attrs = append(attrs, "err", err)
		}
		if n > 0 {
			attrs = append(attrs, "alsoDroppedSinceLastLog", n)
		}
		p.log.Warn(p.kind+" hook: event dropped", attrs...)
	}
}

func (p *pipeline) stats() Stats {
	return Stats{
		Queued:    len(p.ch),
		Delivered: p.delivered.Load(),
		QueueFull: p.queueFull.Load(),
		Failed:    p.failed.Load(),
		TimedOut:  p.timedOut.Load(),
		Shutdown:  p.shutdown.Load(),
	}
}

// logInterval is the least time between two drop log lines of one hook.
const logInterval = time.Second

// logLimiter allows one log line per logInterval and counts the others.
type logLimiter struct {
	mu         sync.Mutex
	last       time.Time
	suppressed int
}

// allow reports whether to log now and how many lines were suppressed
// since the last one.
func (l *logLimiter) allow(now time.Time) (int, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.last.IsZero() && now.Sub(l.last) < logInterval {
		l.suppressed++
		return 0, false
	}
	n := l.suppressed
	l.last, l.suppressed = now, 0
	return n, true
}
