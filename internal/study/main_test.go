package study_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/dicomrecv/dicomrecv/internal/study"
	"github.com/dicomrecv/dicomrecv/internal/study/studytest"
)

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		os.Exit(runHelperProcess())
	}
	goleak.VerifyTestMain(m)
}

// t0 is where the fake clocks of the tests start.
var t0 = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// recorder collects the events of a Tracker.
type recorder struct {
	mu     sync.Mutex
	events []study.StudyEvent
}

func (r *recorder) add(ev study.StudyEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
}

// take returns the events recorded so far and forgets them.
func (r *recorder) take() []study.StudyEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	ev := r.events
	r.events = nil
	return ev
}

// fixture is a Tracker on a fake clock with its recorder.
type fixture struct {
	tr    *study.Tracker
	clock *studytest.Clock
	rec   *recorder
}

// newFixture starts a Tracker with timeout on a fake clock at t0. mod may
// change the Config before New. The Tracker is closed at the end of the test.
func newFixture(t *testing.T, timeout time.Duration, mod func(*study.Config)) *fixture {
	t.Helper()
	f := &fixture{clock: studytest.NewClock(t0), rec: &recorder{}}
	cfg := study.Config{
		Timeout:    timeout,
		Clock:      f.clock,
		LevelOf:    levelOfName,
		OnComplete: f.rec.add,
	}
	if mod != nil {
		mod(&cfg)
	}
	tr, err := study.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	f.tr = tr
	t.Cleanup(func() {
		if err := tr.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return f
}

func (f *fixture) add(t *testing.T, in study.Instance) {
	t.Helper()
	if err := f.tr.Add(in); err != nil {
		t.Fatalf("Add(%s): %v", in.SOPInstanceUID, err)
	}
}

// advance moves the clock and waits until every event that fell due has
// been delivered; it returns those events.
func (f *fixture) advance(d time.Duration) []study.StudyEvent {
	f.clock.Advance(d)
	f.tr.WaitIdle()
	return f.rec.take()
}

// tagOfName maps the keywords the tests use to their tags (PS3.6).
var tagOfName = map[string][2]uint16{
	"PatientName":           {0x0010, 0x0010},
	"PatientID":             {0x0010, 0x0020},
	"PatientBirthDate":      {0x0010, 0x0030},
	"PatientSex":            {0x0010, 0x0040},
	"StudyDate":             {0x0008, 0x0020},
	"StudyTime":             {0x0008, 0x0030},
	"AccessionNumber":       {0x0008, 0x0050},
	"StudyDescription":      {0x0008, 0x1030},
	"StudyInstanceUID":      {0x0020, 0x000D},
	"StudyID":               {0x0020, 0x0010},
	"RequestingPhysician":   {0x0032, 0x1032},
	"SeriesInstanceUID":     {0x0020, 0x000E},
	"SeriesNumber":          {0x0020, 0x0011},
	"SeriesDescription":     {0x0008, 0x103E},
	"Modality":              {0x0008, 0x0060},
	"BodyPartExamined":      {0x0018, 0x0015},
	"ProtocolName":          {0x0018, 0x1030},
	"Manufacturer":          {0x0008, 0x0070},
	"ManufacturerModelName": {0x0008, 0x1090},
	"InstitutionName":       {0x0008, 0x0080},
	"StationName":           {0x0008, 0x1010},
	"DeviceSerialNumber":    {0x0018, 0x1000},
	"SoftwareVersions":      {0x0018, 0x1020},
	"SOPInstanceUID":        {0x0008, 0x0018},
	"SOPClassUID":           {0x0008, 0x0016},
	"InstanceNumber":        {0x0020, 0x0013},
	"SliceThickness":        {0x0018, 0x0050},
	"SliceLocation":         {0x0020, 0x1041},
	"Rows":                  {0x0028, 0x0010},
	"Columns":               {0x0028, 0x0011},
}

// levelOfName is a Config.LevelOf as the receiver builds it: dictionary
// names through LevelOfTag, anything else (custom tags) at instance level.
func levelOfName(name string) study.Level {
	if t, ok := tagOfName[name]; ok {
		return study.LevelOfTag(t[0], t[1])
	}
	return study.LevelInstance
}

const (
	ctImage = "1.2.840.10008.5.1.4.1.1.2"
	mrImage = "1.2.840.10008.5.1.4.1.1.4"
	explLE  = "1.2.840.10008.1.2.1"
	implLE  = "1.2.840.10008.1.2"
)

// inst returns an instance of study st, series se, number n, stored under
// the receiver's layout.
func inst(st, se string, n int) study.Instance {
	sop := fmt.Sprintf("%s.%d", se, n)
	return study.Instance{
		StudyInstanceUID:  st,
		SeriesInstanceUID: se,
		SOPInstanceUID:    sop,
		SOPClassUID:       ctImage,
		TransferSyntaxUID: explLE,
		File:              filepath.Join("/data", st, se, sop+".dcm"),
		CallingAETitle:    "MODALITY",
		Bytes:             1000 + int64(n),
	}
}

// sops lists the SOP Instance UIDs of ev, series by series.
func sops(ev study.StudyEvent) [][]string {
	var out [][]string
	for _, s := range ev.Series {
		var l []string
		for _, i := range s.Instances {
			l = append(l, i.SOPInstanceUID)
		}
		out = append(out, l)
	}
	return out
}
