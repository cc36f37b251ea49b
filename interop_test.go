package dicomrecv

import (
	"bytes"
	"compress/flate"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dicomrecv/dicomrecv/dicom"
	"github.com/dicomrecv/dicomrecv/internal/testutil"
)

// sample is one of pydicom's sample files.
type sample struct {
	name    string
	path    string
	meta    *dicom.FileMeta
	dataset []byte
	header  *dicom.Header
	sop     string
	study   string
	series  string
	class   string
	problem string // why it cannot be sent or stored, if it cannot
}

// tsOption is the storescu option that proposes a transfer syntax (with -R
// storescu then sends a file in its own transfer syntax: ../shared/peers.md).
var tsOption = map[string]string{
	dicom.ImplicitVRLittleEndian:         "-xi",
	dicom.ExplicitVRLittleEndian:         "-xe",
	dicom.ExplicitVRBigEndian:            "-xb",
	dicom.DeflatedExplicitVRLittleEndian: "-xd",
	"1.2.840.10008.1.2.5":                "-xr",
	"1.2.840.10008.1.2.4.50":             "-xy",
	"1.2.840.10008.1.2.4.51":             "-xx",
	"1.2.840.10008.1.2.4.70":             "-xs",
	"1.2.840.10008.1.2.4.80":             "-xt",
	"1.2.840.10008.1.2.4.81":             "-xu",
	"1.2.840.10008.1.2.4.90":             "-xv",
	"1.2.840.10008.1.2.4.91":             "-xw",
}

var uncompressedTS = []string{dicom.ImplicitVRLittleEndian, dicom.ExplicitVRLittleEndian, dicom.ExplicitVRBigEndian}

