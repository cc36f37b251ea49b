package dicom

import (
	"errors"
	"strings"
	"testing"
)

func TestSuggestKeyword(t *testing.T) {
	tests := []struct{ in, want string }{
		{"PatientName", "PatientName"},
		{"PatientsName", "PatientName"},
		{"patientname", "PatientName"},
		{"PATIENTNAME", "PatientName"},
		{"PateintName", "PatientName"}, // transposition: distance 1
		{"Patient Name", "PatientName"},
		{"PatientBirthdate", "PatientBirthDate"},
		{"StudyInstanceUid", "StudyInstanceUID"},
		{"SeriesInstanceUIDs", "SeriesInstanceUID"},
		{"Modalty", "Modality"},
		{"Modaltiy", "Modality"},
		{"ReferringPhysiciansName", "ReferringPhysicianName"},
		{"SOPClassUId", "SOPClassUID"},
		{"Rows", "Rows"},
		{"Rowz", "Rows"},
		{"KVp", "KVP"},
		{"xyzzy", ""},
		{"PatName", ""}, // 4 edits from PatientName: too far for 7 bytes
		{"ExposureInMicroAmpereSeconds", ""},
		{"", ""},
		{strings.Repeat("A", 300), ""},
		{"\xff\xfe", ""},
	}
	for _, tc := range tests {
		if got := SuggestKeyword(tc.in); got != tc.want {
			t.Errorf("SuggestKeyword(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSuggestPrefersCurrent(t *testing.T) {
	// Among equally near candidates the current one wins, then byte order.
	cands := []struct {
		kw      string
		retired bool
	}{{"AbcX", true}, {"AbcY", false}, {"AbcZ", false}}
	got := suggest("Abc", len(cands), func(i int) (string, bool) { return cands[i].kw, cands[i].retired })
	if got != "AbcY" {
		t.Errorf("suggest = %q, want AbcY", got)
	}
	got = suggest("AbcX", len(cands), func(i int) (string, bool) { return cands[i].kw, cands[i].retired })
	if got != "AbcX" {
		t.Errorf("suggest exact = %q, want AbcX", got)
	}
}

// osaDistance is osaWork.distance on unfolded strings.
func osaDistance(a, b string, limit int) int {
	if len(a) >= osaWidth || len(b) >= osaWidth {
		return limit + 1
	}
	var w osaWork
	return w.distance(suggestFold(w.a[:], a), suggestFold(w.b[:], b), limit)
}

// referenceOSA is the textbook optimal string alignment distance with a full
// matrix, to check osaDistance against.
func referenceOSA(a, b string) int {
	lower := func(s string) string { // ASCII only, bytes kept as they are
		b := []byte(s)
		for i, c := range b {
			if 'A' <= c && c <= 'Z' {
				b[i] = c + 'a' - 'A'
			}
		}
		return string(b)
	}
	a, b = lower(a), lower(b)
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

func TestOSADistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"a", "", 1},
		{"", "abc", 3},
		{"abc", "ABC", 0},
		{"ab", "ba", 1},
		{"ca", "abc", 3}, // OSA, not unrestricted Damerau-Levenshtein (2)
		{"kitten", "sitting", 3},
		{"PatientsName", "PatientName", 1},
		{"PateintName", "PatientName", 1},
	}
	for _, tc := range tests {
		for _, limit := range []int{0, 1, 2, 3, 10} {
			want := min(tc.want, limit+1)
			if got := osaDistance(tc.a, tc.b, limit); got != want {
				t.Errorf("osaDistance(%q, %q, %d) = %d, want %d", tc.a, tc.b, limit, got, want)
			}
		}
		if got := referenceOSA(tc.a, tc.b); got != tc.want {
			t.Errorf("referenceOSA(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestResolveTag(t *testing.T) {
	tests := []struct {
		in      string
		tag     Tag
		keyword string
		err     string
		is      error
	}{
		{in: "PatientName", tag: 0x00100010, keyword: "PatientName"},
		{in: "  PatientName\t", tag: 0x00100010, keyword: "PatientName"},
		{in: "00100010", tag: 0x00100010, keyword: "PatientName"},
		{in: "(0010,0010)", tag: 0x00100010, keyword: "PatientName"},
		{in: "0010,0010", tag: 0x00100010, keyword: "PatientName"},
		{in: "(7fe0,0010)", tag: TagPixelData, keyword: "PixelData"},
		{in: "OverlayRows", tag: 0x60000010, keyword: "OverlayRows"},
		{in: "(6002,0010)", tag: 0x60020010, keyword: "OverlayRows"},
		{in: "00091010", tag: 0x00091010}, // private: allowed, zero Entry
		{in: "00090010", tag: 0x00090010}, // private creator, no keyword
		{in: "00100011", tag: 0x00100011}, // unassigned standard tag: allowed
		{in: "CAFEBABE", tag: 0xCAFEBABE}, // eight hex digits are a tag
		{in: "PatientsName", err: "PatientsName: unknown keyword, did you mean PatientName?", is: ErrUnknownKeyword},
		{in: "patientname", err: "patientname: unknown keyword, did you mean PatientName?", is: ErrUnknownKeyword},
		{in: "Xyzzy", err: "Xyzzy: unknown keyword", is: ErrUnknownKeyword},
		{in: "ExposureInMicroAmpereSeconds", err: "ExposureInMicroAmpereSeconds: unknown keyword", is: ErrUnknownKeyword},
		{in: "Patient Name", err: `"Patient Name": unknown keyword, did you mean PatientName?`, is: ErrUnknownKeyword},
		{in: "", err: `"": unknown keyword`, is: ErrUnknownKeyword},
		{in: "0010", err: `"0010": ` + ErrBadTag.Error(), is: ErrBadTag},
		{in: "(0010,001G)", err: `"(0010,001G)": ` + ErrBadTag.Error(), is: ErrBadTag},
		{in: "Patient,Name", err: `"Patient,Name": ` + ErrBadTag.Error(), is: ErrBadTag},
	}
	for _, tc := range tests {
		tag, e, err := ResolveTag(tc.in)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err || !errors.Is(err, tc.is) {
				t.Errorf("ResolveTag(%q) error = %v, want %q (is %v)", tc.in, err, tc.err, tc.is)
			}
			continue
		}
		if err != nil || tag != tc.tag || e.Keyword != tc.keyword {
			t.Errorf("ResolveTag(%q) = %v, %q, %v; want %v, %q", tc.in, tag, e.Keyword, err, tc.tag, tc.keyword)
		}
		if want, _ := LookupTag(tc.tag); e != want {
			t.Errorf("ResolveTag(%q) entry %+v, LookupTag gives %+v", tc.in, e, want)
		}
	}
}

// TestResolveTagSeedNames resolves every name of the seed's
// getAvailableTagNames() (node-dicom-lists.md §3-§4) to the tag and VR the
// seed's own dictionary gives it.
func TestResolveTagSeedNames(t *testing.T) {
	if len(seedTagNames) != 244 {
		t.Fatalf("%d seed names, want 244 (245 unique less the non-keyword)", len(seedTagNames))
	}
	for _, tc := range seedTagNames {
		tag, e, err := ResolveTag(tc.name)
		if err != nil || tag != tc.tag {
			t.Errorf("ResolveTag(%s) = %v, %v; want %v", tc.name, tag, err, tc.tag)
			continue
		}
		var vr, alt VR
		switch tc.vr {
		case "Xs":
			vr, alt = US, SS
		case "Ox":
			vr, alt = OB, OW
		default:
			vr, _ = VRFromBytes(tc.vr[0], tc.vr[1])
		}
		if e.VR != vr || e.AltVR != alt {
			t.Errorf("%s: VR %v/%v, seed %s", tc.name, e.VR, e.AltVR, tc.vr)
		}
	}
	// The seed's list has one name that is no keyword; the keyword of
	// (0018,1153) is ExposureInuAs.
	if _, _, err := ResolveTag("ExposureInMicroAmpereSeconds"); !errors.Is(err, ErrUnknownKeyword) {
		t.Errorf("ExposureInMicroAmpereSeconds: %v", err)
	}
	if tag, _, err := ResolveTag("ExposureInuAs"); err != nil || tag != 0x00181153 {
		t.Errorf("ExposureInuAs = %v, %v", tag, err)
	}
}

func TestResolveTransferSyntax(t *testing.T) {
	// The seed's getCommonTransferSyntaxes() names (node-dicom-lists.md §6).
	seed := []struct{ name, uid string }{
		{"ImplicitVRLittleEndian", "1.2.840.10008.1.2"},
		{"ExplicitVRLittleEndian", "1.2.840.10008.1.2.1"},
		{"ExplicitVRBigEndian", "1.2.840.10008.1.2.2"},
		{"DeflatedExplicitVRLittleEndian", "1.2.840.10008.1.2.1.99"},
		{"JPEGBaseline", "1.2.840.10008.1.2.4.50"},
		{"JPEGExtended", "1.2.840.10008.1.2.4.51"},
		{"JPEGLossless", "1.2.840.10008.1.2.4.57"},
		{"JPEGLosslessNonHierarchical", "1.2.840.10008.1.2.4.70"},
		{"JPEGLSLossless", "1.2.840.10008.1.2.4.80"},
		{"JPEGLSLossy", "1.2.840.10008.1.2.4.81"},
		{"JPEG2000Lossless", "1.2.840.10008.1.2.4.90"},
		{"JPEG2000", "1.2.840.10008.1.2.4.91"},
		{"RLELossless", "1.2.840.10008.1.2.5"},
		{"MPEG2MainProfile", "1.2.840.10008.1.2.4.100"},
		{"MPEG2MainProfileHighLevel", "1.2.840.10008.1.2.4.101"},
		{"MPEG4AVCH264HighProfile", "1.2.840.10008.1.2.4.102"},
		{"MPEG4AVCH264BDCompatibleHighProfile", "1.2.840.10008.1.2.4.103"},
	}
	for _, tc := range seed {
		if got, err := ResolveTransferSyntax(tc.name); err != nil || got != tc.uid {
			t.Errorf("ResolveTransferSyntax(%s) = %q, %v; want %s", tc.name, got, err, tc.uid)
		}
	}
	// Every standard keyword and UID.
	for _, ts := range TransferSyntaxes() {
		for _, in := range []string{ts.Keyword, ts.UID, " " + ts.UID + " "} {
			if got, err := ResolveTransferSyntax(in); err != nil || got != ts.UID {
				t.Errorf("ResolveTransferSyntax(%q) = %q, %v; want %s", in, got, err, ts.UID)
			}
		}
	}
	errs := []struct{ in, err string }{
		{"JPEGBaseLine", "JPEGBaseLine: unknown transfer syntax, did you mean JPEGBaseline?"},
		{"JPEGBaseline8bit", "JPEGBaseline8bit: unknown transfer syntax, did you mean JPEGBaseline8Bit?"},
		{"ExplicitVRLittleEndien", "ExplicitVRLittleEndien: unknown transfer syntax, did you mean ExplicitVRLittleEndian?"},
		{"Deflate", "Deflate: unknown transfer syntax"},
		{"CTImageStorage", "CTImageStorage: unknown transfer syntax (the keyword of CT Image Storage, a SOP Class)"},
		{"XMLEncoding", "XMLEncoding: unknown transfer syntax (the keyword of XML Encoding, a Transfer Syntax)"},
		{"1.2.840.10008.1.2.6.2", "1.2.840.10008.1.2.6.2: unknown transfer syntax (the UID of XML Encoding, a Transfer Syntax)"},
		{"1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.5.1.4.1.1.2: unknown transfer syntax (the UID of CT Image Storage, a SOP Class)"},
		{"1.2.826.0.1.3680043.2.1", "1.2.826.0.1.3680043.2.1: unknown transfer syntax (not a standard transfer syntax)"},
		{"1.2.840.10008.1.2.01", "1.2.840.10008.1.2.01: unknown transfer syntax (not a valid UID, PS3.5 §9.1)"},
		{"", `"": unknown transfer syntax`},
	}
	for _, tc := range errs {
		got, err := ResolveTransferSyntax(tc.in)
		if err == nil || err.Error() != tc.err || !errors.Is(err, ErrUnknownTransferSyntax) || got != "" {
			t.Errorf("ResolveTransferSyntax(%q) = %q, %v; want error %q", tc.in, got, err, tc.err)
		}
	}
}

func TestResolveSOPClass(t *testing.T) {
	// The seed's getCommonSopClasses() names (node-dicom-lists.md §5), with
	// UltrasoundImageStorage at its right UID, not the seed's.
	seed := []struct{ name, uid string }{
		{"CTImageStorage", "1.2.840.10008.5.1.4.1.1.2"},
		{"EnhancedCTImageStorage", "1.2.840.10008.5.1.4.1.1.2.1"},
		{"MRImageStorage", "1.2.840.10008.5.1.4.1.1.4"},
		{"EnhancedMRImageStorage", "1.2.840.10008.5.1.4.1.1.4.1"},
		{"UltrasoundImageStorage", "1.2.840.10008.5.1.4.1.1.6.1"},
		{"UltrasoundMultiFrameImageStorage", "1.2.840.10008.5.1.4.1.1.3.1"},
		{"SecondaryCaptureImageStorage", "1.2.840.10008.5.1.4.1.1.7"},
		{"MultiFrameGrayscaleByteSecondaryCaptureImageStorage", "1.2.840.10008.5.1.4.1.1.7.2"},
		{"MultiFrameGrayscaleWordSecondaryCaptureImageStorage", "1.2.840.10008.5.1.4.1.1.7.3"},
		{"MultiFrameTrueColorSecondaryCaptureImageStorage", "1.2.840.10008.5.1.4.1.1.7.4"},
		{"ComputedRadiographyImageStorage", "1.2.840.10008.5.1.4.1.1.1"},
		{"DigitalXRayImageStorageForPresentation", "1.2.840.10008.5.1.4.1.1.1.1"},
		{"DigitalXRayImageStorageForProcessing", "1.2.840.10008.5.1.4.1.1.1.1.1"},
		{"DigitalMammographyXRayImageStorageForPresentation", "1.2.840.10008.5.1.4.1.1.1.2"},
		{"DigitalMammographyXRayImageStorageForProcessing", "1.2.840.10008.5.1.4.1.1.1.2.1"},
		{"BreastTomosynthesisImageStorage", "1.2.840.10008.5.1.4.1.1.13.1.3"},
		{"BreastProjectionXRayImageStorageForPresentation", "1.2.840.10008.5.1.4.1.1.13.1.4"},
		{"BreastProjectionXRayImageStorageForProcessing", "1.2.840.10008.5.1.4.1.1.13.1.5"},
		{"PositronEmissionTomographyImageStorage", "1.2.840.10008.5.1.4.1.1.128"},
		{"EnhancedPETImageStorage", "1.2.840.10008.5.1.4.1.1.130"},
		{"NuclearMedicineImageStorage", "1.2.840.10008.5.1.4.1.1.20"},
		{"RTImageStorage", "1.2.840.10008.5.1.4.1.1.481.1"},
		{"RTDoseStorage", "1.2.840.10008.5.1.4.1.1.481.2"},
		{"RTStructureSetStorage", "1.2.840.10008.5.1.4.1.1.481.3"},
		{"RTPlanStorage", "1.2.840.10008.5.1.4.1.1.481.5"},
		{"EncapsulatedPDFStorage", "1.2.840.10008.5.1.4.1.1.104.1"},
		{"EncapsulatedCDAStorage", "1.2.840.10008.5.1.4.1.1.104.2"},
		{"EncapsulatedSTLStorage", "1.2.840.10008.5.1.4.1.1.104.3"},
		{"GrayscaleSoftcopyPresentationStateStorage", "1.2.840.10008.5.1.4.1.1.11.1"},
		{"BasicTextSRStorage", "1.2.840.10008.5.1.4.1.1.88.11"},
		{"EnhancedSRStorage", "1.2.840.10008.5.1.4.1.1.88.22"},
		{"ComprehensiveSRStorage", "1.2.840.10008.5.1.4.1.1.88.33"},
		{"Verification", "1.2.840.10008.1.1"},
	}
	for _, tc := range seed {
		if got, err := ResolveSOPClass(tc.name); err != nil || got != tc.uid {
			t.Errorf("ResolveSOPClass(%s) = %q, %v; want %s", tc.name, got, err, tc.uid)
		}
	}
	for _, r := range uidRegistry {
		if r.Type != UIDTypeSOPClass {
			continue
		}
		for _, in := range []string{r.Keyword, r.UID, r.UID + " "} {
			if got, err := ResolveSOPClass(in); err != nil || got != r.UID {
				t.Errorf("ResolveSOPClass(%q) = %q, %v; want %s", in, got, err, r.UID)
			}
		}
	}
	ok := []struct{ in, uid string }{
		{"UltrasoundImageStorageRetired", "1.2.840.10008.5.1.4.1.1.6"},
		{"1.2.840.113619.4.30", "1.2.840.113619.4.30"}, // private SOP class: accepted as is
		{"2.25.123456789", "2.25.123456789"},
	}
	for _, tc := range ok {
		if got, err := ResolveSOPClass(tc.in); err != nil || got != tc.uid {
			t.Errorf("ResolveSOPClass(%s) = %q, %v; want %s", tc.in, got, err, tc.uid)
		}
	}
	errs := []struct{ in, err string }{
		{"CTImageStorag", "CTImageStorag: unknown SOP class, did you mean CTImageStorage?"},
		{"ctimagestorage", "ctimagestorage: unknown SOP class, did you mean CTImageStorage?"},
		{"UltrasoundMultiframeImageStorage", "UltrasoundMultiframeImageStorage: unknown SOP class, did you mean UltrasoundMultiFrameImageStorage?"},
		{"Verificaton", "Verificaton: unknown SOP class, did you mean Verification?"},
		{"Nonsense", "Nonsense: unknown SOP class"},
		{"ImplicitVRLittleEndian", "ImplicitVRLittleEndian: unknown SOP class (the keyword of Implicit VR Little Endian, a Transfer Syntax)"},
		{"BasicGrayscalePrintManagementMeta", "BasicGrayscalePrintManagementMeta: unknown SOP class (the keyword of Basic Grayscale Print Management Meta SOP Class, a Meta SOP Class)"},
		{"1.2.840.10008.1.2", "1.2.840.10008.1.2: unknown SOP class (the UID of Implicit VR Little Endian, a Transfer Syntax)"},
		{"1.2.840.10008.05.1", "1.2.840.10008.05.1: unknown SOP class (not a valid UID, PS3.5 §9.1)"},
		{"1.2.3.", "1.2.3.: unknown SOP class (not a valid UID, PS3.5 §9.1)"},
		{"1.2.3\x00", `"1.2.3\x00": unknown SOP class (not a valid UID, PS3.5 §9.1)`},
		{"1." + strings.Repeat("2", 64), "1." + strings.Repeat("2", 64) + ": unknown SOP class (not a valid UID, PS3.5 §9.1)"},
		{"", `"": unknown SOP class`},
	}
	for _, tc := range errs {
		got, err := ResolveSOPClass(tc.in)
		if err == nil || err.Error() != tc.err || !errors.Is(err, ErrUnknownSOPClass) || got != "" {
			t.Errorf("ResolveSOPClass(%q) = %q, %v; want error %q", tc.in, got, err, tc.err)
		}
	}
}

func FuzzResolveTag(f *testing.F) {
	for _, s := range []string{"PatientName", "PatientsName", "00100010", "(0010,0010)", "0010,0010", "(6002,0010)", "", "(", "0", "Patient Name", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tag, e, err := ResolveTag(s)
		if err != nil {
			if !errors.Is(err, ErrUnknownKeyword) && !errors.Is(err, ErrBadTag) {
				t.Fatalf("ResolveTag(%q): unexpected error kind %v", s, err)
			}
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("ResolveTag(%q): multi-line error %q", s, err)
			}
			return
		}
		if want, _ := LookupTag(tag); e != want {
			t.Fatalf("ResolveTag(%q) = %v %+v, LookupTag gives %+v", s, tag, e, want)
		}
		if kw := strings.TrimSpace(s); e.Keyword == kw && kw != "" && e.Tag != tag {
			t.Fatalf("ResolveTag(%q) by keyword gave tag %v, entry %v", s, tag, e.Tag)
		}
	})
}

func FuzzSuggestKeyword(f *testing.F) {
	for _, s := range []string{"PatientsName", "patientname", "Modaltiy", "", "x", "ExposureInMicroAmpereSeconds", "\x00\x01"} {
		f.Add(s, "PatientName")
	}
	f.Fuzz(func(t *testing.T, s, other string) {
		if len(s) <= 40 && len(other) <= 40 {
			want := referenceOSA(s, other)
			for _, limit := range []int{1, 3} {
				if got := osaDistance(s, other, limit); got != min(want, limit+1) {
					t.Fatalf("osaDistance(%q, %q, %d) = %d, reference %d", s, other, limit, got, want)
				}
			}
		}
		sug := SuggestKeyword(s)
		if sug == "" {
			return
		}
		if _, ok := LookupKeyword(sug); !ok {
			t.Fatalf("SuggestKeyword(%q) = %q, not a keyword", s, sug)
		}
		if d := referenceOSA(s, sug); d > suggestLimit(len(s)) {
			t.Fatalf("SuggestKeyword(%q) = %q at distance %d, limit %d", s, sug, d, suggestLimit(len(s)))
		}
	})
}

func FuzzResolveUID(f *testing.F) {
	for _, s := range []string{"CTImageStorage", "1.2.840.10008.5.1.4.1.1.2", "JPEGBaseline", "1.2.840.10008.1.2.4.50", "1.2.3.4", "1.02", "", " 1.2.840.10008.1.2 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if uid, err := ResolveSOPClass(s); err == nil {
			if !uidSyntaxOK(uid) {
				t.Fatalf("ResolveSOPClass(%q) = %q, not a valid UID", s, uid)
			}
			if info, ok := LookupUID(uid); ok && info.Type != UIDTypeSOPClass {
				t.Fatalf("ResolveSOPClass(%q) = %q, a %v", s, uid, info.Type)
			}
		} else if !errors.Is(err, ErrUnknownSOPClass) {
			t.Fatalf("ResolveSOPClass(%q): %v", s, err)
		}
		if uid, err := ResolveTransferSyntax(s); err == nil {
			if _, ok := LookupTransferSyntax(uid); !ok {
				t.Fatalf("ResolveTransferSyntax(%q) = %q, not a transfer syntax", s, uid)
			}
		} else if !errors.Is(err, ErrUnknownTransferSyntax) {
			t.Fatalf("ResolveTransferSyntax(%q): %v", s, err)
		}
	})
}

