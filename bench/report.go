package main

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"
	"time"
)

// report is everything a benchmark run produced; it is saved as JSON next
// to the Markdown so that tables can be rendered again (-render).
type report struct {
	Mode     string        `json:"mode"` // "quick" or "full", with subsetSuffix when -scenarios or -receivers narrowed it
	Command  string        `json:"command"`
	Started  time.Time     `json:"started"`
	Finished time.Time     `json:"finished"`
	Reps     int           `json:"reps"`
	Machine  machineInfo   `json:"machine"`
	Corpora  []corpusInfo  `json:"corpora"`
	Sets     []scenarioSet `json:"sets"`
	Results  []runResult   `json:"results"`
}

// machineInfo describes where the numbers were measured.
type machineInfo struct {
	CPU       string `json:"cpu"`
	Cores     int    `json:"cores"`
	Kernel    string `json:"kernel"`
	Go        string `json:"go"`
	DCMTK     string `json:"dcmtk"`
	Dicomrecv string `json:"dicomrecv"`
	Commit    string `json:"commit,omitempty"` // git commit of the tree measured
	// RunDir is where the receivers wrote; CreateMicros the CPU cost of
	// creating one file there (probeCreate).
	RunDir       string  `json:"runDir"`
	TopDir       bool    `json:"topDir"` // chattr +T applied to RunDir
	CreateMicros float64 `json:"createMicros"`
}

// corpusInfo describes a corpus in the report.
type corpusInfo struct {
	Name   string `json:"name"`
	Files  int    `json:"files"`
	Bytes  int64  `json:"bytes"`
	Recipe string `json:"recipe"`
}

// row is one receiver's line in a scenario's table.
type row struct {
	Receiver  receiverSpec
	Label     string
	Runs, Bad int
	Errors    []string

	FilesPerSec, MBPerSec, CPUPerGB, RSSMiB, Other summary
	// Ratios to storescp +B in the same scenario and repetition.
	RatioFiles, RatioCPU summary
}

// metric extracts one number from a run.
type metric func(runResult) float64

// byRep collects a metric of one scenario and receiver, by repetition.
func (rp *report) byRep(sc scenario, rs receiverSpec, m metric) map[int]float64 {
	out := map[int]float64{}
	for _, r := range rp.Results {
		if r.Scenario == sc && r.Receiver == rs {
			out[r.Rep] = m(r)
		}
	}
	return out
}

func values(m map[int]float64) []float64 {
	v := make([]float64, 0, len(m))
	for _, x := range m {
		v = append(v, x)
	}
	return v
}

// rows aggregates the runs of one scenario.
func (rp *report) rows(set scenarioSet) []row {
	sc := set.Scenario
	fork := sc.Assocs > 1
	var out []row
	for _, rs := range set.Receivers {
		rw := row{Receiver: rs, Label: rs.Label(fork)}
		for _, r := range rp.Results {
			if r.Scenario != sc || r.Receiver != rs {
				continue
			}
			rw.Runs++
			if !r.ok() {
				rw.Bad++
				rw.Errors = append(rw.Errors, fmt.Sprintf("rep %d: %s", r.Rep+1, r.Err))
			}
		}
		rw.FilesPerSec = summarize(values(rp.byRep(sc, rs, runResult.FilesPerSec)))
		rw.MBPerSec = summarize(values(rp.byRep(sc, rs, runResult.MBPerSec)))
		rw.CPUPerGB = summarize(values(rp.byRep(sc, rs, runResult.CPUPerGB)))
		rw.RSSMiB = summarize(values(rp.byRep(sc, rs, runResult.PeakRSSMiB)))
		rw.Other = summarize(values(rp.byRep(sc, rs, runResult.Other)))
		rw.RatioFiles = rp.ratio(sc, rs, sc, recvStorescpB, runResult.FilesPerSec)
		rw.RatioCPU = rp.ratio(sc, rs, sc, recvStorescpB, runResult.CPUPerGB)
		out = append(out, rw)
	}
	return out
}

// ratio summarises a metric of (scA, a) divided by that of (scB, b), paired
// by repetition.
func (rp *report) ratio(scA scenario, a receiverSpec, scB scenario, b receiverSpec, m metric) summary {
	return summarize(ratios(rp.byRep(scA, a, m), rp.byRep(scB, b, m)))
}

// num formats a number with about three significant digits.
func num(x float64) string {
	switch a := math.Abs(x); {
	case math.IsNaN(x):
		return "—"
	case a >= 100:
		return fmt.Sprintf("%.0f", x)
	case a >= 10:
		return fmt.Sprintf("%.1f", x)
	default:
		return fmt.Sprintf("%.2f", x)
	}
}

