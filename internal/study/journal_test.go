package study_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dicomrecv/dicomrecv/internal/study"
	"github.com/dicomrecv/dicomrecv/internal/study/studytest"
)

// journalFixture starts a Tracker journaling to path, on a fake clock
// reading start.
func journalFixture(t *testing.T, path string, start time.Time, timeout time.Duration) *fixture {
	t.Helper()
	f := &fixture{clock: studytest.NewClock(start), rec: &recorder{}}
	tr, err := study.New(study.Config{
		Timeout: timeout, Clock: f.clock, LevelOf: levelOfName, OnComplete: f.rec.add, JournalPath: path,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	f.tr = tr
	t.Cleanup(func() { tr.Close() })
	return f
}

// journalLines returns the lines of the journal at path, checking that
// each is a complete JSON object.
func journalLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		t.Errorf("journal does not end with a newline")
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, study.MaxJournalRecordBytes+1)
	for sc.Scan() {
		if !json.Valid(sc.Bytes()) {
			t.Errorf("journal line is not JSON: %q", sc.Text())
		}
		lines = append(lines, sc.Text())
	}
	return lines
}

// crashImage returns the bytes of the journal at path: what a kill -9 at
// this moment leaves, since every Add is a single write(2).
func crashImage(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// restore writes a crash image as the journal of a new directory and
// returns its path.
func restore(t *testing.T, image []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), ".dicomrecv", "studies.journal")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, image, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// addMixed adds a study with two series, tags at every level, several AE
// titles and a resent instance to f, advancing 1s between instances.
func addMixed(t *testing.T, f *fixture, uid string) {
	t.Helper()
	for i := range 6 {
		se := fmt.Sprintf("%s.%d", uid, i%2)
		in := inst(uid, se, i/2)
		in.CallingAETitle = []string{"CT1", "PACS", "CT1"}[i%3]
		in.Tags = map[string]string{
			"PatientName": "DOE^JOHN" + strconv.Itoa(i), "StudyDate": "20240301",
			"Modality": "CT", "SeriesNumber": strconv.Itoa(i % 2),
			"InstanceNumber": strconv.Itoa(i / 2), "Rows": "512", "Manufacturer": "GE",
			"Private\"Tag\n": "odd \x01 value ü",
		}
		if i == 5 {
			delete(in.Tags, "Rows")
		}
		f.add(t, in)
		f.clock.Advance(time.Second)
	}
	again := inst(uid, uid+".0", 0)
	again.File = "/elsewhere/again.dcm"
	again.Bytes = 1
	f.add(t, again)
}

// expected returns the event a tracker without journal emits for the same
// adds.
func expected(t *testing.T, add func(*fixture)) []study.StudyEvent {
	t.Helper()
	f := newFixture(t, time.Hour, nil)
	add(f)
	f.tr.Flush()
	return f.rec.take()
}

// A crash loses nothing: the pending study is rebuilt from the journal and
// completes once, Timeout after its last instance; a delivered study does
// not come back.
func TestJournalReplayAfterCrash(t *testing.T) {
	const timeout = 30 * time.Second
	path := filepath.Join(t.TempDir(), ".dicomrecv", "studies.journal")
	f := journalFixture(t, path, t0, timeout)
	f.add(t, inst("1.1", "1.1.1", 1))
	if ev := f.advance(timeout); len(ev) != 1 {
		t.Fatalf("delivered study: %d events", len(ev))
	}
	addMixed(t, f, "1.2") // last instance at t0+36s
	f.clock.Advance(10 * time.Second)
	image := crashImage(t, path)
	f.tr.Close()

	want := expected(t, func(e *fixture) {
		e.clock.Advance(timeout)
		addMixed(t, e, "1.2")
	})

	g := journalFixture(t, restore(t, image), t0.Add(46*time.Second), timeout)
	if n := g.tr.Pending(); n != 1 {
		t.Fatalf("Pending after replay = %d, want 1", n)
	}
	if ev := g.advance(timeout - 10*time.Second - time.Millisecond); len(ev) != 0 {
		t.Fatalf("event %d ms early", time.Millisecond)
	}
	got := g.advance(time.Millisecond)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("replayed event (-want +got):\n%s", diff)
	}
	if ev := g.advance(time.Hour); len(ev) != 0 {
		t.Errorf("%d more events after replay", len(ev))
	}
}

