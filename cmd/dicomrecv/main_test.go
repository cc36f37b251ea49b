package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dicomrecv/dicomrecv"
	"github.com/dicomrecv/dicomrecv/internal/scutest"
	"github.com/dicomrecv/dicomrecv/internal/testutil"
)

func TestParseConfig(t *testing.T) {
	for _, tc := range []struct {
		name, in, err string
	}{
		{"seed options as JSON", `{"port": 4446, "callingAeTitle": "MY-SCP", "outDir": "./x", "verbose": true,
			"storeWithFileMeta": false, "strict": true, "maxPduLength": 32768, "abstractSyntaxMode": "Custom",
			"abstractSyntaxes": ["CTImageStorage"], "transferSyntaxMode": "UncompressedOnly"}`, ""},
		{"YAML", "port: 4446\naeTitle: MY-SCP\nfsync: false\nidleTimeout: 2.5\n", ""},
		{"empty file", "", ""},
		{"unknown key with suggestion", `{"callingAETitle": "X"}`, `unknown key "callingAETitle" (did you mean "callingAeTitle"?)`},
		{"unknown key far from any", `{"colour": "blue"}`, `unknown key "colour"`},
		{"wrong type names the key", `{"port": "eleven"}`, `key "port"`},
		{"duplicate key", "port: 1\nport: 2\n", `"port" appears twice`},
		{"alias disagrees", `{"callingAeTitle": "A", "aeTitle": "B"}`, "disagree"},
		{"not an object", `[1, 2]`, "one object"},
		{"unknown key in s3Config", `{"s3Config": {"bucket": "b", "acessKey": "x"}}`, `unknown key "s3Config.acessKey" (did you mean "accessKey"?)`},
		{"unknown key in a peer", `{"peers": [{"aeTitle": "A", "hosts": "x"}]}`, `unknown key "peers[0].hosts"`},
		{"unknown key in a custom tag", `{"extractCustomTags": [{"tag": "00091001", "nam": "x"}]}`, `unknown key "extractCustomTags[0].nam"`},
		{"s3Config as the seed writes it", `{"storageBackend": "S3", "s3Config": {"bucket": "b", "accessKey": "k", "secretKey": "s",
			"endpoint": "http://localhost:9000", "region": "us-east-1", "retryDeadline": 5}}`, ""},
		{"not JSON or YAML", `{"port": `, "not valid JSON or YAML"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fc, err := parseConfig([]byte(tc.in))
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				var cfg dicomrecv.Config
				var cli cliSettings
				if err := fc.apply(&cfg, &cli); err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("err %v, want it to contain %q", err, tc.err)
			}
		})
	}
}

func TestApplyConfig(t *testing.T) {
	fc, err := parseConfig([]byte(`{"port": 4446, "callingAeTitle": "MY-SCP", "storeWithFileMeta": false,
		"idleTimeout": 0, "dimseTimeout": 1.5, "maxAssociations": 0, "shutdownTimeout": 3}`))
	if err != nil {
		t.Fatal(err)
	}
	cfg := dicomrecv.Config{Port: defaultPort}
	cli := cliSettings{}
	if err := fc.apply(&cfg, &cli); err != nil {
		t.Fatal(err)
	}
	if cfg.Port != 4446 || cfg.AETitle != "MY-SCP" || !cfg.DatasetOnly || cfg.IdleTimeout >= 0 ||
		cfg.DIMSETimeout != 1500*time.Millisecond || cfg.MaxAssociations >= 0 || cli.shutdownTimeout != 3*time.Second {
		t.Fatalf("applied: %+v %+v", cfg, cli)
	}
	if _, err := parseConfigApply(`{"dimseTimeout": -1}`); err == nil {
		t.Fatal("negative timeout accepted")
	}
}

func parseConfigApply(s string) (*dicomrecv.Config, error) {
	fc, err := parseConfig([]byte(s))
	if err != nil {
		return nil, err
	}
	var cfg dicomrecv.Config
	var cli cliSettings
	return &cfg, fc.apply(&cfg, &cli)
}

// Bad values are start-up errors that name the file's key.
func TestRunConfigErrorsNameTheKey(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ file, want string }{
		{`{"maxPduLength": 100}`, "maxPduLength"},
		{`{"callingAeTitle": "WAY-TOO-LONG-AE-TITLE"}`, "callingAeTitle"},
		{`{"abstractSyntaxMode": "Custom", "abstractSyntaxes": ["CTImageStorag"]}`, "abstractSyntaxes"},
		{`{"duplicatePolicy": "sometimes"}`, "duplicatePolicy"},
		{`{"outDirectory": "x"}`, `"outDirectory"`},
	} {
		path := filepath.Join(dir, "c.json")
		os.WriteFile(path, []byte(tc.file), 0o644)
		var stderr strings.Builder
		code := run([]string{"--config", path, "--out-dir", dir}, &strings.Builder{}, &stderr, nil)
		if code != 2 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit 2 naming %s", tc.file, code, stderr.String(), tc.want)
		}
	}
}

