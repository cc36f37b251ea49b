package hooks_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dicomrecv/dicomrecv/internal/hooks"
	"github.com/dicomrecv/dicomrecv/internal/testutil"
)

// fileStored mirrors the JSON of the root package's FileStoredEvent.
type fileStored struct {
	File              string            `json:"file"`
	SOPInstanceUID    string            `json:"sopInstanceUid"`
	SOPClassUID       string            `json:"sopClassUid"`
	TransferSyntaxUID string            `json:"transferSyntaxUid"`
	StudyInstanceUID  string            `json:"studyInstanceUid"`
	SeriesInstanceUID string            `json:"seriesInstanceUid"`
	Tags              map[string]string `json:"tags"`
	CallingAETitle    string            `json:"callingAeTitle"`
	CalledAETitle     string            `json:"calledAeTitle"`
	RemoteAddr        string            `json:"remoteAddr"`
	Bytes             int64             `json:"bytes"`
	Duplicate         bool              `json:"duplicate"`
}

func storedEvent(outDir string, n int, calling string) ([]byte, fileStored) {
	const study, series = "1.2.3.4", "1.2.3.4.5"
	sop := fmt.Sprintf("1.2.3.4.5.%d", n)
	d := fileStored{
		File:              filepath.Join(outDir, study, series, sop+".dcm"),
		SOPInstanceUID:    sop,
		SOPClassUID:       "1.2.840.10008.5.1.4.1.1.2",
		TransferSyntaxUID: "1.2.840.10008.1.2.1",
		StudyInstanceUID:  study,
		SeriesInstanceUID: series,
		Tags:              map[string]string{"PatientName": "Doe^John"},
		CallingAETitle:    calling,
		CalledAETitle:     "STORE-SCP",
		RemoteAddr:        "192.0.2.7:40000",
		Bytes:             int64(1000 + n),
	}
	p, err := hooks.Encode(hooks.EventFileStored, time.Date(2024, 3, 1, 12, 0, n, 0, time.UTC), d)
	if err != nil {
		panic(err)
	}
	return p, d
}

