package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// profileRun sends the small-file corpus (1 association, PDU 16 KiB,
// TCP_NODELAY=1 sender, fsync off) to dicomrecv running inside profserve,
// which writes a CPU and an allocation profile per repetition, and writes
// go tool pprof -top of the merged profiles to the results directory.
func profileRun(ctx context.Context, o options, root string, t tools, stdout, stderr io.Writer) error {
	bin := filepath.Join(o.workDir, "bin", "profserve")
	fmt.Fprintf(stderr, "building bench/profserve ...\n")
	if err := goBuild(root, bin, "./bench/profserve"); err != nil {
		return err
	}
	c, err := loadCorpus(o.workDir, corpusSmall, t, stderr)
	if err != nil {
		return err
	}
	profDir := filepath.Join(o.workDir, "profile")
	if err := os.RemoveAll(profDir); err != nil {
		return err
	}
	if err := os.MkdirAll(profDir, 0o755); err != nil {
		return err
	}
	sc := scenario{corpusSmall, 1, 16384, senderNoDelay}
	if _, err := prepareRunBase(o.runDir); err != nil {
		return err
	}
	rn := &runner{runBase: o.runDir, tools: t, corpora: map[string]*corpus{corpusSmall: c},
		runTimeout: o.runTimeout, quietWait: o.quietWait}
	rn.adoptLeftovers()
	defer rn.cleanup()
	started := time.Now()
	var cpus, allocs []string
	var results []runResult
	for rep := 0; rep < o.reps && ctx.Err() == nil; rep++ {
		cpu := filepath.Join(profDir, fmt.Sprintf("cpu-%d.pprof", rep+1))
		mem := filepath.Join(profDir, fmt.Sprintf("allocs-%d.pprof", rep+1))
		rn.dicomrecvCmd = []string{bin, "-cpuprofile", cpu, "-memprofile", mem}
		res := rn.runOne(ctx, step{Rep: rep, Scenario: sc, Receiver: recvDicomrecv})
		fmt.Fprintf(stderr, "profile rep %d: %s\n", rep+1, progressLine(res))
		if !res.ok() {
			return fmt.Errorf("profiling run failed: %s", res.Err)
		}
		results = append(results, res)
		cpus, allocs = append(cpus, cpu), append(allocs, mem)
	}
	if len(results) == 0 {
		return ctx.Err()
	}
	var md bytes.Buffer
	fmt.Fprintf(&md, "# dicomrecv profile — %s\n\n", started.Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&md, "Command: `go run ./bench -profile -reps %d`. dicomrecv runs in-process in `bench/profserve` (the\n", o.reps)
	fmt.Fprintf(&md, "library with cmd/dicomrecv's JSON Lines events on stdout) with a CPU profile on; scenario %s:\n%s,\n", sc.Name(), sc.Title())
	fmt.Fprintf(&md, "fsync off. Profiles of the %d repetitions are merged; they cover receiving only (start to SIGTERM).\n\n", len(results))
	md.WriteString("| rep | files/s | MB/s | CPU-s/GB | peak RSS MiB |\n|---:|---:|---:|---:|---:|\n")
	for _, r := range results {
		fmt.Fprintf(&md, "| %d | %s | %s | %s | %s |\n", r.Rep+1, num(r.FilesPerSec()), num(r.MBPerSec()), num(r.CPUPerGB()), num(r.PeakRSSMiB()))
	}
	for _, v := range []struct {
		title string
		args  []string
		files []string
	}{
		{"CPU, flat (go tool pprof -top)", []string{"-top", "-nodecount=40"}, cpus},
		{"CPU, cumulative (go tool pprof -top -cum)", []string{"-top", "-cum", "-nodecount=40"}, cpus},
		{"Allocated bytes (go tool pprof -top -sample_index=alloc_space)", []string{"-top", "-sample_index=alloc_space", "-nodecount=25"}, allocs},
		{"Allocated objects (go tool pprof -top -sample_index=alloc_objects)", []string{"-top", "-sample_index=alloc_objects", "-nodecount=25"}, allocs},
	} {
		args := append([]string{"tool", "pprof"}, v.args...)
		args = append(append(args, bin), v.files...)
		out, err := exec.Command(goTool(), args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("go tool pprof: %w: %s", err, out)
		}
		fmt.Fprintf(&md, "\n## %s\n\n```\n%s```\n", v.title, out)
	}
	fmt.Fprintf(&md, "\nProfiles: %s (not committed).\n", profDir)
	name := filepath.Join(o.resultsDir, started.Format("2006-01-02-1504")+"-profile.md")
	if err := os.WriteFile(name, md.Bytes(), 0o644); err != nil {
		return err
	}
	stdout.Write(md.Bytes())
	fmt.Fprintf(stdout, "\nwritten: %s\n", name)
	return nil
}
