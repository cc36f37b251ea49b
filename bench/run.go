package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// samplePeriod is how often a receiver's processes are looked up and their
// peak RSS read while a run with several associations goes on. Every
// receiver of a scenario is sampled the same way, so the small cost of
// sampling is the same for all.
const samplePeriod = 20 * time.Millisecond

// runner holds what every run needs.
type runner struct {
	// runBase holds one fresh directory per run, where the receiver
	// writes (see prepareRunBase); its files are emptied after the run
	// and the directories removed by cleanup (see emptyFiles).
	runBase      string
	seq          int
	leftovers    []string
	tools        tools
	dicomrecvCmd []string // dicomrecv binary (or profiling wrapper) and flags
	corpora      map[string]*corpus
	runTimeout   time.Duration
	// quietWait bounds how long a run waits, before it starts, for the
	// machine to be nearly idle (other processes below quietCores).
	quietWait time.Duration
}

// quietCores is the machine-wide load, in cores, below which the machine
// counts as quiet before a run.
const quietCores = 0.3

// runOne starts the receiver, sends the scenario's corpus to it, checks
// that every file arrived, and measures. Output directories are removed
// before and after the run, outside the timed part.
func (rn *runner) runOne(ctx context.Context, st step) runResult {
	c := rn.corpora[st.Scenario.Corpus]
	res := runResult{Scenario: st.Scenario, Receiver: st.Receiver, Rep: st.Rep, Files: len(c.Files), Bytes: c.Bytes()}
	ctx, cancel := context.WithTimeout(ctx, rn.runTimeout)
	defer cancel()
	rn.seq++
	runDir := filepath.Join(rn.runBase, fmt.Sprintf("%d-%d", os.Getpid(), rn.seq))
	if err := os.RemoveAll(runDir); err != nil {
		res.Err = err.Error()
		return res
	}
	if err := os.Mkdir(runDir, 0o755); err != nil {
		res.Err = err.Error()
		return res
	}
	rn.leftovers = append(rn.leftovers, runDir)
	defer emptyFiles(runDir)
	if err := checkFreeDisk(runDir, c.Bytes()+512<<20); err != nil {
		res.Err = err.Error()
		return res
	}
	if err := checkFreeInodes(runDir, 2*len(c.Files)+1000); err != nil {
		res.Err = err.Error()
		return res
	}

	if rn.quietWait > 0 {
		t0 := time.Now()
		waitQuiet(ctx, rn.quietWait)
		res.QuietWait = time.Since(t0).Seconds()
	}

	r, err := startReceiver(ctx, st.Receiver, st.Scenario, runDir, rn.tools, rn.dicomrecvCmd)
	if err != nil {
		res.Err = "start: " + err.Error()
		return res
	}
	defer r.stop()
	w := newProcWatcher("/proc", r.pid)
	cpu0, err := w.cpuTicks()
	if err != nil {
		res.Err = "cpu: " + err.Error()
		return res
	}

	// Sample children and peak RSS while the run goes on, where there are
	// children to find: storescp --fork serves each association in a child
	// of its own, whose VmHWM is gone once it is reaped. A single process's
	// VmHWM is a high-water mark, read once at the end; scanning /proc
	// every 20 ms would only add load to the timed part. The sampling is
	// decided by the scenario, so every receiver of a scenario is treated
	// alike.
	stopSampling := make(chan struct{})
	var sampling sync.WaitGroup
	if st.Scenario.Assocs > 1 {
		sampling.Add(1)
		go sample(w, stopSampling, &sampling)
	}
	sys0, errSys0 := readCPUTimes()
	self0, errSelf0 := readStat("/proc", os.Getpid())
	sent := send(ctx, st.Scenario, c, r.port, runDir, rn.tools.Storescu)
	res.Seconds = sent.Elapsed.Seconds()
	res.SenderCPU = sent.CPU.Seconds()
	cpuSent, errCPU := w.cpuTicks()
	sys1, errSys1 := readCPUTimes()
	self1, errSelf1 := readStat("/proc", os.Getpid())
	if err := errors.Join(errSys0, errSelf0, errCPU, errSys1, errSelf1); err == nil && res.Seconds > 0 {
		ours := float64(cpuSent-cpu0)/clockTicks + res.SenderCPU + float64(self1.Self()-self0.Self())/clockTicks
		res.OtherCores = max(0, float64(sys1.Busy-sys0.Busy)/clockTicks-ours) / res.Seconds
	}

	verr := sent.Err
	if verr == nil {
		verr = rn.verify(ctx, r, len(c.Files))
	}
	close(stopSampling)
	sampling.Wait()
	if verr != nil {
		res.Err = verr.Error()
		return res
	}
	// The storescp --fork children have answered the last C-STORE; let them
	// finish (exit) so that all their CPU time is counted.
	waitUntil(ctx, 10*time.Second, func() bool { _ = w.scan(); return w.liveChildren() == 0 })
	w.samplePeak()
	cpu1, err := w.cpuTicks()
	if err != nil {
		res.Err = "cpu: " + err.Error()
		return res
	}
	res.CPUSeconds = float64(cpu1-cpu0) / clockTicks
	res.PeakRSSKiB = w.peak()
	if !r.alive() {
		res.Err = fmt.Sprintf("receiver exited during the run: %v", r.waitErr)
	}
	return res
}

