package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"syscall"
)

// clockTicks is USER_HZ, the unit of the CPU times in /proc/PID/stat. Linux
// fixes it at 100 for every architecture's user-space ABI (sysconf
// _SC_CLK_TCK), whatever the kernel's internal HZ.
const clockTicks = 100

// procStat is what the harness reads from /proc/PID/stat: the process state,
// its parent, and its CPU times in clock ticks. UTime and STime cover every
// thread of the process; CUTime and CSTime cover the children it has waited
// for (reaped), and nothing of the children still alive or zombie.
type procStat struct {
	PID, PPID      int
	State          byte
	UTime, STime   uint64
	CUTime, CSTime uint64
}

// Self returns the process's own CPU time in clock ticks.
func (s procStat) Self() uint64 { return s.UTime + s.STime }

// Reaped returns the CPU time of the reaped children in clock ticks.
func (s procStat) Reaped() uint64 { return s.CUTime + s.CSTime }

// errProcGone reports that a process has no /proc entry (it exited and was
// reaped).
var errProcGone = errors.New("process gone")

// parseStat parses the contents of /proc/PID/stat (proc(5)). The command
// name, field 2, is in parentheses and may itself contain spaces and
// parentheses, so the fields after it are found from the last ')'.
func parseStat(b []byte) (procStat, error) {
	var s procStat
	open := bytes.IndexByte(b, '(')
	end := bytes.LastIndexByte(b, ')')
	if open < 1 || end < open {
		return s, fmt.Errorf("stat: no command name in %q", clip(b))
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(b[:open])))
	if err != nil {
		return s, fmt.Errorf("stat: pid: %w", err)
	}
	s.PID = pid
	// Fields 3 onwards: state ppid pgrp session tty_nr tpgid flags minflt
	// cminflt majflt cmajflt utime(14) stime(15) cutime(16) cstime(17) ...
	f := bytes.Fields(b[end+1:])
	const need = 17 - 2
	if len(f) < need {
		return s, fmt.Errorf("stat: %d fields after the command name, want at least %d", len(f), need)
	}
	if len(f[0]) != 1 {
		return s, fmt.Errorf("stat: state %q", f[0])
	}
	s.State = f[0][0]
	if s.PPID, err = strconv.Atoi(string(f[1])); err != nil {
		return s, fmt.Errorf("stat: ppid: %w", err)
	}
	times := []*uint64{&s.UTime, &s.STime, &s.CUTime, &s.CSTime}
	for i, p := range times {
		// cutime and cstime are signed in the kernel (long) but never
		// negative in practice; reject a negative value rather than wrap.
		v, err := strconv.ParseUint(string(f[11+i]), 10, 64)
		if err != nil {
			return s, fmt.Errorf("stat: field %d: %w", 14+i, err)
		}
		*p = v
	}
	return s, nil
}

// parseVmHWM returns the peak resident set size in KiB from the contents of
// /proc/PID/status. ok is false when the line is absent, as it is for a
// zombie and for kernel threads.
func parseVmHWM(b []byte) (kib int64, ok bool, err error) {
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		rest, found := bytes.CutPrefix(line, []byte("VmHWM:"))
		if !found {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) != 2 || string(f[1]) != "kB" {
			return 0, false, fmt.Errorf("status: VmHWM line %q", clip(line))
		}
		v, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil || v < 0 {
			return 0, false, fmt.Errorf("status: VmHWM value %q", f[0])
		}
		return v, true, nil
	}
	return 0, false, nil
}

func clip(b []byte) []byte {
	if len(b) > 80 {
		return b[:80]
	}
	return b
}

// readStat reads /proc/PID/stat under root (normally "/proc").
func readStat(root string, pid int) (procStat, error) {
	b, err := os.ReadFile(root + "/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
			return procStat{}, errProcGone
		}
		return procStat{}, err
	}
	return parseStat(b)
}

// readVmHWM reads the peak RSS of a process in KiB; ok is false for a zombie
// or a process that is gone.
func readVmHWM(root string, pid int) (int64, bool, error) {
	b, err := os.ReadFile(root + "/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
			return 0, false, nil
		}
		return 0, false, err
	}
	return parseVmHWM(b)
}

// procWatcher follows a receiver process and its direct children (storescp
// --fork starts one per association). The kernel here has no
// /proc/PID/task/TID/children, so children are found by scanning /proc for
// entries whose parent is the receiver; entries already seen are cached so
// that a scan reads only new processes.
//
// Its methods may be called from several goroutines (the run's sampler and
// the run itself).
type procWatcher struct {
	mu       sync.Mutex
	root     string // "/proc", or a fake tree in tests
	pid      int
	seen     map[int]bool // pid -> is a child of pid
	children map[int]bool // live or zombie children
	peakKiB  int64        // the largest VmHWM seen over pid and its children
}

