package studytest_test

import (
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dicomrecv/dicomrecv/internal/study/studytest"
)

var start = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// Timers fire in due order, ties in arming order, with the clock reading
// their due time; the clock ends at start + d.
func TestAdvanceOrder(t *testing.T) {
	c := studytest.NewClock(start)
	var mu sync.Mutex
	var got []string
	rec := func(name string) func() {
		return func() {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, name+"@"+c.Now().Sub(start).String())
		}
	}
	c.AfterFunc(3*time.Second, rec("c"))
	c.AfterFunc(time.Second, rec("a"))
	c.AfterFunc(2*time.Second, rec("b1"))
	c.AfterFunc(2*time.Second, rec("b2"))
	c.AfterFunc(10*time.Second, rec("late"))
	c.AfterFunc(0, rec("now"))
	c.Advance(5 * time.Second)
	want := []string{"now@0s", "a@1s", "b1@2s", "b2@2s", "c@3s"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("firing order (-want +got):\n%s", diff)
	}
	if got := c.Now(); !got.Equal(start.Add(5 * time.Second)) {
		t.Errorf("Now = %v after Advance(5s)", got)
	}
	if n := c.Timers(); n != 1 {
		t.Errorf("Timers = %d, want 1 (the late one)", n)
	}
}

// Stop and Reset behave as for time.AfterFunc timers.
func TestStopReset(t *testing.T) {
	tests := []struct {
		name      string
		run       func(c *studytest.Clock, fired *int) []bool
		wantFired int
		wantRet   []bool
	}{
		{"stop armed", func(c *studytest.Clock, n *int) []bool {
			tm := c.AfterFunc(time.Second, func() { *n++ })
			return []bool{tm.Stop(), tm.Stop()}
		}, 0, []bool{true, false}},
		{"stop fired", func(c *studytest.Clock, n *int) []bool {
			tm := c.AfterFunc(time.Second, func() { *n++ })
			c.Advance(time.Second)
			return []bool{tm.Stop()}
		}, 1, []bool{false}},
		{"reset armed postpones", func(c *studytest.Clock, n *int) []bool {
			tm := c.AfterFunc(time.Second, func() { *n++ })
			r := tm.Reset(3 * time.Second)
			c.Advance(2 * time.Second)
			return []bool{r, *n == 0}
		}, 0, []bool{true, true}},
		{"reset fired re-arms", func(c *studytest.Clock, n *int) []bool {
			tm := c.AfterFunc(time.Second, func() { *n++ })
			c.Advance(time.Second)
			r := tm.Reset(time.Second)
			c.Advance(time.Second)
			return []bool{r}
		}, 2, []bool{false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := studytest.NewClock(start)
			fired := 0
			ret := tt.run(c, &fired)
			if fired != tt.wantFired {
				t.Errorf("fired %d times, want %d", fired, tt.wantFired)
			}
			if diff := cmp.Diff(tt.wantRet, ret); diff != "" {
				t.Errorf("results (-want +got):\n%s", diff)
			}
		})
	}
}

// A timer re-armed from its own call fires again within the same Advance
// when it falls due within it.
func TestRearmWithinAdvance(t *testing.T) {
	c := studytest.NewClock(start)
	var times []time.Duration
	var tm interface{ Reset(time.Duration) bool }
	tm = c.AfterFunc(time.Second, func() {
		times = append(times, c.Now().Sub(start))
		if len(times) < 3 {
			tm.Reset(2 * time.Second)
		}
	})
	c.Advance(10 * time.Second)
	if diff := cmp.Diff([]time.Duration{time.Second, 3 * time.Second, 5 * time.Second}, times); diff != "" {
		t.Errorf("fire times (-want +got):\n%s", diff)
	}
}
