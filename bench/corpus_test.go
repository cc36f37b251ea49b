package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
)

func TestSplit(t *testing.T) {
	files := make([]corpusFile, 2000)
	for i := range files {
		files[i].Path = filepath.Join("study"+string(rune('1'+i/500)), "slice")
	}
	parts := split(files, 4)
	if len(parts) != 4 {
		t.Fatalf("%d parts", len(parts))
	}
	for i, p := range parts {
		if len(p) != 500 {
			t.Errorf("part %d has %d files", i, len(p))
		}
		for _, f := range p {
			if f.Path != parts[i][0].Path {
				t.Errorf("part %d mixes studies: %s and %s", i, parts[i][0].Path, f.Path)
				break
			}
		}
	}
	tests := []struct {
		n, k int
		want []int
	}{
		{20, 4, []int{5, 5, 5, 5}},
		{10, 4, []int{2, 3, 2, 3}},
		{3, 4, []int{1, 1, 1}}, // no empty association
		{1, 1, []int{1}},
		{5, 0, []int{5}},
		{0, 4, []int{}},
	}
	for _, tt := range tests {
		var got []int
		total := 0
		for _, p := range split(make([]corpusFile, tt.n), tt.k) {
			got = append(got, len(p))
			total += len(p)
		}
		if !slices.Equal(got, tt.want) && !(len(got) == 0 && len(tt.want) == 0) {
			t.Errorf("split(%d, %d) sizes %v, want %v", tt.n, tt.k, got, tt.want)
		}
		if total != tt.n {
			t.Errorf("split(%d, %d) keeps %d files", tt.n, tt.k, total)
		}
	}
}

func TestLargeSizes(t *testing.T) {
	prev := 0
	for i := range largeCount {
		side := largeSide(i)
		bytes := 2 * side * side
		if side%2 != 0 || side <= prev || bytes < 49e6 || bytes > largeMaxBytes {
			t.Errorf("object %d: side %d, %d bytes of pixel data", i, side, bytes)
		}
		prev = side
	}
	if g := int64(giantSide) * giantSide * 2; g < 1<<30 || g > 1<<30+1<<20 {
		t.Errorf("giant pixel data %d bytes, want just over 1 GiB", g)
	}
}

func TestNewUID(t *testing.T) {
	valid := regexp.MustCompile(`^2\.25\.[1-9][0-9]*$`)
	seen := map[string]bool{}
	for range 1000 {
		u := newUID()
		if !valid.MatchString(u) || len(u) > 64 {
			t.Fatalf("bad UID %q (%d chars)", u, len(u))
		}
		if seen[u] {
			t.Fatalf("UID %s twice", u)
		}
		seen[u] = true
	}
}

func TestParseDumpUIDs(t *testing.T) {
	out := "(0002,0003) UI [1.2.276.0.7230010.3.1.4.1] #  54, 1 MediaStorageSOPInstanceUID\n" +
		"W: some warning\n" +
		"(0002,0003) UI [2.25.42]                                 #   8, 1 MediaStorageSOPInstanceUID\n" +
		"(0008,0018) UI [9.9]                                     #   4, 1 SOPInstanceUID\n" +
		"(0002,0003) UI (no value available)                      #   0, 0 MediaStorageSOPInstanceUID\n"
	got := parseDumpUIDs([]byte(out))
	if want := []string{"1.2.276.0.7230010.3.1.4.1", "2.25.42"}; !slices.Equal(got, want) {
		t.Errorf("parseDumpUIDs = %q, want %q", got, want)
	}
}

func TestCorpusCache(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"study1/a.dcm", "study1/b.dcm", "study2/c.dcm", "notes.txt"} {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, p), []byte(p), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	files, err := listFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []corpusFile{{"study1/a.dcm", 12}, {"study1/b.dcm", 12}, {"study2/c.dcm", 12}}
	if !slices.Equal(files, want) {
		t.Fatalf("listFiles = %v, want %v", files, want)
	}
	c := &corpus{Name: corpusSmall, Recipe: recipe(corpusSmall), Files: files, Dir: dir}
	if !c.complete() || c.Bytes() != 36 {
		t.Errorf("complete %v, bytes %d", c.complete(), c.Bytes())
	}
	os.WriteFile(filepath.Join(dir, "study1/b.dcm"), []byte("truncated"), 0o644)
	if c.complete() {
		t.Errorf("a file of another size counts as complete")
	}
	os.Remove(filepath.Join(dir, "study1/b.dcm"))
	if c.complete() {
		t.Errorf("a missing file counts as complete")
	}
	if (&corpus{Dir: dir}).complete() {
		t.Errorf("an empty manifest counts as complete")
	}
	for _, name := range []string{corpusSmall, corpusLarge, corpusGiant} {
		if recipe(name) == "" {
			t.Errorf("no recipe for %s", name)
		}
	}
}
