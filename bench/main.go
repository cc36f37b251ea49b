// Command bench compares dicomrecv with DCMTK's storescp, side by side on
// one machine, with DCMTK's storescu as the sender (issue 9).
//
// Usage, from the repository root (after bash .ci/run installed DCMTK and
// pydicom's sample files):
//
//	bench/run.sh --quick         # 1 association, PDU 16 KiB, 3 repetitions: a few minutes
//	bench/run.sh                 # the full matrix, 5 repetitions
//	go run ./bench -profile      # CPU and allocation profile of dicomrecv on small files
//
// It builds a corpus once (cached in bench/work/), builds dicomrecv, then
// for every repetition and scenario starts each receiver on a free port,
// sends the corpus with storescu, checks that every file was stored, and
// records files/s, MB/s, receiver CPU seconds per GB and peak RSS. Results
// go to bench/results/ as Markdown (with the date, and latest.md), an SVG
// chart and the raw runs as JSON. See bench/README.md.
//
// The harness is a program, not a test: go test ./... runs only the tests
// of its own logic.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"time"
)

const modulePath = "github.com/dicomrecv/dicomrecv"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

type options struct {
	quick, large, profile bool
	reps                  int
	scenarios, receivers  string
	workDir, resultsDir   string
	runDir                string
	dicomrecvBin          string
	render                string
	runTimeout, quietWait time.Duration
	maxOther              float64
	retries               int
}

func run(args []string, stdout, stderr io.Writer) int {
	var o options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&o.quick, "quick", false, "quick mode: small files, 1 association, PDU 16 KiB, both senders, fsync off, 3 repetitions")
	fs.BoolVar(&o.large, "large", false, "quick mode: also send the large (50-100 MB) objects")
	fs.BoolVar(&o.profile, "profile", false, "instead of the benchmark, profile dicomrecv (CPU and allocations) receiving the small files")
	fs.IntVar(&o.reps, "reps", 0, "repetitions (default 3 with -quick and -profile, 5 otherwise)")
	fs.StringVar(&o.scenarios, "scenarios", "", "only scenarios whose name matches this regular expression (e.g. 'small-1a')")
	fs.StringVar(&o.receivers, "receivers", "", "only receivers matching this regular expression (dicomrecv, dicomrecv-fsync, storescp+B, storescp-ignore)")
	fs.StringVar(&o.workDir, "work", "", "work directory: corpus cache, binaries, run directories (default bench/work)")
	fs.StringVar(&o.runDir, "run-dir", "", "directory that holds a fresh directory per run, where the receivers write (default bench/work/runs); see the report's file-create probe")
	fs.StringVar(&o.resultsDir, "results", "", "results directory (default bench/results)")
	fs.StringVar(&o.dicomrecvBin, "dicomrecv", "", "a dicomrecv binary to test instead of building ./cmd/dicomrecv")
	fs.StringVar(&o.render, "render", "", "render the Markdown and SVG again from a results JSON file, and exit")
	fs.DurationVar(&o.runTimeout, "run-timeout", 15*time.Minute, "give up on a single run after this long")
	fs.Float64Var(&o.maxOther, "max-other", 0.25, "a run during which other processes used more than this many cores is disturbed and run again")
	fs.IntVar(&o.retries, "retries", -1, "how many times a disturbed run is run again, keeping the least disturbed attempt (default 1 with -quick, 2 otherwise)")
	fs.DurationVar(&o.quietWait, "quiet-wait", -1, "before each run, wait up to this long for other processes to leave the CPUs idle; 0: do not wait (default 5s with -quick, 15s otherwise)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "bench: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if err := bench(o, args, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 1
	}
	return 0
}