func TestVersion(t *testing.T) {
	var out strings.Builder
	if code := run([]string{"version"}, &out, &strings.Builder{}, nil); code != 0 || !strings.HasPrefix(out.String(), "dicomrecv ") {
		t.Fatalf("version: %d %q", code, out.String())
	}
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildDir  string
)

// buildBinary builds the command once per test binary.
func buildBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "dicomrecv-bin")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(buildDir, "dicomrecv")
		if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// event is one JSON line of the command's stdout.
type event struct {
	Event string          `json:"event"`
	Time  time.Time       `json:"time"`
	Data  json.RawMessage `json:"data"`
}

// process is a running dicomrecv.
type process struct {
	cmd    *exec.Cmd
	events chan event
	port   int
	mu     sync.Mutex
	stderr strings.Builder // its log
}

type lockedBuilder struct{ p *process }

func (l lockedBuilder) Write(b []byte) (int, error) {
	l.p.mu.Lock()
	defer l.p.mu.Unlock()
	os.Stderr.Write(b)
	return l.p.stderr.Write(b)
}

func startProcess(t *testing.T, bin string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(bin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, events: make(chan event, 100)}
	cmd.Stderr = lockedBuilder{p}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var ev event
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				t.Errorf("stdout line is not a JSON event: %q", sc.Text())
				continue
			}
			p.events <- ev
		}
		close(p.events)
	}()
	ev := p.next(t)
	var started dicomrecv.ServerStartedEvent
	if ev.Event != "ServerStarted" || json.Unmarshal(ev.Data, &started) != nil || started.Port == 0 {
		t.Fatalf("first event %+v", ev)
	}
	p.port = started.Port
	return p
}

func (p *process) next(t *testing.T) event {
	t.Helper()
	select {
	case ev, ok := <-p.events:
		if !ok {
			t.Fatal("stdout closed")
		}
		return ev
	case <-time.After(20 * time.Second):
		t.Fatal("no event")
	}
	return event{}
}

// The command on port 0: ServerStarted carries the bound port, a stored file
// is a FileStored line, and SIGTERM exits 0.
func TestCommandEndToEnd(t *testing.T) {
	storescu := testutil.RequireTool(t, "storescu")
	sample := filepath.Join(testutil.PydicomTestFiles, "CT_small.dcm")
	testutil.RequireFile(t, sample)
	bin := buildBinary(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "storescp.yaml")
	os.WriteFile(cfg, []byte("callingAeTitle: FILE-AE\nport: 11112\nfsync: false\n"), 0o644)
	p := startProcess(t, bin, "--config", cfg, "--port", "0", "--aet", "FLAG-AE", "--out-dir", filepath.Join(dir, "store"))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, storescu, "-v", "-aec", "FLAG-AE", "127.0.0.1", fmt.Sprint(p.port), sample).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Received Store Response (Success)") {
		t.Fatalf("storescu: %v\n%s", err, out)
	}
	ev := p.next(t)
	var fs dicomrecv.FileStoredEvent
	if ev.Event != "FileStored" || json.Unmarshal(ev.Data, &fs) != nil {
		t.Fatalf("event %+v", ev)
	}
	if !strings.HasPrefix(fs.File, filepath.Join(dir, "store")) || fs.CalledAETitle != "FLAG-AE" || fs.Tags == nil {
		t.Fatalf("FileStored %+v", fs)
	}
	if _, err := os.Stat(fs.File); err != nil {
		t.Fatal(err)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
}

func execCommand(bin string, args ...string) *exec.Cmd { return exec.Command(bin, args...) }

