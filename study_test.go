package dicomrecv

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dicomrecv/dicomrecv/internal/testutil"
)

// makeInstances copies CT_small.dcm into dir with the given study and
// series UIDs and a fresh SOP Instance UID each (DCMTK dcmodify), and
// returns the paths.
func makeInstances(t *testing.T, dir, study, series string, n int) []string {
	t.Helper()
	src := filepath.Join(testutil.PydicomTestFiles, "CT_small.dcm")
	testutil.RequireFile(t, src)
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for i := 0; i < n; i++ {
		p := filepath.Join(dir, fmt.Sprintf("%s-%s-%d.dcm", study, series, i))
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := dcmtk(t, "dcmodify", "-nb", "-gin", "-m", "(0020,000D)="+study, "-m", "(0020,000E)="+series,
			"-m", fmt.Sprintf("(0020,0013)=%d", i+1), p)
		if err != nil {
			t.Fatalf("dcmodify: %v\n%s", err, out)
		}
		paths = append(paths, p)
	}
	return paths
}

// Two studies sent by storescu, one with two series, give exactly two
// StudyCompleted events with the right tree and tags at each level; an
// instance sent 0.5 s after the previous one (with a 1 s timeout) does not
// split its study.
func TestInteropStudyCompleted(t *testing.T) {
	dir := t.TempDir()
	a1 := makeInstances(t, dir, "1.2.999.1", "1.2.999.1.1", 2)
	a2 := makeInstances(t, dir, "1.2.999.1", "1.2.999.1.2", 2)
	b1 := makeInstances(t, dir, "1.2.999.2", "1.2.999.2.1", 3)
	sets := CommonTagSets()
	ts := startServer(t, Config{StudyTimeout: time.Second, ExtractTags: CombineTags(sets.Default, []string{"KVP"}),
		ExtractCustomTags: []CustomTag{CreateCustomTag("00431028", "GE_Private")}})
	studies := make(chan StudyCompletedEvent, 10)
	ts.OnStudyCompleted(func(ev StudyCompletedEvent) { studies <- ev })

	start := time.Now()
	for i, f := range [][]string{append(a1, b1[0]), {a2[0], b1[1]}, {a2[1], b1[2]}} {
		if i > 0 {
			time.Sleep(500 * time.Millisecond) // less than the timeout: the studies must not split
		}
		if rsp := testutil.StoreResponses(ts.storescu(t, nil, f...)); len(rsp) != len(f) {
			t.Fatalf("responses %q", rsp)
		}
	}
	got := map[string]StudyCompletedEvent{}
	for len(got) < 2 {
		select {
		case ev := <-studies:
			if _, dup := got[ev.Study.StudyInstanceUID]; dup {
				t.Fatalf("second event for study %s", ev.Study.StudyInstanceUID)
			}
			got[ev.Study.StudyInstanceUID] = ev
		case <-time.After(15 * time.Second):
			t.Fatalf("only %d study events", len(got))
		}
	}
	if elapsed := time.Since(start); elapsed < 2*time.Second {
		t.Errorf("studies completed after %v, before their last instance was 1 s quiet", elapsed)
	}
	a, b := got["1.2.999.1"].Study, got["1.2.999.2"].Study
	if a.InstanceCount != 4 || len(a.Series) != 2 || len(a.Series[0].Instances) != 2 || len(a.Series[1].Instances) != 2 ||
		a.Series[0].SeriesInstanceUID != "1.2.999.1.1" || a.Series[1].SeriesInstanceUID != "1.2.999.1.2" {
		t.Errorf("study A: %d instances, series %+v", a.InstanceCount, a.Series)
	}
	if b.InstanceCount != 3 || len(b.Series) != 1 || len(b.Series[0].Instances) != 3 {
		t.Errorf("study B: %d instances, %d series", b.InstanceCount, len(b.Series))
	}
	if len(a.CallingAETitles) != 1 || a.CallingAETitles[0] != "STORESCU" || a.Bytes <= 0 ||
		a.FirstReceived.IsZero() || !a.LastReceived.After(a.FirstReceived) {
		t.Errorf("study A summary: %+v %d %v %v", a.CallingAETitles, a.Bytes, a.FirstReceived, a.LastReceived)
	}
	// Tags at their level, each once.
	check := func(level string, tags map[string]string, present, absent []string) {
		for _, k := range present {
			if _, ok := tags[k]; !ok {
				t.Errorf("%s level lacks %s: %v", level, k, tags)
			}
		}
		for _, k := range absent {
			if _, ok := tags[k]; ok {
				t.Errorf("%s level has %s, which belongs elsewhere", level, k)
			}
		}
	}
	inst := a.Series[0].Instances[0]
	check("study", a.Tags, []string{"PatientName", "PatientID", "StudyInstanceUID", "StudyDate"},
		[]string{"Modality", "SeriesInstanceUID", "InstanceNumber", "Manufacturer", "KVP"})
	check("series", a.Series[0].Tags, []string{"Modality", "SeriesInstanceUID", "SeriesNumber"},
		[]string{"PatientName", "InstanceNumber", "Manufacturer", "InstitutionName", "StationName"})
	check("instance", inst.Tags, []string{"InstanceNumber", "SOPInstanceUID", "Manufacturer", "KVP", "Rows", "GE_Private"},
		[]string{"PatientName", "Modality", "StudyDate"})
	if a.Series[0].Tags["SeriesInstanceUID"] != "1.2.999.1.1" || inst.Tags["InstanceNumber"] != "1" ||
		!strings.HasSuffix(inst.File, inst.SOPInstanceUID+".dcm") || inst.SOPClassUID != ctImage ||
		inst.TransferSyntaxUID == "" {
		t.Errorf("instance %+v", inst)
	}
	select {
	case ev := <-studies:
		t.Fatalf("unexpected third event for %s", ev.Study.StudyInstanceUID)
	case <-time.After(1500 * time.Millisecond):
	}
}