func bench(o options, args []string, stdout, stderr io.Writer) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	if o.workDir == "" {
		o.workDir = filepath.Join(root, "bench", "work")
	}
	if o.runDir == "" {
		o.runDir = filepath.Join(o.workDir, "runs")
	}
	if o.resultsDir == "" {
		o.resultsDir = filepath.Join(root, "bench", "results")
	}
	if o.render != "" {
		return renderAgain(o.render, stdout)
	}
	// Quick mode stays under 10 minutes even on a busy machine: fewer
	// retries and a shorter wait for quiet.
	if o.retries < 0 {
		o.retries = 2
		if o.quick {
			o.retries = 1
		}
	}
	if o.quietWait < 0 {
		o.quietWait = 15 * time.Second
		if o.quick {
			o.quietWait = 5 * time.Second
		}
	}
	if o.reps <= 0 {
		o.reps = 5
		if o.quick || o.profile {
			o.reps = 3
		}
	}
	po := planOptions{Quick: o.quick, Reps: o.reps, Large: o.large}
	if o.scenarios != "" {
		if po.Scenarios, err = regexp.Compile(o.scenarios); err != nil {
			return fmt.Errorf("-scenarios: %w", err)
		}
	}
	if o.receivers != "" {
		if po.Receivers, err = regexp.Compile(o.receivers); err != nil {
			return fmt.Errorf("-receivers: %w", err)
		}
	}
	t, err := findTools()
	if err != nil {
		return err
	}
	for _, d := range []string{o.workDir, o.resultsDir, filepath.Join(o.workDir, "bin")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if o.profile {
		return profileRun(ctx, o, root, t, stdout, stderr)
	}

	bin := o.dicomrecvBin
	if bin == "" {
		bin = filepath.Join(o.workDir, "bin", "dicomrecv")
		fmt.Fprintf(stderr, "building dicomrecv ...\n")
		if err := goBuild(root, bin, "./cmd/dicomrecv"); err != nil {
			return err
		}
	}
	sets := matrix(po)
	if len(sets) == 0 {
		return errors.New("no scenario or receiver matches -scenarios / -receivers")
	}
	rn := &runner{runBase: o.runDir, tools: t, dicomrecvCmd: []string{bin}, corpora: map[string]*corpus{},
		runTimeout: o.runTimeout, quietWait: o.quietWait}
	mode := "full"
	if o.quick {
		mode = "quick"
	}
	if o.scenarios != "" || o.receivers != "" {
		// Not the whole matrix: its tables must not pass for latest.md.
		mode += subsetSuffix
	}
	rp := &report{Mode: mode, Command: commandLine(args), Started: time.Now(), Reps: o.reps, Sets: sets,
		Machine: machine(t, bin, root)}
	topdir, err := prepareRunBase(o.runDir)
	if err != nil {
		return err
	}
	rp.Machine.RunDir, rp.Machine.TopDir = o.runDir, topdir
	if us, err := probeCreate(o.runDir, 500); err == nil {
		rp.Machine.CreateMicros = us
		fmt.Fprintf(stderr, "creating a file under %s costs %.0f µs of CPU\n", o.runDir, us)
	}
	for _, s := range sets {
		name := s.Scenario.Corpus
		if rn.corpora[name] != nil {
			continue
		}
		c, err := loadCorpus(o.workDir, name, t, stderr)
		if err != nil {
			return err
		}
		rn.corpora[name] = c
		rp.Corpora = append(rp.Corpora, corpusInfo{Name: name, Files: len(c.Files), Bytes: c.Bytes(), Recipe: c.Recipe})
	}

	rn.adoptLeftovers()
	defer rn.cleanup()
	steps := plan(sets, o.reps)
	partial := filepath.Join(o.workDir, "partial.json")
	for i, st := range steps {
		if ctx.Err() != nil {
			fmt.Fprintf(stderr, "interrupted: writing the %d runs done so far\n", len(rp.Results))
			break
		}
		// A disturbed run is made again, keeping the least disturbed
		// attempt (or a failed one: a failure is never hidden).
		res := rn.runOne(ctx, st)
		attempts, last := 1, res.OtherCores
		for attempts <= o.retries && res.ok() && last > o.maxOther && ctx.Err() == nil {
			fmt.Fprintf(stderr, "        disturbed (other load %.2f cores): running it again\n", last)
			again := rn.runOne(ctx, st)
			attempts++
			last = again.OtherCores
			if !again.ok() || again.OtherCores < res.OtherCores {
				res = again
			}
		}
		res.Attempts = attempts
		rp.Results = append(rp.Results, res)
		fmt.Fprintf(stderr, "[%3d/%d] rep %d %-24s %-32s %s\n", i+1, len(steps), st.Rep+1, st.Scenario.Name(),
			st.Receiver.Label(st.Scenario.Assocs > 1), progressLine(res))
		if err := writeJSON(partial, rp); err != nil {
			return err
		}
	}
	rp.Finished = time.Now()
	stamp := rp.Started.Format("2006-01-02-1504") + "-" + mode
	if err := writeResults(o.resultsDir, stamp, rp, stdout); err != nil {
		return err
	}
	os.Remove(partial)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return nil
}