// cell formats a summary as "median (min–max)".
func cell(s summary) string {
	if s.N == 0 {
		return "—"
	}
	if s.N == 1 || s.Min == s.Max {
		return num(s.Median)
	}
	return fmt.Sprintf("%s (%s–%s)", num(s.Median), num(s.Min), num(s.Max))
}

// target is one goal of issue 9 checked against the measurements.
type target struct {
	What     string
	Measured summary
	Goal     string
	Pass     string // "PASS", "FAIL", "not measured", "report"
}

func judge(s summary, ok func(summary) bool) string {
	if s.N == 0 {
		return "not measured"
	}
	if ok(s) {
		return "PASS"
	}
	return "FAIL"
}

// targets checks issue 9's goals: fsync off, PDU 16 KiB, side by side in
// the same repetitions. A goal passes on the median of the per-repetition
// ratios (the peak RSS goal on the maximum); the range is shown.
func (rp *report) targets() []target {
	const pdu = 16384
	s1 := scenario{corpusSmall, 1, pdu, senderNoDelay}
	s4 := scenario{corpusSmall, 4, pdu, senderNoDelay}
	stock := scenario{corpusSmall, 1, pdu, senderStock}
	large := scenario{corpusLarge, 1, pdu, senderNoDelay}
	giant := scenario{corpusGiant, 1, pdu, senderNoDelay}
	fps := runResult.FilesPerSec
	ge := func(x float64) func(summary) bool { return func(s summary) bool { return s.Median >= x } }
	le := func(x float64) func(summary) bool { return func(s summary) bool { return s.Median <= x } }
	var ts []target
	add := func(what string, s summary, goal string, ok func(summary) bool) {
		t := target{What: what, Measured: s, Goal: goal}
		if ok == nil {
			t.Pass = "report"
			if s.N == 0 {
				t.Pass = "not measured"
			}
		} else {
			t.Pass = judge(s, ok)
		}
		ts = append(ts, t)
	}
	add("small files, 1 association: files/s ÷ storescp +B", rp.ratio(s1, recvDicomrecv, s1, recvStorescpB, fps), "≥ 1.15", ge(1.15))
	add("small files, 4 associations: files/s ÷ storescp +B --fork", rp.ratio(s4, recvDicomrecv, s4, recvStorescpB, fps), "≥ 1.15", ge(1.15))
	add("stock (Nagle-on) sender: files/s ÷ storescp +B (same sender)", rp.ratio(stock, recvDicomrecv, stock, recvStorescpB, fps), "≥ 1.15", ge(1.15))
	add("stock sender ÷ our own TCP_NODELAY=1 figure (files/s)", rp.ratio(stock, recvDicomrecv, s1, recvDicomrecv, fps), "≥ 0.9", ge(0.9))
	add("receiver CPU-s per GB ÷ storescp +B (small files, 1 association)", rp.ratio(s1, recvDicomrecv, s1, recvStorescpB, runResult.CPUPerGB), "≤ 0.8", le(0.8))
	add("large objects (50-100 MB): MB/s ÷ storescp +B", rp.ratio(large, recvDicomrecv, large, recvStorescpB, runResult.MBPerSec), "≥ 1.0", ge(1.0))
	add("peak RSS receiving the 1 GiB object (MiB, judged on the maximum)", summarize(values(rp.byRep(giant, recvDicomrecv, runResult.PeakRSSMiB))),
		"< 32", func(s summary) bool { return s.Max < 32 })
	add("fsync on ÷ fsync off, small files, 1 association (files/s)", rp.ratio(s1, recvDicomrecvFsync, s1, recvDicomrecv, fps), "report the cost", nil)
	add("fsync on ÷ fsync off, large objects (MB/s)", rp.ratio(large, recvDicomrecvFsync, large, recvDicomrecv, runResult.MBPerSec), "report the cost", nil)
	return ts
}

// subsetSuffix marks the mode of a run narrowed by -scenarios or -receivers.
const subsetSuffix = "-subset"

// subset reports whether the run covered only part of its mode's matrix.
func (rp *report) subset() bool { return strings.HasSuffix(rp.Mode, subsetSuffix) }

// title names the run in headings: "full benchmark", or "subset of the
// full benchmark".
func (rp *report) title() string {
	if rp.subset() {
		return "subset of the " + strings.TrimSuffix(rp.Mode, subsetSuffix) + " benchmark"
	}
	return rp.Mode + " benchmark"
}