func script(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func newRunner(t *testing.T, cfg hooks.RunnerConfig) *hooks.Runner {
	t.Helper()
	r, err := hooks.NewRunner(cfg)
	if err != nil {
		t.Fatalf("NewRunner: %v", err)
	}
	t.Cleanup(func() { r.Close(context.Background()) })
	return r
}

// readArgs reads what record.sh wrote for out.
func readArgs(t *testing.T, out string) ([]string, string) {
	t.Helper()
	a, err := os.ReadFile(out + ".args")
	if err != nil {
		t.Fatalf("command did not run for %s: %v", out, err)
	}
	in, err := os.ReadFile(out + ".stdin")
	if err != nil {
		t.Fatal(err)
	}
	args := strings.Split(string(a), "\x00")
	return args[:len(args)-1], string(in)
}

// TestRunnerFileStored runs a command per FileStored event, in order, with
// every placeholder expanded into its own argument and the event's JSON on
// standard input; hostile AE titles stay inert text.
func TestRunnerFileStored(t *testing.T) {
	dir := t.TempDir()
	outDir := filepath.Join(dir, "store")
	c := newCounts()
	r := newRunner(t, hooks.RunnerConfig{
		OnFileStored: []string{"/bin/sh", script(t, "record.sh"), dir + "/{sopInstanceUid}",
			"{file}", "{sopInstanceUid}", "{sopClassUid}", "{studyInstanceUid}", "{seriesInstanceUid}",
			"{transferSyntaxUid}", "--calling={callingAeTitle}", "{calledAeTitle}", "{remoteAddr}", "{bytes}",
			"{studyDir}", "{seriesDir}", "{{literal}} {{{bytes}}}", "", "x{file}y{bytes}"},
		Concurrency: 1,
		OnDelivered: c.onDelivered,
		OnDrop:      c.onDrop,
	})
	callings := []string{"MODALITY", `$(touch pwned); "a" 'b' * ~ \n`, "A B;C|D&E>F"}
	var payloads [][]byte
	var data []fileStored
	for i, calling := range callings {
		p, d := storedEvent(outDir, i, calling)
		payloads, data = append(payloads, p), append(data, d)
		if !r.Enqueue(hooks.EventFileStored, p) {
			t.Fatalf("Enqueue %d refused", i)
		}
	}
	if err := closeWithin(t, r, time.Minute); err != nil {
		t.Fatalf("Close: %v", err)
	}
	var order []string
	for i, d := range data {
		out := filepath.Join(dir, d.SOPInstanceUID)
		order = append(order, out)
		args, stdin := readArgs(t, out)
		studyDir := filepath.Join(outDir, d.StudyInstanceUID)
		seriesDir := filepath.Join(studyDir, d.SeriesInstanceUID)
		bytes := strconv.FormatInt(d.Bytes, 10)
		want := []string{d.File, d.SOPInstanceUID, d.SOPClassUID, d.StudyInstanceUID, d.SeriesInstanceUID,
			d.TransferSyntaxUID, "--calling=" + d.CallingAETitle, d.CalledAETitle, d.RemoteAddr, bytes,
			studyDir, seriesDir, "{literal} {" + bytes + "}", "", "x" + d.File + "y" + bytes}
		if diff := cmp.Diff(want, args); diff != "" {
			t.Errorf("event %d: argv (-want +got):\n%s", i, diff)
		}
		if stdin != string(payloads[i])+"\n" {
			t.Errorf("event %d: stdin %q, want the event JSON and a newline", i, stdin)
		}
	}
	got, err := os.ReadFile(filepath.Join(dir, "order"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(strings.Join(order, "\n")+"\n", string(got)); diff != "" {
		t.Errorf("order of runs with Concurrency 1 (-want +got):\n%s", diff)
	}
	if _, err := os.Stat("pwned"); err == nil {
		t.Errorf("an AE title ran a shell command")
	}
	if got, want := r.Stats(), (hooks.Stats{Delivered: 3}); got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
	if delivered, dropped := c.get(); delivered["FileStored"] != 3 || len(dropped) != 0 {
		t.Errorf("callbacks: delivered %v, dropped %v", delivered, dropped)
	}
}

// TestRunnerStudyCompleted checks the StudyCompleted placeholders, and that
// other events are ignored.
func TestRunnerStudyCompleted(t *testing.T) {
	dir := t.TempDir()
	outDir := filepath.Join(dir, "store")
	r := newRunner(t, hooks.RunnerConfig{
		OnStudyCompleted: []string{"/bin/sh", script(t, "record.sh"), dir + "/{studyInstanceUid}",
			"{studyInstanceUid}", "{studyDir}", "{instanceCount}", "{seriesCount}", "{bytes}", "{callingAeTitles}"},
	})
	file := func(se, sop string) string { return filepath.Join(outDir, "1.2.3", se, sop+".dcm") }
	data := map[string]any{"study": map[string]any{
		"studyInstanceUid": "1.2.3",
		"tags":             map[string]string{},
		"series": []map[string]any{
			{"seriesInstanceUid": "1.2.3.1", "instances": []map[string]any{
				{"sopInstanceUid": "1.2.3.1.1", "file": file("1.2.3.1", "1.2.3.1.1")},
				{"sopInstanceUid": "1.2.3.1.2", "file": file("1.2.3.1", "1.2.3.1.2")}}},
			{"seriesInstanceUid": "1.2.3.2", "instances": []map[string]any{
				{"sopInstanceUid": "1.2.3.2.1", "file": file("1.2.3.2", "1.2.3.2.1")}}},
		},
		"callingAeTitles": []string{"CT1", "PACS, OLD"},
		"instanceCount":   3,
		"bytes":           123456,
	}}
	p, err := hooks.Encode(hooks.EventStudyCompleted, time.Now(), data)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range []string{hooks.EventServerStarted, hooks.EventError, hooks.EventFileStored} {
		if !r.Enqueue(ev, []byte("{}")) {
			t.Errorf("Enqueue(%s) without a command = false, want true (ignored)", ev)
		}
	}
	r.Enqueue(hooks.EventStudyCompleted, p)
	if err := closeWithin(t, r, time.Minute); err != nil {
		t.Fatal(err)
	}
	args, stdin := readArgs(t, filepath.Join(dir, "1.2.3"))
	want := []string{"1.2.3", filepath.Join(outDir, "1.2.3"), "3", "2", "123456", "CT1,PACS, OLD"}
	if diff := cmp.Diff(want, args); diff != "" {
		t.Errorf("argv (-want +got):\n%s", diff)
	}
	if stdin != string(p)+"\n" {
		t.Errorf("stdin %q, want the event JSON", stdin)
	}
	if got, want := r.Stats(), (hooks.Stats{Delivered: 1}); got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
}

// TestRunnerS3File: for an object not on the filesystem, the directory
// placeholders are empty.
func TestRunnerS3File(t *testing.T) {
	dir := t.TempDir()
	r := newRunner(t, hooks.RunnerConfig{
		OnFileStored: []string{"/bin/sh", script(t, "record.sh"), dir + "/out", "{file}", "{studyDir}", "{seriesDir}"},
	})
	p, _ := hooks.Encode(hooks.EventFileStored, time.Now(), fileStored{
		File: "s3://bucket/1.2/1.2.3/1.2.3.4.dcm", StudyInstanceUID: "1.2", SeriesInstanceUID: "1.2.3", SOPInstanceUID: "1.2.3.4",
	})
	r.Enqueue(hooks.EventFileStored, p)
	if err := closeWithin(t, r, time.Minute); err != nil {
		t.Fatal(err)
	}
	args, _ := readArgs(t, dir+"/out")
	if diff := cmp.Diff([]string{"s3://bucket/1.2/1.2.3/1.2.3.4.dcm", "", ""}, args); diff != "" {
		t.Errorf("argv (-want +got):\n%s", diff)
	}
}

// TestRunnerFailure: a non-zero exit is counted and logged with its exit
// code and the first lines of its standard error; a payload without what
// the placeholders need is counted too.
func TestRunnerFailure(t *testing.T) {
	var logs testutil.SyncBuffer
	c := newCounts()
	r := newRunner(t, hooks.RunnerConfig{
		OnFileStored: []string{"/bin/sh", "-c", `echo "cannot open $0" >&2; echo second >&2; for i in 1 2 3 4 5 6 7; do echo more$i >&2; done; exit 3`, "{file}"},
		Logger:       slog.New(slog.NewTextHandler(&logs, nil)),
		Concurrency:  1, // the exit status is logged first; the next failure within a second is not
		OnDrop:       c.onDrop,
	})
	p, _ := storedEvent("/nowhere", 1, "X")
	r.Enqueue(hooks.EventFileStored, p)
	r.Enqueue(hooks.EventFileStored, []byte(`{"event":"FileStored","data":`)) // truncated
	if err := closeWithin(t, r, time.Minute); err != nil {
		t.Fatal(err)
	}
	if got, want := r.Stats(), (hooks.Stats{Failed: 2}); got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
	if _, dropped := c.get(); dropped["FileStored/failed"] != 2 {
		t.Errorf("OnDrop = %v, want 2 FileStored/failed", dropped)
	}
	log := logs.String()
	for _, want := range []string{"exitCode=3", `cannot open /nowhere/1.2.3.4/1.2.3.4.5/1.2.3.4.5.1.dcm | second | more1 | more2 | more3"`, "reason=failed", "program=/bin/sh"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "more4") {
		t.Errorf("log has more than %d lines of standard error:\n%s", 5, log)
	}
}

// pidAlive reports whether pid is a live (not zombie) process.
func pidAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// pid (comm) state ...: the state follows the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// TestRunnerTimeout: a command over its timeout is killed with its
// children and counted as timed out; the next command still runs.
func TestRunnerTimeout(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs /proc to watch the child")
	}
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child.pid")
	c := newCounts()
	r := newRunner(t, hooks.RunnerConfig{
		OnFileStored:     []string{"/bin/sh", "-c", "sleep 300 & echo $! > " + pidFile + "; wait"},
		OnStudyCompleted: []string{"/bin/true"},
		Timeout:          2 * time.Second, // ample for /bin/true, even under -race on a loaded machine
		Concurrency:      1,
		OnDelivered:      c.onDelivered,
		OnDrop:           c.onDrop,
	})
	p, _ := storedEvent(dir, 1, "X")
	r.Enqueue(hooks.EventFileStored, p)
	sp, _ := hooks.Encode(hooks.EventStudyCompleted, time.Now(), map[string]any{"study": map[string]any{"studyInstanceUid": "1.2"}})
	r.Enqueue(hooks.EventStudyCompleted, sp)
	if err := closeWithin(t, r, time.Minute); err != nil {
		t.Fatal(err)
	}
	if got, want := r.Stats(), (hooks.Stats{Delivered: 1, TimedOut: 1}); got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
	delivered, dropped := c.get()
	if diff := cmp.Diff(map[string]int{"FileStored/timeout": 1}, dropped); diff != "" {
		t.Errorf("OnDrop (-want +got):\n%s", diff)
	}
	if delivered["StudyCompleted"] != 1 {
		t.Errorf("OnDelivered = %v", delivered)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	// The kill is sent before Close returns; the kernel may take a moment
	// to end the process.
	for deadline := time.Now().Add(30 * time.Second); pidAlive(pid); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the command's child %d survived the timeout", pid)
		}
	}
}

// waitFor polls until cond holds (or fails the test after a minute).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func countStarted(dir string) int {
	m, _ := filepath.Glob(filepath.Join(dir, "started.*"))
	return len(m)
}