// A study whose time ran out while the process was down completes at once.
func TestJournalReplayOverdue(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j")
	f := journalFixture(t, path, t0, time.Minute)
	f.add(t, inst("1.2", "1.2.1", 1))
	image := crashImage(t, path)
	f.tr.Close()

	g := journalFixture(t, restore(t, image), t0.Add(time.Hour), time.Minute)
	ev := g.advance(0)
	if len(ev) != 1 || ev[0].InstanceCount != 1 {
		t.Fatalf("got %d events at restart, want 1", len(ev))
	}
}

// A crash mid-write leaves a torn last line: it is ignored, and the next
// record starts on a fresh line.
func TestJournalTornTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j")
	f := journalFixture(t, path, t0, time.Minute)
	f.add(t, inst("1.2", "1.2.1", 1))
	f.add(t, inst("1.2", "1.2.1", 2))
	lines := journalLines(t, path)
	f.tr.Close()
	last := lines[len(lines)-1]
	image := []byte(strings.Join(lines[:len(lines)-1], "\n") + "\n" + last[:len(last)/2])

	p2 := restore(t, image)
	g := journalFixture(t, p2, t0, time.Minute)
	g.add(t, inst("1.2", "1.2.1", 3))
	journalLines(t, p2) // every line whole
	ev := g.advance(time.Minute)
	if diff := cmp.Diff([][]string{{"1.2.1.1", "1.2.1.3"}}, sops(ev[0])); len(ev) != 1 || diff != "" {
		t.Errorf("after a torn tail (-want +got):\n%s", diff)
	}
}

// Damaged lines in the middle are skipped; the rest is replayed.
func TestJournalDamagedLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j")
	f := journalFixture(t, path, t0, time.Minute)
	f.add(t, inst("1.2", "1.2.1", 1))
	f.add(t, inst("1.2", "1.2.1", 2))
	f.add(t, inst("1.2", "1.2.1", 3))
	lines := journalLines(t, path)
	f.tr.Close()
	lines[2] = `{"a":1,"t":` // damaged record of instance 2
	lines = append(lines[:3], append([]string{"\x00\x00garbage", `{"a":1}`, `[]`, ""}, lines[3:]...)...)
	g := journalFixture(t, restore(t, []byte(strings.Join(lines, "\n")+"\n")), t0, time.Minute)
	ev := g.advance(time.Minute)
	if diff := cmp.Diff([][]string{{"1.2.1.1", "1.2.1.3"}}, sops(ev[0])); len(ev) != 1 || diff != "" {
		t.Errorf("after damaged lines (-want +got):\n%s", diff)
	}
}

