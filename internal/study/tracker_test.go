package study_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dicomrecv/dicomrecv/internal/study"
)

func TestNewValidates(t *testing.T) {
	noop := func(study.StudyEvent) {}
	tests := []struct {
		name string
		cfg  study.Config
	}{
		{"zero timeout", study.Config{OnComplete: noop}},
		{"negative timeout", study.Config{Timeout: -time.Second, OnComplete: noop}},
		{"no OnComplete", study.Config{Timeout: time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := study.New(tt.cfg)
			if !errors.Is(err, study.ErrInvalidConfig) {
				if tr != nil {
					tr.Close()
				}
				t.Fatalf("New: err = %v, want ErrInvalidConfig", err)
			}
		})
	}
}

func TestAddRejectsIncompleteInstances(t *testing.T) {
	f := newFixture(t, time.Second, nil)
	good := inst("1.2.3", "1.2.3.4", 1)
	tests := []struct {
		name string
		mod  func(*study.Instance)
	}{
		{"no study", func(i *study.Instance) { i.StudyInstanceUID = "" }},
		{"no series", func(i *study.Instance) { i.SeriesInstanceUID = "" }},
		{"no sop", func(i *study.Instance) { i.SOPInstanceUID = "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := good
			tt.mod(&in)
			if err := f.tr.Add(in); !errors.Is(err, study.ErrInvalidInstance) {
				t.Fatalf("Add: err = %v, want ErrInvalidInstance", err)
			}
		})
	}
	if n := f.tr.Pending(); n != 0 {
		t.Errorf("Pending = %d after refused adds, want 0", n)
	}
}

// The quiet period restarts with every instance: the event comes Timeout
// after the LAST instance, not after the first (the reference's defect).
func TestTimerRestartsOnEveryInstance(t *testing.T) {
	const timeout = 1500 * time.Millisecond // fractions of a second allowed
	f := newFixture(t, timeout, nil)
	// Instances every second for ten seconds: far longer than the timeout.
	for n := 1; n <= 10; n++ {
		f.add(t, inst("1.2.3", "1.2.3.4", n))
		if ev := f.advance(time.Second); len(ev) != 0 {
			t.Fatalf("event after instance %d, while the study is still arriving", n)
		}
	}
	// The last instance came at t0+9s; 1s has passed since.
	if ev := f.advance(timeout - time.Second - time.Millisecond); len(ev) != 0 {
		t.Fatalf("event %v before the quiet period ended", sops(ev[0]))
	}
	ev := f.advance(time.Millisecond)
	if len(ev) != 1 {
		t.Fatalf("got %d events at the end of the quiet period, want 1", len(ev))
	}
	if got := ev[0].InstanceCount; got != 10 {
		t.Errorf("InstanceCount = %d, want 10 (one event for the whole study)", got)
	}
	if got, want := ev[0].LastReceived, t0.Add(9*time.Second); !got.Equal(want) {
		t.Errorf("LastReceived = %v, want %v", got, want)
	}
	if n := f.tr.Pending(); n != 0 {
		t.Errorf("Pending = %d after the event, want 0", n)
	}
	if ev := f.advance(time.Hour); len(ev) != 0 {
		t.Errorf("%d more events after the study completed", len(ev))
	}
}

// Studies are independent, whichever association brings them.
func TestInterleavedStudies(t *testing.T) {
	f := newFixture(t, 10*time.Second, nil)
	a, b := "1.2.100", "1.2.200"
	for n := 1; n <= 3; n++ {
		ia := inst(a, a+".1", n)
		ia.CallingAETitle = "CT1"
		f.add(t, ia)
		ib := inst(b, b+".1", n)
		ib.CallingAETitle = "MR1"
		f.add(t, ib)
		f.advance(time.Second)
	}
	// b keeps sending; a falls quiet at t0+2s.
	ib := inst(b, b+".1", 4)
	ib.CallingAETitle = "MR1"
	f.add(t, ib) // t0+3s
	ev := f.advance(9 * time.Second)
	if len(ev) != 1 || ev[0].StudyInstanceUID != a {
		t.Fatalf("at t0+12s got %d events, want only study a", len(ev))
	}
	if diff := cmp.Diff([][]string{{a + ".1.1", a + ".1.2", a + ".1.3"}}, sops(ev[0])); diff != "" {
		t.Errorf("study a instances (-want +got):\n%s", diff)
	}
	ev = f.advance(time.Second)
	if len(ev) != 1 || ev[0].StudyInstanceUID != b {
		t.Fatalf("at t0+13s got %d events, want study b", len(ev))
	}
	if got := ev[0].InstanceCount; got != 4 {
		t.Errorf("study b InstanceCount = %d, want 4", got)
	}
	if diff := cmp.Diff([]string{"MR1"}, ev[0].CallingAETitles); diff != "" {
		t.Errorf("study b CallingAETitles (-want +got):\n%s", diff)
	}
}