func BenchmarkSuggestKeyword(b *testing.B) {
	inputs := []string{"PatientsName", "StudyInstanceUid", "Modaltiy", "ReferringPhysiciansName", "Xyzzy", "RadiopharmaceuticalStartTme"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		SuggestKeyword(inputs[i%len(inputs)])
	}
}

func BenchmarkResolveTag(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ResolveTag("ReferringPhysicianName"); err != nil {
			b.Fatal(err)
		}
	}
}

var seedTagNames = []struct {
	name string
	tag  Tag
	vr   string
}{
	{"PatientName", 0x00100010, "PN"},
	{"PatientID", 0x00100020, "LO"},
	{"PatientBirthDate", 0x00100030, "DA"},
	{"PatientSex", 0x00100040, "CS"},
	{"PatientAge", 0x00101010, "AS"},
	{"PatientWeight", 0x00101030, "DS"},
	{"PatientSize", 0x00101020, "DS"},
	{"PatientComments", 0x00104000, "LT"},
	{"EthnicGroup", 0x00102160, "SH"},
	{"PatientSpeciesDescription", 0x00102201, "LO"},
	{"PatientBreedDescription", 0x00102292, "LO"},
	{"ResponsiblePerson", 0x00102297, "PN"},
	{"ResponsibleOrganization", 0x00102299, "LO"},
	{"PatientIdentityRemoved", 0x00120062, "CS"},
	{"DeidentificationMethod", 0x00120063, "LO"},
	{"OtherPatientIDs", 0x00101000, "LO"},
	{"OtherPatientNames", 0x00101001, "PN"},
	{"PatientTelephoneNumbers", 0x00102154, "SH"},
	{"MilitaryRank", 0x00101080, "LO"},
	{"BranchOfService", 0x00101081, "LO"},
	{"MedicalRecordLocator", 0x00101090, "LO"},
	{"ReferencedPatientPhotoSequence", 0x00101100, "SQ"},
	{"StudyInstanceUID", 0x0020000D, "UI"},
	{"StudyDate", 0x00080020, "DA"},
	{"StudyTime", 0x00080030, "TM"},
	{"StudyDescription", 0x00081030, "LO"},
	{"StudyID", 0x00200010, "SH"},
	{"AccessionNumber", 0x00080050, "SH"},
	{"ReferringPhysicianName", 0x00080090, "PN"},
	{"AdmittingDiagnosesDescription", 0x00081080, "LO"},
	{"Occupation", 0x00102180, "SH"},
	{"AdditionalPatientHistory", 0x001021B0, "LT"},
	{"AdmissionID", 0x00380010, "LO"},
	{"IssuerOfAdmissionID", 0x00380011, "LO"},
	{"ReasonForTheRequestedProcedure", 0x00401002, "LO"},
	{"RequestedProcedureDescription", 0x00321060, "LO"},
	{"RequestedProcedureID", 0x00401001, "SH"},
	{"RequestedContrastAgent", 0x00321070, "LO"},
	{"StudyComments", 0x00324000, "LT"},
	{"ReferencedStudySequence", 0x00081110, "SQ"},
	{"ReferencedPerformedProcedureStepSequence", 0x00081111, "SQ"},
	{"SeriesInstanceUID", 0x0020000E, "UI"},
	{"SeriesNumber", 0x00200011, "IS"},
	{"SeriesDescription", 0x0008103E, "LO"},
	{"SeriesDate", 0x00080021, "DA"},
	{"SeriesTime", 0x00080031, "TM"},
	{"Modality", 0x00080060, "CS"},
	{"BodyPartExamined", 0x00180015, "CS"},
	{"ProtocolName", 0x00181030, "LO"},
	{"OperatorsName", 0x00081070, "PN"},
	{"PerformedProcedureStepStartDate", 0x00400244, "DA"},
	{"PerformedProcedureStepStartTime", 0x00400245, "TM"},
	{"PerformedProcedureStepID", 0x00400253, "SH"},
	{"PerformedProcedureStepDescription", 0x00400254, "LO"},
	{"RequestAttributesSequence", 0x00400275, "SQ"},
	{"SeriesType", 0x00541000, "CS"},
	{"AnatomicalOrientationType", 0x00102210, "CS"},
	{"PerformedProtocolCodeSequence", 0x00400260, "SQ"},
	{"Laterality", 0x00200060, "CS"},
	{"PatientPosition", 0x00185100, "CS"},
	{"SOPInstanceUID", 0x00080018, "UI"},
	{"SOPClassUID", 0x00080016, "UI"},
	{"InstanceNumber", 0x00200013, "IS"},
	{"InstanceCreationDate", 0x00080012, "DA"},
	{"InstanceCreationTime", 0x00080013, "TM"},
	{"Rows", 0x00280010, "US"},
	{"Columns", 0x00280011, "US"},
	{"BitsAllocated", 0x00280100, "US"},
	{"BitsStored", 0x00280101, "US"},
	{"HighBit", 0x00280102, "US"},
	{"PixelRepresentation", 0x00280103, "US"},
	{"SamplesPerPixel", 0x00280002, "US"},
	{"PhotometricInterpretation", 0x00280004, "CS"},
	{"PixelSpacing", 0x00280030, "DS"},
	{"SmallestImagePixelValue", 0x00280106, "Xs"},
	{"LargestImagePixelValue", 0x00280107, "Xs"},
	{"SmallestPixelValueInSeries", 0x00280108, "Xs"},
	{"LargestPixelValueInSeries", 0x00280109, "Xs"},
	{"PixelPaddingValue", 0x00280120, "Xs"},
	{"PixelPaddingRangeLimit", 0x00280121, "Xs"},
	{"RedPaletteColorLookupTableDescriptor", 0x00281101, "Xs"},
	{"GreenPaletteColorLookupTableDescriptor", 0x00281102, "Xs"},
	{"BluePaletteColorLookupTableDescriptor", 0x00281103, "Xs"},
	{"PlanarConfiguration", 0x00280006, "US"},
	{"PixelAspectRatio", 0x00280034, "IS"},
	{"Manufacturer", 0x00080070, "LO"},
	{"ManufacturerModelName", 0x00081090, "LO"},
	{"DeviceSerialNumber", 0x00181000, "LO"},
	{"SoftwareVersions", 0x00181020, "LO"},
	{"InstitutionName", 0x00080080, "LO"},
	{"StationName", 0x00081010, "SH"},
	{"KVP", 0x00180060, "DS"},
	{"ExposureTime", 0x00181150, "IS"},
	{"XRayTubeCurrent", 0x00181151, "IS"},
	{"Exposure", 0x00181152, "IS"},
	{"ConvolutionKernel", 0x00181210, "SH"},
	{"SliceThickness", 0x00180050, "DS"},
	{"RepetitionTime", 0x00180080, "DS"},
	{"EchoTime", 0x00180081, "DS"},
	{"MagneticFieldStrength", 0x00180087, "DS"},
	{"FlipAngle", 0x00181314, "DS"},
	{"ImagingFrequency", 0x00180084, "DS"},
	{"ScanningSequence", 0x00180020, "CS"},
	{"TransducerType", 0x00186031, "CS"},
	{"TransducerFrequency", 0x00186030, "UL"},
	{"SoundPathLength", 0x0014405A, "DS"},
	{"UltrasoundColorDataPresent", 0x00280014, "US"},
	{"FrameTime", 0x00181063, "DS"},
	{"HeartRate", 0x00181088, "IS"},
	{"RadiopharmaceuticalInformationSequence", 0x00540016, "SQ"},
	{"RadiopharmaceuticalStartTime", 0x00181072, "TM"},
	{"RadiopharmaceuticalStartDateTime", 0x00181078, "DT"},
	{"RadiopharmaceuticalVolume", 0x00181071, "DS"},
	{"RadionuclideTotalDose", 0x00181074, "DS"},
	{"Units", 0x00541001, "CS"},
	{"DecayCorrection", 0x00541102, "CS"},
	{"ActualFrameDuration", 0x00181242, "IS"},
	{"CountsSource", 0x00541002, "CS"},
	{"NumberOfSlices", 0x00540081, "US"},
	{"CorrectedImage", 0x00280051, "CS"},
	{"DistanceSourceToDetector", 0x00181110, "DS"},
	{"DistanceSourceToPatient", 0x00181111, "DS"},
	{"IntensifierSize", 0x00181162, "DS"},
	{"ImagerPixelSpacing", 0x00181164, "DS"},
	{"PositionerPrimaryAngle", 0x00181510, "DS"},
	{"PositionerSecondaryAngle", 0x00181511, "DS"},
	{"TableHeight", 0x00181130, "DS"},
	{"RadiationSetting", 0x00181155, "CS"},
	{"RTImageLabel", 0x30020002, "SH"},
	{"RTImageDescription", 0x30020004, "ST"},
	{"ReferencedRTPlanSequence", 0x300C0002, "SQ"},
	{"ReferencedBeamNumber", 0x300C0006, "IS"},
	{"RadiationMachineName", 0x30020020, "SH"},
	{"GantryAngle", 0x300A011E, "DS"},
	{"BeamLimitingDeviceAngle", 0x300A0120, "DS"},
	{"PatientSupportAngle", 0x300A0122, "DS"},
	{"TableTopVerticalPosition", 0x300A0128, "DS"},
	{"TableTopLongitudinalPosition", 0x300A0129, "DS"},
	{"TableTopLateralPosition", 0x300A012A, "DS"},
	{"ImagePositionPatient", 0x00200032, "DS"},
	{"ImageOrientationPatient", 0x00200037, "DS"},
	{"FrameOfReferenceUID", 0x00200052, "UI"},
	{"PositionReferenceIndicator", 0x00201040, "LO"},
	{"SliceLocation", 0x00201041, "DS"},
	{"SpacingBetweenSlices", 0x00180088, "DS"},
	{"DataCollectionDiameter", 0x00180090, "DS"},
	{"ReconstructionDiameter", 0x00181100, "DS"},
	{"ReconstructionTargetCenterPatient", 0x00189318, "FD"},
	{"ContentDate", 0x00080023, "DA"},
	{"ContentTime", 0x00080033, "TM"},
	{"AcquisitionDate", 0x00080022, "DA"},
	{"AcquisitionTime", 0x00080032, "TM"},
	{"AcquisitionDateTime", 0x0008002A, "DT"},
	{"AcquisitionNumber", 0x00200012, "IS"},
	{"TemporalPositionIdentifier", 0x00200100, "IS"},
	{"NumberOfTemporalPositions", 0x00200105, "IS"},
	{"TemporalResolution", 0x00200110, "DS"},
	{"TriggerTime", 0x00181060, "DS"},
	{"NominalInterval", 0x00181062, "IS"},
	{"FrameDelay", 0x00181066, "DS"},
	{"ContrastBolusAgent", 0x00180010, "LO"},
	{"ContrastBolusRoute", 0x00181040, "LO"},
	{"ContrastBolusVolume", 0x00181041, "DS"},
	{"ContrastBolusStartTime", 0x00181042, "TM"},
	{"ContrastBolusStopTime", 0x00181043, "TM"},
	{"ContrastBolusTotalDose", 0x00181044, "DS"},
	{"ContrastFlowRate", 0x00181046, "DS"},
	{"ContrastFlowDuration", 0x00181047, "DS"},
	{"ContrastBolusIngredient", 0x00181048, "CS"},
	{"ContrastBolusIngredientConcentration", 0x00181049, "DS"},
	{"WindowCenter", 0x00281050, "DS"},
	{"WindowWidth", 0x00281051, "DS"},
	{"RescaleIntercept", 0x00281052, "DS"},
	{"RescaleSlope", 0x00281053, "DS"},
	{"RescaleType", 0x00281054, "LO"},
	{"WindowCenterWidthExplanation", 0x00281055, "LO"},
	{"VOILUTFunction", 0x00281056, "CS"},
	{"PresentationIntentType", 0x00080068, "CS"},
	{"LossyImageCompression", 0x00282110, "CS"},
	{"FilterType", 0x00181160, "SH"},
	{"GeneratorPower", 0x00181170, "IS"},
	{"FocalSpots", 0x00181190, "DS"},
	{"AnodeTargetMaterial", 0x00181191, "CS"},
	{"BodyPartThickness", 0x001811A0, "DS"},
	{"CompressionForce", 0x001811A2, "DS"},
	{"PaddleDescription", 0x001811A4, "LO"},
	{"DetectorTemperature", 0x00187001, "DS"},
	{"CollimatorType", 0x00181181, "CS"},
	{"TableType", 0x0018113A, "CS"},
	{"ImageType", 0x00080008, "CS"},
	{"ImageComments", 0x00204000, "LT"},
	{"QualityControlImage", 0x00280300, "CS"},
	{"BurnedInAnnotation", 0x00280301, "CS"},
	{"RecognizableVisualFeatures", 0x00280302, "CS"},
	{"LossyImageCompressionRatio", 0x00282112, "DS"},
	{"LossyImageCompressionMethod", 0x00282114, "CS"},
	{"PresentationLUTShape", 0x20500020, "CS"},
	{"ImageLaterality", 0x00200062, "CS"},
	{"AnatomicRegionSequence", 0x00082218, "SQ"},
	{"PrimaryAnatomicStructureSequence", 0x00082228, "SQ"},
	{"OverlayRows", 0x60000010, "US"},
	{"OverlayColumns", 0x60000011, "US"},
	{"OverlayType", 0x60000040, "CS"},
	{"OverlayOrigin", 0x60000050, "SS"},
	{"OverlayBitsAllocated", 0x60000100, "US"},
	{"OverlayBitPosition", 0x60000102, "US"},
	{"OverlayData", 0x60003000, "Ox"},
	{"GraphicAnnotationSequence", 0x00700001, "SQ"},
	{"TextObjectSequence", 0x00700008, "SQ"},
	{"WaveformSequence", 0x54000100, "SQ"},
	{"WaveformOriginality", 0x003A0004, "CS"},
	{"NumberOfWaveformChannels", 0x003A0005, "US"},
	{"NumberOfWaveformSamples", 0x003A0010, "UL"},
	{"SamplingFrequency", 0x003A001A, "DS"},
	{"ChannelSensitivity", 0x003A0210, "DS"},
	{"NumberOfFrames", 0x00280008, "IS"},
	{"FrameIncrementPointer", 0x00280009, "AT"},
	{"ImageTriggerDelay", 0x00181067, "DS"},
	{"MultiplexGroupTimeOffset", 0x00181068, "DS"},
	{"TriggerTimeOffset", 0x00181069, "DS"},
	{"NominalCardiacTriggerDelayTime", 0x00209153, "FD"},
	{"ActualCardiacTriggerTimePriorToRPeak", 0x00209155, "FL"},
	{"CineRate", 0x00180040, "IS"},
	{"PreferredPlaybackSequencing", 0x00181244, "US"},
	{"RecommendedDisplayFrameRate", 0x00082144, "IS"},
	{"TransferSyntaxUID", 0x00020010, "UI"},
	{"ImplementationVersionName", 0x00020013, "SH"},
	{"ImplementationClassUID", 0x00020012, "UI"},
	{"SourceApplicationEntityTitle", 0x00020016, "AE"},
	{"SendingApplicationEntityTitle", 0x00020017, "AE"},
	{"ReceivingApplicationEntityTitle", 0x00020018, "AE"},
	{"PrivateInformationCreatorUID", 0x00020100, "UI"},
	{"TimezoneOffsetFromUTC", 0x00080201, "SH"},
	{"ResponsiblePersonRole", 0x00102298, "CS"},
	{"RequestingPhysician", 0x00321032, "PN"},
	{"PerformingPhysicianName", 0x00081050, "PN"},
	{"NameOfPhysiciansReadingStudy", 0x00081060, "PN"},
	{"PhysiciansOfRecord", 0x00081048, "PN"},
	{"ReferencedImageSequence", 0x00081140, "SQ"},
	{"DerivationDescription", 0x00082111, "ST"},
	{"SourceImageSequence", 0x00082112, "SQ"},
	{"ReferencedSOPClassUID", 0x00081150, "UI"},
	{"ReferencedSOPInstanceUID", 0x00081155, "UI"},
	{"SpecificCharacterSet", 0x00080005, "CS"},
}