// TestRunnerConcurrency: no more than Concurrency commands run at once,
// and that many do run at once.
func TestRunnerConcurrency(t *testing.T) {
	dir := t.TempDir()
	const limit, total = 3, 8
	r := newRunner(t, hooks.RunnerConfig{
		OnFileStored: []string{"/bin/sh", script(t, "block.sh"), dir, "{sopInstanceUid}"},
		Concurrency:  limit,
	})
	for i := range total {
		p, _ := storedEvent(dir, i, "X")
		r.Enqueue(hooks.EventFileStored, p)
	}
	// None can end before the release: the first `limit` start, no more.
	waitFor(t, "the first commands to start", func() bool { return countStarted(dir) >= limit })
	if err := os.WriteFile(filepath.Join(dir, "release"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := closeWithin(t, r, time.Minute); err != nil {
		t.Fatal(err)
	}
	log, err := os.ReadFile(filepath.Join(dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	running, most, ends := 0, 0, 0
	for l := range strings.Lines(string(log)) {
		switch {
		case strings.HasPrefix(l, "start "):
			running++
			most = max(most, running)
		case strings.HasPrefix(l, "end "):
			running--
			ends++
		}
	}
	if most != limit || ends != total {
		t.Errorf("at most %d commands ran at once (want %d), %d ended (want %d):\n%s", most, limit, ends, total, log)
	}
	if got, want := r.Stats(), (hooks.Stats{Delivered: total}); got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
}

// TestRunnerQueueFull: with the only slot busy and the queue full,
// Enqueue returns at once and counts the drop.
func TestRunnerQueueFull(t *testing.T) {
	dir := t.TempDir()
	c := newCounts()
	r := newRunner(t, hooks.RunnerConfig{
		OnFileStored: []string{"/bin/sh", script(t, "block.sh"), dir, "{sopInstanceUid}"},
		Concurrency:  1,
		QueueSize:    2,
		OnDrop:       c.onDrop,
	})
	p, _ := storedEvent(dir, 0, "X")
	r.Enqueue(hooks.EventFileStored, p)
	waitFor(t, "the first command to start", func() bool { return countStarted(dir) == 1 })
	accepted := 1
	for i := 1; i < 1000; i++ {
		p, _ := storedEvent(dir, i, "X")
		if r.Enqueue(hooks.EventFileStored, p) {
			accepted++
		}
	}
	if accepted != 3 {
		t.Errorf("%d accepted, want 1 running + 2 queued", accepted)
	}
	if err := os.WriteFile(filepath.Join(dir, "release"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := closeWithin(t, r, time.Minute); err != nil {
		t.Fatal(err)
	}
	if got, want := r.Stats(), (hooks.Stats{Delivered: 3, QueueFull: 997}); got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
	if _, dropped := c.get(); dropped["FileStored/queue-full"] != 997 {
		t.Errorf("OnDrop = %v", dropped)
	}
}

// TestRunnerCloseKills: when Close's context ends, the running command is
// killed and the queue dropped as shutdown.
func TestRunnerCloseKills(t *testing.T) {
	dir := t.TempDir()
	r := newRunner(t, hooks.RunnerConfig{
		OnFileStored: []string{"/bin/sh", script(t, "block.sh"), dir, "{sopInstanceUid}"},
		Concurrency:  1,
	})
	for i := range 4 {
		p, _ := storedEvent(dir, i, "X")
		r.Enqueue(hooks.EventFileStored, p)
	}
	waitFor(t, "the first command to start", func() bool { return countStarted(dir) == 1 })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := r.Close(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Close = %v, want context.Canceled", err)
	}
	p, _ := storedEvent(dir, 9, "X")
	if r.Enqueue(hooks.EventFileStored, p) {
		t.Errorf("Enqueue after Close accepted")
	}
	if got, want := r.Stats(), (hooks.Stats{Shutdown: 5}); got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
	if n := countStarted(dir); n != 1 {
		t.Errorf("%d commands started, want 1", n)
	}
}

func TestNewRunnerErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  hooks.RunnerConfig
		want []string
	}{
		{"empty argv", hooks.RunnerConfig{OnFileStored: []string{}}, []string{"onFileStoredCommand", "empty argv"}},
		{"empty program", hooks.RunnerConfig{OnStudyCompleted: []string{"", "x"}}, []string{"onStudyCompletedCommand", "empty argv"}},
		{"unknown placeholder", hooks.RunnerConfig{OnFileStored: []string{"/bin/true", "--x={nope}"}},
			[]string{"onFileStoredCommand", "argument 1", "unknown placeholder {nope}", "{sopInstanceUid}"}},
		{"placeholder of the other event", hooks.RunnerConfig{OnFileStored: []string{"/bin/true", "{instanceCount}"}},
			[]string{"onFileStoredCommand", "unknown placeholder {instanceCount}"}},
		{"study placeholder of a file", hooks.RunnerConfig{OnStudyCompleted: []string{"/bin/true", "{file}"}},
			[]string{"onStudyCompletedCommand", "unknown placeholder {file}"}},
		{"case matters", hooks.RunnerConfig{OnFileStored: []string{"/bin/true", "{File}"}}, []string{"unknown placeholder {File}"}},
		{"placeholder in program", hooks.RunnerConfig{OnFileStored: []string{"{file}"}}, []string{"argument 0", "program must be literal"}},
		{"placeholder inside program", hooks.RunnerConfig{OnFileStored: []string{"/bin/{file}"}}, []string{"argument 0", "program must be literal"}},
		{"unterminated", hooks.RunnerConfig{OnFileStored: []string{"/bin/true", "{file"}}, []string{"argument 1", "unterminated placeholder"}},
		{"single close brace", hooks.RunnerConfig{OnFileStored: []string{"/bin/true", "a}b"}}, []string{"argument 1", "single }"}},
		{"empty placeholder", hooks.RunnerConfig{OnFileStored: []string{"/bin/true", "{}"}}, []string{"unknown placeholder {}"}},
		{"missing program", hooks.RunnerConfig{OnFileStored: []string{"/no/such/program"}}, []string{"onFileStoredCommand", "/no/such/program"}},
		{"program not on PATH", hooks.RunnerConfig{OnFileStored: []string{"no-such-program-dicomrecv"}}, []string{"executable file not found"}},
		{"negative timeout", hooks.RunnerConfig{Timeout: -1}, []string{"negative"}},
		{"negative concurrency", hooks.RunnerConfig{Concurrency: -1}, []string{"negative"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := hooks.NewRunner(tc.cfg)
			if err == nil {
				r.Close(context.Background())
				t.Fatalf("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// TestRunnerNoCommands: a Runner without commands ignores every event.
func TestRunnerNoCommands(t *testing.T) {
	r := newRunner(t, hooks.RunnerConfig{})
	if !r.Enqueue(hooks.EventFileStored, []byte("{}")) {
		t.Errorf("Enqueue = false")
	}
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := r.Stats(); got != (hooks.Stats{}) {
		t.Errorf("Stats = %+v, want zero", got)
	}
}
