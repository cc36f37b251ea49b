// Package study tracks which stored instances belong together and tells the
// receiver when a study is complete (the seed's OnStudyCompleted event).
//
// DICOM has no "end of study" message: a C-STORE SCP sees instances, each
// carrying its Study Instance UID (PS3.3 C.7.2.1), arriving over any number
// of associations. A Tracker therefore runs a quiet-period timer per study:
// every instance added restarts its study's timer, whichever association
// brought it, and when a study has been quiet for Config.Timeout the Tracker
// emits one StudyEvent with every instance received for it, arranged as
// study -> series -> instances. (The reference implementation starts the
// timer at the first instance and never restarts it, so long studies arrive
// as fragments.) An instance that arrives after its study's event starts a
// new accumulation and, later, a new event.
//
// With Config.JournalPath set, every Add is appended to a journal before Add
// returns, so a process crash loses no instance: New replays the journal and
// the pending studies still complete. See Config.JournalPath for the exact
// guarantees.
package study

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"
)

// Errors returned by a Tracker.
var (
	// ErrClosed is returned by Add and FlushContext after Close.
	ErrClosed = errors.New("study: tracker closed")
	// ErrInvalidInstance is returned by Add for an instance that lacks a
	// Study, Series or SOP Instance UID.
	ErrInvalidInstance = errors.New("study: invalid instance")
	// ErrInvalidConfig is returned by New for a Config it cannot use.
	ErrInvalidConfig = errors.New("study: invalid config")
)

// DefaultTimeout is the seed's studyTimeout default.
const DefaultTimeout = 30 * time.Second

// Config configures a Tracker.
type Config struct {
	// Timeout is the quiet period after which a study is complete: the
	// time since its last instance was added. It must be positive. Too
	// short a Timeout splits studies whose sender pauses (a modality that
	// sends series by series, a slow network); too long delays every
	// downstream step. The seed's default is DefaultTimeout.
	Timeout time.Duration

	// Clock supplies time and timers; nil means the system clock.
	Clock Clock

	// LevelOf returns the level at which the tag called name appears in a
	// StudyEvent. The receiver builds it from the dictionary and LevelOfTag
	// and maps custom tag names to LevelInstance. nil puts every tag at
	// LevelInstance. It is called from the goroutines that call Add, so it
	// must be safe for concurrent use (a read-only map is).
	LevelOf func(name string) Level

	// OnComplete is called once per completed study, in completion order,
	// from the Tracker's own goroutine, never concurrently with itself. It
	// may block (the receiver applies back-pressure there): meanwhile Add
	// keeps working and completed studies queue up in memory. OnComplete
	// must not call Flush, FlushContext or Close. Required.
	OnComplete func(StudyEvent)

	// JournalPath, when not empty, names the file where the Tracker records
	// its pending studies (the receiver uses {outDir}/.dicomrecv/studies.journal;
	// the file holds patient data and is created with mode 0600). Its
	// directory is created if needed, and a lock file next to it
	// (".{name}.lock", flock(2) where available) keeps a second Tracker from
	// sharing it.
	//
	// Every Add appends one record with a single write(2) before it
	// returns, so a process crash (kill -9) after a C-STORE response loses
	// nothing. The journal is not fsynced per record: after a power loss or
	// kernel crash the instances of the last seconds (what the kernel had
	// not yet written back) may be missing from the replayed studies. After
	// OnComplete returns, a "done" record is appended; a crash between the
	// two makes the event fire again after restart (at-least-once delivery).
	// New replays the journal: pending studies are rebuilt and complete
	// Timeout after their last instance, counted from before the restart.
	// The journal is rewritten (temporary file, fsync, rename) with only the
	// live studies at New and whenever dead records outweigh live ones.
	JournalPath string

	// Logger receives the Tracker's logs; nil discards them. Study UIDs are
	// logged at debug level only.
	Logger *slog.Logger
}

// Validate reports the first field of c that New cannot use, wrapping
// ErrInvalidConfig.
func (c *Config) Validate() error {
	if c.Timeout <= 0 {
		return fmt.Errorf("%w: Timeout %v must be positive", ErrInvalidConfig, c.Timeout)
	}
	if c.OnComplete == nil {
		return fmt.Errorf("%w: OnComplete is required", ErrInvalidConfig)
	}
	return nil
}