// An instance that arrives after its study's event starts a new
// accumulation, which gets its own event.
func TestLateInstanceGivesSecondEvent(t *testing.T) {
	f := newFixture(t, 5*time.Second, nil)
	f.add(t, inst("1.2.3", "1.2.3.1", 1))
	f.add(t, inst("1.2.3", "1.2.3.1", 2))
	if ev := f.advance(5 * time.Second); len(ev) != 1 || ev[0].InstanceCount != 2 {
		t.Fatalf("first event: got %d events", len(ev))
	}
	f.advance(time.Minute)
	late := inst("1.2.3", "1.2.3.2", 1)
	f.add(t, late)
	if n := f.tr.Pending(); n != 1 {
		t.Fatalf("Pending = %d after the late instance, want 1", n)
	}
	ev := f.advance(5 * time.Second)
	if len(ev) != 1 {
		t.Fatalf("got %d events for the late instance, want 1", len(ev))
	}
	if diff := cmp.Diff([][]string{{late.SOPInstanceUID}}, sops(ev[0])); diff != "" {
		t.Errorf("second event holds (-want +got):\n%s", diff)
	}
	if got, want := ev[0].FirstReceived, t0.Add(65*time.Second); !got.Equal(want) {
		t.Errorf("second event FirstReceived = %v, want %v", got, want)
	}
}

// Flush emits every pending study at once, in first-received order, and
// leaves no timer behind.
func TestFlush(t *testing.T) {
	f := newFixture(t, time.Minute, nil)
	order := []string{"1.9", "1.1", "1.5"}
	for i, uid := range order {
		f.add(t, inst(uid, uid+".1", 1))
		f.clock.Advance(time.Second)
		if i == 0 {
			f.add(t, inst(uid, uid+".1", 2)) // a later instance does not change the order
		}
	}
	f.tr.Flush()
	ev := f.rec.take()
	var got []string
	for _, e := range ev {
		got = append(got, e.StudyInstanceUID)
	}
	if diff := cmp.Diff(order, got); diff != "" {
		t.Errorf("Flush order (-want +got):\n%s", diff)
	}
	if n := f.tr.Pending(); n != 0 {
		t.Errorf("Pending = %d after Flush", n)
	}
	if n := f.clock.Timers(); n != 0 {
		t.Errorf("%d timers armed after Flush", n)
	}
	if ev := f.advance(time.Hour); len(ev) != 0 {
		t.Errorf("%d events after Flush", len(ev))
	}
}

