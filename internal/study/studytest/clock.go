// Package studytest provides a deterministic clock for tests of code that
// uses a study.Tracker.
package studytest

import (
	"container/heap"
	"sync"
	"time"

	"github.com/dicomrecv/dicomrecv/internal/study"
)

// Clock is a study.Clock whose time moves only when Advance is called.
// Timer calls run synchronously inside Advance, in the order of their due
// times (ties in the order they were armed). It is safe for concurrent use.
type Clock struct {
	advancing sync.Mutex // serialises Advance

	mu     sync.Mutex
	now    time.Time
	seq    uint64
	timers timerHeap // armed
}

// NewClock returns a Clock reading start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc arms a timer that calls f once the clock has advanced by d. A d
// of zero or less fires at the next Advance, even Advance(0).
func (c *Clock) AfterFunc(d time.Duration, f func()) study.Timer {
	t := &Timer{c: c, f: f, index: -1}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.armLocked(t, d)
	return t
}

// armLocked arms or re-arms t; it reports whether t was armed.
func (c *Clock) armLocked(t *Timer, d time.Duration) bool {
	armed := t.index >= 0
	c.seq++
	t.when = c.now.Add(d)
	t.seq = c.seq
	if armed {
		heap.Fix(&c.timers, t.index)
	} else {
		heap.Push(&c.timers, t)
	}
	return armed
}

// Advance moves the clock forward by d. Each timer that falls due on the
// way is called synchronously, with the clock reading its due time; timers
// armed or re-armed by those calls fire too if they fall due within d.
// Then the clock reads its old time plus d.
func (c *Clock) Advance(d time.Duration) {
	c.advancing.Lock()
	defer c.advancing.Unlock()
	c.mu.Lock()
	end := c.now.Add(d)
	for len(c.timers) > 0 && !c.timers[0].when.After(end) {
		t := heap.Pop(&c.timers).(*Timer)
		if t.when.After(c.now) {
			c.now = t.when
		}
		c.mu.Unlock()
		t.f()
		c.mu.Lock()
	}
	c.now = end
	c.mu.Unlock()
}

// Timers returns the number of armed timers.
func (c *Clock) Timers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// Timer is a timer of a Clock. It implements study.Timer.
type Timer struct {
	c     *Clock
	f     func()
	when  time.Time
	seq   uint64
	index int // in c.timers; -1 when not armed
}

// Stop disarms the timer. It reports whether the timer was armed, that is,
// false when its call has already started or it was stopped before.
func (t *Timer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	if t.index < 0 {
		return false
	}
	heap.Remove(&t.c.timers, t.index)
	return true
}

// Reset arms the timer to fire once the clock has advanced by d, whether or
// not it has fired. It reports whether the timer was armed.
func (t *Timer) Reset(d time.Duration) bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	return t.c.armLocked(t, d)
}

// timerHeap orders armed timers by due time, then by arming order.
type timerHeap []*Timer

func (h timerHeap) Len() int { return len(h) }

func (h timerHeap) Less(i, j int) bool {
	if !h[i].when.Equal(h[j].when) {
		return h[i].when.Before(h[j].when)
	}
	return h[i].seq < h[j].seq
}

func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}

func (h *timerHeap) Push(x any) {
	t := x.(*Timer)
	t.index = len(*h)
	*h = append(*h, t)
}

func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	t.index = -1
	*h = old[:len(old)-1]
	return t
}