// Tracker groups stored instances by study and emits a StudyEvent for each
// study that has been quiet for Config.Timeout. Its methods are safe for
// concurrent use.
type Tracker struct {
	timeout    time.Duration
	clock      Clock
	levelOf    func(string) Level
	onComplete func(StudyEvent)
	log        *slog.Logger

	mu       sync.Mutex
	closed   bool
	nextID   uint64
	pending  map[string]*studyState // accumulating, timer armed
	queue    []*studyState          // completed, waiting for OnComplete
	inflight *studyState            // being delivered
	enqueued uint64                 // studies ever queued
	done     uint64                 // studies ever delivered
	progress chan struct{}          // closed (and replaced) when done grows or on Close
	intern   interner
	journal  *journal  // nil without JournalPath
	scratch  sync.Pool // of *[]ltag, for Add

	timers sync.WaitGroup // armed timers whose call has not finished
	wake   chan struct{}  // cap 1: the queue has work
	quit   chan struct{}  // closed by Close
	exited chan struct{}  // closed when the delivery goroutine returns
}

// New returns a Tracker for cfg. With cfg.JournalPath set it replays the
// journal first: studies that were pending when the previous process ended
// are rebuilt and their timers re-armed for the time they had left (at once
// if it has run out), and studies that had completed but whose OnComplete
// had not returned are delivered again.
func New(cfg Config) (*Tracker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	t := &Tracker{
		timeout:    cfg.Timeout,
		clock:      cfg.Clock,
		levelOf:    cfg.LevelOf,
		onComplete: cfg.OnComplete,
		log:        cfg.Logger,
		nextID:     1,
		pending:    make(map[string]*studyState),
		progress:   make(chan struct{}),
		wake:       make(chan struct{}, 1),
		quit:       make(chan struct{}),
		exited:     make(chan struct{}),
	}
	if t.clock == nil {
		t.clock = systemClock{}
	}
	if t.log == nil {
		t.log = slog.New(slog.DiscardHandler)
	}
	if cfg.JournalPath != "" {
		if err := t.openJournal(cfg.JournalPath); err != nil {
			return nil, err
		}
	}
	go t.deliverLoop()
	if len(t.queue) > 0 {
		t.signal()
	}
	return t, nil
}

// openJournal replays the journal at path and restores its studies.
func (t *Tracker) openJournal(path string) error {
	j, rep, err := openJournal(path, t.levelOf, &t.intern, t.log)
	if err != nil {
		return err
	}
	live := slices.SortedFunc(maps.Values(rep.studies), byID)
	if err := j.compact(live); err != nil {
		_ = j.close()
		return err
	}
	if n := len(live); n > 0 || rep.skipped > 0 || rep.torn {
		t.log.Info("study journal replayed", "studies", n, "skippedRecords", rep.skipped, "tornTail", rep.torn)
	}

	// Timers armed below may fire at once (no time left), on another
	// goroutine.
	t.mu.Lock()
	defer t.mu.Unlock()
	t.journal = j
	if rep.maxID >= t.nextID {
		t.nextID = rep.maxID + 1
	}
	// Of several live accumulations of one study, only the newest can still
	// be accumulating: the older ones had completed (that is why a newer one
	// started) but were not delivered. Deliver them first, in id order.
	newest := make(map[string]*studyState, len(live))
	for _, st := range live {
		newest[st.uid] = st
	}
	now := t.clock.Now()
	for _, st := range live {
		if newest[st.uid] != st {
			t.enqueue(st)
			continue
		}
		t.pending[st.uid] = st
		st.deadline = st.last.Add(t.timeout)
		// Clamp to [0, Timeout]: a clock set back must not stretch the wait.
		left := min(max(st.deadline.Sub(now), 0), t.timeout)
		t.arm(st, left)
	}
	return nil
}