// The level distribution, with the seed's rules and its documented
// equipment exception; each tag appears once, at its level.
func TestLevelDistribution(t *testing.T) {
	f := newFixture(t, time.Second, nil)
	first := map[string]string{
		"PatientName": "DOE^JOHN", "PatientID": "12345", "StudyDate": "20231201",
		"StudyDescription": "CT Chest", "AccessionNumber": "A12345", "StudyInstanceUID": "1.2.3",
		"RequestingPhysician": "WHO^DR",
		"Modality":            "CT", "SeriesNumber": "1", "SeriesDescription": "Chest with contrast",
		"BodyPartExamined": "CHEST", "ProtocolName": "CHEST-CON", "SeriesInstanceUID": "1.2.3.1",
		"InstanceNumber": "1", "SliceLocation": "100.0", "SliceThickness": "5.0",
		"Manufacturer": "GE", "ManufacturerModelName": "CT750", "SoftwareVersions": "1.0",
		"InstitutionName": "GENERAL", "StationName": "CT01", "DeviceSerialNumber": "SN1",
		"GE_PrivateCreator": "GEMS_IDEN_01", // a custom tag
	}
	i1 := inst("1.2.3", "1.2.3.1", 1)
	i1.Tags = first
	f.add(t, i1)
	// Same series: study- and series-level values of later instances are
	// not taken; instance-level values are, per instance.
	i2 := inst("1.2.3", "1.2.3.1", 2)
	i2.Tags = map[string]string{
		"PatientName": "CHANGED", "Modality": "MR", "InstanceNumber": "2", "SliceLocation": "95.0",
		"SliceThickness": "5.0", "Manufacturer": "GE",
	}
	f.add(t, i2)
	// A second series takes its series-level tags from its own first instance.
	i3 := inst("1.2.3", "1.2.3.2", 1)
	i3.Tags = map[string]string{"Modality": "SR", "SeriesNumber": "2", "PatientName": "IGNORED"}
	f.add(t, i3)
	i4 := inst("1.2.3", "1.2.3.2", 2)
	f.add(t, i4) // no tags at all

	ev := f.advance(time.Second)
	if len(ev) != 1 {
		t.Fatalf("got %d events, want 1", len(ev))
	}
	want := study.StudyEvent{
		StudyInstanceUID: "1.2.3",
		Tags: map[string]string{
			"PatientName": "DOE^JOHN", "PatientID": "12345", "StudyDate": "20231201",
			"StudyDescription": "CT Chest", "AccessionNumber": "A12345", "StudyInstanceUID": "1.2.3",
			"RequestingPhysician": "WHO^DR",
		},
		Series: []study.Series{{
			SeriesInstanceUID: "1.2.3.1",
			Tags: map[string]string{
				"Modality": "CT", "SeriesNumber": "1", "SeriesDescription": "Chest with contrast",
				"BodyPartExamined": "CHEST", "ProtocolName": "CHEST-CON", "SeriesInstanceUID": "1.2.3.1",
			},
			Instances: []study.EventInstance{
				{SOPInstanceUID: i1.SOPInstanceUID, SOPClassUID: ctImage, TransferSyntaxUID: explLE, File: i1.File,
					Tags: map[string]string{
						"InstanceNumber": "1", "SliceLocation": "100.0", "SliceThickness": "5.0",
						"Manufacturer": "GE", "ManufacturerModelName": "CT750", "SoftwareVersions": "1.0",
						"InstitutionName": "GENERAL", "StationName": "CT01", "DeviceSerialNumber": "SN1",
						"GE_PrivateCreator": "GEMS_IDEN_01",
					}},
				{SOPInstanceUID: i2.SOPInstanceUID, SOPClassUID: ctImage, TransferSyntaxUID: explLE, File: i2.File,
					Tags: map[string]string{
						"InstanceNumber": "2", "SliceLocation": "95.0", "SliceThickness": "5.0", "Manufacturer": "GE",
					}},
			},
		}, {
			SeriesInstanceUID: "1.2.3.2",
			Tags:              map[string]string{"Modality": "SR", "SeriesNumber": "2"},
			Instances: []study.EventInstance{
				{SOPInstanceUID: i3.SOPInstanceUID, SOPClassUID: ctImage, TransferSyntaxUID: explLE, File: i3.File, Tags: map[string]string{}},
				{SOPInstanceUID: i4.SOPInstanceUID, SOPClassUID: ctImage, TransferSyntaxUID: explLE, File: i4.File, Tags: map[string]string{}},
			},
		}},
		CallingAETitles: []string{"MODALITY"},
		InstanceCount:   4,
		Bytes:           i1.Bytes + i2.Bytes + i3.Bytes + i4.Bytes,
		FirstReceived:   t0,
		LastReceived:    t0,
	}
	if diff := cmp.Diff(want, ev[0]); diff != "" {
		t.Errorf("event (-want +got):\n%s", diff)
	}
}

