package study_test

import (
	"fmt"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/dicomrecv/dicomrecv/internal/study"
	"github.com/dicomrecv/dicomrecv/internal/study/studytest"
)

// defaultSet is the seed's `default` tag set (42 names) with their tags
// (PS3.6) and a typical CT value; "*" marks values that change from
// instance to instance.
var defaultSet = []struct {
	name  string
	tag   [2]uint16
	value string
}{
	{"PatientName", [2]uint16{0x0010, 0x0010}, "DOE^JOHN"},
	{"PatientID", [2]uint16{0x0010, 0x0020}, "12345678"},
	{"PatientBirthDate", [2]uint16{0x0010, 0x0030}, "19700101"},
	{"PatientSex", [2]uint16{0x0010, 0x0040}, "M"},
	{"PatientAge", [2]uint16{0x0010, 0x1010}, "054Y"},
	{"PatientWeight", [2]uint16{0x0010, 0x1030}, "80"},
	{"PatientSize", [2]uint16{0x0010, 0x1020}, "1.80"},
	{"StudyInstanceUID", [2]uint16{0x0020, 0x000D}, "1.2.826.0.1.3680043.8.498.10000000000000000000000000000001"},
	{"StudyDate", [2]uint16{0x0008, 0x0020}, "20240301"},
	{"StudyTime", [2]uint16{0x0008, 0x0030}, "120000"},
	{"StudyDescription", [2]uint16{0x0008, 0x1030}, "CT CHEST WITH CONTRAST"},
	{"StudyID", [2]uint16{0x0020, 0x0010}, "1"},
	{"AccessionNumber", [2]uint16{0x0008, 0x0050}, "A12345678"},
	{"ReferringPhysicianName", [2]uint16{0x0008, 0x0090}, "SMITH^JANE"},
	{"SeriesInstanceUID", [2]uint16{0x0020, 0x000E}, "*"},
	{"SeriesNumber", [2]uint16{0x0020, 0x0011}, "2"},
	{"SeriesDescription", [2]uint16{0x0008, 0x103E}, "AXIAL 1.0"},
	{"SeriesDate", [2]uint16{0x0008, 0x0021}, "20240301"},
	{"SeriesTime", [2]uint16{0x0008, 0x0031}, "120500"},
	{"Modality", [2]uint16{0x0008, 0x0060}, "CT"},
	{"BodyPartExamined", [2]uint16{0x0018, 0x0015}, "CHEST"},
	{"ProtocolName", [2]uint16{0x0018, 0x1030}, "CHEST_CON"},
	{"SOPInstanceUID", [2]uint16{0x0008, 0x0018}, "*"},
	{"SOPClassUID", [2]uint16{0x0008, 0x0016}, ctImage},
	{"InstanceNumber", [2]uint16{0x0020, 0x0013}, "*"},
	{"InstanceCreationDate", [2]uint16{0x0008, 0x0012}, "20240301"},
	{"InstanceCreationTime", [2]uint16{0x0008, 0x0013}, "*"},
	{"Rows", [2]uint16{0x0028, 0x0010}, "512"},
	{"Columns", [2]uint16{0x0028, 0x0011}, "512"},
	{"BitsAllocated", [2]uint16{0x0028, 0x0100}, "16"},
	{"BitsStored", [2]uint16{0x0028, 0x0101}, "12"},
	{"HighBit", [2]uint16{0x0028, 0x0102}, "11"},
	{"PixelRepresentation", [2]uint16{0x0028, 0x0103}, "0"},
	{"SamplesPerPixel", [2]uint16{0x0028, 0x0002}, "1"},
	{"PhotometricInterpretation", [2]uint16{0x0028, 0x0004}, "MONOCHROME2"},
	{"PixelSpacing", [2]uint16{0x0028, 0x0030}, "0.703125\\0.703125"},
	{"Manufacturer", [2]uint16{0x0008, 0x0070}, "GE MEDICAL SYSTEMS"},
	{"ManufacturerModelName", [2]uint16{0x0008, 0x1090}, "Revolution CT"},
	{"DeviceSerialNumber", [2]uint16{0x0018, 0x1000}, "123456CT01"},
	{"SoftwareVersions", [2]uint16{0x0018, 0x1020}, "revo_ct_22bc.50"},
	{"InstitutionName", [2]uint16{0x0008, 0x0080}, "GENERAL HOSPITAL"},
	{"StationName", [2]uint16{0x0008, 0x1010}, "CT01"},
}