// writeMarkdown renders the report.
func (rp *report) writeMarkdown(w io.Writer, chartFile string) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	p("# dicomrecv vs DCMTK storescp — %s, %s\n\n", rp.title(), rp.Started.Format("2006-01-02 15:04 MST"))
	p("Command: `%s` (%d repetitions, %s).\n\n", rp.Command, rp.Reps, rp.Finished.Sub(rp.Started).Round(time.Second))
	m := rp.Machine
	p("Machine: %s, %d cores, Linux %s, %s; DCMTK %s; %s.\n\n", m.CPU, m.Cores, m.Kernel, m.Go, m.DCMTK, m.Dicomrecv)
	if m.Commit != "" {
		p("Tree measured: commit %s.\n\n", m.Commit)
	}
	if m.RunDir != "" {
		top := "not marked +T"
		if m.TopDir {
			top = "marked +T (chattr), so ext4 spreads the run directories over its block groups"
		}
		p("Receivers write in a fresh directory per run under `%s` (%s). Creating an empty file there cost\n"+
			"%.0f µs of CPU at the start, which every receiver pays once per object (at 2,000 objects per GB: %.2f CPU-s/GB).\n\n",
			m.RunDir, top, m.CreateMicros, m.CreateMicros*2000/1e6)
	}
	p("Corpora (made by the harness from pydicom's `CT_small.dcm` with DCMTK `dcmscale` and `dcmodify`):\n\n")
	for _, c := range rp.Corpora {
		p("- %s: %d files, %.2f GB — %s\n", c.Name, c.Files, float64(c.Bytes)/1e9, c.Recipe)
	}
	p(`
How to read the tables:

- Every cell is the median over the repetitions, with the minimum and maximum in parentheses.
- files/s and MB/s (10^6 bytes of the files sent) are timed from the first storescu start to the last
  storescu exit, so they include storescu's start-up (it opens every file before associating).
- CPU-s/GB is the receiver's user+system CPU time (/proc/PID/stat utime+stime) per 10^9 bytes. For
  storescp --fork it includes the children: the parent's cutime+cstime (children it reaped) plus the
  utime+stime of children not yet reaped, read consistently after every child has exited.
- Peak RSS is VmHWM from /proc/PID/status: for --fork the largest over the parent and its children
  (children sampled every 20 ms while they live).
- "÷ +B" columns divide by storescp +B of the same scenario in the same repetition (runs alternate:
  each repetition runs every receiver once, in an order rotated each repetition), then take the median.
- DCMTK never fsyncs. dicomrecv runs with fsync off (comparable) and on (its default: temp file,
  fsync, rename, directory fsync). DCMTK storescp always runs with TCP_NODELAY=1, its best; "stock"
  rows leave TCP_NODELAY unset for storescu (Nagle on), as Debian ships it. dicomrecv always sets
  TCP_NODELAY on its sockets.
- "other load" is CPU used during the timed part by everything outside the benchmark (other
  processes, kernel threads), in cores: machine-wide busy time (/proc/stat) minus the receiver, the
  senders and the harness. Before each run the harness waits (up to -quiet-wait) until the machine
  is nearly idle. A run with a high other load was disturbed; on a shared machine compare ratios,
  which pair runs of the same repetition, rather than absolute figures.
- Every run is checked: each storescu must exit 0 with one "Received Store Response (Success)" per
  file, and dicomrecv must report one FileStored event and leave one file per object (storescp +B:
  one file per object). A run that loses a file is a failure, not a number.
`)
	if chartFile != "" {
		p("\n![throughput and CPU per GB](%s)\n", chartFile)
	}
	p("\n## Targets (issue 9: fsync off, PDU 16 KiB, side by side)\n\n")
	p("| target | measured: median (min–max) | goal | result |\n|---|---:|---|---|\n")
	for _, t := range rp.targets() {
		p("| %s | %s | %s | %s |\n", t.What, cell(t.Measured), t.Goal, t.Pass)
	}
	for _, set := range rp.Sets {
		p("\n## %s\n\n%s.\n\n", set.Scenario.Name(), set.Scenario.Title())
		p("| receiver | files/s | MB/s | CPU-s/GB | peak RSS MiB | files/s ÷ +B | CPU/GB ÷ +B | other load | good runs |\n")
		p("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		var errs []string
		for _, rw := range rp.rows(set) {
			p("| %s | %s | %s | %s | %s | %s | %s | %s | %d/%d |\n", rw.Label, cell(rw.FilesPerSec), cell(rw.MBPerSec),
				cell(rw.CPUPerGB), cell(rw.RSSMiB), cell(rw.RatioFiles), cell(rw.RatioCPU), cell(rw.Other), rw.Runs-rw.Bad, rw.Runs)
			for _, e := range rw.Errors {
				errs = append(errs, rw.Label+", "+e)
			}
		}
		if len(errs) > 0 {
			p("\nFailed runs:\n\n")
			for _, e := range errs {
				p("- %s\n", strings.ReplaceAll(e, "\n", " "))
			}
		}
	}
}

