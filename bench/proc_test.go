package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// statLine builds a /proc/PID/stat line with the fields the harness reads.
func statLine(pid int, comm string, state byte, ppid int, utime, stime, cutime, cstime uint64) string {
	// pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt
	// majflt cmajflt utime stime cutime cstime priority nice threads ...
	return fmt.Sprintf("%d (%s) %s %d 100 100 0 -1 4194560 1200 0 0 0 %d %d %d %d 20 0 3 0 5000 10000000 300 18446744073709551615\n",
		pid, comm, []byte{state}, ppid, utime, stime, cutime, cstime)
}

func TestParseStat(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    procStat
		wantErr bool
	}{
		{"storescp", statLine(4242, "storescp", 'S', 1, 150, 60, 7, 3),
			procStat{PID: 4242, PPID: 1, State: 'S', UTime: 150, STime: 60, CUTime: 7, CSTime: 3}, false},
		{"zombie child", statLine(4300, "storescp", 'Z', 4242, 12, 5, 0, 0),
			procStat{PID: 4300, PPID: 4242, State: 'Z', UTime: 12, STime: 5}, false},
		{"command with spaces and parentheses", statLine(7, "a) b (c", 'R', 2, 1, 2, 3, 4),
			procStat{PID: 7, PPID: 2, State: 'R', UTime: 1, STime: 2, CUTime: 3, CSTime: 4}, false},
		{"real kernel sample", "1 (process_api) S 0 1 1 0 -1 4194560 2411 11453 3 4 1395 461 3113 1517 20 0 9 0 2 48168960 3710 18446744073709551615 1 1 0 0 0 0 0 4096 17475 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
			procStat{PID: 1, PPID: 0, State: 'S', UTime: 1395, STime: 461, CUTime: 3113, CSTime: 1517}, false},
		{"empty", "", procStat{}, true},
		{"no command", "12 S 1 2 3", procStat{}, true},
		{"truncated after command", "12 (x) S 1 2 3 4 5 6 7 8 9", procStat{}, true},
		{"bad pid", "x1 (x) " + "S 1 1 1 0 -1 0 0 0 0 0 1 2 3 4 20", procStat{}, true},
		{"bad state", "1 (x) SS 1 1 1 0 -1 0 0 0 0 0 1 2 3 4 20", procStat{}, true},
		{"negative time", "1 (x) S 1 1 1 0 -1 0 0 0 0 0 1 2 -3 4 20", procStat{}, true},
		{"bad ppid", "1 (x) S p 1 1 0 -1 0 0 0 0 0 1 2 3 4 20", procStat{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStat([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err == nil {
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("parseStat (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestParseVmHWM(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		kib     int64
		ok      bool
		wantErr bool
	}{
		{"live", "Name:\tstorescp\nVmPeak:\t   20000 kB\nVmHWM:\t   15680 kB\nVmRSS:\t 15000 kB\n", 15680, true, false},
		{"last line without newline", "Name:\tx\nVmHWM:\t12 kB", 12, true, false},
		{"zombie has no Vm lines", "Name:\tstorescp\nState:\tZ (zombie)\nPPid:\t4242\n", 0, false, false},
		{"empty", "", 0, false, false},
		{"bad unit", "VmHWM:\t12 MB\n", 0, false, true},
		{"bad number", "VmHWM:\t1x2 kB\n", 0, false, true},
		{"negative", "VmHWM:\t-12 kB\n", 0, false, true},
		{"missing value", "VmHWM:\n", 0, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kib, ok, err := parseVmHWM([]byte(tt.in))
			if (err != nil) != tt.wantErr || kib != tt.kib || ok != tt.ok {
				t.Errorf("parseVmHWM = %d, %v, %v; want %d, %v, error %v", kib, ok, err, tt.kib, tt.ok, tt.wantErr)
			}
		})
	}
}

func TestParseCPUTimes(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    cpuTimes
		wantErr bool
	}{
		// user nice system idle iowait irq softirq steal guest guest_nice
		{"two cpus", "cpu  433943 0 85713 304582 1538 0 1804 510 0 0\ncpu0 216909 0 42160 153432 466 0 772 253 0 0\n",
			cpuTimes{Busy: 433943 + 85713 + 1804 + 510}, false},
		{"old kernel, 8 fields", "cpu 1 2 3 4 5 6 7 8\n", cpuTimes{Busy: 1 + 2 + 3 + 6 + 7 + 8}, false},
		{"per-cpu line first", "cpu0 1 2 3 4 5 6 7 8\n", cpuTimes{}, true},
		{"too few fields", "cpu 1 2 3\n", cpuTimes{}, true},
		{"not a number", "cpu 1 2 x 4 5 6 7 8\n", cpuTimes{}, true},
		{"empty", "", cpuTimes{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseCPUTimes([]byte(tt.in))
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("parseCPUTimes = %+v, %v; want %+v, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// fakeProc is a /proc tree in a temporary directory.
type fakeProc struct {
	t    *testing.T
	root string
}

func newFakeProc(t *testing.T) *fakeProc {
	return &fakeProc{t: t, root: t.TempDir()}
}

func (f *fakeProc) set(pid int, state byte, ppid int, utime, stime, cutime, cstime uint64, hwmKiB int64) {
	f.t.Helper()
	dir := filepath.Join(f.root, strconv.Itoa(pid))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "stat"), []byte(statLine(pid, "storescp", state, ppid, utime, stime, cutime, cstime)), 0o644); err != nil {
		f.t.Fatal(err)
	}
	status := fmt.Sprintf("Name:\tstorescp\nState:\t%c\n", state)
	if hwmKiB > 0 {
		status += fmt.Sprintf("VmHWM:\t%d kB\n", hwmKiB)
	}
	if err := os.WriteFile(filepath.Join(dir, "status"), []byte(status), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fakeProc) remove(pid int) {
	if err := os.RemoveAll(filepath.Join(f.root, strconv.Itoa(pid))); err != nil {
		f.t.Fatal(err)
	}
}

// TestProcWatcherFork follows a storescp --fork life cycle in a fake /proc:
// children appear, become zombies, are reaped into the parent's cutime and
// cstime; the CPU total never double-counts or loses a child, and the peak
// RSS is the largest seen over parent and children.
func TestProcWatcherFork(t *testing.T) {
	f := newFakeProc(t)
	const parent = 100
	f.set(1, 'S', 0, 5000, 5000, 0, 0, 9000)  // init: not ours
	f.set(parent, 'S', 1, 10, 5, 0, 0, 14000) // storescp
	f.set(50, 'S', 1, 1, 1, 0, 0, 99999)      // unrelated process with a large RSS
	w := newProcWatcher(f.root, parent)
	if got, err := w.cpuTicks(); err != nil || got != 15 {
		t.Fatalf("start: cpuTicks = %d, %v; want 15", got, err)
	}
	// Two children fork and work.
	f.set(201, 'R', parent, 100, 40, 0, 0, 16000)
	f.set(202, 'R', parent, 80, 20, 0, 0, 17500)
	if err := w.scan(); err != nil {
		t.Fatal(err)
	}
	w.samplePeak()
	if w.peakKiB != 17500 {
		t.Errorf("peak = %d KiB, want 17500 (children, not the unrelated process)", w.peakKiB)
	}
	if n := w.liveChildren(); n != 2 {
		t.Errorf("liveChildren = %d, want 2", n)
	}
	if got, _ := w.cpuTicks(); got != 15+140+100 {
		t.Errorf("running: cpuTicks = %d, want %d", got, 15+140+100)
	}
	// 201 exits (zombie: no VmHWM, stat kept); 202 is reaped by the parent.
	f.set(201, 'Z', parent, 110, 45, 0, 0, 0)
	f.remove(202)
	f.set(parent, 'S', 1, 12, 6, 85, 25, 14000)
	w.samplePeak()
	if n := w.liveChildren(); n != 0 {
		t.Errorf("liveChildren = %d, want 0", n)
	}
	want := uint64(12 + 6 + 85 + 25 + 110 + 45)
	if got, err := w.cpuTicks(); err != nil || got != want {
		t.Errorf("after exits: cpuTicks = %d, %v; want %d", got, err, want)
	}
	if w.peakKiB != 17500 {
		t.Errorf("peak = %d KiB after exits, want 17500 kept", w.peakKiB)
	}
	// The zombie is reaped too: same total.
	f.remove(201)
	f.set(parent, 'S', 1, 12, 6, 85+110, 25+45, 14000)
	if got, err := w.cpuTicks(); err != nil || got != want {
		t.Errorf("after reaping: cpuTicks = %d, %v; want %d", got, err, want)
	}
}

func TestProcWatcherGone(t *testing.T) {
	f := newFakeProc(t)
	w := newProcWatcher(f.root, 4242)
	if _, err := w.cpuTicks(); !errors.Is(err, errProcGone) {
		t.Errorf("cpuTicks of a missing process: %v, want errProcGone", err)
	}
}

// TestCPUTicksRealChild checks the accounting against the kernel: a child
// that burns CPU is counted while it runs (its own stat) and after it is
// reaped (our cutime and cstime), and the total never goes down.
func TestCPUTicksRealChild(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	w := newProcWatcher("/proc", os.Getpid())
	before, err := w.cpuTicks()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(sh, "-c", `i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done`)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t.Context(), 5e9, func() bool {
		st, err := readStat("/proc", cmd.Process.Pid)
		return err == nil && st.Self() > 0
	})
	during, err := w.cpuTicks()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	after, err := w.cpuTicks()
	if err != nil {
		t.Fatal(err)
	}
	child := uint64((cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()) * clockTicks / 1e9)
	if during < before || after < during {
		t.Errorf("CPU total went down: before %d, during %d, after %d", before, during, after)
	}
	// The kernel converts the child's precise times to ticks on its own
	// (cputime_adjust); allow two ticks of rounding.
	if after-before+2 < child {
		t.Errorf("reaped child's %d ticks not all counted: total grew by %d", child, after-before)
	}
	if child == 0 {
		t.Logf("the child used less than one tick; the test shows little")
	}
}

func TestProbeCreate(t *testing.T) {
	dir := t.TempDir()
	us, err := probeCreate(dir, 50)
	if err != nil {
		t.Fatal(err)
	}
	if us < 0 {
		t.Errorf("%v µs per create", us)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("probe left %d entries behind", len(entries))
	}
}

// TestProcWatcherConcurrent runs the sampler's calls and the run's calls
// at once, as runOne does (go test -race checks it).
func TestProcWatcherConcurrent(t *testing.T) {
	f := newFakeProc(t)
	const parent = 100
	f.set(parent, 'S', 1, 10, 5, 0, 0, 14000)
	for pid := 200; pid < 210; pid++ {
		f.set(pid, 'R', parent, 1, 1, 0, 0, 15000)
	}
	w := newProcWatcher(f.root, parent)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 50 {
			_ = w.scan()
			w.samplePeak()
		}
	}()
	for range 50 {
		if got, err := w.cpuTicks(); err != nil || got != 15+20 {
			t.Fatalf("cpuTicks = %d, %v; want 35", got, err)
		}
		w.liveChildren()
	}
	<-done
	if w.peak() != 15000 {
		t.Errorf("peak %d", w.peak())
	}
}
