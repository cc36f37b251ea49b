package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dicomrecv/dicomrecv/internal/testutil"
)

// TestQuickEndToEnd runs the harness itself once: one repetition of the
// quick mode's TCP_NODELAY scenario, results in a temporary directory. It
// sends a gigabyte several times and takes a minute, so it runs only when
// asked for:
//
//	DICOMRECV_BENCH=1 go test -run EndToEnd -v ./bench
func TestQuickEndToEnd(t *testing.T) {
	if os.Getenv("DICOMRECV_BENCH") != "1" {
		t.Skip("the benchmark runs only on demand: DICOMRECV_BENCH=1 go test -run EndToEnd ./bench")
	}
	for _, tool := range []string{"storescu", "storescp", "dcmscale", "dcmodify", "dcmdump"} {
		testutil.RequireTool(t, tool)
	}
	testutil.RequireFile(t, sampleCT)
	results := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := run([]string{"-quick", "-reps", "1", "-scenarios", "nodelay", "-results", results, "-quiet-wait", "0", "-retries", "0"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	// -scenarios makes it a subset: its own files, and no latest.md.
	mds, _ := filepath.Glob(filepath.Join(results, "*-quick-subset.md"))
	if len(mds) != 1 {
		t.Fatalf("want one *-quick-subset.md in the results, got %v", mds)
	}
	md, err := os.ReadFile(mds[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## small-1a-16k-nodelay", "| dicomrecv (fsync off) |", "| storescp +B |", "| storescp --ignore (ceiling) |"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("%s lacks %q", filepath.Base(mds[0]), want)
		}
	}
	if strings.Contains(string(md), "Failed runs") || strings.Count(string(md), " 1/1 |") != 3 {
		t.Errorf("not every run succeeded:\n%s\n%s", md, stderr.String())
	}
	if _, err := os.Stat(strings.TrimSuffix(mds[0], ".md") + ".svg"); err != nil {
		t.Error(err)
	}
	if _, err := os.Stat(filepath.Join(results, "latest.md")); !os.IsNotExist(err) {
		t.Errorf("a subset run wrote latest.md (stat: %v)", err)
	}
	t.Logf("\n%s", stderr.String())
}