// verify checks that the receiver stored every file: for dicomrecv, one
// FileStored event per file and as many files in its out directory; for
// storescp +B, as many files in its out directory. storescp --ignore stores
// nothing; the senders' success responses (checked by send) are all there
// is.
func (rn *runner) verify(ctx context.Context, r *receiver, want int) error {
	switch r.spec.Kind {
	case kindIgnore:
		return nil
	case kindDicomrecv:
		// FileStored events are written after the C-STORE response; give
		// the last ones a moment to arrive.
		if !waitUntil(ctx, 30*time.Second, func() bool { return r.stored.Load() >= int64(want) }) {
			return fmt.Errorf("lost files: %d FileStored events for %d files sent", r.stored.Load(), want)
		}
		if n := r.stored.Load(); n != int64(want) {
			return fmt.Errorf("%d FileStored events for %d files sent", n, want)
		}
	}
	var n int
	var err error
	waitUntil(ctx, 10*time.Second, func() bool { n, err = countFiles(r.outDir); return err == nil && n >= want })
	if err != nil {
		return fmt.Errorf("counting stored files: %w", err)
	}
	if n != want {
		return fmt.Errorf("lost files: %d files in %s for %d sent", n, r.outDir, want)
	}
	return nil
}

// waitQuiet waits, up to d, until the machine-wide CPU load measured over
// half a second is below quietCores: between runs nothing of the benchmark
// runs, so that load is other work (on a shared machine: other builds and
// tests), which would otherwise land in one receiver's run and not the
// other's.
func waitQuiet(ctx context.Context, d time.Duration) {
	deadline := time.Now().Add(d)
	for ctx.Err() == nil {
		a, err := readCPUTimes()
		if err != nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(500 * time.Millisecond):
		}
		b, err := readCPUTimes()
		if err != nil {
			return
		}
		if float64(b.Busy-a.Busy)/clockTicks/0.5 < quietCores || time.Now().After(deadline) {
			return
		}
	}
}

// emptyFiles truncates every regular file under dir to zero length,
// freeing the data and the page cache they hold, but does not delete them.
//
// Deleting would free their inodes, and ext4 without a journal (as on the
// machine of issue 9) will not reuse an inode within a minute or more of
// its deletion: every file created in that block group meanwhile scans past
// all recently deleted inodes (recently_deleted() in fs/ext4/ialloc.c; seen
// with perf: 200-700 µs of CPU per create instead of 20 µs). That would
// land in the next receiver's CPU time and files/s, a cost no real receiver
// pays. Emptied files keep their inodes until cleanup, after the last run.
func emptyFiles(dir string) error {
	return filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return nil // a receiver's file vanished meanwhile: nothing to empty
		}
		if d.Type().IsRegular() {
			return os.Truncate(p, 0)
		}
		return nil
	})
}

// adoptLeftovers empties the run directories an earlier, interrupted
// benchmark left in the run base (freeing their disk space, not their
// inodes) and hands them to cleanup.
func (rn *runner) adoptLeftovers() {
	entries, err := os.ReadDir(rn.runBase)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.IsDir() {
			d := filepath.Join(rn.runBase, e.Name())
			emptyFiles(d)
			rn.leftovers = append(rn.leftovers, d)
		}
	}
}

// cleanup removes the run directories, after the last run.
func (rn *runner) cleanup() {
	for _, d := range rn.leftovers {
		os.RemoveAll(d)
	}
	rn.leftovers = nil
}

// checkFreeInodes fails when the file system holding dir has fewer than
// need free inodes (runs keep theirs until cleanup).
func checkFreeInodes(dir string, need int) error {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return fmt.Errorf("statfs %s: %w", dir, err)
	}
	if st.Files > 0 && st.Ffree < uint64(need) {
		return fmt.Errorf("%s: %d free inodes, need %d: %w", dir, st.Ffree, need, errNoSpace)
	}
	return nil
}

// prepareRunBase creates the directory that holds the run directories and
// marks it, where the file system supports it, as the top of a directory
// hierarchy (chattr +T, FS_TOPDIR_FL), so that ext4 spreads the run
// directories over its block groups (the Orlov allocator) rather than
// packing them into the block group of their parent, where the inodes of
// earlier runs (and of the earlier benchmark's cleanup) are. It reports
// whether the attribute was set.
func prepareRunBase(dir string) (topdir bool, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, err
	}
	chattr, err := exec.LookPath("chattr")
	if err != nil {
		return false, nil
	}
	return exec.Command(chattr, "+T", dir).Run() == nil, nil
}

// probeCreate measures the kernel's CPU cost of creating a file in dir:
// it creates and removes n empty files and returns the harness's CPU time
// per create+close, in microseconds. Every receiver pays it once per object
// stored; on some file systems and directories it is large (on the
// machine of issue 9, 20 µs in one directory, 700 µs in another of the same
// ext4 file system), and it then weighs on every CPU-s/GB figure alike.
func probeCreate(dir string, n int) (float64, error) {
	d := filepath.Join(dir, fmt.Sprintf("probe-%d", os.Getpid()))
	if err := os.MkdirAll(d, 0o755); err != nil {
		return 0, err
	}
	defer os.RemoveAll(d)
	var before, after syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &before); err != nil {
		return 0, err
	}
	for i := 0; i < n; i++ {
		f, err := os.OpenFile(filepath.Join(d, strconv.Itoa(i)), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return 0, err
		}
		f.Close()
	}
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &after); err != nil {
		return 0, err
	}
	used := time.Duration(after.Utime.Nano()+after.Stime.Nano()) - time.Duration(before.Utime.Nano()+before.Stime.Nano())
	return float64(used.Microseconds()) / float64(n), nil
}

// waitUntil polls cond every 10 ms until it holds (true) or d passes or ctx
// ends (false).
func waitUntil(ctx context.Context, d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// sample scans for w's children and reads their peak RSS every
// samplePeriod until stop is closed.
func sample(w *procWatcher, stop <-chan struct{}, done *sync.WaitGroup) {
	defer done.Done()
	t := time.NewTicker(samplePeriod)
	defer t.Stop()
	for {
		_ = w.scan()
		w.samplePeak()
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}
