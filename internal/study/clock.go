package study

import "time"

// Clock is the source of time and timers of a Tracker. The zero Config uses
// the system clock; tests inject a deterministic one (see package studytest).
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// AfterFunc calls f, in a goroutine of the clock's choosing, once d has
	// elapsed, and returns a Timer that can stop or re-arm the call. It
	// behaves as time.AfterFunc.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending call made by Clock.AfterFunc. It behaves as the
// *time.Timer that time.AfterFunc returns.
type Timer interface {
	// Stop prevents the call from happening. It returns false when the
	// call has already started (or was already stopped).
	Stop() bool
	// Reset arranges for the call to happen once d has elapsed, whether or
	// not it has already happened. It reports whether the timer was active.
	Reset(d time.Duration) bool
}

// systemClock is the Clock of the time package.
type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }
