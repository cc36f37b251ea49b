package hooks

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dicomrecv/dicomrecv/storage"
)

// testValues gives every placeholder a distinct value.
func testValues() *values {
	var v values
	for p := range numPlaceholders {
		v[p] = "<" + placeholderNames[p] + ">"
	}
	return &v
}

func TestParseExpand(t *testing.T) {
	for _, tc := range []struct {
		arg  string
		want string
	}{
		{"", ""},
		{"plain", "plain"},
		{"{file}", "<file>"},
		{"--in={file}", "--in=<file>"},
		{"{studyInstanceUid}/{seriesInstanceUid}", "<studyInstanceUid>/<seriesInstanceUid>"},
		{"{{file}}", "{file}"},
		{"{{{file}}}", "{<file>}"},
		{"}}{{", "}{"},
		{"a{{b}}c", "a{b}c"},
		{"{callingAeTitle}{calledAeTitle}", "<callingAeTitle><calledAeTitle>"},
		{"é{bytes}ü", "é<bytes>ü"},
	} {
		segs, err := parseArg(tc.arg, fileStoredPlaceholders)
		if err != nil {
			t.Errorf("parseArg(%q): %v", tc.arg, err)
			continue
		}
		got := template{segs}.expand(testValues())
		if len(got) != 1 || got[0] != tc.want {
			t.Errorf("expand(%q) = %q, want [%q]", tc.arg, got, tc.want)
		}
	}
}

func TestParseArgErrors(t *testing.T) {
	for _, tc := range []struct{ arg, want string }{
		{"{", "unterminated placeholder at offset 0"},
		{"ab{file", "unterminated placeholder at offset 2"},
		{"}", "single } at offset 0"},
		{"{file}}", "single } at offset 6"},
		{"{nope}", "unknown placeholder {nope}"},
		{"{ file}", "unknown placeholder { file}"},
		{"{instanceCount}", "unknown placeholder {instanceCount}"},
		{"{{{x}", "unknown placeholder {x}"},
	} {
		_, err := parseArg(tc.arg, fileStoredPlaceholders)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parseArg(%q) = %v, want an error with %q", tc.arg, err, tc.want)
		}
	}
}

