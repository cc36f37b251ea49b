package dicomrecv

import (
	"strings"
	"testing"

	"github.com/dicomrecv/dicomrecv/dicom"
)

// The helper sets hold exactly the seed's contents (shared/reference/
// node-dicom-lists.md §1, §5, §6), with correct UIDs.
func TestCommonTagSets(t *testing.T) {
	s := CommonTagSets()
	for _, tc := range []struct {
		name  string
		set   []string
		n     int
		first string
	}{
		{"PatientBasic", s.PatientBasic, 7, "PatientName"}, {"StudyBasic", s.StudyBasic, 7, "StudyInstanceUID"},
		{"SeriesBasic", s.SeriesBasic, 8, "SeriesInstanceUID"}, {"InstanceBasic", s.InstanceBasic, 5, "SOPInstanceUID"},
		{"ImagePixelInfo", s.ImagePixelInfo, 9, "Rows"}, {"Equipment", s.Equipment, 6, "Manufacturer"},
		{"CT", s.CT, 6, "KVP"}, {"MR", s.MR, 6, "RepetitionTime"}, {"Ultrasound", s.Ultrasound, 6, "TransducerType"},
		{"PetNM", s.PetNM, 11, "RadiopharmaceuticalInformationSequence"}, {"XA", s.XA, 8, "DistanceSourceToDetector"},
		{"RT", s.RT, 11, "RTImageLabel"}, {"Default", s.Default, 42, "PatientName"},
	} {
		if len(tc.set) != tc.n || tc.set[0] != tc.first {
			t.Errorf("%s: %d tags starting %q, want %d starting %q", tc.name, len(tc.set), tc.set[0], tc.n, tc.first)
		}
		for _, kw := range tc.set {
			if _, ok := dicom.LookupKeyword(kw); !ok {
				t.Errorf("%s: %q is not a keyword", tc.name, kw)
			}
		}
	}
	want := "PatientName PatientID PatientBirthDate PatientSex PatientAge PatientWeight PatientSize StudyInstanceUID StudyDate StudyTime StudyDescription StudyID AccessionNumber ReferringPhysicianName SeriesInstanceUID SeriesNumber SeriesDescription SeriesDate SeriesTime Modality BodyPartExamined ProtocolName SOPInstanceUID SOPClassUID InstanceNumber InstanceCreationDate InstanceCreationTime Rows Columns BitsAllocated BitsStored HighBit PixelRepresentation SamplesPerPixel PhotometricInterpretation PixelSpacing Manufacturer ManufacturerModelName DeviceSerialNumber SoftwareVersions InstitutionName StationName"
	if got := strings.Join(s.Default, " "); got != want {
		t.Errorf("Default:\n%s\nwant\n%s", got, want)
	}
	s.CT[0] = "changed"
	if CommonTagSets().CT[0] != "KVP" {
		t.Error("CommonTagSets shares its slices between calls")
	}
}

func TestCombineTags(t *testing.T) {
	got := CombineTags([]string{"A", "B"}, nil, []string{"B", "C", "A"}, []string{"D"})
	if strings.Join(got, ",") != "A,B,C,D" {
		t.Fatalf("got %v", got)
	}
	if got := CombineTags(); got == nil || len(got) != 0 {
		t.Fatalf("empty: %#v", got)
	}
}