// Add records inst, restarting the quiet-period timer of its study. It
// returns ErrInvalidInstance (and records nothing) when a UID is missing,
// and ErrClosed after Close. An error from the journal is returned too, but
// the instance is then still tracked in memory: its study's event will
// include it, only a crash before that event would lose it.
//
// An instance whose SOP Instance UID is already pending in its study (the
// sender sent it again) replaces the earlier copy: it is counted once, keeps
// its place, and the event shows the last copy's file, classes and tags.
func (t *Tracker) Add(inst Instance) error {
	switch {
	case inst.StudyInstanceUID == "":
		return fmt.Errorf("%w: no Study Instance UID", ErrInvalidInstance)
	case inst.SeriesInstanceUID == "":
		return fmt.Errorf("%w: no Series Instance UID", ErrInvalidInstance)
	case inst.SOPInstanceUID == "":
		return fmt.Errorf("%w: no SOP Instance UID", ErrInvalidInstance)
	}
	a := addInput{
		series: inst.SeriesInstanceUID,
		sop:    inst.SOPInstanceUID,
		class:  inst.SOPClassUID,
		ts:     inst.TransferSyntaxUID,
		file:   inst.File,
		ae:     inst.CallingAETitle,
		bytes:  inst.Bytes,
		raw:    inst.Tags,
	}
	if len(inst.Tags) > 0 {
		// The classified tags are scratch: what is kept is copied out.
		p, _ := t.scratch.Get().(*[]ltag)
		if p == nil {
			p = new([]ltag)
		}
		a.tags = classify((*p)[:0], inst.Tags, t.levelOf)
		defer func() {
			clear(a.tags) // drop the strings
			*p = a.tags[:0]
			t.scratch.Put(p)
		}()
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return ErrClosed
	}
	now := t.clock.Now()
	st := t.pending[inst.StudyInstanceUID]
	if st == nil {
		st = newStudy(t.nextID, inst.StudyInstanceUID, now)
		t.nextID++
		t.pending[st.uid] = st
		t.arm(st, t.timeout)
		t.log.Debug("study started", "study", st.uid)
	}
	st.add(&a, now, &t.intern)
	// The timer is not touched here: when it fires before the deadline it
	// re-arms itself for the rest (see fire), which restarts the quiet period
	// without a timer operation per instance.
	st.deadline = st.last.Add(t.timeout)
	if t.journal != nil {
		if err := t.journal.appendAdd(st, now, &inst); err != nil {
			return fmt.Errorf("study: journal: %w", err)
		}
	}
	return nil
}

// arm starts st's timer. The caller holds t.mu and t is not closed.
func (t *Tracker) arm(st *studyState, d time.Duration) {
	t.timers.Add(1)
	st.timer = t.clock.AfterFunc(d, func() { t.fire(st) })
}

// disarm stops st's timer. The caller holds t.mu.
func (t *Tracker) disarm(st *studyState) {
	if st.timer != nil && st.timer.Stop() {
		t.timers.Done() // the call will not happen
	}
}

// fire is the timer call of st.
func (t *Tracker) fire(st *studyState) {
	defer t.timers.Done()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed || t.pending[st.uid] != st {
		return // flushed or closed meanwhile
	}
	if now := t.clock.Now(); now.Before(st.deadline) {
		// Instances arrived since the timer was armed: wait for the rest of
		// the quiet period.
		t.timers.Add(1)
		st.timer.Reset(st.deadline.Sub(now))
		return
	}
	delete(t.pending, st.uid)
	t.enqueue(st)
	t.signal()
}

// enqueue queues st for delivery. The caller holds t.mu.
func (t *Tracker) enqueue(st *studyState) {
	t.queue = append(t.queue, st)
	t.enqueued++
}

