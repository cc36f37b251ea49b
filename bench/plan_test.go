package main

import (
	"regexp"
	"testing"
)

func TestMatrix(t *testing.T) {
	tests := []struct {
		name          string
		o             planOptions
		sets, runsRep int
		first         string
	}{
		{"quick", planOptions{Quick: true}, 2, 6, "small-1a-16k-nodelay"},
		{"quick with large", planOptions{Quick: true, Large: true}, 3, 9, "small-1a-16k-nodelay"},
		// small: 2 assocs x 2 PDUs x 2 senders x 4 receivers; large: 2 x 2 x 4;
		// giant: 2 PDUs x 3 receivers.
		{"full", planOptions{}, 14, 32 + 16 + 6, "small-1a-16k-nodelay"},
		{"full, one scenario", planOptions{Scenarios: regexp.MustCompile(`^large-1a-128k-stock$`)}, 1, 4, "large-1a-128k-stock"},
		{"full, dicomrecv only", planOptions{Receivers: regexp.MustCompile(`^dicomrecv$`)}, 14, 14, "small-1a-16k-nodelay"},
		{"nothing matches", planOptions{Scenarios: regexp.MustCompile(`nope`)}, 0, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sets := matrix(tt.o)
			runs := 0
			for _, s := range sets {
				runs += len(s.Receivers)
				if s.Scenario.Corpus != corpusSmall && s.Scenario.Assocs != 1 {
					t.Errorf("%s: only the small corpus is sent over several associations", s.Scenario.Name())
				}
			}
			if len(sets) != tt.sets || runs != tt.runsRep {
				t.Errorf("%d scenarios, %d runs per repetition; want %d, %d", len(sets), runs, tt.sets, tt.runsRep)
			}
			if len(sets) > 0 && sets[0].Scenario.Name() != tt.first {
				t.Errorf("first scenario %s, want %s", sets[0].Scenario.Name(), tt.first)
			}
		})
	}
	for _, s := range matrix(planOptions{Quick: true, Large: true}) {
		if s.Scenario.PDU != 16384 || s.Scenario.Assocs != 1 {
			t.Errorf("quick mode has %s", s.Scenario.Name())
		}
		for _, r := range s.Receivers {
			if r.Fsync {
				t.Errorf("quick mode runs fsync on in %s", s.Scenario.Name())
			}
		}
	}
}

// TestPlanAlternates checks the order of runs: every repetition runs every
// receiver of every scenario once, and over as many repetitions as there
// are receivers each receiver goes first once.
func TestPlanAlternates(t *testing.T) {
	sets := matrix(planOptions{Quick: true})
	const reps = 3
	steps := plan(sets, reps)
	if len(steps) != reps*6 {
		t.Fatalf("%d steps, want %d", len(steps), reps*6)
	}
	first := map[string]int{}
	seen := map[[3]string]int{}
	for i, st := range steps {
		seen[[3]string{st.Scenario.Name(), st.Receiver.ID(), string(rune('0' + st.Rep))}]++
		if i > 0 && steps[i-1].Rep > st.Rep {
			t.Errorf("step %d goes back to repetition %d", i, st.Rep)
		}
		if i == 0 || steps[i-1].Scenario != st.Scenario || steps[i-1].Rep != st.Rep {
			if st.Scenario.Sender == senderNoDelay {
				first[st.Receiver.ID()]++
			}
		}
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("%v runs %d times", k, n)
		}
	}
	if len(seen) != reps*6 {
		t.Errorf("%d distinct runs, want %d", len(seen), reps*6)
	}
	for _, id := range []string{"dicomrecv", kindStorescpB, kindIgnore} {
		if first[id] != 1 {
			t.Errorf("%s goes first %d times in %d repetitions, want once", id, first[id], reps)
		}
	}
}

func TestScenarioNames(t *testing.T) {
	tests := []struct {
		sc          scenario
		name, title string
	}{
		{scenario{corpusSmall, 1, 16384, senderNoDelay}, "small-1a-16k-nodelay",
			"2,000 CT slices (0.53 MB) in 4 studies, 1 association, PDU 16 KiB, sender TCP_NODELAY=1"},
		{scenario{corpusLarge, 4, 131072, senderStock}, "large-4a-128k-stock",
			"20 CT objects of 50-100 MB, 4 concurrent associations, PDU 128 KiB, stock sender (Nagle on)"},
	}
	for _, tt := range tests {
		if got := tt.sc.Name(); got != tt.name {
			t.Errorf("Name = %q, want %q", got, tt.name)
		}
		if got := tt.sc.Title(); got != tt.title {
			t.Errorf("Title = %q, want %q", got, tt.title)
		}
	}
	labels := map[string]string{
		recvDicomrecv.Label(true):      "dicomrecv (fsync off)",
		recvDicomrecvFsync.Label(true): "dicomrecv (fsync on)",
		recvStorescpB.Label(false):     "storescp +B",
		recvStorescpB.Label(true):      "storescp +B --fork",
		recvIgnore.Label(true):         "storescp --ignore --fork (ceiling)",
	}
	for got, want := range labels {
		if got != want {
			t.Errorf("label %q, want %q", got, want)
		}
	}
}

func TestRunResultMetrics(t *testing.T) {
	r := runResult{Files: 2000, Bytes: 1_061_748_000, Seconds: 2.5, CPUSeconds: 1.5, PeakRSSKiB: 16 * 1024}
	checks := []struct {
		name      string
		got, want float64
	}{
		{"files/s", r.FilesPerSec(), 800},
		{"MB/s", r.MBPerSec(), 424.6992},
		{"CPU-s/GB", r.CPUPerGB(), 1.5 / 1.061748},
		{"RSS MiB", r.PeakRSSMiB(), 16},
	}
	for _, c := range checks {
		if d := c.got - c.want; d > 1e-9 || d < -1e-9 {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	r.Err = "lost files"
	for name, v := range map[string]float64{"files/s": r.FilesPerSec(), "MB/s": r.MBPerSec(), "CPU": r.CPUPerGB(), "RSS": r.PeakRSSMiB(), "other": r.Other()} {
		if v == v { // not NaN
			t.Errorf("failed run: %s = %v, want NaN", name, v)
		}
	}
}