func TestCommonSOPClasses(t *testing.T) {
	m := CommonSOPClasses()
	for _, tc := range []struct {
		key  string
		want []string
	}{
		{"ct", []string{"1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.5.1.4.1.1.2.1"}},
		{"us", []string{"1.2.840.10008.5.1.4.1.1.6.1", "1.2.840.10008.5.1.4.1.1.3.1"}},
		{"ultrasound", []string{"1.2.840.10008.5.1.4.1.1.6.1", "1.2.840.10008.5.1.4.1.1.3.1"}},
		{"nm", []string{"1.2.840.10008.5.1.4.1.1.20"}},
		{"dx", []string{"1.2.840.10008.5.1.4.1.1.1.1", "1.2.840.10008.5.1.4.1.1.1.1.1"}},
		{"mg", []string{"1.2.840.10008.5.1.4.1.1.1.2", "1.2.840.10008.5.1.4.1.1.1.2.1"}},
		{"rt", []string{"1.2.840.10008.5.1.4.1.1.481.1", "1.2.840.10008.5.1.4.1.1.481.2", "1.2.840.10008.5.1.4.1.1.481.3", "1.2.840.10008.5.1.4.1.1.481.5"}},
	} {
		if strings.Join(m[tc.key], " ") != strings.Join(tc.want, " ") {
			t.Errorf("%s = %v, want %v", tc.key, m[tc.key], tc.want)
		}
	}
	sizes := map[string]int{"ct": 2, "mr": 2, "ultrasound": 2, "pet": 3, "xray": 3, "mammography": 5, "secondaryCapture": 4,
		"radiationTherapy": 4, "documents": 4, "structuredReports": 3, "allImaging": 17, "xa": 2, "sc": 5}
	for k, n := range sizes {
		if len(m[k]) != n {
			t.Errorf("%s has %d classes, want %d", k, len(m[k]), n)
		}
	}
	seen := map[string]bool{}
	for _, uid := range m["all"] {
		if seen[uid] {
			t.Errorf("all repeats %s", uid)
		}
		seen[uid] = true
		info, ok := dicom.LookupUID(uid)
		if !ok || info.Type != dicom.UIDTypeSOPClass {
			t.Errorf("%s is not a registered SOP class", uid)
		}
	}
	for k, set := range m {
		for _, uid := range set {
			if !seen[uid] {
				t.Errorf("all lacks %s of %s", uid, k)
			}
		}
	}
}

func TestCommonTransferSyntaxes(t *testing.T) {
	m := CommonTransferSyntaxes()
	sizes := map[string]int{"uncompressed": 3, "jpeg": 4, "jpegLossy": 2, "jpegLossless": 2, "jpegLs": 2, "jpeg2000": 2,
		"jpeg2000Lossy": 2, "jpeg2000Lossless": 2, "rle": 1, "mpeg": 4, "allCompressed": 13, "all": 17}
	for k, n := range sizes {
		if len(m[k]) != n {
			t.Errorf("%s has %d syntaxes, want %d", k, len(m[k]), n)
		}
		for _, uid := range m[k] {
			if _, ok := dicom.LookupTransferSyntax(uid); !ok {
				t.Errorf("%s: %s is not a transfer syntax", k, uid)
			}
		}
	}
	if len(m) != len(sizes) {
		t.Errorf("%d keys, want %d", len(m), len(sizes))
	}
	if m["uncompressed"][2] != dicom.ExplicitVRBigEndian {
		t.Error("uncompressed lacks explicit big endian")
	}
}

func TestAvailableTagNames(t *testing.T) {
	names := AvailableTagNames()
	if len(names) < 4000 {
		t.Fatalf("only %d names", len(names))
	}
	for i := 1; i < len(names); i++ {
		if names[i-1] >= names[i] {
			t.Fatalf("not unique and sorted at %q, %q", names[i-1], names[i])
		}
	}
}

// Configuration names: sets with @, tags written three ways, suggestions,
// custom tag validation.
func TestResolveExtract(t *testing.T) {
	specs, err := resolveExtract([]string{"@default", "@CT", "PatientName", "(0028,0010)", "00280011", "00091001"},
		[]CustomTag{CreateCustomTag("00091002", "VendorField")})
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, s := range specs {
		if names[s.Name] {
			t.Errorf("%s twice", s.Name)
		}
		names[s.Name] = true
	}
	if len(specs) != 42+6+1+1 || !names["KVP"] || !names["Rows"] || !names["Columns"] || !names["00091001"] || !names["VendorField"] {
		t.Fatalf("%d specs: %v", len(specs), names)
	}
	for _, tc := range []struct {
		tags   []string
		custom []CustomTag
		want   string
	}{
		{[]string{"PatientsName"}, nil, "PatientsName: unknown keyword, did you mean PatientName?"},
		{[]string{"@nosuchset"}, nil, "@nosuchset: unknown set"},
		{[]string{"(0010,001G)"}, nil, "not a tag"},
		{nil, []CustomTag{{Tag: "0009100", Name: "X"}}, "not 8 hex digits"},
		{nil, []CustomTag{{Tag: "0009100Z", Name: "X"}}, "not 8 hex digits"},
		{nil, []CustomTag{{Tag: "00091001", Name: ""}}, "empty"},
		{nil, []CustomTag{{Tag: "00091001", Name: "A"}, {Tag: "00091002", Name: "A"}}, `"A" is used twice`},
		{nil, []CustomTag{{Tag: "00091001", Name: "PatientName"}}, "standard keyword"},
	} {
		_, err := resolveExtract(tc.tags, tc.custom)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v %v: err %v, want %q", tc.tags, tc.custom, err, tc.want)
		}
	}
}