func progressLine(r runResult) string {
	if !r.ok() {
		return "FAILED: " + r.Err
	}
	return fmt.Sprintf("%7.1f files/s %7.1f MB/s %5.2f CPU-s/GB %6.1f MiB  other load %.2f cores",
		r.FilesPerSec(), r.MBPerSec(), r.CPUPerGB(), r.PeakRSSMiB(), r.OtherCores)
}

// writeResults writes stamp.json, stamp.md, stamp.svg, latest.md and
// latest.svg, and prints the Markdown to stdout.
func writeResults(dir, stamp string, rp *report, stdout io.Writer) error {
	if err := writeJSON(filepath.Join(dir, stamp+".json"), rp); err != nil {
		return err
	}
	var svg bytes.Buffer
	rp.writeSVG(&svg)
	names := []string{stamp, "latest"}
	if rp.subset() {
		names = names[:1] // latest.md stays the last whole run (README links it)
	}
	for _, name := range names {
		if err := os.WriteFile(filepath.Join(dir, name+".svg"), svg.Bytes(), 0o644); err != nil {
			return err
		}
		var md bytes.Buffer
		rp.writeMarkdown(&md, name+".svg")
		if name == "latest" {
			fmt.Fprintf(&md, "\n(Raw runs: [%s.json](%s.json).)\n", stamp, stamp)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".md"), md.Bytes(), 0o644); err != nil {
			return err
		}
		if name == stamp {
			stdout.Write(md.Bytes())
		}
	}
	if rp.subset() {
		fmt.Fprintf(stdout, "\nwritten: %s.{md,svg,json} (a subset: latest.md not replaced)\n", filepath.Join(dir, stamp))
		return nil
	}
	fmt.Fprintf(stdout, "\nwritten: %s.{md,svg,json}, latest.md, latest.svg\n", filepath.Join(dir, stamp))
	return nil
}

func renderAgain(path string, stdout io.Writer) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	rp := &report{}
	if err := json.Unmarshal(b, rp); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	stamp := strings.TrimSuffix(filepath.Base(path), ".json")
	return writeResults(filepath.Dir(path), stamp, rp, stdout)
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// moduleRoot finds the repository root: the directory, from the working
// directory up, whose go.mod declares the dicomrecv module.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.Contains(b, []byte("module "+modulePath+"\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("not inside the %s module: run from the repository", modulePath)
		}
		dir = parent
	}
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// goBuild builds pkg of the module at root into out.
func goBuild(root, out, pkg string) error {
	cmd := exec.Command(goTool(), "build", "-o", out, pkg)
	cmd.Dir = root
	var b bytes.Buffer
	cmd.Stdout, cmd.Stderr = &b, &b
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", pkg, err, b.String())
	}
	return nil
}

func commandLine(args []string) string {
	if len(args) == 0 {
		return "bench/run.sh"
	}
	return "bench/run.sh " + strings.Join(args, " ")
}

// machine describes the machine, the tools and the dicomrecv build.
func machine(t tools, bin, root string) machineInfo {
	m := machineInfo{Cores: runtime.NumCPU(), Go: runtime.Version()}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if out, err := exec.Command(t.Storescu, "--version").Output(); err == nil {
		line, _, _ := strings.Cut(string(out), "\n")
		if f := strings.Fields(line); len(f) >= 3 {
			m.DCMTK = strings.TrimPrefix(f[2], "v")
		}
	}
	if bin != "" {
		if out, err := exec.Command(bin, "version").Output(); err == nil {
			m.Dicomrecv = strings.TrimSpace(string(out))
		}
	}
	m.Commit = gitCommit(root)
	return m
}

// gitCommit names the checked-out commit of the repository at root, with
// "+ uncommitted changes" when tracked files differ from it; "" without
// git. It only reads (--no-optional-locks: status does not even refresh
// the index).
func gitCommit(root string) string {
	out, err := exec.Command("git", "-C", root, "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return ""
	}
	c := strings.TrimSpace(string(out))
	st, err := exec.Command("git", "-C", root, "--no-optional-locks", "status", "--porcelain", "--untracked-files=no").Output()
	if err == nil && len(bytes.TrimSpace(st)) > 0 {
		c += " + uncommitted changes"
	}
	return c
}