// A kill -9 while a study is pending does not lose its event: after the
// restart, the journal re-arms the timer and StudyCompleted fires once.
func TestStudyEventSurvivesKill9(t *testing.T) {
	storescu := testutil.RequireTool(t, "storescu")
	sample := filepath.Join(testutil.PydicomTestFiles, "CT_small.dcm")
	testutil.RequireFile(t, sample)
	bin := buildBinary(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.json")
	os.WriteFile(cfg, []byte(`{"studyTimeout": 2, "extractTags": ["@default"], "outDir": "`+filepath.Join(dir, "store")+`"}`), 0o644)
	p := startProcess(t, bin, "--config", cfg, "--port", "0")
	out, err := exec.Command(storescu, "-v", "-aec", "STORE-SCP", "127.0.0.1", fmt.Sprint(p.port), sample).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Store Response (Success)") {
		t.Fatalf("storescu: %v\n%s", err, out)
	}
	if ev := p.next(t); ev.Event != "FileStored" {
		t.Fatalf("event %+v", ev)
	}
	killedAt := time.Now()
	p.cmd.Process.Kill() // SIGKILL: no shutdown, no flush
	p.cmd.Wait()

	p2 := startProcess(t, bin, "--config", cfg, "--port", "0")
	ev := p2.next(t)
	if ev.Event != "StudyCompleted" {
		t.Fatalf("first event after the restart: %+v", ev)
	}
	var sc dicomrecv.StudyCompletedEvent
	if err := json.Unmarshal(ev.Data, &sc); err != nil {
		t.Fatal(err)
	}
	if sc.Study.InstanceCount != 1 || sc.Study.Tags["PatientName"] == "" || len(sc.Study.Series) != 1 {
		t.Fatalf("study %+v", sc.Study)
	}
	if waited := time.Since(killedAt); waited > 10*time.Second {
		t.Fatalf("study event came %v after the kill", waited)
	}
	select {
	case ev, ok := <-p2.events:
		if ok {
			t.Fatalf("second event %+v", ev)
		}
	case <-time.After(3 * time.Second):
	}
	// A second restart does not deliver it again.
	p2.cmd.Process.Signal(syscall.SIGTERM)
	p2.cmd.Wait()
	p3 := startProcess(t, bin, "--config", cfg, "--port", "0")
	select {
	case ev, ok := <-p3.events:
		if ok {
			t.Fatalf("event after the second restart: %+v", ev)
		}
	case <-time.After(3 * time.Second):
	}
}

func TestLookupCommands(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"tags", "PatientName"}, []string{"PatientName", "(0010,0010)", "PN", "OtherPatientNames"}},
		{[]string{"tags", "7fe00010"}, []string{"PixelData", "OB or OW"}},
		{[]string{"sop-classes"}, []string{"1.2.840.10008.5.1.4.1.1.6.1", "UltrasoundImageStorage", "@ct:", "@allImaging:"}},
		{[]string{"transfer-syntaxes"}, []string{"1.2.840.10008.1.2.4.201", "@jpeg2000Lossless:"}},
	} {
		var out strings.Builder
		if code := run(tc.args, &out, &strings.Builder{}, nil); code != 0 {
			t.Fatalf("%v: exit %d", tc.args, code)
		}
		for _, w := range tc.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%v: output lacks %q", tc.args, w)
			}
		}
	}
	var out strings.Builder
	if code := run([]string{"tags", "--json", "PatientID"}, &out, &strings.Builder{}, nil); code != 0 {
		t.Fatal(code)
	}
	var rows []struct{ Keyword, Tag, VR, VM string }
	if err := json.Unmarshal([]byte(out.String()), &rows); err != nil || len(rows) == 0 {
		t.Fatalf("JSON: %v %q", err, out.String())
	}
	for _, r := range rows {
		if r.Keyword == "PatientID" && (r.Tag != "(0010,0020)" || r.VR != "LO" || r.VM != "1") {
			t.Fatalf("PatientID row %+v", r)
		}
	}
}

// throttledReader yields n bytes slowly: rate bytes per 10 ms.
type throttledReader struct {
	r    io.Reader
	rate int
}

func (t *throttledReader) Read(p []byte) (int, error) {
	time.Sleep(10 * time.Millisecond)
	if len(p) > t.rate {
		p = p[:t.rate]
	}
	return t.r.Read(p)
}

// sendThrottled stores an object of size pixel bytes at rate bytes per
// 10 ms, then releases; the channel gets the outcome.
func sendThrottled(p *process, sop string, rate int, size uint32) chan error {
	const ct = "1.2.840.10008.5.1.4.1.1.2"
	done := make(chan error, 1)
	go func() {
		c, err := scutest.Associate(fmt.Sprintf("127.0.0.1:%d", p.port), scutest.Options{
			Contexts: []scutest.Context{{ID: 1, AbstractSyntax: ct, TransferSyntaxes: []string{"1.2.840.10008.1.2.1"}}}})
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		c.NC.SetDeadline(time.Now().Add(time.Minute))
		header := bigHeader(ct, sop, size)
		r := &throttledReader{r: io.MultiReader(bytes.NewReader(header), io.LimitReader(patternReader{}, int64(size))), rate: rate}
		rsp, err := c.StoreStream(1, ct, sop, r, int64(len(header))+int64(size))
		if err == nil && rsp.Status != 0 {
			err = fmt.Errorf("status 0x%04X", rsp.Status)
		}
		if err == nil {
			err = c.Release()
		}
		done <- err
	}()
	return done
}