func newProcWatcher(root string, pid int) *procWatcher {
	return &procWatcher{root: root, pid: pid, seen: map[int]bool{}, children: map[int]bool{}}
}

// scan refreshes the set of children.
func (w *procWatcher) scan() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.scanLocked()
}

func (w *procWatcher) scanLocked() error {
	d, err := os.Open(w.root)
	if err != nil {
		return err
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return err
	}
	present := make(map[int]bool, len(names))
	for _, n := range names {
		pid, err := strconv.Atoi(n)
		if err != nil || pid == w.pid {
			continue
		}
		present[pid] = true
		if _, ok := w.seen[pid]; ok {
			continue
		}
		st, err := readStat(w.root, pid)
		if err != nil {
			continue // gone meanwhile, or unreadable: not ours
		}
		child := st.PPID == w.pid
		w.seen[pid] = child
		if child {
			w.children[pid] = true
		}
	}
	for pid := range w.seen {
		if !present[pid] {
			delete(w.seen, pid)
			delete(w.children, pid)
		}
	}
	return nil
}

// samplePeak reads VmHWM of the process and of its known children and keeps
// the largest. A child's VmHWM is readable only while it lives (a zombie has
// none), hence the sampling while the run goes on.
func (w *procWatcher) samplePeak() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, pid := range append(w.childPIDs(), w.pid) {
		if kib, ok, err := readVmHWM(w.root, pid); err == nil && ok && kib > w.peakKiB {
			w.peakKiB = kib
		}
	}
}

// peak returns the largest VmHWM seen, in KiB.
func (w *procWatcher) peak() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.peakKiB
}

func (w *procWatcher) childPIDs() []int {
	pids := make([]int, 0, len(w.children))
	for pid := range w.children {
		pids = append(pids, pid)
	}
	return pids
}

// cpuTicks returns the CPU time, in clock ticks, used so far by the process,
// by its children it has reaped (cutime, cstime) and by its children still
// alive or zombie (their own utime, stime; a zombie keeps its stat entry
// until it is reaped). A child reaped while the children are being read
// would be counted twice or not at all, so the parent's stat is read before
// and after: if its reaped-children time moved, the reading is repeated.
func (w *procWatcher) cpuTicks() (uint64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.scanLocked(); err != nil {
		return 0, err
	}
	for range 20 {
		before, err := readStat(w.root, w.pid)
		if err != nil {
			return 0, err
		}
		var kids uint64
		for pid := range w.children {
			st, err := readStat(w.root, pid)
			if err != nil || st.PPID != w.pid {
				continue // reaped: now in the parent's cutime/cstime
			}
			kids += st.Self()
		}
		after, err := readStat(w.root, w.pid)
		if err != nil {
			return 0, err
		}
		if after.Reaped() == before.Reaped() {
			return after.Self() + after.Reaped() + kids, nil
		}
		if err := w.scanLocked(); err != nil {
			return 0, err
		}
	}
	return 0, fmt.Errorf("cpu time of %d: children kept being reaped while read", w.pid)
}

// liveChildren reports how many children are still running (not zombies).
func (w *procWatcher) liveChildren() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for pid := range w.children {
		st, err := readStat(w.root, pid)
		if err == nil && st.PPID == w.pid && st.State != 'Z' && st.State != 'X' {
			n++
		}
	}
	return n
}

// cpuTimes is the machine-wide CPU time from the first line of /proc/stat,
// in clock ticks summed over all CPUs.
type cpuTimes struct {
	Busy uint64
}

// parseCPUTimes parses the "cpu" line of /proc/stat (proc(5)): user nice
// system idle iowait irq softirq steal [guest guest_nice]. Busy leaves out
// idle and iowait; guest time is already included in user and is not added
// again.
func parseCPUTimes(b []byte) (cpuTimes, error) {
	line := b
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		line = b[:i]
	}
	f := bytes.Fields(line)
	if len(f) < 9 || string(f[0]) != "cpu" {
		return cpuTimes{}, fmt.Errorf("/proc/stat: first line %q", clip(line))
	}
	var v [8]uint64
	for i := range v {
		x, err := strconv.ParseUint(string(f[1+i]), 10, 64)
		if err != nil {
			return cpuTimes{}, fmt.Errorf("/proc/stat: field %d: %w", i+1, err)
		}
		v[i] = x
	}
	return cpuTimes{Busy: v[0] + v[1] + v[2] + v[5] + v[6] + v[7]}, nil
}

func readCPUTimes() (cpuTimes, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuTimes{}, err
	}
	return parseCPUTimes(b)
}