// Chart layout.
const (
	chartWidth   = 980
	chartLabelW  = 230
	chartPanelW  = 330
	chartGap     = 50
	chartBarH    = 13
	chartBarGap  = 3
	chartHeadH   = 22
	chartGroupGp = 10
)

var chartColors = map[string]string{
	"dicomrecv":       "#1f77b4",
	"dicomrecv-fsync": "#9ecae1",
	kindStorescpB:     "#d62728",
	kindIgnore:        "#a0a0a0",
}

// writeSVG draws, for every scenario, one bar per receiver: MB/s on the
// left, receiver CPU-s per GB on the right; bars are medians, whiskers the
// min–max range.
func (rp *report) writeSVG(w io.Writer) {
	type group struct {
		title string
		rows  []row
	}
	var groups []group
	maxMB, maxCPU := 0.0, 0.0
	for _, set := range rp.Sets {
		rs := rp.rows(set)
		for _, r := range rs {
			if r.MBPerSec.N > 0 {
				maxMB = math.Max(maxMB, r.MBPerSec.Max)
				maxCPU = math.Max(maxCPU, r.CPUPerGB.Max)
			}
		}
		groups = append(groups, group{set.Scenario.Name(), rs})
	}
	if maxMB == 0 {
		maxMB = 1
	}
	if maxCPU == 0 {
		maxCPU = 1
	}
	top := 60
	height := top
	for _, g := range groups {
		height += chartHeadH + len(g.rows)*(chartBarH+chartBarGap) + chartGroupGp
	}
	height += 20
	x1 := chartLabelW
	x2 := chartLabelW + chartPanelW + chartGap
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11">`+"\n", chartWidth, height)
	p(`<rect width="100%%" height="100%%" fill="white"/>` + "\n")
	p(`<text x="10" y="20" font-size="14" font-weight="bold">dicomrecv vs DCMTK storescp (%s, %s)</text>`+"\n",
		html.EscapeString(rp.title()), rp.Started.Format("2006-01-02"))
	p(`<text x="%d" y="48" font-weight="bold">throughput, MB/s (higher is better)</text>`+"\n", x1)
	p(`<text x="%d" y="48" font-weight="bold">receiver CPU-s per GB (lower is better)</text>`+"\n", x2)
	y := top
	for _, g := range groups {
		p(`<text x="10" y="%d" font-weight="bold">%s</text>`+"\n", y+15, html.EscapeString(g.title))
		p(`<line x1="10" x2="%d" y1="%d" y2="%d" stroke="#ddd"/>`+"\n", chartWidth-10, y+3, y+3)
		y += chartHeadH
		for _, r := range g.rows {
			color := chartColors[r.Receiver.ID()]
			p(`<text x="20" y="%d">%s</text>`+"\n", y+chartBarH-3, html.EscapeString(r.Label))
			bar(w, x1, y, chartPanelW, maxMB, r.MBPerSec, color)
			bar(w, x2, y, chartPanelW, maxCPU, r.CPUPerGB, color)
			y += chartBarH + chartBarGap
		}
		y += chartGroupGp
	}
	p("</svg>\n")
}

// bar draws one horizontal bar with its min–max whisker and value label.
func bar(w io.Writer, x, y, width int, max float64, s summary, color string) {
	if s.N == 0 {
		fmt.Fprintf(w, `<text x="%d" y="%d" fill="#888">no data</text>`+"\n", x+2, y+chartBarH-3)
		return
	}
	scale := float64(width-60) / max
	bw := s.Median * scale
	fmt.Fprintf(w, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n", x, y, bw, chartBarH, color)
	lo, hi := float64(x)+s.Min*scale, float64(x)+s.Max*scale
	mid := y + chartBarH/2
	fmt.Fprintf(w, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="black"/>`+"\n", lo, hi, mid, mid)
	fmt.Fprintf(w, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="black"/>`+"\n", lo, lo, y+2, y+chartBarH-2)
	fmt.Fprintf(w, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="black"/>`+"\n", hi, hi, y+2, y+chartBarH-2)
	fmt.Fprintf(w, `<text x="%.1f" y="%d">%s</text>`+"\n", math.Max(hi, float64(x)+bw)+4, y+chartBarH-3, num(s.Median))
}