// loadSamples reads every pydicom sample with a Part-10 header.
func loadSamples(t testing.TB) []*sample {
	t.Helper()
	testutil.RequireFile(t, testutil.PydicomTestFiles)
	var out []*sample
	for _, dir := range []string{testutil.PydicomTestFiles, testutil.PydicomCharsetFiles} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.IsDir() || !strings.HasSuffix(e.Name(), ".dcm") {
				continue
			}
			path := filepath.Join(dir, e.Name())
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			meta, ds, err := dicom.SplitFile(b)
			if err != nil {
				continue // no Part-10 header: not a sample storescu sends as a file
			}
			s := &sample{name: e.Name(), path: path, meta: meta, dataset: ds}
			s.parse()
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

func (s *sample) parse() {
	ts, ok := dicom.LookupTransferSyntax(s.meta.TransferSyntaxUID)
	if !ok {
		s.problem = "unknown transfer syntax " + s.meta.TransferSyntaxUID
		return
	}
	var r io.Reader = bytes.NewReader(s.dataset)
	if ts.Deflated {
		r = flate.NewReader(r)
	}
	h, err := dicom.ReadHeader(r, ts.Encoding, dicom.Limits{})
	if err != nil {
		s.problem = "does not parse: " + err.Error()
		return
	}
	s.header = h
	s.sop, _ = h.UID(dicom.TagSOPInstanceUID)
	s.study, _ = h.UID(dicom.TagStudyInstanceUID)
	s.series, _ = h.UID(dicom.TagSeriesInstanceUID)
	s.class, _ = h.UID(dicom.TagSOPClassUID)
	if s.sop == "" {
		s.problem = "no SOP Instance UID"
	}
}

// Outcomes of a transfer other than success.
const (
	// notSent: storescu cannot read the file, so it sends no C-STORE and
	// the receiver stores nothing.
	notSent = "not sent by storescu"
)

// brokenSamples are pydicom's deliberately broken or unusual files, with
// the outcome expected for each. Every other sample must be stored.
var brokenSamples = map[string]string{
	"MR_truncated.dcm":         notSent, // pixel data cut short
	"rtplan_truncated.dcm":     notSent, // an element runs past the end of the file
	"rtdose_rle.dcm":           notSent, // odd-length RLE pixel data
	"rtdose_rle_1frame.dcm":    notSent,
	"meta_missing_tsyntax.dcm": notSent, // no transfer syntax: DCMTK finds no SOP class
	"SC_rgb_jpeg.dcm":          notSent, // non-standard VR bytes in the data set
}

// variant is one way of sending a sample: in a transfer syntax, with the
// storescu options that make it use it. forced variants go to a receiver
// that accepts only that transfer syntax, so storescu must convert.
type variant struct {
	ts     string
	opts   []string
	forced bool
}

func (s *sample) variants() []variant {
	own := s.meta.TransferSyntaxUID
	opt, ok := tsOption[own]
	if !ok {
		opt = "-x="
	}
	// -R proposes only what the file needs, so storescu sends it in its
	// own transfer syntax (../shared/peers.md).
	vs := []variant{{own, []string{"-R", opt}, false}}
	if contains(uncompressedTS, own) {
		// storescu prefers a context in the file's own transfer syntax;
		// a receiver that accepts only another one makes it convert.
		for _, u := range uncompressedTS {
			if u != own {
				vs = append(vs, variant{u, []string{"-R", tsOption[u]}, true})
			}
		}
	}
	return vs
}

// TestInteropStorescuSamples sends every pydicom sample with DCMTK
// storescu, in its own transfer syntax and, when uncompressed, converted to
// each other uncompressed one, and checks that each lands at its path,
// byte-identical to what was on the wire, readable by dcmdump, and (same
// transfer syntax) equal element for element to the sample.
func TestInteropStorescuSamples(t *testing.T) {
	samples := loadSamples(t)
	if len(samples) < 50 {
		t.Fatalf("only %d samples found", len(samples))
	}
	type receiver struct {
		*testServer
		proxy *recordingProxy
	}
	newReceiver := func(cfg Config) receiver {
		ts := startServer(t, cfg)
		return receiver{ts, newRecordingProxy(t, fmt.Sprintf("127.0.0.1:%d", ts.port))}
	}
	sets := CommonTagSets()
	extract := CombineTags(sets.Default, sets.CT, sets.MR)
	all := newReceiver(Config{ExtractTags: extract})
	only := map[string]receiver{}
	for _, u := range uncompressedTS {
		only[u] = newReceiver(Config{ExtractTags: extract, TransferSyntaxMode: ModeCustom, TransferSyntaxes: []string{u}})
	}
	oracle := pydicomTags(t, extract, samples)
	var transfers, stored int
	for _, s := range samples {
		if s.problem == "no SOP Instance UID" {
			// Not a sample of what a sender stores (storescu refuses it).
			t.Logf("%s: skipped, %s", s.name, s.problem)
			continue
		}
		for _, v := range s.variants() {
			transfers++
			ts, proxy := all.testServer, all.proxy
			if v.forced {
				ts, proxy = only[v.ts].testServer, only[v.ts].proxy
			}
			name := s.name + "/" + strings.Join(v.opts, "")
			args := append(append([]string{"-v"}, v.opts...), "-aet", "STORESCU", "-aec", "STORE-SCP", "127.0.0.1", proxy.port(), s.path)
			storedBefore := len(ts.storedEvents())
			out, _ := dcmtk(t, "storescu", args...)
			rec := proxy.takeRecordings()
			rsp := testutil.StoreResponses(out)
			want := brokenSamples[s.name]
			switch {
			case want == notSent:
				if len(rsp) != 0 || len(ts.storedEvents()) != storedBefore {
					t.Errorf("%s: expected storescu not to send the file, got responses %q\n%s", name, rsp, lastLines(out, 8))
				}
				continue
			case want == "":
				want = "Success"
			}
			if len(rsp) != 1 || rsp[0] != want {
				t.Errorf("%s: storescu responses %q, want [%s]\n%s", name, rsp, want, lastLines(out, 12))
				continue
			}
			if want != "Success" {
				continue
			}
			ev, sent := storedAndSent(t, name, ts.storedCh, rec)
			wire := sent[ev.SOPInstanceUID]
			if s.sop != "" && (ev.SOPInstanceUID != s.sop || ev.StudyInstanceUID != s.study || ev.SeriesInstanceUID != s.series || ev.SOPClassUID != s.class) {
				t.Errorf("%s: event UIDs %+v differ from the sample's", name, ev)
			}
			path := storedPath(ts.dir, ev.StudyInstanceUID, ev.SeriesInstanceUID, ev.SOPInstanceUID)
			if ev.File != path || ev.TransferSyntaxUID != v.ts || ev.Bytes != int64(len(wire)) ||
				ev.CallingAETitle != "STORESCU" || ev.CalledAETitle != "STORE-SCP" || false {
				t.Errorf("%s: event %+v (want file %s, transfer syntax %s, %d bytes)", name, ev, path, v.ts, len(wire))
			}
			if want, ok := oracle[s.path]; ok {
				if diff := cmp.Diff(want, ev.Tags); diff != "" {
					t.Errorf("%s: tags differ from pydicom's (-pydicom +ours):\n%s", name, diff)
				}
			} else {
				t.Errorf("%s: pydicom cannot read the sample", name)
			}
			meta, ds := readStored(t, path)
			if meta.TransferSyntaxUID != v.ts || meta.MediaStorageSOPInstanceUID != ev.SOPInstanceUID ||
				meta.MediaStorageSOPClassUID != ev.SOPClassUID || meta.ImplementationClassUID != ImplementationClassUID ||
				meta.SendingAET != "STORESCU" || meta.ReceivingAET != "STORE-SCP" || meta.SourceAET != "STORE-SCP" {
				t.Errorf("%s: file meta TS %s SOP %s/%s impl %s AEs %s/%s/%s", name, meta.TransferSyntaxUID,
					meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID, meta.ImplementationClassUID,
					meta.SourceAET, meta.SendingAET, meta.ReceivingAET)
			}
			if !bytes.Equal(ds, wire) {
				t.Errorf("%s: stored data set (%d bytes) differs from the one sent (%d bytes)", name, len(ds), len(wire))
			}
			dump, err := dcmtk(t, "dcmdump", "+L", path)
			if err != nil || strings.Contains(dump, "E: ") {
				t.Errorf("%s: dcmdump fails on the stored file: %v\n%s", name, err, lastLines(dump, 5))
			}
			if v.ts == s.meta.TransferSyntaxUID && !bytes.Equal(ds, s.dataset) {
				// storescu re-encodes some data sets (sequence lengths,
				// padding): the stored file must still hold the sample's
				// elements, value for value.
				orig, _ := dcmtk(t, "dcmdump", "+L", s.path)
				if a, b := normalizeDump(orig), normalizeDump(dump); a != b {
					t.Errorf("%s: stored elements differ from the sample's:\n%s", name, firstDiff(a, b))
				}
			}
			stored++
		}
	}
	t.Logf("%d samples, %d transfers, %d stored", len(samples), transfers, stored)
	if stored < 100 {
		t.Errorf("only %d transfers stored", stored)
	}
}

// pydicomTags runs the pydicom oracle (dicom/testdata/pydicom_extract.py,
// Debian's pydicom via /usr/bin/python3) on the samples and returns, per
// sample path, the tags it renders by the rules of docs/events.md.
func pydicomTags(t *testing.T, keywords []string, samples []*sample) map[string]map[string]string {
	t.Helper()
	testutil.RequireTool(t, testutil.Python)
	args := []string{filepath.Join("dicom", "testdata", "pydicom_extract.py"), strings.Join(keywords, ",")}
	for _, s := range samples {
		args = append(args, s.path)
	}
	cmd := exec.Command(testutil.Python, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pydicom oracle: %v", err)
	}
	var res map[string]struct {
		Tags  map[string]string `json:"tags"`
		Error string            `json:"error"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	tags := map[string]map[string]string{}
	for path, r := range res {
		if r.Error == "" {
			tags[path] = r.Tags
		}
	}
	return tags
}

// normalizeDump keeps the data set elements of a dcmdump +L listing, without
// the file meta group, group lengths, trailing padding, and the length encoding of sequences
// and items (storescu may turn undefined lengths into explicit ones).
func normalizeDump(d string) string {
	var out []string
	for _, l := range strings.Split(d, "\n") {
		l = strings.TrimRight(l, " ")
		switch {
		case !strings.HasPrefix(strings.TrimLeft(l, " "), "("):
			continue
		case strings.HasPrefix(l, "(0002,"), strings.Contains(l, ",0000) UL"):
			continue
		case strings.HasPrefix(l, "(fffc,fffc)"):
			continue // storescu drops Data Set Trailing Padding when it sends
		case strings.Contains(l, " SQ (Sequence with"), strings.Contains(l, " na (Item with"),
			strings.Contains(l, "Delimitation"):
			if i := strings.Index(l, ") "); i > 0 {
				l = l[:i+1]
			}
		}
		// The value length may differ where storescu re-pads a value.
		out = append(out, dumpLengthRE.ReplaceAllString(l, "#"))
	}
	return strings.Join(out, "\n")
}

var dumpLengthRE = regexp.MustCompile(`#\s*(\d+|u/l),`)

func firstDiff(a, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(la) || i < len(lb); i++ {
		var x, y string
		if i < len(la) {
			x = la[i]
		}
		if i < len(lb) {
			y = lb[i]
		}
		if x != y {
			return fmt.Sprintf("line %d:\n- %s\n+ %s", i+1, x, y)
		}
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func TestInteropEchoscu(t *testing.T) {
	ts := startServer(t, Config{})
	out, err := dcmtk(t, "echoscu", append([]string{"-v", "-aec", "STORE-SCP"}, ts.addr()...)...)
	if err != nil || !strings.Contains(out, "Received Echo Response (Success)") {
		t.Fatalf("echoscu: %v\n%s", err, out)
	}
}

// A regular file where the study directory must go makes storage fail for
// real (even as root): storescu sees "Refused: OutOfResources", nothing
// partial is left, and the next C-STORE on the same association succeeds.
func TestInteropStorageFailure(t *testing.T) {
	var ct, mr *sample
	for _, s := range loadSamples(t) {
		switch s.name {
		case "CT_small.dcm":
			ct = s
		case "MR_small.dcm":
			mr = s
		}
	}
	if ct == nil || mr == nil || ct.study == mr.study {
		t.Fatal("samples CT_small.dcm and MR_small.dcm of two studies needed")
	}
	ts := startServer(t, Config{})
	if err := os.WriteFile(filepath.Join(ts.dir, ct.study), []byte("not a directory"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := ts.storescu(t, []string{"-nh"}, ct.path, mr.path)
	rsp := testutil.StoreResponses(out)
	if len(rsp) != 2 || !strings.Contains(rsp[0], "OutOfResources") || rsp[1] != "Success" {
		t.Fatalf("storescu responses %q, want [Refused: OutOfResources Success]\n%s", rsp, lastLines(out, 15))
	}
	if strings.Count(out, "Requesting Association") != 1 {
		t.Fatalf("storescu opened more than one association:\n%s", out)
	}
	n, names := countFiles(t, ts.dir)
	if n != 2 { // the blocking file and MR_small
		t.Fatalf("files after the failure: %v", names)
	}
	if _, err := os.Stat(storedPath(ts.dir, mr.study, mr.series, mr.sop)); err != nil {
		t.Fatal(err)
	}
	if evs := ts.waitStored(t, 1); len(evs) != 1 || evs[0].SOPInstanceUID != mr.sop {
		t.Fatalf("events %+v", evs)
	}
}