// At-least-once: a crash after OnComplete began but before the done record
// delivers the study again after restart.
func TestJournalAtLeastOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j")
	var image []byte
	f := &fixture{clock: studytest.NewClock(t0), rec: &recorder{}}
	tr, err := study.New(study.Config{
		Timeout: time.Minute, Clock: f.clock, JournalPath: path,
		OnComplete: func(ev study.StudyEvent) {
			image = crashImage(t, path) // the process dies here
			f.rec.add(ev)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	f.tr = tr
	defer tr.Close()
	f.add(t, inst("1.2", "1.2.1", 1))
	if ev := f.advance(time.Minute); len(ev) != 1 {
		t.Fatalf("first life: %d events", len(ev))
	}
	g := journalFixture(t, restore(t, image), t0.Add(2*time.Minute), time.Minute)
	if ev := g.advance(0); len(ev) != 1 || ev[0].StudyInstanceUID != "1.2" {
		t.Fatalf("after restart: %d events, want the study again", len(ev))
	}
	// And once delivered with its done record, never again.
	image = crashImage(t, path)
	h := journalFixture(t, restore(t, image), t0.Add(3*time.Minute), time.Minute)
	if n := h.tr.Pending(); n != 0 {
		t.Errorf("Pending = %d after a clean delivery, want 0", n)
	}
}

// A study that completed but was not yet delivered, and a new accumulation
// of the same study, both survive a crash: the old one is delivered at
// once, the new one when its time comes.
func TestJournalQueuedAndNewAccumulation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j")
	gate := make(chan struct{})
	entered := make(chan struct{})
	f := &fixture{clock: studytest.NewClock(t0), rec: &recorder{}}
	tr, err := study.New(study.Config{
		Timeout: time.Minute, Clock: f.clock, JournalPath: path,
		OnComplete: func(ev study.StudyEvent) { close(entered); <-gate },
	})
	if err != nil {
		t.Fatal(err)
	}
	f.tr = tr
	f.add(t, inst("1.2", "1.2.1", 1))
	f.add(t, inst("1.2", "1.2.1", 2))
	f.clock.Advance(time.Minute)
	<-entered
	f.add(t, inst("1.2", "1.2.2", 1)) // new accumulation while the first is delivered
	image := crashImage(t, path)
	close(gate)
	tr.Close()

	g := journalFixture(t, restore(t, image), t0.Add(time.Minute), time.Minute)
	ev := g.advance(0)
	if len(ev) != 1 {
		t.Fatalf("at restart: %d events, want the undelivered one", len(ev))
	}
	if diff := cmp.Diff([][]string{{"1.2.1.1", "1.2.1.2"}}, sops(ev[0])); diff != "" {
		t.Errorf("undelivered study (-want +got):\n%s", diff)
	}
	ev = g.advance(time.Minute)
	if len(ev) != 1 {
		t.Fatalf("later: %d events, want the new accumulation", len(ev))
	}
	if diff := cmp.Diff([][]string{{"1.2.2.1"}}, sops(ev[0])); diff != "" {
		t.Errorf("new accumulation (-want +got):\n%s", diff)
	}
}

// The journal is rewritten when dead records outweigh the live ones, and
// still replays right.
func TestJournalCompaction(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j")
	f := journalFixture(t, path, t0, 10*time.Second)
	before := f.tr.JournalCompactions()
	for i := range 3000 {
		uid := fmt.Sprintf("1.2.%d", i)
		f.add(t, inst(uid, uid+".1", 1))
		f.add(t, inst(uid, uid+".1", 2))
		if i%100 == 99 {
			f.advance(10 * time.Second) // those studies complete
		}
	}
	if n := f.tr.JournalCompactions() - before; n < 1 {
		t.Fatalf("journal never rewritten after 3,000 studies")
	}
	// 9,000 records were written (6,000 adds, 3,000 done); every study has
	// completed, so the journal holds at most the records since the last
	// rewrite, fewer than CompactMinRecords, and the header.
	addMixed(t, f, "1.9")
	lines := journalLines(t, path)
	if max := study.CompactMinRecords + 7 + 1; len(lines) > max {
		t.Errorf("journal holds %d lines after compaction, want at most %d", len(lines), max)
	}
	image := crashImage(t, path)
	f.tr.Close()
	want := expected(t, func(e *fixture) { addMixed(t, e, "1.9") })
	g := journalFixture(t, restore(t, image), f.clock.Now(), 10*time.Second)
	g.tr.Flush()
	got := g.rec.take()
	if len(got) == 0 || got[len(got)-1].StudyInstanceUID != "1.9" {
		t.Fatalf("replay after compaction: %d events", len(got))
	}
	last := got[len(got)-1]
	want[0].FirstReceived, want[0].LastReceived = last.FirstReceived, last.LastReceived
	if diff := cmp.Diff(want[0], last); diff != "" {
		t.Errorf("replayed study (-want +got):\n%s", diff)
	}
}

func TestJournalLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j")
	journalFixture(t, path, t0, time.Second)
	tr, err := study.New(study.Config{Timeout: time.Second, OnComplete: func(study.StudyEvent) {}, JournalPath: path})
	if !errors.Is(err, study.ErrJournalLocked) {
		if tr != nil {
			tr.Close()
		}
		t.Fatalf("second New on one journal: err = %v, want ErrJournalLocked", err)
	}
}