// TestPlaceholderSets checks each event's placeholders against the brief
// and the event JSON: every one is known and parses.
func TestPlaceholderSets(t *testing.T) {
	names := func(ps []placeholder) []string {
		var out []string
		for _, p := range ps {
			out = append(out, placeholderNames[p])
			if _, err := parseArg("{"+placeholderNames[p]+"}", ps); err != nil {
				t.Error(err)
			}
		}
		return out
	}
	if diff := cmp.Diff([]string{"file", "sopInstanceUid", "sopClassUid", "studyInstanceUid", "seriesInstanceUid",
		"transferSyntaxUid", "callingAeTitle", "calledAeTitle", "remoteAddr", "bytes", "studyDir", "seriesDir"},
		names(fileStoredPlaceholders)); diff != "" {
		t.Errorf("FileStored placeholders (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"studyInstanceUid", "studyDir", "instanceCount", "seriesCount", "bytes", "callingAeTitles"},
		names(studyCompletedPlaceholders)); diff != "" {
		t.Errorf("StudyCompleted placeholders (-want +got):\n%s", diff)
	}
}

func TestDirsOf(t *testing.T) {
	for _, tc := range []struct {
		file, study, series string
		wantStudy, wantSer  string
	}{
		{"/data/1.2/1.2.3/1.2.3.4.dcm", "1.2", "1.2.3", "/data/1.2", "/data/1.2/1.2.3"},
		{"rel/1.2/1.2.3/1.2.3.4.dcm", "1.2", "1.2.3", "rel/1.2", "rel/1.2/1.2.3"},
		{"1.2/1.2.3/1.2.3.4.dcm", "1.2", "1.2.3", "1.2", "1.2/1.2.3"},
		{"s3://bucket/1.2/1.2.3/1.2.3.4.dcm", "1.2", "1.2.3", "", ""},
		{"/data/other/1.2.3/x.dcm", "1.2", "1.2.3", "", ""},
		{"/data/1.2/other/x.dcm", "1.2", "1.2.3", "", ""},
		{"/x.dcm", "1.2", "1.2.3", "", ""},
		{"/1.2.3/x.dcm", "", "1.2.3", "", ""},
		{"", "1.2", "1.2.3", "", ""},
	} {
		st, se := dirsOf(tc.file, tc.study, tc.series)
		if st != tc.wantStudy || se != tc.wantSer {
			t.Errorf("dirsOf(%q, %q, %q) = %q, %q; want %q, %q", tc.file, tc.study, tc.series, st, se, tc.wantStudy, tc.wantSer)
		}
	}
}

func TestValuesOfErrors(t *testing.T) {
	for _, tc := range []struct{ event, payload string }{
		{EventFileStored, ``},
		{EventFileStored, `{"event":"FileStored"}`},
		{EventFileStored, `{"data":{"bytes":"many"}}`},
		{EventStudyCompleted, `{"data":{}}`},
		{EventStudyCompleted, `{"data":{"study":[]}}`},
		{EventError, `{"data":{}}`},
	} {
		if v, err := valuesOf(tc.event, []byte(tc.payload)); err == nil {
			t.Errorf("valuesOf(%s, %s) = %v, want an error", tc.event, tc.payload, v)
		}
	}
}

func TestBackoff(t *testing.T) {
	w := &Webhook{cfg: WebhookConfig{BackoffBase: 100 * time.Millisecond, BackoffMax: 5 * time.Second}}
	for n := 1; n <= 100; n++ {
		full := w.cfg.BackoffBase
		for i := 1; i < n && full < w.cfg.BackoffMax; i++ {
			full *= 2
		}
		full = min(full, w.cfg.BackoffMax)
		for range 20 {
			d := w.backoff(n, 0)
			if d < full/2 || d > full {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", n, d, full/2, full)
			}
		}
	}
	if d := w.backoff(1, 3*time.Second); d != 3*time.Second {
		t.Errorf("backoff with Retry-After 3s = %v, want 3s", d)
	}
	if d := w.backoff(1, time.Hour); d != w.cfg.BackoffMax {
		t.Errorf("backoff with Retry-After 1h = %v, want BackoffMax", d)
	}
	huge := &Webhook{cfg: WebhookConfig{BackoffBase: math.MaxInt64 / 4, BackoffMax: math.MaxInt64}}
	for n := 1; n < 70; n++ {
		if d := huge.backoff(n, 0); d <= 0 {
			t.Fatalf("backoff(%d) with a huge base = %v, want positive", n, d)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		v    string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"7", 7 * time.Second},
		{"-1", 0},
		{"1.5", 0},
		{"soon", 0},
		{"99999999999", 0},
		{"Fri, 01 Mar 2024 12:00:30 GMT", 30 * time.Second},
		{"Fri, 01 Mar 2024 11:00:00 GMT", 0},
	} {
		if got := retryAfter(tc.v, now); got != tc.want {
			t.Errorf("retryAfter(%q) = %v, want %v", tc.v, got, tc.want)
		}
	}
}

func TestLogLimiter(t *testing.T) {
	var l logLimiter
	t0 := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	steps := []struct {
		at    time.Duration
		n     int
		allow bool
	}{
		{0, 0, true},
		{100 * time.Millisecond, 0, false},
		{900 * time.Millisecond, 0, false},
		{logInterval, 2, true},
		{logInterval + time.Millisecond, 0, false},
		{3 * logInterval, 1, true},
	}
	for _, s := range steps {
		n, ok := l.allow(t0.Add(s.at))
		if n != s.n || ok != s.allow {
			t.Errorf("allow at +%v = %d, %v; want %d, %v", s.at, n, ok, s.n, s.allow)
		}
	}
}

func TestHead(t *testing.T) {
	h := &head{max: 10}
	for _, p := range []string{"one\n\n", "  two  \nthree\nfour", "\nfive\n"} {
		if n, err := h.Write([]byte(p)); n != len(p) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if got := string(h.buf); got != "one\n\n  two" {
		t.Errorf("kept %q, want the first 10 bytes", got)
	}
	h = &head{max: 100}
	fmt.Fprint(h, "a\n\nb\n c \nd\ne\nf\n")
	if got, want := h.lines(3), "a | b | c"; got != want {
		t.Errorf("lines(3) = %q, want %q", got, want)
	}
}

// escapeArg returns s with its braces doubled, so that it parses as the
// literal s.
func escapeArg(s string) string {
	return strings.NewReplacer("{", "{{", "}", "}}").Replace(s)
}

// FuzzTemplate parses arbitrary arguments as templates of both events.
// Whatever the input, parsing does not panic; what parses expands; an
// escaped string parses back to itself; and values are inserted verbatim,
// never re-parsed (a value that looks like a placeholder stays text).
func FuzzTemplate(f *testing.F) {
	for _, s := range []string{"", "{file}", "--x={studyInstanceUid}", "{{}}", "{", "}", "{{{bytes}}}", "{nope}", "a{b{c}d}e"} {
		f.Add(s, "{file}")
	}
	f.Fuzz(func(t *testing.T, arg, value string) {
		for _, allowed := range [][]placeholder{fileStoredPlaceholders, studyCompletedPlaceholders} {
			segs, err := parseArg(arg, allowed)
			if err == nil {
				var v values
				for i := range v {
					v[i] = value
				}
				got := template{segs}.expand(&v)
				if len(got) != 1 {
					t.Fatalf("expand(%q) gave %d arguments", arg, len(got))
				}
				literal := true
				for _, s := range segs {
					literal = literal && !s.isP
				}
				if other := (template{segs}).expand(testValues()); literal && other[0] != got[0] {
					t.Fatalf("literal %q expands to %q or %q depending on the values", arg, got[0], other[0])
				}
			}
			esc := escapeArg(arg)
			segs, err = parseArg(esc, allowed)
			if err != nil {
				t.Fatalf("parseArg(escapeArg(%q)) = %v", arg, err)
			}
			if got := (template{segs}).expand(testValues()); len(got) != 1 || got[0] != arg {
				t.Fatalf("escaped %q expands to %q", arg, got)
			}
		}
		// The value goes in once, verbatim, where the placeholder was.
		segs, err := parseArg("<{file}>", fileStoredPlaceholders)
		if err != nil {
			t.Fatal(err)
		}
		var v values
		v[phFile] = value
		if got := (template{segs}).expand(&v); got[0] != "<"+value+">" {
			t.Fatalf("value %q expanded to %q", value, got[0])
		}
	})
}

// FuzzValues feeds arbitrary event JSON to the placeholder extraction: it
// must return values or an error, never panic, and a directory it returns
// must be a parent of the file named after the study.
func FuzzValues(f *testing.F) {
	f.Add(EventFileStored, `{"event":"FileStored","data":{"file":"/d/1.2/1.2.3/1.dcm","studyInstanceUid":"1.2","seriesInstanceUid":"1.2.3","bytes":5}}`)
	f.Add(EventStudyCompleted, `{"data":{"study":{"studyInstanceUid":"1.2","series":[{"seriesInstanceUid":"1.2.3","instances":[{"file":"/d/1.2/1.2.3/1.dcm"}]}],"callingAeTitles":["A","B"],"instanceCount":1}}}`)
	f.Add(EventFileStored, `{"data":null}`)
	f.Add(EventStudyCompleted, `{"data":{"study":{"series":[{"instances":[]}]}}}`)
	f.Fuzz(func(t *testing.T, event, payload string) {
		v, err := valuesOf(event, []byte(payload))
		if err != nil {
			return
		}
		if d := v[phStudyDir]; d != "" && (filepath.Base(d) != v[phStudyInstanceUID] || !storage.ValidUID(filepath.Base(d))) {
			t.Fatalf("studyDir %q is not named after study %q", d, v[phStudyInstanceUID])
		}
		if d := v[phSeriesDir]; d != "" && (filepath.Dir(d) != v[phStudyDir] || !storage.ValidUID(filepath.Base(d))) {
			t.Fatalf("seriesDir %q is not a UID under studyDir %q", d, v[phStudyDir])
		}
	})
}
