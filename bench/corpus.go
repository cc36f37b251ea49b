package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// corpusVersion changes whenever a recipe changes, so that a cached corpus
// built by an older recipe is rebuilt.
const corpusVersion = 1

// Corpus recipes. The source image is pydicom's CT_small.dcm (128 x 128, 16
// bits, explicit VR little endian), enlarged by dcmscale.
const (
	smallStudies        = 4
	smallSlicesPerStudy = 500
	smallSide           = 512 // 512 x 512 x 2 bytes: a 0.53 MB file
	largeCount          = 20
	largeMinBytes       = 50e6
	largeMaxBytes       = 100e6
	// giantSide gives 23171^2 * 2 = 1,073,790,482 bytes of pixel data, just
	// over 1 GiB. dcmscale needs about 2.1 GB of memory and 5 s for it.
	giantSide = 23171
)

// sampleCT is the pydicom sample the corpus is made from.
const sampleCT = "/usr/lib/python3/dist-packages/pydicom/data/test_files/CT_small.dcm"

// corpusFile is one file of a corpus; Path is relative to the corpus
// directory.
type corpusFile struct {
	Path string `json:"path"`
	Size int64  `json:"size"`
}

// corpus is a set of files sent as one scenario.
type corpus struct {
	Name   string       `json:"name"`
	Recipe string       `json:"recipe"`
	Files  []corpusFile `json:"files"`
	Dir    string       `json:"-"`
}

// Bytes is the total size of the files.
func (c *corpus) Bytes() int64 {
	var n int64
	for _, f := range c.Files {
		n += f.Size
	}
	return n
}

// split cuts the file list into n contiguous parts of nearly equal length,
// one per association. The small corpus is sorted by study, so four parts
// are the four studies.
func split(files []corpusFile, n int) [][]corpusFile {
	if n < 1 {
		n = 1
	}
	parts := make([][]corpusFile, 0, n)
	for i := 0; i < n; i++ {
		lo, hi := i*len(files)/n, (i+1)*len(files)/n
		if hi > lo {
			parts = append(parts, files[lo:hi])
		}
	}
	return parts
}

// tools are the DCMTK programs the harness runs.
type tools struct {
	Storescu, Storescp, Dcmscale, Dcmodify, Dcmdump string
}

func findTools() (tools, error) {
	var t tools
	var missing []string
	for _, p := range []struct {
		name string
		dst  *string
	}{{"storescu", &t.Storescu}, {"storescp", &t.Storescp}, {"dcmscale", &t.Dcmscale},
		{"dcmodify", &t.Dcmodify}, {"dcmdump", &t.Dcmdump}} {
		path, err := exec.LookPath(p.name)
		if err != nil {
			missing = append(missing, p.name)
			continue
		}
		*p.dst = path
	}
	if _, err := os.Stat(sampleCT); err != nil {
		missing = append(missing, sampleCT)
	}
	if len(missing) > 0 {
		return t, fmt.Errorf("missing %s: install DCMTK and python3-pydicom (bash .ci/run does)", strings.Join(missing, ", "))
	}
	return t, nil
}

// recipe describes how a corpus is made; a cached corpus is reused only if
// it was made by the same recipe.
func recipe(name string) string {
	switch name {
	case corpusSmall:
		return fmt.Sprintf("v%d: %d studies x %d slices, dcmscale %dx%d of CT_small.dcm, dcmodify -gin + new study/series UIDs",
			corpusVersion, smallStudies, smallSlicesPerStudy, smallSide, smallSide)
	case corpusLarge:
		return fmt.Sprintf("v%d: %d objects of %.0f-%.0f MB, dcmscale of CT_small.dcm", corpusVersion, largeCount, largeMinBytes/1e6, largeMaxBytes/1e6)
	case corpusGiant:
		return fmt.Sprintf("v%d: one object, dcmscale %dx%d of CT_small.dcm", corpusVersion, giantSide, giantSide)
	}
	return ""
}

