package dicom

import (
	"encoding/json"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	sktag "github.com/suyashkumar/dicom/pkg/tag"

	"github.com/dicomrecv/dicomrecv/internal/testutil"
)

func TestLookupTag(t *testing.T) {
	tests := []struct {
		tag  Tag
		want Entry
		ok   bool
	}{
		{0x00100010, Entry{0x00100010, PN, 0, "1", "PatientName", "Patient's Name", false}, true},
		{0x00020000, Entry{0x00020000, UL, 0, "1", "FileMetaInformationGroupLength", "File Meta Information Group Length", false}, true},
		{TagPixelData, Entry{TagPixelData, OB, OW, "1", "PixelData", "Pixel Data", false}, true},
		{0x00280106, Entry{0x00280106, US, SS, "1", "SmallestImagePixelValue", "Smallest Image Pixel Value", false}, true},
		{0x00283006, Entry{0x00283006, US, OW, "1-n or 1", "LUTData", "LUT Data", false}, true},
		{0x00281200, Entry{0x00281200, US, OW, "1-n or 1", "GrayLookupTableData", "Gray Lookup Table Data", true}, true},
		{TagItem, Entry{TagItem, 0, 0, "1", "Item", "Item", false}, true},
		{TagSequenceDelimitationItem, Entry{TagSequenceDelimitationItem, 0, 0, "1", "SequenceDelimitationItem", "Sequence Delimitation Item", false}, true},
		{0x00080001, Entry{0x00080001, UL, 0, "1", "LengthToEnd", "Length to End", true}, true},
		// Repeating groups (PS3.5 §7.6): the xx=00 entry, its Tag included.
		{0x60000010, Entry{0x60000010, US, 0, "1", "OverlayRows", "Overlay Rows", false}, true},
		{0x60020010, Entry{0x60000010, US, 0, "1", "OverlayRows", "Overlay Rows", false}, true},
		{0x601E3000, Entry{0x60003000, OB, OW, "1", "OverlayData", "Overlay Data", false}, true},
		{0x60203000, Entry{}, false}, // xx beyond 1E
		{0x50100005, Entry{0x50000005, US, 0, "1", "CurveDimensions", "Curve Dimensions", true}, true},
		{0x7F020010, Entry{0x7F000010, OB, OW, "1", "VariablePixelData", "Variable Pixel Data", true}, true},
		{0x7FE00011, Entry{}, false}, // 7FE0 is not an instance of 7Fxx
		// Masked tags: the exact entry wins over the (0028,04x0) pattern.
		{0x00280400, Entry{0x00280400, LO, 0, "1", "TransformLabel", "Transform Label", true}, true},
		{0x00280410, Entry{0x00280400, US, 0, "1", "RowsForNthOrderCoefficients", "Rows For Nth Order Coefficients", true}, true},
		{0x002804F3, Entry{0x00280403, AT, 0, "1-n", "CoefficientCodingPointers", "Coefficient Coding Pointers", true}, true},
		{0x00280812, Entry{0x00280802, US, 0, "1", "NumberOfTables", "Number of Tables", true}, true},
		{0x00203105, Entry{0x00203100, CS, 0, "1-n", "SourceImageIDs", "Source Image IDs", true}, true},
		{0x10000015, Entry{0x10000005, US, 0, "3", "ShiftTableTriplet", "Shift Table Triplet", true}, true},
		{0x10000016, Entry{}, false},
		{0x10101234, Entry{0x10100000, US, 0, "1-n", "ZonalMap", "Zonal Map", true}, true},
		// Generic group length (PS3.5 §7.2).
		{0x00080000, Entry{0x00080000, UL, 0, "1", GenericGroupLengthKeyword, "Generic Group Length", false}, true},
		{0x60020000, Entry{0x60020000, UL, 0, "1", GenericGroupLengthKeyword, "Generic Group Length", false}, true},
		{0x00000000, Entry{0x00000000, UL, 0, "1", GenericGroupLengthKeyword, "Generic Group Length", false}, true},
		{0xFFFE0000, Entry{}, false},
		{0x00090000, Entry{}, false}, // private group: no generic entry
		// Private creators (PS3.5 §7.8.1).
		{0x00090010, Entry{0x00090010, LO, 0, "1", "", "Private Creator", false}, true},
		{0x600100FF, Entry{0x600100FF, LO, 0, "1", "", "Private Creator", false}, true},
		{0x00091010, Entry{}, false},
		{0x0009000F, Entry{}, false},
		{0x00090100, Entry{}, false},
		{0x00030010, Entry{}, false}, // not a private group
		{0xFFFF0010, Entry{}, false},
		// Not in PS3.6: command elements (PS3.7) and unassigned tags.
		{0x00000100, Entry{}, false},
		{0x00100011 + 0x0100, Entry{}, false},
	}
	for _, tc := range tests {
		got, ok := LookupTag(tc.tag)
		if ok != tc.ok {
			t.Errorf("LookupTag(%v) ok = %v, want %v", tc.tag, ok, tc.ok)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("LookupTag(%v) (-want +got):\n%s", tc.tag, diff)
		}
	}
}

