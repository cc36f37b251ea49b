package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/dicomrecv/dicomrecv/internal/testutil"
)

// TestGeneratedFilesUpToDate regenerates the tables and compares them with
// the checked-in files, so that a change of uids.tsv, of the generator or of
// the suyashkumar module that was not followed by go generate fails here.
func TestGeneratedFilesUpToDate(t *testing.T) {
	testutil.RequireTool(t, "go")
	dir, err := moduleDir()
	if err != nil {
		t.Fatal(err)
	}
	files, err := generate(dir, "uids.tsv")
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join("..", "..", "..", "dicom", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("dicom/%s is stale: run go generate ./dicom", name)
		}
	}
}

func TestVRPair(t *testing.T) {
	tests := []struct {
		in       []string
		vr, alt  string
		wantFail bool
	}{
		{in: []string{"CS"}, vr: "CS"},
		{in: []string{"US", "SS"}, vr: "US", alt: "SS"},
		{in: []string{"OB", "OW"}, vr: "OB", alt: "OW"},
		{in: []string{"US", "SS", "OW"}, vr: "US", alt: "OW"},
		{in: []string{"NA"}},
		{in: []string{"XX"}, wantFail: true},
		{in: []string{"US", "NA"}, wantFail: true},
		{in: []string{"US", "SS", "OB"}, wantFail: true},
	}
	for _, tc := range tests {
		vr, alt, err := vrPair(tc.in)
		if (err != nil) != tc.wantFail || vr != tc.vr || alt != tc.alt {
			t.Errorf("vrPair(%v) = %q, %q, %v", tc.in, vr, alt, err)
		}
	}
}

func TestParsePattern(t *testing.T) {
	tests := []struct {
		in          string
		mask, value uint32
		wantFail    bool
	}{
		{in: "002804x0", mask: 0xFFFFFF0F, value: 0x00280400},
		{in: "1000xxx5", mask: 0xFFFF000F, value: 0x10000005},
		{in: "1010xxxx", mask: 0xFFFF0000, value: 0x10100000},
		{in: "00100010", mask: 0xFFFFFFFF, value: 0x00100010},
		{in: "0010001", wantFail: true},
		{in: "0010001g", wantFail: true},
	}
	for _, tc := range tests {
		mask, value, err := parsePattern(tc.in)
		if (err != nil) != tc.wantFail || mask != tc.mask || value != tc.value {
			t.Errorf("parsePattern(%q) = %08X, %08X, %v", tc.in, mask, value, err)
		}
	}
}

func TestLoadUIDsRejects(t *testing.T) {
	tests := map[string]string{
		"fields":    "1.2.3\tSOP Class\t-\tKw\n",
		"type":      "1.2.3\tSOP Klass\t-\tKw\tName\n",
		"retired":   "1.2.3\tSOP Class\tyes\tKw\tName\n",
		"uid":       "1.02.3\tSOP Class\t-\tKw\tName\n",
		"keyword":   "1.2.3\tSOP Class\t-\t\tName\n",
		"duplicate": "1.2.3\tSOP Class\t-\tKw\tName\n1.2.4\tSOP Class\t-\tKw\tOther\n",
	}
	for name, content := range tests {
		p := filepath.Join(t.TempDir(), "uids.tsv")
		if err := os.WriteFile(p, []byte("# comment\n"+content), 0o644); err != nil {
			t.Fatal(err)
		}
		if rows, err := loadUIDs(p); err == nil {
			t.Errorf("%s: loadUIDs accepted %q: %v", name, content, rows)
		}
	}
}

func TestCheckUIDCoverage(t *testing.T) {
	rows := []uidRow{{uid: "1.2.840.10008.1.1"}}
	if err := checkUIDCoverage(rows, map[string]string{"1.2.840.10008.1.1": "", "1.2.840.10008.5.1.4.1.1.40": ""}); err != nil {
		t.Errorf("nameless UID not tolerated: %v", err)
	}
	if err := checkUIDCoverage(rows, map[string]string{"1.2.840.10008.1.2": "Implicit VR Little Endian"}); err == nil {
		t.Error("missing UID not reported")
	}
}

func TestValidUID(t *testing.T) {
	tests := map[string]bool{
		"1.2.840.10008.1.2": true, "0.1": true, "": false, "1..2": false, "1.02": false, "1.2.": false, "a.1": false,
	}
	for s, want := range tests {
		if got := validUID(s); got != want {
			t.Errorf("validUID(%q) = %v", s, got)
		}
	}
}
