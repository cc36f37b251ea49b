package charset

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dicomrecv/dicomrecv/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite testdata/pydicom_golden.json from the installed pydicom")

const (
	script = "testdata/pydicom_charset.py"
	golden = "testdata/pydicom_golden.json"
)

// record is one element value as pydicom decodes it (see the script).
type record struct {
	Src     string `json:"src"`
	Charset string `json:"charset"`
	VR      string `json:"vr"`
	Raw     []byte `json:"raw"`
	Value   string `json:"value"`
}

type records struct {
	Pydicom string   `json:"pydicom"`
	Records []record `json:"records"`
}

// presentLikePydicom turns the result of Decode into the value pydicom shows
// for the element: pydicom splits SH, LO, UC and PN at "\", removes trailing
// spaces and NULs (PN: of the whole value) and drops empty trailing PN
// component groups. The other VRs are compared as decoded.
func presentLikePydicom(vr, s string) string {
	switch classify(vr) {
	case classText:
		return strings.TrimRight(s, "\x00 ")
	case classMulti:
		vals := strings.Split(s, `\`)
		for i, v := range vals {
			vals[i] = strings.TrimRight(v, "\x00 ")
		}
		return strings.Join(vals, `\`)
	case classPN:
		vals := strings.Split(strings.TrimRight(s, "\x00 "), `\`)
		for i, v := range vals {
			groups := strings.Split(v, "=")
			for len(groups) > 0 && groups[len(groups)-1] == "" {
				groups = groups[:len(groups)-1]
			}
			vals[i] = strings.Join(groups, "=")
		}
		return strings.Join(vals, `\`)
	}
	return s
}

func checkRecords(t *testing.T, rs []record) {
	t.Helper()
	if len(rs) == 0 {
		t.Fatal("no records")
	}
	for _, r := range rs {
		d, _ := New(r.Charset) // unknown terms are part of the cases
		got := presentLikePydicom(r.VR, d.Decode(r.Raw, r.VR))
		if got != r.Value {
			raw := r.Raw
			if len(raw) > 64 {
				raw = raw[:64]
			}
			t.Errorf("%s: New(%q).Decode(%q..., %s) differs from pydicom (-pydicom +Decode):\n%s",
				r.Src, r.Charset, raw, r.VR, cmp.Diff(r.Value, got))
		}
	}
}

func readGolden(t *testing.T) records {
	t.Helper()
	b, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	var g records
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatalf("%s: %v", golden, err)
	}
	return g
}

// TestPydicomGolden checks Decode against pydicom's decoding of the text
// elements of pydicom's sample files, recorded in the golden file, so that
// it runs without Python.
func TestPydicomGolden(t *testing.T) {
	g := readGolden(t)
	files := map[string]bool{}
	for _, r := range g.Records {
		files[strings.SplitN(r.Src, "(", 2)[0]] = true
	}
	// Every charset sample must be there (PS3.5 Annex H, I, J examples).
	for _, f := range []string{"chrArab", "chrFren", "chrFrenMulti", "chrGerm", "chrGreek", "chrH31",
		"chrH32", "chrHbrw", "chrI2", "chrJapMulti", "chrJapMultiExplicitIR6", "chrKoreanMulti",
		"chrRuss", "chrSQEncoding", "chrSQEncoding1", "chrX1", "chrX2"} {
		if !files["charset_files/"+f+".dcm"] {
			t.Errorf("golden file has no record of %s.dcm", f)
		}
	}
	checkRecords(t, g.Records)
}

// TestPydicomLive runs the script with the installed pydicom, over the
// sample files plus every character of the double-byte sets, and checks
// that the golden file is current (rewrites it with -update).
func TestPydicomLive(t *testing.T) {
	python := testutil.RequireTool(t, testutil.Python)
	testutil.RequireFile(t, testutil.PydicomCharsetFiles)
	testutil.RequireFile(t, testutil.PydicomTestFiles)
	cmd := exec.Command(python, script, "--tables")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", script, err, stderr.Bytes())
	}
	var live records
	if err := json.Unmarshal(out, &live); err != nil {
		t.Fatalf("%s output: %v", script, err)
	}
	checkRecords(t, live.Records)

	// The golden file is the same output without the tables.
	kept := live.Records[:0:0]
	tables := 0
	for _, r := range live.Records {
		if strings.HasPrefix(r.Src, "table:") {
			tables++
			continue
		}
		kept = append(kept, r)
	}
	if tables != 4 {
		t.Errorf("%d table records, want 4", tables)
	}
	if *update {
		cmd := exec.Command(python, script)
		b, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.FromSlash(golden), b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	g := readGolden(t)
	if g.Pydicom != live.Pydicom {
		t.Errorf("golden file made with pydicom %s, installed %s: run go test -run TestPydicomLive -update",
			g.Pydicom, live.Pydicom)
		return
	}
	if diff := cmp.Diff(g.Records, kept); diff != "" {
		t.Errorf("golden file out of date (-golden +live), run go test -run TestPydicomLive -update:\n%s", diff)
	}
}