func TestDictTablesConsistent(t *testing.T) {
	if len(dictTags) != len(dictEntries) || len(dictByKeyword) != len(dictEntries) || len(dictKeywords) != len(dictEntries) {
		t.Fatalf("table lengths differ: %d tags, %d entries, %d keyword index, %d keywords", len(dictTags), len(dictEntries), len(dictByKeyword), len(dictKeywords))
	}
	for i, idx := range dictByKeyword {
		if dictEntries[idx].Keyword != dictKeywords[i] {
			t.Errorf("dictKeywords[%d] = %s, index gives %s", i, dictKeywords[i], dictEntries[idx].Keyword)
		}
	}
	for i, e := range dictEntries {
		if dictTags[i] != e.Tag {
			t.Errorf("dictTags[%d] = %v, entry tag %v", i, dictTags[i], e.Tag)
		}
		if i > 0 && dictTags[i-1] > dictTags[i] {
			t.Errorf("dictTags not sorted at %d", i)
		}
		if e.Keyword == "" || e.Name == "" || e.VM == "" {
			t.Errorf("entry %d (%v) has an empty field: %+v", i, e.Tag, e)
			continue
		}
		// ResolveTag tells keywords from tags by their first byte ("dBdt"
		// is the one keyword in lower case).
		if c := e.Keyword[0] | 0x20; c < 'a' || c > 'z' || strings.Contains(e.Keyword, ",") {
			t.Errorf("keyword %q does not start with a letter or has a comma", e.Keyword)
		}
		if e.VR != 0 && !e.VR.Known() || e.AltVR != 0 && !e.AltVR.Known() {
			t.Errorf("entry %v has an unknown VR: %+v", e.Tag, e)
		}
	}
	masked := map[uint16]bool{}
	for _, m := range dictMasked {
		masked[m.index] = true
		e := dictEntries[m.index]
		if e.Tag&m.mask != m.value {
			t.Errorf("masked %s: tag %v does not match its own mask", e.Keyword, e.Tag)
		}
	}
	// A tag repeats only where a masked entry shares its x=0 instance, and
	// then the exact entry comes first.
	for i := 1; i < len(dictEntries); i++ {
		if dictTags[i] == dictTags[i-1] && (!masked[uint16(i)] || masked[uint16(i-1)]) {
			t.Errorf("tag %v repeated at %d without a masked entry after an exact one", dictTags[i], i)
		}
	}
	// Every entry is found by LookupTag (the exact one where two share a
	// tag) and by LookupKeyword.
	for i, e := range dictEntries {
		if !masked[uint16(i)] || i == 0 || dictTags[i-1] != e.Tag {
			if got, ok := LookupTag(e.Tag); !ok || got != e {
				t.Errorf("LookupTag(%v) = %+v, %v; want %+v", e.Tag, got, ok, e)
			}
		}
		if got, ok := LookupKeyword(e.Keyword); !ok || got != e {
			t.Errorf("LookupKeyword(%q) = %+v, %v; want %+v", e.Keyword, got, ok, e)
		}
	}
}