func TestJournalVersion(t *testing.T) {
	path := restore(t, []byte("{\"v\":99}\n"))
	tr, err := study.New(study.Config{Timeout: time.Second, OnComplete: func(study.StudyEvent) {}, JournalPath: path})
	if !errors.Is(err, study.ErrJournalVersion) {
		if tr != nil {
			tr.Close()
		}
		t.Fatalf("New: err = %v, want ErrJournalVersion", err)
	}
	// The lock is released with the error.
	journalFixture(t, path+"2", t0, time.Second)
	if b, _ := os.ReadFile(path); string(b) != "{\"v\":99}\n" {
		t.Errorf("an unreadable journal was changed: %q", b)
	}
}

// The journal holds patient data: owner-only.
func TestJournalMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j")
	f := journalFixture(t, path, t0, time.Second)
	f.add(t, inst("1.2", "1.2.1", 1))
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if m := fi.Mode().Perm(); m&0o077 != 0 {
		t.Errorf("journal mode %v, want no group or other access", m)
	}
}

// An instance too large to journal is refused by the journal but still
// reaches its event.
func TestJournalRecordTooLarge(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j")
	f := journalFixture(t, path, t0, time.Second)
	in := inst("1.2", "1.2.1", 1)
	in.Tags = map[string]string{"ImageComments": strings.Repeat("x", study.MaxJournalRecordBytes)}
	if err := f.tr.Add(in); !errors.Is(err, study.ErrRecordTooLarge) {
		t.Fatalf("Add: err = %v, want ErrRecordTooLarge", err)
	}
	f.add(t, inst("1.2", "1.2.1", 2))
	ev := f.advance(time.Second)
	if len(ev) != 1 || ev[0].InstanceCount != 2 {
		t.Fatalf("event: %d events", len(ev))
	}
	journalLines(t, path)
}

const helperEnv = "STUDY_TEST_KILL_HELPER"

// runHelperProcess is the child of TestJournalKill9: it adds instances to a
// journaling tracker and kills itself with SIGKILL straight after the last
// Add returns.
func runHelperProcess() int {
	path := os.Getenv(helperEnv)
	n, _ := strconv.Atoi(os.Getenv(helperEnv + "_N"))
	tr, err := study.New(study.Config{Timeout: time.Hour, OnComplete: func(study.StudyEvent) {}, JournalPath: path})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	for i := range n {
		if err := tr.Add(inst("1.2", "1.2.1", i)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
	}
	p, _ := os.FindProcess(os.Getpid())
	_ = p.Kill()
	select {} // not reached
}

// A real kill -9 right after Add returns loses nothing.
func TestJournalKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	path := filepath.Join(t.TempDir(), "j")
	const n = 1000
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+path, helperEnv+"_N="+strconv.Itoa(n))
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Exited() {
		t.Fatalf("helper was not killed: %v\n%s", err, out)
	}
	f := journalFixture(t, path, time.Now(), time.Hour)
	f.tr.Flush()
	ev := f.rec.take()
	if len(ev) != 1 || ev[0].InstanceCount != n {
		t.Fatalf("after kill -9: %d events, want 1 with %d instances", len(ev), n)
	}
}