// loadCorpus returns the cached corpus under workDir/corpus/name, building
// it first when it is missing, incomplete or made by another recipe.
func loadCorpus(workDir, name string, t tools, log io.Writer) (*corpus, error) {
	dir := filepath.Join(workDir, "corpus", name)
	if c, err := readManifest(dir); err == nil && c.Recipe == recipe(name) && c.complete() {
		return c, nil
	}
	fmt.Fprintf(log, "building the %s corpus (%s) ...\n", name, recipe(name))
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	tmp := dir + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return nil, err
	}
	need := map[string]int64{corpusSmall: 1.2e9, corpusLarge: 1.6e9, corpusGiant: 1.2e9}[name]
	if err := checkFreeDisk(tmp, need); err != nil {
		return nil, err
	}
	var err error
	switch name {
	case corpusSmall:
		err = buildSmall(tmp, t)
	case corpusLarge:
		err = buildLarge(tmp, t)
	case corpusGiant:
		err = runTool(t.Dcmscale, "+Sxv", fmt.Sprint(giantSide), "+Syv", fmt.Sprint(giantSide), sampleCT, filepath.Join(tmp, "giant.dcm"))
	default:
		err = fmt.Errorf("unknown corpus %q", name)
	}
	if err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("building the %s corpus: %w", name, err)
	}
	c := &corpus{Name: name, Recipe: recipe(name)}
	if c.Files, err = listFiles(tmp); err != nil {
		return nil, err
	}
	if name != corpusGiant {
		if err := checkUniqueUIDs(tmp, c.Files, t); err != nil {
			return nil, err
		}
	}
	b, _ := json.MarshalIndent(c, "", " ")
	if err := os.WriteFile(filepath.Join(tmp, "manifest.json"), b, 0o644); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return nil, err
	}
	c.Dir = dir
	fmt.Fprintf(log, "  %d files, %.2f GB\n", len(c.Files), float64(c.Bytes())/1e9)
	return c, nil
}

func readManifest(dir string) (*corpus, error) {
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return nil, err
	}
	c := &corpus{}
	if err := json.Unmarshal(b, c); err != nil {
		return nil, err
	}
	c.Dir = dir
	return c, nil
}

// complete reports whether every file of the manifest is present with its
// size.
func (c *corpus) complete() bool {
	if len(c.Files) == 0 {
		return false
	}
	for _, f := range c.Files {
		fi, err := os.Stat(filepath.Join(c.Dir, f.Path))
		if err != nil || fi.Size() != f.Size {
			return false
		}
	}
	return true
}

// listFiles lists the .dcm files under dir, sorted by path.
func listFiles(dir string) ([]corpusFile, error) {
	var files []corpusFile
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(p, ".dcm") {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		files = append(files, corpusFile{Path: rel, Size: fi.Size()})
		return nil
	})
	slices.SortFunc(files, func(a, b corpusFile) int { return strings.Compare(a.Path, b.Path) })
	return files, err
}

func buildSmall(dir string, t tools) error {
	template := filepath.Join(dir, "template.dcm.tmp")
	if err := runTool(t.Dcmscale, "+Sxv", fmt.Sprint(smallSide), "+Syv", fmt.Sprint(smallSide), sampleCT, template); err != nil {
		return err
	}
	data, err := os.ReadFile(template)
	if err != nil {
		return err
	}
	for s := 1; s <= smallStudies; s++ {
		sdir := filepath.Join(dir, fmt.Sprintf("study%d", s))
		if err := os.MkdirAll(sdir, 0o755); err != nil {
			return err
		}
		args := []string{"-nb", "-gin",
			"-m", "(0020,000D)=" + newUID(), // Study Instance UID
			"-m", "(0020,000E)=" + newUID(), // Series Instance UID
		}
		for i := 1; i <= smallSlicesPerStudy; i++ {
			p := filepath.Join(sdir, fmt.Sprintf("slice%04d.dcm", i))
			if err := os.WriteFile(p, data, 0o644); err != nil {
				return err
			}
			args = append(args, p)
		}
		// -gin gives every file a fresh SOP Instance UID (data set and
		// file meta); one study and one series UID per study.
		if err := runTool(t.Dcmodify, args...); err != nil {
			return err
		}
	}
	return os.Remove(template)
}