// TestDictMatchesSuyashkumar checks every generated entry against the
// generator's source, github.com/suyashkumar/dicom/pkg/tag, so that a stale
// dict_gen.go fails here.
func TestDictMatchesSuyashkumar(t *testing.T) {
	// Where the source's map literal has two entries for one tag, its Find
	// returns the later one; PS3.6 has (0028,0400)-(0028,0403) as exact tags
	// and the (0028,04x0) patterns, and the exact tag wins (as in pydicom).
	collided := map[Tag]string{
		0x00280400: "RowsForNthOrderCoefficients",
		0x00280401: "ColumnsForNthOrderCoefficients",
		0x00280402: "CoefficientCoding",
		0x00280403: "CoefficientCodingPointers",
	}
	seen := map[Tag]bool{}
	for _, e := range dictEntries {
		first := !seen[e.Tag]
		seen[e.Tag] = true
		info, err := sktag.Find(sktag.Tag{Group: e.Tag.Group(), Element: e.Tag.Element()})
		if err != nil {
			t.Errorf("%v %s: not in suyashkumar: %v", e.Tag, e.Keyword, err)
			continue
		}
		if kw, ok := collided[e.Tag]; ok && first {
			if info.Keyword != kw {
				t.Errorf("%v: suyashkumar keyword %s, want the known collision %s", e.Tag, info.Keyword, kw)
			}
			continue
		}
		want := Entry{Tag: e.Tag, VM: info.VM, Keyword: info.Keyword, Name: info.Name, Retired: info.Retired}
		want.VR, want.AltVR = dictTestVRs(t, info.VRs)
		if diff := cmp.Diff(want, e); diff != "" {
			t.Errorf("%v (-suyashkumar +ours):\n%s", e.Tag, diff)
		}
	}
}

// dictTestVRs applies the generator's documented mapping of PS3.6's VR
// column: the first two VRs, except "US or SS or OW" which is (US, OW), and
// no VR for the items' "NA".
func dictTestVRs(t *testing.T, vrs []string) (VR, VR) {
	t.Helper()
	if slices.Equal(vrs, []string{"NA"}) || slices.Equal(vrs, []string{"NONE"}) {
		return 0, 0
	}
	if slices.Equal(vrs, []string{"US", "SS", "OW"}) {
		return US, OW
	}
	var out [2]VR
	for i, s := range vrs {
		if len(s) != 2 || i > 1 {
			t.Fatalf("unexpected VR list %q", vrs)
		}
		v, ok := VRFromBytes(s[0], s[1])
		if !ok {
			t.Fatalf("unknown VR %q", s)
		}
		out[i] = v
	}
	return out[0], out[1]
}

func TestLookupKeyword(t *testing.T) {
	tests := []struct {
		kw   string
		want Tag
		ok   bool
	}{
		{"PatientName", 0x00100010, true},
		{"SOPClassUID", TagSOPClassUID, true},
		{"OverlayData", 0x60003000, true},
		{"RowsForNthOrderCoefficients", 0x00280400, true},
		{"TransformLabel", 0x00280400, true},
		{"LengthToEnd", 0x00080001, true}, // retired
		{"patientname", 0, false},
		{"PatientsName", 0, false},
		{"", 0, false},
		{GenericGroupLengthKeyword, 0, false},
	}
	for _, tc := range tests {
		e, ok := LookupKeyword(tc.kw)
		if ok != tc.ok || e.Tag != tc.want {
			t.Errorf("LookupKeyword(%q) = %v, %v; want %v, %v", tc.kw, e.Tag, ok, tc.want, tc.ok)
		}
	}
}