// signal wakes the delivery goroutine.
func (t *Tracker) signal() {
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// deliverLoop is the Tracker's goroutine: it calls OnComplete for each
// queued study, in order.
func (t *Tracker) deliverLoop() {
	defer close(t.exited)
	for {
		select {
		case <-t.wake:
		case <-t.quit:
			return
		}
		for {
			t.mu.Lock()
			if t.closed || len(t.queue) == 0 {
				t.mu.Unlock()
				break
			}
			st := t.queue[0]
			t.queue[0] = nil
			t.queue = t.queue[1:]
			if len(t.queue) == 0 {
				t.queue = nil // let the backing array go
			}
			t.inflight = st
			t.mu.Unlock()

			t.deliver(st)

			t.mu.Lock()
			t.inflight = nil
			t.done++
			if t.journal != nil {
				t.journal.appendDone(st, t.liveStudies)
			}
			if !t.closed { // Close has closed progress for good
				close(t.progress)
				t.progress = make(chan struct{})
			}
			t.mu.Unlock()
		}
	}
}

// deliver calls OnComplete with st's event. A panicking handler is logged
// and the study counts as delivered, so that it does not panic again after
// every restart.
func (t *Tracker) deliver(st *studyState) {
	defer func() {
		if r := recover(); r != nil {
			t.log.Error("study: OnComplete panicked", "panic", r)
		}
	}()
	ev := st.event()
	t.log.Debug("study completed", "study", ev.StudyInstanceUID, "series", len(ev.Series), "instances", ev.InstanceCount)
	t.onComplete(ev)
}

// liveStudies returns the accumulations the journal must keep: those being
// delivered, queued or pending, in id order. The caller holds t.mu.
func (t *Tracker) liveStudies() []*studyState {
	live := make([]*studyState, 0, len(t.pending)+len(t.queue)+1)
	if t.inflight != nil {
		live = append(live, t.inflight)
	}
	live = append(live, t.queue...)
	for _, st := range t.pending {
		live = append(live, st)
	}
	slices.SortFunc(live, byID)
	return live
}

// byID orders accumulations by id: the order in which they started.
func byID(a, b *studyState) int { return cmp.Compare(a.id, b.id) }

// Flush completes every pending study now and waits until OnComplete has
// returned for each, and for the studies that had completed before. Studies
// are emitted in the order their first instance arrived. It is what the
// receiver's Shutdown calls before Close. Flush returns early if the Tracker
// is closed meanwhile.
func (t *Tracker) Flush() { _ = t.FlushContext(context.Background()) }

// FlushContext is Flush with a deadline: it returns ctx's error when ctx
// ends first (the studies stay queued and are still delivered), and
// ErrClosed when the Tracker is or gets closed.
func (t *Tracker) FlushContext(ctx context.Context) error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return ErrClosed
	}
	if len(t.pending) > 0 {
		for _, st := range slices.SortedFunc(maps.Values(t.pending), byID) {
			t.disarm(st)
			delete(t.pending, st.uid)
			t.enqueue(st)
		}
		t.signal()
	}
	target := t.enqueued
	for {
		if t.done >= target {
			t.mu.Unlock()
			return nil
		}
		if t.closed {
			t.mu.Unlock()
			return ErrClosed
		}
		ch := t.progress
		t.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("study: flush: %w", ctx.Err())
		}
		t.mu.Lock()
	}
}

// Pending returns the number of studies accumulating instances, whose
// quiet-period timer is running. Completed studies waiting for OnComplete
// are not counted.
func (t *Tracker) Pending() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.pending)
}

// Close stops every timer and the Tracker's goroutine. It waits for an
// OnComplete call in progress to return; no timer call and no goroutine of
// the Tracker outlives Close. Studies not yet delivered are not emitted:
// with a journal they are kept there and complete after the next New;
// without one they are lost (Close logs how many). Call Flush first to
// emit them. Close is idempotent.
func (t *Tracker) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	t.stopAll()
	undelivered := len(t.pending) + len(t.queue)
	close(t.quit)
	close(t.progress)
	t.mu.Unlock()

	<-t.exited
	t.timers.Wait()

	var err error
	if t.journal != nil {
		err = t.journal.close()
		if undelivered > 0 {
			t.log.Info("study: tracker closed; pending studies kept in the journal", "studies", undelivered)
		}
	} else if undelivered > 0 {
		t.log.Warn("study: tracker closed; pending studies dropped", "studies", undelivered)
	}
	return err
}

// stopAll stops the timers of all pending studies. The caller holds t.mu.
func (t *Tracker) stopAll() {
	for _, st := range t.pending {
		t.disarm(st)
	}
}