// SIGTERM during a large transfer lets it finish (the file is complete)
// and the process exits 0; a second SIGTERM exits at once.
func TestShutdownSignals(t *testing.T) {
	bin := buildBinary(t)

	t.Run("graceful", func(t *testing.T) {
		dir := t.TempDir()
		cfg := filepath.Join(dir, "c.yaml")
		os.WriteFile(cfg, []byte("shutdownTimeout: 20\n"), 0o644)
		p := startProcess(t, bin, "--config", cfg, "--port", "0", "--out-dir", filepath.Join(dir, "store"))
		// 8 MiB at about 3 MB/s: a few seconds.
		done := sendThrottled(p, "1.2.3.4.1", 32<<10, 8<<20)
		time.Sleep(time.Second)
		start := time.Now()
		p.cmd.Process.Signal(syscall.SIGTERM)
		if err := <-done; err != nil {
			t.Fatalf("transfer during shutdown: %v", err)
		}
		if err := p.cmd.Wait(); err != nil {
			t.Fatalf("exit: %v", err)
		}
		if waited := time.Since(start); waited > 20*time.Second {
			t.Fatalf("shutdown took %v", waited)
		}
		fi, err := os.Stat(filepath.Join(dir, "store", "1.2.3.4", "1.2.3.4.1", "1.2.3.4.1.dcm"))
		if err != nil || fi.Size() < 8<<20 {
			t.Fatalf("stored file: %v %v", fi, err)
		}
	})
	t.Run("second signal", func(t *testing.T) {
		dir := t.TempDir()
		cfg := filepath.Join(dir, "c.yaml")
		os.WriteFile(cfg, []byte("shutdownTimeout: 60\n"), 0o644)
		p := startProcess(t, bin, "--config", cfg, "--port", "0", "--out-dir", filepath.Join(dir, "store"))
		done := sendThrottled(p, "1.2.3.4.2", 16<<10, 64<<20) // would take about 40 s
		time.Sleep(time.Second)
		p.cmd.Process.Signal(syscall.SIGTERM)
		time.Sleep(500 * time.Millisecond)
		start := time.Now()
		p.cmd.Process.Signal(syscall.SIGTERM)
		err := p.cmd.Wait()
		if waited := time.Since(start); waited > 3*time.Second {
			t.Fatalf("second SIGTERM: exit after %v", waited)
		}
		if err == nil {
			t.Fatal("exit status 0 after the second signal, want non-zero")
		}
		<-done
		if n := countStored(filepath.Join(dir, "store")); n != 0 {
			t.Fatalf("%d files stored from an interrupted transfer", n)
		}
	})
}

// countStored counts .dcm files (not temporary ones) under dir.
func countStored(dir string) int {
	n := 0
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && strings.HasSuffix(p, ".dcm") && !strings.Contains(p, "/.dicomrecv/") {
			n++
		}
		return nil
	})
	return n
}

// A kill -9 during a transfer leaves no file at a final path; the
// temporary file is removed at the next start.
func TestKill9DuringTransfer(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	p := startProcess(t, bin, "--port", "0", "--out-dir", store)
	done := sendThrottled(p, "1.2.3.4.9", 64<<10, 64<<20)
	tmp := filepath.Join(store, ".dicomrecv", "tmp")
	deadline := time.Now().Add(20 * time.Second)
	for {
		es, _ := os.ReadDir(tmp)
		if len(es) > 0 {
			break // the object is being written
		}
		if time.Now().After(deadline) {
			t.Fatal("no temporary file appeared")
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.cmd.Process.Kill()
	p.cmd.Wait()
	if err := <-done; err == nil {
		t.Fatal("the transfer succeeded although the receiver was killed")
	}
	if n := countStored(store); n != 0 {
		t.Fatalf("%d files at final paths after kill -9", n)
	}
	startProcess(t, bin, "--port", "0", "--out-dir", store) // its cleanup kills it
	if es, _ := os.ReadDir(tmp); len(es) != 0 {
		t.Fatalf("temporary files left after restart: %v", es)
	}
}
