package main

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func inode(t *testing.T, p string) uint64 {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

// TestEmptyFiles checks that a run's files are emptied in place: sizes go
// to zero, the inodes stay (nothing is deleted until cleanup), and cleanup
// then removes the run directories, including those an interrupted
// benchmark left behind.
func TestEmptyFilesAndCleanup(t *testing.T) {
	base := t.TempDir()
	old := filepath.Join(base, "111-1") // an interrupted benchmark's run
	run := filepath.Join(base, "222-1")
	files := []string{
		filepath.Join(old, "out", "CT.1.2.3"),
		filepath.Join(run, "out", "1.2.3", "1.2.3.4", "1.2.3.4.5.dcm"),
		filepath.Join(run, "out", ".dicomrecv", "studies.journal"),
		filepath.Join(run, "receiver.log"),
	}
	inodes := map[string]uint64{}
	for _, p := range files {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, make([]byte, 4096), 0o644); err != nil {
			t.Fatal(err)
		}
		inodes[p] = inode(t, p)
	}
	if err := emptyFiles(run); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(files[0]); fi.Size() != 4096 {
		t.Errorf("emptyFiles(%s) emptied another run's file", run)
	}
	rn := &runner{runBase: base}
	rn.adoptLeftovers() // empties the interrupted run's files too
	if len(rn.leftovers) != 2 {
		t.Errorf("adopted %v", rn.leftovers)
	}
	for _, p := range files {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatalf("%s deleted: %v", p, err)
		}
		if fi.Size() != 0 {
			t.Errorf("%s has %d bytes after emptying", p, fi.Size())
		}
		if inode(t, p) != inodes[p] {
			t.Errorf("%s was replaced, not emptied", p)
		}
	}
	if err := emptyFiles(filepath.Join(base, "missing")); err != nil {
		t.Errorf("emptying a missing directory: %v", err)
	}
	rn.cleanup()
	if entries, _ := os.ReadDir(base); len(entries) != 0 {
		t.Errorf("cleanup left %d entries", len(entries))
	}
}