// The totals: distinct AE titles in first-seen order, instance count,
// bytes, first and last reception.
func TestTotals(t *testing.T) {
	f := newFixture(t, 10*time.Second, nil)
	aes := []string{"CT1", "PACS", "CT1", "", "WORKSTATION", "PACS"}
	var bytes int64
	for n, ae := range aes {
		in := inst("1.2.3", "1.2.3.1", n)
		in.CallingAETitle = ae
		in.Bytes = int64(1 << n)
		bytes += in.Bytes
		f.add(t, in)
		f.advance(2 * time.Second)
	}
	ev := f.advance(10 * time.Second)
	if len(ev) != 1 {
		t.Fatalf("got %d events, want 1", len(ev))
	}
	got := ev[0]
	if diff := cmp.Diff([]string{"CT1", "PACS", "WORKSTATION"}, got.CallingAETitles); diff != "" {
		t.Errorf("CallingAETitles (-want +got):\n%s", diff)
	}
	if got.InstanceCount != len(aes) || got.Bytes != bytes {
		t.Errorf("InstanceCount, Bytes = %d, %d; want %d, %d", got.InstanceCount, got.Bytes, len(aes), bytes)
	}
	if !got.FirstReceived.Equal(t0) || !got.LastReceived.Equal(t0.Add(10*time.Second)) {
		t.Errorf("FirstReceived, LastReceived = %v, %v; want %v, %v", got.FirstReceived, got.LastReceived, t0, t0.Add(10*time.Second))
	}
}

// A resent object (same SOP Instance UID while its study is pending)
// replaces the earlier copy instead of counting twice.
func TestDuplicateReplaces(t *testing.T) {
	f := newFixture(t, time.Second, nil)
	a1 := inst("1.2.3", "1.2.3.1", 1)
	a1.Tags = map[string]string{"InstanceNumber": "1"}
	a2 := inst("1.2.3", "1.2.3.1", 2)
	f.add(t, a1)
	f.add(t, a2)
	again := a1
	again.File = "/elsewhere/copy.dcm"
	again.TransferSyntaxUID = implLE
	again.Bytes = 7
	again.Tags = map[string]string{"InstanceNumber": "1", "SliceLocation": "3"}
	f.add(t, again)

	moved := a2 // sent again in another series
	moved.SeriesInstanceUID = "1.2.3.9"
	moved.File = "/data/moved.dcm"
	f.add(t, moved)

	ev := f.advance(time.Second)
	if len(ev) != 1 {
		t.Fatalf("got %d events, want 1", len(ev))
	}
	got := ev[0]
	if got.InstanceCount != 2 || got.Bytes != again.Bytes+moved.Bytes {
		t.Errorf("InstanceCount, Bytes = %d, %d; want 2, %d", got.InstanceCount, got.Bytes, again.Bytes+moved.Bytes)
	}
	want := []study.Series{
		{SeriesInstanceUID: "1.2.3.1", Tags: map[string]string{}, Instances: []study.EventInstance{{
			SOPInstanceUID: a1.SOPInstanceUID, SOPClassUID: ctImage, TransferSyntaxUID: implLE,
			File: again.File, Tags: map[string]string{"InstanceNumber": "1", "SliceLocation": "3"},
		}}},
		{SeriesInstanceUID: "1.2.3.9", Tags: map[string]string{}, Instances: []study.EventInstance{{
			SOPInstanceUID: a2.SOPInstanceUID, SOPClassUID: ctImage, TransferSyntaxUID: explLE,
			File: moved.File, Tags: map[string]string{},
		}}},
	}
	if diff := cmp.Diff(want, got.Series); diff != "" {
		t.Errorf("series (-want +got):\n%s", diff)
	}
}

// Instance-level tags are kept as differences from the series' first
// instance; every combination must come back exactly.
func TestInstanceTagsRoundTrip(t *testing.T) {
	f := newFixture(t, time.Second, nil)
	tagSets := []map[string]string{
		{"Rows": "512", "Columns": "512", "InstanceNumber": "1"},
		{"Rows": "512", "Columns": "512", "InstanceNumber": "2"}, // one differs
		{"Rows": "512", "Columns": "512", "InstanceNumber": "1"}, // same as the first
		{"Rows": "512"},                // some absent
		{},                             // all absent
		nil,                            // no map
		{"Rows": "", "Columns": "512"}, // empty value
		{"Rows": "512", "Columns": "512", "InstanceNumber": "6", "SliceLocation": "1"}, // one more
		{"SOPInstanceUID": "1.2.3.1.8", "Rows": "512", "Columns": "512", "InstanceNumber": "1"},
	}
	for n, tags := range tagSets {
		in := inst("1.2.3", "1.2.3.1", n)
		in.Tags = tags
		f.add(t, in)
	}
	ev := f.advance(time.Second)
	if len(ev) != 1 {
		t.Fatalf("got %d events, want 1", len(ev))
	}
	for n, tags := range tagSets {
		want := tags
		if want == nil {
			want = map[string]string{}
		}
		if diff := cmp.Diff(want, ev[0].Series[0].Instances[n].Tags); diff != "" {
			t.Errorf("instance %d tags (-want +got):\n%s", n, diff)
		}
	}
}