func TestKeywords(t *testing.T) {
	kws := Keywords()
	if len(kws) != len(dictEntries) {
		t.Fatalf("Keywords() has %d, dictionary %d entries", len(kws), len(dictEntries))
	}
	if !slices.IsSorted(kws) {
		t.Error("Keywords() not sorted")
	}
	if len(slices.Compact(slices.Clone(kws))) != len(kws) {
		t.Error("Keywords() has duplicates")
	}
	for _, kw := range []string{"PatientName", "PixelData", "OverlayRows", "LengthToEnd"} {
		if _, ok := slices.BinarySearch(kws, kw); !ok {
			t.Errorf("Keywords() lacks %s", kw)
		}
	}
	kws[0] = "changed"
	if Keywords()[0] == "changed" {
		t.Error("Keywords() returned shared storage")
	}
}

// dictPydicomDump prints pydicom's DicomDictionary and RepeatersDictionary as
// JSON: {"dict": {tag: [VR, VM, name, retired, keyword]}, "repeaters":
// {mask: [...]}, "version": ...}.
const dictPydicomDump = `
import json, pydicom
from pydicom.datadict import DicomDictionary, RepeatersDictionary
print(json.dumps({"version": pydicom.__version__,
  "dict": {"%08X" % k: list(v) for k, v in DicomDictionary.items()},
  "repeaters": {k: list(v) for k, v in RepeatersDictionary.items()}}))
`

func dictRunPython(t *testing.T, script string, out any) {
	t.Helper()
	py := testutil.RequireTool(t, testutil.Python)
	cmd := exec.Command(py, "-c", script)
	b, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok && strings.Contains(string(ee.Stderr), "No module named") {
			testutil.Missing(t, "pydicom for "+testutil.Python)
		}
		t.Fatalf("%s: %v", testutil.Python, err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("pydicom output: %v", err)
	}
}

// TestDictMatchesPydicom checks that every keyword pydicom 2.3.1 knows is in
// the dictionary with the same tag, VR and VM, apart from the differences
// listed here.
func TestDictMatchesPydicom(t *testing.T) {
	var dump struct {
		Version   string
		Dict      map[string][5]string
		Repeaters map[string][5]string
	}
	dictRunPython(t, dictPydicomDump, &dump)
	t.Logf("pydicom %s: %d entries, %d repeaters", dump.Version, len(dump.Dict), len(dump.Repeaters))

	const commandGroup = "command element: PS3.7 Annex E, not PS3.6; the DIMSE layer has its own table"
	notOurs := map[string]string{}
	for _, kw := range []string{
		"CommandGroupLength", "CommandLengthToEnd", "AffectedSOPClassUID", "RequestedSOPClassUID",
		"CommandRecognitionCode", "CommandField", "MessageID", "MessageIDBeingRespondedTo", "Initiator",
		"Receiver", "FindLocation", "MoveDestination", "Priority", "CommandDataSetType", "NumberOfMatches",
		"ResponseSequenceNumber", "Status", "OffendingElement", "ErrorComment", "ErrorID",
		"AffectedSOPInstanceUID", "RequestedSOPInstanceUID", "EventTypeID", "AttributeIdentifierList",
		"ActionTypeID", "NumberOfRemainingSuboperations", "NumberOfCompletedSuboperations",
		"NumberOfFailedSuboperations", "NumberOfWarningSuboperations", "MoveOriginatorApplicationEntityTitle",
		"MoveOriginatorMessageID", "DialogReceiver", "TerminalType", "MessageSetID", "EndMessageID",
		"DisplayFormat", "PagePositionID", "TextFormatID", "NormalReverse", "AddGrayScale", "Borders",
		"Copies", "CommandMagnificationType", "Erase", "Print", "Overlays",
	} {
		notOurs[kw] = commandGroup
	}
	// Same keyword and tag, another VR or VM, with the reason.
	differs := map[string]string{
		"FrameType":           "VM 4-5 since DICOM 2023 (pydicom 2.3.1 has 4; pydicom 3 has 4-5)",
		"LUTData":             `VM: PS3.6 writes "1-n or 1" (1-n as US, 1 as OW); pydicom shortens it to 1-n`,
		"GrayLookupTableData": `VM as LUTData; VR "US or SS or OW" is (US, OW) here, see vrPair in internal/gen/dictgen`,
	}

	check := func(tag Tag, v [5]string, source string) {
		vr, vm, kw := v[0], v[1], v[4]
		if kw == "" {
			return // (300A,0782) and the like: retired, no keyword
		}
		if _, ok := notOurs[kw]; ok {
			if _, found := LookupKeyword(kw); found {
				t.Errorf("%s: listed as missing but found; update the list", kw)
			}
			return
		}
		e, ok := LookupKeyword(kw)
		if !ok {
			t.Errorf("%s %s (%v %s %s) not in the dictionary", source, kw, tag, vr, vm)
			return
		}
		wantVR, wantAlt := dictTestVRs(t, strings.Split(vr, " or "))
		same := e.Tag == tag && e.VR == wantVR && e.AltVR == wantAlt && e.VM == vm
		if reason, listed := differs[kw]; listed {
			if same {
				t.Errorf("%s: listed as different (%s) but equal; update the list", kw, reason)
			}
			if e.Tag != tag {
				t.Errorf("%s: tag %v, pydicom %v", kw, e.Tag, tag)
			}
			return
		}
		if !same {
			t.Errorf("%s: ours %v %v/%v %q, pydicom %s %v %s %q", kw, e.Tag, e.VR, e.AltVR, e.VM, source, tag, vr, vm)
		}
	}
	for k, v := range dump.Dict {
		n, err := strconv.ParseUint(k, 16, 32)
		if err != nil {
			t.Fatal(err)
		}
		check(Tag(n), v, "dict")
	}
	for k, v := range dump.Repeaters {
		n, err := strconv.ParseUint(strings.ReplaceAll(k, "x", "0"), 16, 32)
		if err != nil {
			t.Fatal(err)
		}
		check(Tag(n), v, "repeater "+k)
		// The mask works through LookupTag: xx = 02 for groups, x = 1 in
		// elements.
		probe := strings.Replace(strings.Replace(k, "xx", "02", 1), "x", "1", -1)
		p, _ := strconv.ParseUint(probe, 16, 32)
		if e, ok := LookupTag(Tag(p)); !ok || e.Keyword != v[4] {
			t.Errorf("LookupTag(%s) for repeater %s = %s, %v; want %s", probe, k, e.Keyword, ok, v[4])
		}
	}
}