func defaultLevelOf() func(string) study.Level {
	m := make(map[string]study.Level, len(defaultSet))
	for _, d := range defaultSet {
		m[d.name] = study.LevelOfTag(d.tag[0], d.tag[1])
	}
	return func(name string) study.Level { return m[name] }
}

const benchStudy = "1.2.826.0.1.3680043.8.498.10000000000000000000000000000001"

// benchInstance returns instance i of a 50,000-instance CT study in 10
// series, as the receiver reports it (fresh strings, as decoded from the
// wire), with the default tag set or without tags.
func benchInstance(i int, tags bool) study.Instance {
	se := fmt.Sprintf("1.2.826.0.1.3680043.8.498.2000000000000000000000000000%04d", i%10)
	sop := fmt.Sprintf("1.2.826.0.1.3680043.8.498.3000000000000000000000000%08d", i)
	in := study.Instance{
		StudyInstanceUID:  benchStudy,
		SeriesInstanceUID: se,
		SOPInstanceUID:    sop,
		SOPClassUID:       ctImage,
		TransferSyntaxUID: explLE,
		File:              "/var/lib/dicomrecv/" + benchStudy + "/" + se + "/" + sop + ".dcm",
		CallingAETitle:    "CT01",
		Bytes:             525_000,
	}
	if tags {
		in.Tags = make(map[string]string, len(defaultSet))
		for _, d := range defaultSet {
			v := d.value
			switch d.name {
			case "SeriesInstanceUID":
				v = se
			case "SOPInstanceUID":
				v = sop
			case "InstanceNumber":
				v = strconv.Itoa(i/10 + 1)
			case "InstanceCreationTime":
				v = fmt.Sprintf("12%04d", i/10%10000)
			default:
				v = string([]byte(v)) // a fresh copy, as a decoder makes
			}
			in.Tags[d.name] = v
		}
	}
	return in
}

func newBenchTracker(tb testing.TB, journal bool) *study.Tracker {
	cfg := study.Config{
		Timeout:    time.Hour,
		Clock:      studytest.NewClock(t0),
		LevelOf:    defaultLevelOf(),
		OnComplete: func(study.StudyEvent) {},
	}
	if journal {
		cfg.JournalPath = filepath.Join(tb.TempDir(), "studies.journal")
	}
	tr, err := study.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return tr
}

// retainedPerInstance measures the heap a Tracker keeps per pending
// instance: live heap after n Adds minus live heap before, over n.
func retainedPerInstance(tb testing.TB, n int, tags bool) float64 {
	tr := newBenchTracker(tb, false)
	defer tr.Close()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range n {
		if err := tr.Add(benchInstance(i, tags)); err != nil {
			tb.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(tr)
	return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n)
}

// The memory a pending instance costs stays small (see state.go). The
// bounds are about twice the measured figures, to catch a regression such
// as a map per instance, not to pin the numbers.
func TestMemoryPerInstance(t *testing.T) {
	if testing.Short() {
		t.Skip("50,000 instances twice")
	}
	for _, tc := range []struct {
		name  string
		tags  bool
		bound float64
	}{
		{"no tags", false, 400},
		{"default tag set", true, 700},
	} {
		got := retainedPerInstance(t, 50000, tc.tags)
		t.Logf("%s: %.0f bytes per pending instance", tc.name, got)
		if got > tc.bound {
			t.Errorf("%s: %.0f bytes per pending instance, want at most %.0f", tc.name, got, tc.bound)
		}
	}
}

// BenchmarkAdd adds the instances of 50,000-instance studies; one op is one
// Add. Instances are built outside the timer, 5,000 at a time.
func BenchmarkAdd(b *testing.B) {
	for _, bc := range []struct {
		name          string
		tags, journal bool
	}{
		{"tags=none", false, false},
		{"tags=default", true, false},
		{"tags=default/journal", true, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			const studySize, chunk = 50000, 5000
			retained := retainedPerInstance(b, studySize, bc.tags)
			tr := newBenchTracker(b, bc.journal)
			defer tr.Close()
			batch := make([]study.Instance, chunk)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; {
				b.StopTimer()
				if i%studySize == 0 && i > 0 {
					tr.Flush() // the study completes; the next one starts
				}
				k := min(chunk, b.N-i)
				for j := range k {
					batch[j] = benchInstance((i+j)%studySize, bc.tags)
				}
				b.StartTimer()
				for j := range k {
					if err := tr.Add(batch[j]); err != nil {
						b.Fatal(err)
					}
				}
				i += k
			}
			b.StopTimer()
			b.ReportMetric(retained, "B/inst-retained")
		})
	}
}