// The event marshals to the shape the seed's handlers read, with tags
// always objects.
func TestEventJSON(t *testing.T) {
	f := newFixture(t, time.Second, nil)
	f.add(t, inst("1.2.3", "1.2.3.1", 1))
	ev := f.advance(time.Second)
	if len(ev) != 1 {
		t.Fatalf("got %d events, want 1", len(ev))
	}
	b, err := json.Marshal(ev[0])
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"studyInstanceUid": "1.2.3",
		"tags":             map[string]any{},
		"series": []any{map[string]any{
			"seriesInstanceUid": "1.2.3.1",
			"tags":              map[string]any{},
			"instances": []any{map[string]any{
				"sopInstanceUid":    "1.2.3.1.1",
				"sopClassUid":       ctImage,
				"transferSyntaxUid": explLE,
				"file":              "/data/1.2.3/1.2.3.1/1.2.3.1.1.dcm",
				"tags":              map[string]any{},
			}},
		}},
		"callingAeTitles": []any{"MODALITY"},
		"instanceCount":   float64(1),
		"bytes":           float64(1001),
		"firstReceived":   "2024-03-01T12:00:00Z",
		"lastReceived":    "2024-03-01T12:00:00Z",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("JSON (-want +got):\n%s\n%s", diff, b)
	}
}

// Handlers own their events: changing one changes nothing in the tracker.
func TestEventIsACopy(t *testing.T) {
	var first study.StudyEvent
	f := newFixture(t, time.Second, nil)
	in := inst("1.2.3", "1.2.3.1", 1)
	in.Tags = map[string]string{"PatientName": "A", "Modality": "CT", "Rows": "1"}
	f.add(t, in)
	f.add(t, inst("1.2.3", "1.2.3.1", 2))
	ev := f.advance(time.Second)
	first = ev[0]
	first.Tags["PatientName"] = "X"
	first.Series[0].Tags["Modality"] = "X"
	first.Series[0].Instances[0].Tags["Rows"] = "X"
	if got := first.Series[0].Instances[1].Tags["Rows"]; got != "" {
		t.Errorf("second instance's Rows = %q, want it absent", got)
	}
	// The caller's map is not kept either.
	in.Tags["PatientName"] = "CHANGED"
	if ev := f.advance(time.Hour); len(ev) != 0 {
		t.Errorf("unexpected events")
	}
}

// While OnComplete blocks, Add keeps working, timers keep firing, and no
// instance is lost; events then arrive in completion order.
func TestBlockingOnComplete(t *testing.T) {
	gate := make(chan struct{})
	entered := make(chan struct{}, 1)
	var mu sync.Mutex
	var got []study.StudyEvent
	f := newFixture(t, time.Second, func(c *study.Config) {
		c.OnComplete = func(ev study.StudyEvent) {
			select {
			case entered <- struct{}{}:
			default:
			}
			<-gate
			mu.Lock()
			got = append(got, ev)
			mu.Unlock()
		}
	})
	f.add(t, inst("1.1", "1.1.1", 1))
	f.clock.Advance(time.Second)
	<-entered // the handler now blocks on study 1.1

	// Meanwhile: more studies, and study 1.1 again (a new accumulation).
	var want []string
	want = append(want, "1.1")
	for i := 2; i <= 20; i++ {
		uid := "1." + strconv.Itoa(i)
		f.add(t, inst(uid, uid+".1", 1))
		f.add(t, inst("1.1", "1.1.2", i))
		f.clock.Advance(600 * time.Millisecond)
		if i%2 == 0 {
			want = append(want, uid)
		} else {
			// The odd ones complete at the next Advance with the even one.
			want = append(want, uid)
		}
	}
	f.clock.Advance(time.Second)
	want = append(want, "1.1")
	if n := f.tr.Pending(); n != 0 {
		t.Fatalf("Pending = %d, want 0: every study completed", n)
	}
	close(gate)
	f.tr.WaitIdle()

	mu.Lock()
	defer mu.Unlock()
	var order []string
	total := 0
	for _, ev := range got {
		order = append(order, ev.StudyInstanceUID)
		total += ev.InstanceCount
	}
	if diff := cmp.Diff(want, order); diff != "" {
		t.Errorf("completion order (-want +got):\n%s", diff)
	}
	if total != 1+19+19 {
		t.Errorf("%d instances delivered, want %d", total, 1+19+19)
	}
}