// Benchmarks: binary search over the generated table (what LookupTag does)
// against a map built once with sync.OnceValue, the alternative the design
// left open.

var dictBenchTags = []Tag{
	0x00080005, 0x00080016, 0x00080018, 0x00080060, 0x00100010, 0x00100020, 0x0020000D, 0x0020000E,
	0x00280010, 0x00280011, 0x00280100, 0x7FE00010, 0x00181150, 0x00540016, 0x300A011E, 0xFFFEE000,
}

func BenchmarkLookupTag(b *testing.B) {
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, ok := LookupTag(dictBenchTags[i%len(dictBenchTags)]); !ok {
			b.Fatal("not found")
		}
	}
}

func BenchmarkLookupTagPrivate(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := LookupTag(0x00291010); ok {
			b.Fatal("found")
		}
	}
}

var dictBenchMap = sync.OnceValue(dictBuildTagMap)

func dictBuildTagMap() map[Tag]int {
	m := make(map[Tag]int, len(dictEntries))
	for i := len(dictEntries) - 1; i >= 0; i-- {
		m[dictEntries[i].Tag] = i
	}
	return m
}

func BenchmarkLookupTagMapAlternative(b *testing.B) {
	b.ReportAllocs()
	m := dictBenchMap()
	for i := 0; b.Loop(); i++ {
		if _, ok := m[dictBenchTags[i%len(dictBenchTags)]]; !ok {
			b.Fatal("not found")
		}
	}
}

func BenchmarkBuildTagMapAlternative(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = dictBuildTagMap()
	}
}

func BenchmarkLookupKeyword(b *testing.B) {
	kws := []string{"PatientName", "StudyInstanceUID", "Rows", "PixelData", "ReferencedSOPInstanceUID", "WindowCenter"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, ok := LookupKeyword(kws[i%len(kws)]); !ok {
			b.Fatal("not found")
		}
	}
}
