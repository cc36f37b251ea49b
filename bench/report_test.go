package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCell(t *testing.T) {
	tests := []struct {
		s    summary
		want string
	}{
		{summary{Median: 812.4, Min: 790.2, Max: 840.9, N: 5}, "812 (790–841)"},
		{summary{Median: 1.234, Min: 1.1, Max: 1.5, N: 3}, "1.23 (1.10–1.50)"},
		{summary{Median: 17.44, Min: 17.44, Max: 17.44, N: 3}, "17.4"},
		{summary{Median: 0.5, Min: 0.5, Max: 0.5, N: 1}, "0.50"},
		{summary{Median: math.NaN(), Min: math.NaN(), Max: math.NaN()}, "—"},
	}
	for _, tt := range tests {
		if got := cell(tt.s); got != tt.want {
			t.Errorf("cell(%+v) = %q, want %q", tt.s, got, tt.want)
		}
	}
}

// fakeReport has two repetitions of the quick matrix plus the large and
// 1 GiB objects, with figures chosen so that every ratio is known.
func fakeReport() *report {
	rp := &report{Mode: "quick", Command: "bench/run.sh --quick", Reps: 2,
		Started: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC), Finished: time.Date(2026, 1, 2, 3, 9, 0, 0, time.UTC),
		Machine: machineInfo{CPU: "AMD EPYC", Cores: 2, Kernel: "6.1", Go: "go1.26", DCMTK: "3.6.7", Dicomrecv: "dicomrecv test"},
		Corpora: []corpusInfo{{Name: corpusSmall, Files: 2000, Bytes: 1e9, Recipe: "r"}}}
	s1 := scenario{corpusSmall, 1, 16384, senderNoDelay}
	stock := scenario{corpusSmall, 1, 16384, senderStock}
	large := scenario{corpusLarge, 1, 16384, senderNoDelay}
	giant := scenario{corpusGiant, 1, 16384, senderNoDelay}
	three := []receiverSpec{recvDicomrecv, recvStorescpB, recvIgnore}
	rp.Sets = []scenarioSet{{s1, three}, {stock, three}, {large, three}, {giant, []receiverSpec{recvDicomrecv, recvStorescpB}}}
	add := func(sc scenario, rs receiverSpec, rep int, files int, bytes int64, secs, cpu float64, rssKiB int64, err string) {
		rp.Results = append(rp.Results, runResult{Scenario: sc, Receiver: rs, Rep: rep, Files: files, Bytes: bytes,
			Seconds: secs, CPUSeconds: cpu, PeakRSSKiB: rssKiB, Err: err})
	}
	// Small files: dicomrecv 1.2x and 1.3x storescp +B, CPU 0.5x and 0.75x.
	add(s1, recvDicomrecv, 0, 2000, 1e9, 2.0, 1.0, 16<<10, "")
	add(s1, recvStorescpB, 0, 2000, 1e9, 2.4, 2.0, 15<<10, "")
	add(s1, recvIgnore, 0, 2000, 1e9, 2.0, 1.0, 16<<10, "")
	add(s1, recvDicomrecv, 1, 2000, 1e9, 2.0, 1.5, 16<<10, "")
	add(s1, recvStorescpB, 1, 2000, 1e9, 2.6, 2.0, 15<<10, "")
	add(s1, recvIgnore, 1, 2000, 1e9, 0, 0, 0, "lost files: 1999 files")
	// Stock sender: dicomrecv 1.0x storescp +B; vs its own nodelay: 1.0 and 1.0.
	add(stock, recvDicomrecv, 0, 2000, 1e9, 2.0, 1.0, 16<<10, "")
	add(stock, recvStorescpB, 0, 2000, 1e9, 2.0, 2.0, 15<<10, "")
	add(stock, recvDicomrecv, 1, 2000, 1e9, 2.0, 1.0, 16<<10, "")
	add(stock, recvStorescpB, 1, 2000, 1e9, 2.0, 2.0, 15<<10, "")
	// Large: 0.9x in MB/s.
	add(large, recvDicomrecv, 0, 20, 1.5e9, 1.0, 1.0, 15<<10, "")
	add(large, recvStorescpB, 0, 20, 1.5e9, 0.9, 1.0, 15<<10, "")
	// 1 GiB: 40 MiB peak in one repetition: fails "under 32 MiB".
	add(giant, recvDicomrecv, 0, 1, 1<<30, 1.0, 1.0, 13<<10, "")
	add(giant, recvDicomrecv, 1, 1, 1<<30, 1.0, 1.0, 40<<10, "")
	return rp
}

func TestTargets(t *testing.T) {
	got := map[string]target{}
	for _, tg := range fakeReport().targets() {
		got[tg.What] = tg
	}
	tests := []struct {
		prefix string
		median float64
		pass   string
	}{
		{"small files, 1 association", 1.25, "PASS"},
		{"small files, 4 associations", math.NaN(), "not measured"},
		{"stock (Nagle-on) sender", 1.0, "FAIL"},
		{"stock sender ÷ our own", 1.0, "PASS"},
		{"receiver CPU-s per GB", 0.625, "PASS"},
		{"large objects", 0.9, "FAIL"},
		{"peak RSS", 26.5, "FAIL"},
		{"fsync on ÷ fsync off, small", math.NaN(), "not measured"},
	}
	for _, tt := range tests {
		var tg *target
		for what, v := range got {
			if strings.HasPrefix(what, tt.prefix) {
				tg = &v
				break
			}
		}
		if tg == nil {
			t.Errorf("no target %q", tt.prefix)
			continue
		}
		m := tg.Measured.Median
		if tg.Pass != tt.pass || (math.IsNaN(tt.median) != math.IsNaN(m)) || (!math.IsNaN(m) && math.Abs(m-tt.median) > 1e-9) {
			t.Errorf("%s: median %v, %s; want %v, %s", tg.What, m, tg.Pass, tt.median, tt.pass)
		}
	}
}