func buildLarge(dir string, t tools) error {
	for i := 0; i < largeCount; i++ {
		side := largeSide(i)
		// dcmscale gives each output a new SOP Instance UID (+ua, its default).
		p := filepath.Join(dir, fmt.Sprintf("large%02d.dcm", i+1))
		if err := runTool(t.Dcmscale, "+Sxv", fmt.Sprint(side), "+Syv", fmt.Sprint(side), sampleCT, p); err != nil {
			return err
		}
	}
	return nil
}

// largeSide is the side of the square 16-bit image i of the large corpus:
// pixel data sizes spread evenly from largeMinBytes to largeMaxBytes.
func largeSide(i int) int {
	target := largeMinBytes + float64(i)*(largeMaxBytes-largeMinBytes)/float64(largeCount-1)
	side := int(math.Sqrt(target / 2))
	return side &^ 1
}

// newUID returns a UID under the 2.25 arc made from a random UUID (PS3.5
// §B.2): "2.25." followed by the UUID's 128 bits as a decimal integer.
func newUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // variant RFC 4122
	return "2.25." + new(big.Int).SetBytes(b[:]).String()
}

// checkUniqueUIDs reads the Media Storage SOP Instance UID of every file
// with dcmdump and fails if two files share one (a receiver would store
// them under one name, and the run would count lost files).
func checkUniqueUIDs(dir string, files []corpusFile, t tools) error {
	seen := map[string]string{}
	for _, part := range split(files, (len(files)+499)/500) {
		args := []string{"-q", "-M", "+P", "0002,0003"}
		for _, f := range part {
			args = append(args, filepath.Join(dir, f.Path))
		}
		out, err := exec.Command(t.Dcmdump, args...).Output()
		if err != nil {
			return fmt.Errorf("dcmdump: %w", err)
		}
		uids := parseDumpUIDs(out)
		if len(uids) != len(part) {
			return fmt.Errorf("dcmdump printed %d SOP Instance UIDs for %d files", len(uids), len(part))
		}
		for i, u := range uids {
			if prev, dup := seen[u]; dup {
				return fmt.Errorf("%s and %s share SOP Instance UID %s", prev, part[i].Path, u)
			}
			seen[u] = part[i].Path
		}
	}
	return nil
}

// parseDumpUIDs extracts the bracketed values of dcmdump's "+P" lines, e.g.
// `(0002,0003) UI [1.2.3] #   6, 1 MediaStorageSOPInstanceUID`.
func parseDumpUIDs(out []byte) []string {
	var uids []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		i, j := strings.IndexByte(line, '['), strings.IndexByte(line, ']')
		if strings.HasPrefix(line, "(0002,0003)") && i > 0 && j > i {
			uids = append(uids, line[i+1:j])
		}
	}
	return uids
}

func runTool(name string, args ...string) error {
	cmd := exec.Command(name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdout = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w: %s", filepath.Base(name), err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// checkFreeDisk fails when the file system holding dir has less than need
// bytes free.
func checkFreeDisk(dir string, need int64) error {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return fmt.Errorf("statfs %s: %w", dir, err)
	}
	free := int64(st.Bavail) * int64(st.Bsize)
	if free < need {
		return fmt.Errorf("%s: %.1f GB free, need %.1f GB: %w", dir, float64(free)/1e9, float64(need)/1e9, errNoSpace)
	}
	return nil
}

var errNoSpace = errors.New("not enough disk space")
