package study

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dicomrecv/dicomrecv/internal/jsonenc"
)

func TestJournalStrings(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", ""},
		{"1.2.840.10008.1.2.1", "1.2.840.10008.1.2.1"},
		{`DOE^JOHN "JR" \ II`, `DOE^JOHN "JR" \ II`},
		{"line\nbreak\r\ttab\x00nul\x1fus\x7fdel", "line\nbreak\r\ttab\x00nul\x1fus\x7fdel"},
		{"Müller 山田 😀 \u2028", "Müller 山田 😀 \u2028"},
		{"bad \xff utf8 \xc3", "bad \ufffd utf8 \ufffd"},
	}
	for _, tt := range tests {
		b := jsonenc.AppendString(nil, tt.in)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Errorf("jsonenc.AppendString(%q) = %s: not JSON: %v", tt.in, b, err)
			continue
		}
		if got != tt.want {
			t.Errorf("jsonenc.AppendString(%q) decodes to %q, want %q", tt.in, got, tt.want)
		}
	}
}

// A line longer than MaxJournalRecordBytes is skipped without being
// buffered whole; the lines around it replay.
func TestReplaySkipsOversizedLine(t *testing.T) {
	rec := func(sop string) string {
		return `{"a":1,"t":1,"st":"1.2","se":"1.2.1","sop":"` + sop + `","b":1,"tg":{}}` + "\n"
	}
	giant := `{"a":1,"t":1,"st":"1.2","se":"1.2.1","sop":"x","tg":{"c":"` + strings.Repeat("y", MaxJournalRecordBytes) + `"}}` + "\n"
	for _, tc := range []struct {
		name, journal string
		skipped       int
		torn          bool
	}{
		{"middle", rec("1") + giant + rec("2"), 1, false},
		{"torn giant tail", rec("1") + rec("2") + giant[:len(giant)-1], 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := replay(bytes.NewReader([]byte(tc.journal)), nil, &interner{})
			if err != nil {
				t.Fatal(err)
			}
			if rep.skipped != tc.skipped || rep.torn != tc.torn {
				t.Errorf("skipped %d, torn %v; want %d, %v", rep.skipped, rep.torn, tc.skipped, tc.torn)
			}
			st := rep.studies[1]
			if st == nil || st.count != 2 {
				t.Fatalf("replayed study: %+v, want 2 instances", st)
			}
		})
	}
}

// When the journal cannot be written, Add says so but the instance still
// reaches its event.
func TestJournalWriteFailure(t *testing.T) {
	var got []StudyEvent
	tr, err := New(Config{
		Timeout:     time.Hour,
		OnComplete:  func(ev StudyEvent) { got = append(got, ev) },
		JournalPath: filepath.Join(t.TempDir(), "j"),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	tr.mu.Lock()
	tr.journal.f.Close() // every write now fails
	tr.mu.Unlock()
	in := Instance{StudyInstanceUID: "1.2", SeriesInstanceUID: "1.2.1", SOPInstanceUID: "1.2.1.1"}
	if err := tr.Add(in); err == nil || !errors.Is(err, os.ErrClosed) {
		t.Fatalf("Add with a failing journal: err = %v, want the write error", err)
	}
	tr.Flush()
	if len(got) != 1 || got[0].InstanceCount != 1 {
		t.Fatalf("got %d events, want the instance delivered anyway", len(got))
	}
}