func TestRows(t *testing.T) {
	rp := fakeReport()
	rows := rp.rows(rp.Sets[0])
	if len(rows) != 3 {
		t.Fatalf("%d rows", len(rows))
	}
	d, b, ign := rows[0], rows[1], rows[2]
	if d.FilesPerSec.Median != 1000 || d.FilesPerSec.N != 2 {
		t.Errorf("dicomrecv files/s %+v", d.FilesPerSec)
	}
	if want := (1.2 + 1.3) / 2; math.Abs(d.RatioFiles.Median-want) > 1e-9 {
		t.Errorf("ratio files/s %v, want %v", d.RatioFiles.Median, want)
	}
	if b.RatioFiles.Median != 1 || b.RatioCPU.Median != 1 {
		t.Errorf("storescp +B against itself: %+v %+v", b.RatioFiles, b.RatioCPU)
	}
	if ign.Runs != 2 || ign.Bad != 1 || len(ign.Errors) != 1 || ign.FilesPerSec.N != 1 {
		t.Errorf("ignore row: runs %d bad %d errors %v n %d", ign.Runs, ign.Bad, ign.Errors, ign.FilesPerSec.N)
	}
	if d.RSSMiB.Median != 16 {
		t.Errorf("RSS %v MiB", d.RSSMiB.Median)
	}
}

func TestWriteMarkdown(t *testing.T) {
	var b bytes.Buffer
	fakeReport().writeMarkdown(&b, "x.svg")
	md := b.String()
	for _, want := range []string{
		"# dicomrecv vs DCMTK storescp — quick benchmark, 2026-01-02 03:04 UTC",
		"Command: `bench/run.sh --quick` (2 repetitions, 5m0s).",
		"DCMTK never fsyncs.",
		"![throughput and CPU per GB](x.svg)",
		"| small files, 1 association: files/s ÷ storescp +B | 1.25 (1.20–1.30) | ≥ 1.15 | PASS |",
		"## small-1a-16k-nodelay",
		"| dicomrecv (fsync off) | 1000 | 500 | 1.25 (1.00–1.50) | 16.0 | 1.25 (1.20–1.30) | 0.62 (0.50–0.75) | 0.00 | 2/2 |",
		"| storescp --ignore (ceiling) | 1000 | 500 | 1.00 | 16.0 | 1.20 | 0.50 | 0.00 | 1/2 |",
		"- storescp --ignore (ceiling), rep 2: lost files: 1999 files",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q", want)
		}
	}
	// Every table row has as many cells as its header.
	var cols int
	for _, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "|") {
			cols = 0
			continue
		}
		n := strings.Count(line, "|")
		if cols == 0 {
			cols = n
		} else if n != cols {
			t.Errorf("row with %d bars under a header with %d: %s", n, cols, line)
		}
	}
}

func TestWriteSVG(t *testing.T) {
	var b bytes.Buffer
	fakeReport().writeSVG(&b)
	dec := xml.NewDecoder(&b)
	rects, texts := 0, 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			switch se.Name.Local {
			case "rect":
				rects++
			case "text":
				texts++
			}
		}
	}
	// Two bars (MB/s and CPU) per row with data: 3 + 2 + 2 + 1 rows (rows
	// without a good run have none), plus the background rectangle.
	if rects != 1+2*8 {
		t.Errorf("%d rectangles", rects)
	}
	if texts < 11 {
		t.Errorf("%d texts", texts)
	}
}

// A run narrowed by -scenarios or -receivers writes its own files but leaves
// latest.md (which README links) to the last whole run.
func TestWriteResultsSubsetKeepsLatest(t *testing.T) {
	dir := t.TempDir()
	read := func(name, wantPrefix string) []byte {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(b), wantPrefix) {
			t.Fatalf("%s starts %.80q, want %q", name, b, wantPrefix)
		}
		return b
	}
	if err := writeResults(dir, "2026-01-02-0304-quick", fakeReport(), io.Discard); err != nil {
		t.Fatal(err)
	}
	latest := read("latest.md", "# dicomrecv vs DCMTK storescp — quick benchmark,")
	sub := fakeReport()
	sub.Mode = "full" + subsetSuffix
	var out strings.Builder
	if err := writeResults(dir, "2026-01-02-0310-full-subset", sub, &out); err != nil {
		t.Fatal(err)
	}
	read("2026-01-02-0310-full-subset.md", "# dicomrecv vs DCMTK storescp — subset of the full benchmark,")
	if !bytes.Equal(read("latest.md", ""), latest) {
		t.Fatal("a subset run replaced latest.md")
	}
	if !strings.Contains(out.String(), "latest.md not replaced") {
		t.Fatalf("output does not say latest.md was kept: %q", out.String())
	}
}