// FlushContext gives up at its context's end; the studies still arrive.
func TestFlushContextDeadline(t *testing.T) {
	gate := make(chan struct{})
	rec := &recorder{}
	f := newFixture(t, time.Minute, func(c *study.Config) {
		c.OnComplete = func(ev study.StudyEvent) { <-gate; rec.add(ev) }
	})
	f.add(t, inst("1.1", "1.1.1", 1))
	f.add(t, inst("1.2", "1.2.1", 1))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := f.tr.FlushContext(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("FlushContext: err = %v, want context.Canceled", err)
	}
	if n := f.tr.Pending(); n != 0 {
		t.Errorf("Pending = %d, want 0: flushed studies are queued", n)
	}
	close(gate)
	f.tr.Flush()
	if n := len(rec.take()); n != 2 {
		t.Errorf("%d events after the handler was released, want 2", n)
	}
}

// Close stops every timer, waits for a running OnComplete, and refuses
// further work. goleak (TestMain) checks that no goroutine survives.
func TestClose(t *testing.T) {
	gate := make(chan struct{})
	entered := make(chan struct{})
	var returned atomic.Bool
	f := newFixture(t, time.Second, func(c *study.Config) {
		c.OnComplete = func(study.StudyEvent) {
			close(entered)
			<-gate
			returned.Store(true)
		}
	})
	f.add(t, inst("1.1", "1.1.1", 1))
	f.clock.Advance(time.Second)
	<-entered
	for i := 2; i <= 5; i++ {
		uid := "1." + strconv.Itoa(i)
		f.add(t, inst(uid, uid+".1", 1))
	}
	closed := make(chan error)
	go func() { closed <- f.tr.Close() }()
	close(gate)
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	if !returned.Load() {
		t.Error("Close returned before the running OnComplete did")
	}
	if n := f.clock.Timers(); n != 0 {
		t.Errorf("%d timers armed after Close", n)
	}
	if err := f.tr.Add(inst("1.1", "1.1.1", 2)); !errors.Is(err, study.ErrClosed) {
		t.Errorf("Add after Close: err = %v, want ErrClosed", err)
	}
	if err := f.tr.FlushContext(context.Background()); !errors.Is(err, study.ErrClosed) {
		t.Errorf("FlushContext after Close: err = %v, want ErrClosed", err)
	}
	f.clock.Advance(time.Hour) // nothing may fire
	if err := f.tr.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// A panicking handler is contained; later events still arrive.
func TestOnCompletePanics(t *testing.T) {
	rec := &recorder{}
	f := newFixture(t, time.Second, func(c *study.Config) {
		c.OnComplete = func(ev study.StudyEvent) {
			if ev.StudyInstanceUID == "1.1" {
				panic("handler bug")
			}
			rec.add(ev)
		}
	})
	f.add(t, inst("1.1", "1.1.1", 1))
	f.advance(time.Second)
	f.add(t, inst("1.2", "1.2.1", 1))
	f.advance(time.Second)
	if got := rec.take(); len(got) != 1 || got[0].StudyInstanceUID != "1.2" {
		t.Errorf("events after a panic: %d, want study 1.2", len(got))
	}
}

// Many goroutines add while timers fire; every instance is delivered
// exactly once. Run with -race.
func TestConcurrentAdds(t *testing.T) {
	f := newFixture(t, 50*time.Millisecond, nil)
	const (
		workers   = 16
		perWorker = 500
		studies   = 40
	)
	stop := make(chan struct{})
	ticker := make(chan struct{})
	go func() {
		defer close(ticker)
		for {
			select {
			case <-stop:
				return
			default:
				f.clock.Advance(10 * time.Millisecond)
			}
		}
	}()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				uid := fmt.Sprintf("1.%d", (w*perWorker+i)%studies)
				in := inst(uid, fmt.Sprintf("%s.%d", uid, w), i)
				in.Tags = map[string]string{"PatientName": uid, "Modality": "CT", "InstanceNumber": strconv.Itoa(i)}
				if err := f.tr.Add(in); err != nil {
					t.Errorf("Add: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	<-ticker
	f.tr.Flush()
	seen := make(map[string]int)
	total := 0
	for _, ev := range f.rec.take() {
		total += ev.InstanceCount
		n := 0
		for _, s := range ev.Series {
			for _, i := range s.Instances {
				seen[i.SOPInstanceUID]++
				n++
			}
		}
		if n != ev.InstanceCount {
			t.Errorf("study %s: InstanceCount %d, %d instances listed", ev.StudyInstanceUID, ev.InstanceCount, n)
		}
	}
	if total != workers*perWorker || len(seen) != workers*perWorker {
		t.Errorf("delivered %d instances (%d distinct), want %d", total, len(seen), workers*perWorker)
	}
	for sop, n := range seen {
		if n != 1 {
			t.Errorf("instance %s delivered %d times", sop, n)
		}
	}
}

// A thousand studies in flight at once.
func TestManyStudiesInFlight(t *testing.T) {
	f := newFixture(t, 30*time.Second, nil)
	const studies, per = 1000, 3
	for n := range per {
		for s := range studies {
			uid := fmt.Sprintf("1.2.%d", s)
			f.add(t, inst(uid, uid+".1", n))
		}
		f.clock.Advance(time.Second)
	}
	if n := f.tr.Pending(); n != studies {
		t.Fatalf("Pending = %d, want %d", n, studies)
	}
	ev := f.advance(30 * time.Second)
	if len(ev) != studies {
		t.Fatalf("got %d events, want %d", len(ev), studies)
	}
	for i, e := range ev {
		if e.InstanceCount != per {
			t.Fatalf("event %d (%s): %d instances, want %d", i, e.StudyInstanceUID, e.InstanceCount, per)
		}
	}
}

// One study of 50,000 instances in 10 series: one event, arrival order kept.
func TestLargeStudy(t *testing.T) {
	f := newFixture(t, 30*time.Second, nil)
	const n, nseries = 50000, 10
	for i := range n {
		se := fmt.Sprintf("1.2.3.%d", i%nseries)
		in := inst("1.2.3", se, i)
		in.Tags = map[string]string{"InstanceNumber": strconv.Itoa(i), "Rows": "512", "Modality": "CT"}
		f.add(t, in)
	}
	ev := f.advance(30 * time.Second)
	if len(ev) != 1 {
		t.Fatalf("got %d events, want 1", len(ev))
	}
	if ev[0].InstanceCount != n || len(ev[0].Series) != nseries {
		t.Fatalf("InstanceCount %d in %d series, want %d in %d", ev[0].InstanceCount, len(ev[0].Series), n, nseries)
	}
	for s, ser := range ev[0].Series {
		for k, in := range ser.Instances {
			i := k*nseries + s
			if want := fmt.Sprintf("1.2.3.%d.%d", s, i); in.SOPInstanceUID != want || in.Tags["InstanceNumber"] != strconv.Itoa(i) {
				t.Fatalf("series %d instance %d = %s (InstanceNumber %s), want %s", s, k, in.SOPInstanceUID, in.Tags["InstanceNumber"], want)
			}
		}
	}
}

// The system clock (Config.Clock nil) drives the timers too.
func TestSystemClock(t *testing.T) {
	events := make(chan study.StudyEvent, 1)
	tr, err := study.New(study.Config{
		Timeout:    20 * time.Millisecond,
		OnComplete: func(ev study.StudyEvent) { events <- ev },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	for i := range 3 {
		if err := tr.Add(inst("1.2.3", "1.2.3.1", i)); err != nil {
			t.Fatal(err)
		}
	}
	ev := <-events // the test's own timeout bounds the wait
	if ev.InstanceCount != 3 || ev.LastReceived.Before(ev.FirstReceived) {
		t.Errorf("event: %d instances, first %v, last %v", ev.InstanceCount, ev.FirstReceived, ev.LastReceived)
	}
}
