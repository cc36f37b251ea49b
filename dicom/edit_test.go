package dicom

import (
	"bytes"
	"compress/flate"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/dicomrecv/dicomrecv/dicom/charset"
	"github.com/dicomrecv/dicomrecv/internal/testutil"
)

// More tags for the edit tests.
const (
	tPatientBirthDate  Tag = 0x00100030
	tOtherPatientIDs   Tag = 0x00101000
	tColumns           Tag = 0x00280011
	tGroupLen10        Tag = 0x00100000
	tGroupLen7FE0      Tag = 0x7FE00000
	tExtOffsetTable    Tag = 0x7FE00001
	tSmallestPixel     Tag = 0x00280106 // US or SS
	tLargestPixel      Tag = 0x00280107 // US or SS
	tPrivCreator11     Tag = 0x00110010
	tPrivData11        Tag = 0x00111001
	tWaveformData      Tag = 0x54001010 // OB or OW
	tImageType         Tag = 0x00080008 // CS, VM 2-n
	tAdditionalHistory Tag = 0x001021B0 // LT
)

var editEncodings = []Encoding{ExplicitLittle, ExplicitBig, ImplicitLittle}

// u32 is a 32-bit value in d's byte order.
func (d *dsBuilder) u32(v uint32) []byte { return d.order().AppendUint32(nil, v) }

// pixel appends a short native pixel data element.
func (d *dsBuilder) pixel() *dsBuilder { return d.hdr(TagPixelData, OW, 4).raw(1, 2, 3, 4) }

// editDS parses ds, applies changes and returns the edited data set (the new
// header followed by the rest of ds).
func editDS(t *testing.T, ds []byte, enc Encoding, changes []Change, opts EditOptions) ([]byte, error) {
	t.Helper()
	h, err := ReadHeader(bytes.NewReader(ds), enc, Limits{})
	if err != nil {
		t.Fatalf("ReadHeader of the input: %v", err)
	}
	var out bytes.Buffer
	if err := Edit(&out, ds, h, enc, changes, opts); err != nil {
		if out.Len() != 0 {
			t.Errorf("Edit wrote %d bytes before failing", out.Len())
		}
		return nil, err
	}
	out.Write(ds[h.Length:])
	return out.Bytes(), nil
}

// base is the data set most hand-built cases start from.
func base(d *dsBuilder) *dsBuilder {
	return d.str(tModality, CS, "CT").
		str(tPatientName, PN, "DOE^JOHN").
		str(tPatientID, LO, "12").
		u16(tRows, 64)
}

// TestEditHandBuilt edits hand-built data sets in the three encodings and
// compares the result with the expected data set, byte for byte.
func TestEditHandBuilt(t *testing.T) {
	tests := []struct {
		name          string
		explicitOnly  bool
		before, after func(d *dsBuilder)
		changes       []Change
		charset       string // Specific Character Set of both data sets
	}{
		{
			name:    "no change",
			before:  func(d *dsBuilder) { base(d).pixel() },
			after:   func(d *dsBuilder) { base(d).pixel() },
			changes: nil,
		},
		{
			name:   "replace with a longer value",
			before: func(d *dsBuilder) { base(d).pixel() },
			after: func(d *dsBuilder) {
				d.str(tModality, CS, "CT").str(tPatientName, PN, "ANONYMOUS^PATIENT ").str(tPatientID, LO, "12").u16(tRows, 64).pixel()
			},
			changes: []Change{{Tag: tPatientName, Value: "ANONYMOUS^PATIENT"}},
		},
		{
			name:   "delete",
			before: func(d *dsBuilder) { base(d).pixel() },
			after: func(d *dsBuilder) {
				d.str(tModality, CS, "CT").str(tPatientName, PN, "DOE^JOHN").u16(tRows, 64).pixel()
			},
			changes: []Change{{Tag: tPatientID, Delete: true}},
		},
		{
			name:    "delete an absent tag",
			before:  func(d *dsBuilder) { base(d).pixel() },
			after:   func(d *dsBuilder) { base(d).pixel() },
			changes: []Change{{Tag: tOtherPatientIDs, Delete: true}},
		},
		{
			name:   "add in tag order",
			before: func(d *dsBuilder) { base(d).pixel() },
			after: func(d *dsBuilder) {
				d.str(TagSOPClassUID, UI, "1.2.3\x00").str(tModality, CS, "CT").str(tPatientName, PN, "DOE^JOHN").
					str(tPatientID, LO, "12").str(tPatientBirthDate, DA, "19700101").u16(tRows, 64).u16(tColumns, 32).pixel()
			},
			changes: []Change{{Tag: tColumns, Value: "32"}, {Tag: tPatientBirthDate, Value: "19700101"}, {Tag: TagSOPClassUID, Value: "1.2.3"}},
		},
		{
			name:    "add to a data set without pixel data",
			before:  func(d *dsBuilder) { base(d) },
			after:   func(d *dsBuilder) { base(d).u16(tColumns, 32) },
			changes: []Change{{Tag: tColumns, Value: "32"}},
		},
		{
			name:    "add to an empty data set",
			before:  func(d *dsBuilder) {},
			after:   func(d *dsBuilder) { d.str(tPatientName, PN, "X ") },
			changes: []Change{{Tag: tPatientName, Value: "X"}},
		},
		{
			name:   "empty value",
			before: func(d *dsBuilder) { base(d).pixel() },
			after: func(d *dsBuilder) {
				d.str(tModality, CS, "CT").str(tPatientName, PN, "").str(tPatientID, LO, "12").u16(tRows, 64).pixel()
			},
			changes: []Change{{Tag: tPatientName, Value: ""}},
		},
		{
			name:    "Rows set to its own value",
			before:  func(d *dsBuilder) { base(d).pixel() },
			after:   func(d *dsBuilder) { base(d).pixel() },
			changes: []Change{{Tag: tRows, Value: "64"}},
		},
		{
			name:    "multi-valued",
			before:  func(d *dsBuilder) { d.str(tImageType, CS, "ORIGINAL").pixel() },
			after:   func(d *dsBuilder) { d.str(tImageType, CS, `DERIVED\SECONDARY `).pixel() },
			changes: []Change{{Tag: tImageType, Value: `DERIVED\SECONDARY`}},
		},
		{
			name:   "last change of a tag wins",
			before: func(d *dsBuilder) { base(d).pixel() },
			after: func(d *dsBuilder) {
				d.str(tModality, CS, "CT").str(tPatientName, PN, "B ").str(tPatientID, LO, "12").u16(tRows, 64).pixel()
			},
			changes: []Change{{Tag: tPatientName, Value: "A"}, {Tag: tPatientName, Delete: true}, {Tag: tPatientName, Value: "B"}},
		},
		{
			name:    "repeated tag: the first is set, the others go",
			before:  func(d *dsBuilder) { d.str(tPatientName, PN, "A ").str(tPatientName, PN, "B ").pixel() },
			after:   func(d *dsBuilder) { d.str(tPatientName, PN, "C ").pixel() },
			changes: []Change{{Tag: tPatientName, Value: "C"}},
		},
		{
			name:    "UN rewritten with the dictionary VR",
			before:  func(d *dsBuilder) { d.str(tPatientName, UN, "DOE^JOHN").u16(tRows, 64).pixel() },
			after:   func(d *dsBuilder) { d.str(tPatientName, PN, "ANON").u16(tRows, 64).pixel() },
			changes: []Change{{Tag: tPatientName, Value: "ANON"}},
		},
		{
			name: "US or SS: signed pixel data",
			before: func(d *dsBuilder) {
				d.u16(TagPixelRepresentation, 1).el(tSmallestPixel, SS, d.order().AppendUint16(nil, 0)).pixel()
			},
			after: func(d *dsBuilder) {
				d.u16(TagPixelRepresentation, 1).el(tSmallestPixel, SS, d.order().AppendUint16(nil, 0xFFFB)).
					el(tLargestPixel, SS, d.order().AppendUint16(nil, 0xFFFF)).pixel()
			},
			changes: []Change{{Tag: tSmallestPixel, Value: "-5"}, {Tag: tLargestPixel, Value: "-1"}},
		},
		{
			name:   "US or SS: Pixel Representation changed too",
			before: func(d *dsBuilder) { d.u16(TagPixelRepresentation, 0).pixel() },
			after: func(d *dsBuilder) {
				d.u16(TagPixelRepresentation, 1).el(tLargestPixel, SS, d.order().AppendUint16(nil, 0xFFFF)).pixel()
			},
			changes: []Change{{Tag: tLargestPixel, Value: "-1"}, {Tag: TagPixelRepresentation, Value: "1"}},
		},
		{
			name:         "US or SS: an explicit element keeps its VR",
			explicitOnly: true,
			before:       func(d *dsBuilder) { d.u16(TagPixelRepresentation, 1).u16(tSmallestPixel, 0).pixel() },
			after:        func(d *dsBuilder) { d.u16(TagPixelRepresentation, 1).u16(tSmallestPixel, 5).pixel() },
			changes:      []Change{{Tag: tSmallestPixel, Value: "5"}},
		},
		{
			name:    "OB or OW: OW",
			before:  func(d *dsBuilder) { d.u16(tRows, 1) },
			after:   func(d *dsBuilder) { d.u16(tRows, 1).el(tWaveformData, OW, d.order().AppendUint16(nil, 258)) },
			changes: []Change{{Tag: tWaveformData, Value: "258"}},
		},
		{
			name: "group length recomputed",
			before: func(d *dsBuilder) {
				g8 := newDS(d.enc).str(tModality, CS, "CT")
				g10 := newDS(d.enc).str(tPatientName, PN, "DOE^JOHN").str(tPatientID, LO, "12")
				d.el(tGroupLen08, UL, d.u32(uint32(len(g8.b)))).with(g8).el(tGroupLen10, UL, d.u32(uint32(len(g10.b)))).with(g10).pixel()
			},
			after: func(d *dsBuilder) {
				g8 := newDS(d.enc).str(tModality, CS, "CT")
				g10 := newDS(d.enc).str(tPatientName, PN, "ANONYMOUS^PATIENT ").str(tPatientID, LO, "12").str(tPatientBirthDate, DA, "19700101")
				d.el(tGroupLen08, UL, d.u32(uint32(len(g8.b)))).with(g8).el(tGroupLen10, UL, d.u32(uint32(len(g10.b)))).with(g10).pixel()
			},
			changes: []Change{{Tag: tPatientName, Value: "ANONYMOUS^PATIENT"}, {Tag: tPatientBirthDate, Value: "19700101"}},
		},
		{
			name: "group length of an emptied group dropped",
			before: func(d *dsBuilder) {
				g10 := newDS(d.enc).str(tPatientName, PN, "DOE^JOHN").str(tPatientID, LO, "12")
				d.str(tModality, CS, "CT").el(tGroupLen10, UL, d.u32(uint32(len(g10.b)))).with(g10).pixel()
			},
			after:   func(d *dsBuilder) { d.str(tModality, CS, "CT").pixel() },
			changes: []Change{{Tag: tPatientName, Delete: true}, {Tag: tPatientID, Delete: true}},
		},
		{
			name:    "group length of the pixel data group dropped",
			before:  func(d *dsBuilder) { d.u16(tRows, 1).el(tGroupLen7FE0, UL, d.u32(12)).pixel() },
			after:   func(d *dsBuilder) { d.u16(tRows, 1).el(tExtOffsetTable, OV, d.order().AppendUint64(nil, 0)).pixel() },
			changes: []Change{{Tag: tExtOffsetTable, Value: "0"}},
		},
		{
			name: "sequence set empty",
			before: func(d *dsBuilder) {
				d.hdr(tRefSeries, SQ, UndefinedLength).item(UndefinedLength).str(TagSeriesInstanceUID, UI, "1.2\x00").itemEnd().seqEnd().pixel()
			},
			after:   func(d *dsBuilder) { d.hdr(tRefSeries, SQ, 0).pixel() },
			changes: []Change{{Tag: tRefSeries, Value: ""}},
		},
		{
			name: "sequence deleted",
			before: func(d *dsBuilder) {
				d.u16(tRows, 1).hdr(tRefSeries, SQ, UndefinedLength).item(UndefinedLength).str(TagSeriesInstanceUID, UI, "1.2\x00").itemEnd().seqEnd().pixel()
			},
			after:   func(d *dsBuilder) { d.u16(tRows, 1).pixel() },
			changes: []Change{{Tag: tRefSeries, Delete: true}},
		},
		{
			name: "sequences untouched around a change",
			before: func(d *dsBuilder) {
				d.str(tPatientName, PN, "A ").hdr(tRefSeries, SQ, UndefinedLength).item(UndefinedLength).str(TagSeriesInstanceUID, UI, "1.2\x00").itemEnd().seqEnd().pixel()
			},
			after: func(d *dsBuilder) {
				d.str(tPatientName, PN, "BB").hdr(tRefSeries, SQ, UndefinedLength).item(UndefinedLength).str(TagSeriesInstanceUID, UI, "1.2\x00").itemEnd().seqEnd().pixel()
			},
			changes: []Change{{Tag: tPatientName, Value: "BB"}},
		},
		{
			name:    "private element keeps its VR",
			before:  func(d *dsBuilder) { d.str(tPrivCreator, LO, "ACME").str(tPrivData, SH, "abc ").pixel() },
			after:   func(d *dsBuilder) { d.str(tPrivCreator, LO, "ACME").str(tPrivData, SH, "xyz1").pixel() },
			changes: []Change{{Tag: tPrivData, Value: "xyz1"}},
		},
		{
			name:    "new private element: LO",
			before:  func(d *dsBuilder) { d.str(tPrivCreator, LO, "ACME").pixel() },
			after:   func(d *dsBuilder) { d.str(tPrivCreator, LO, "ACME").str(tPrivData, LO, "hello ").pixel() },
			changes: []Change{{Tag: tPrivData, Value: "hello"}},
		},
		{
			name:    "new private element: UN from base64",
			before:  func(d *dsBuilder) { d.str(tPrivCreator, LO, "ACME").pixel() },
			after:   func(d *dsBuilder) { d.str(tPrivCreator, LO, "ACME").el(tPrivData, UN, []byte{1, 2, 3, 0}).pixel() },
			changes: []Change{{Tag: tPrivData, Value: "base64:AQID"}},
		},
		{
			name:   "new private element: UT when too long for LO",
			before: func(d *dsBuilder) { d.str(tPrivCreator, LO, "ACME").pixel() },
			after: func(d *dsBuilder) {
				d.str(tPrivCreator, LO, "ACME").str(tPrivData, UT, strings.Repeat("x", 70)).pixel()
			},
			changes: []Change{{Tag: tPrivData, Value: strings.Repeat("x", 70)}},
		},
		{
			name:    "new private block with its creator",
			before:  func(d *dsBuilder) { d.u16(tRows, 1).pixel() },
			after:   func(d *dsBuilder) { d.str(tPrivCreator11, LO, "ME").str(tPrivData11, LO, "v ").u16(tRows, 1).pixel() },
			changes: []Change{{Tag: tPrivData11, Value: "v"}, {Tag: tPrivCreator11, Value: "ME"}},
		},
		{
			name:    "private creator deleted with its block",
			before:  func(d *dsBuilder) { d.str(tPrivCreator, LO, "ACME").str(tPrivData, SH, "abc ").u16(tRows, 1).pixel() },
			after:   func(d *dsBuilder) { d.u16(tRows, 1).pixel() },
			changes: []Change{{Tag: tPrivData, Delete: true}, {Tag: tPrivCreator, Delete: true}},
		},
		{
			name:    "Latin-1",
			charset: "ISO_IR 100",
			before:  func(d *dsBuilder) { d.str(tPatientName, PN, "A ").pixel() },
			after:   func(d *dsBuilder) { d.str(tPatientName, PN, "Buc^J\xe9r\xf4me").pixel() },
			changes: []Change{{Tag: tPatientName, Value: "Buc^Jérôme"}},
		},
		{
			name:    "Japanese",
			charset: `\ISO 2022 IR 87`,
			before:  func(d *dsBuilder) { d.str(tPatientName, PN, "A ").pixel() },
			after:   func(d *dsBuilder) { d.str(tPatientName, PN, "Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B").pixel() },
			changes: []Change{{Tag: tPatientName, Value: "Yamada^Tarou=山田^太郎"}},
		},
		{
			name:    "UTF-8",
			charset: "ISO_IR 192",
			before:  func(d *dsBuilder) { d.str(tPatientName, PN, "A ").pixel() },
			after: func(d *dsBuilder) {
				d.str(tPatientName, PN, "Wang^XiaoDong=\xe7\x8e\x8b^\xe5\xb0\x8f\xe6\x9d\xb1").pixel()
			},
			changes: []Change{{Tag: tPatientName, Value: "Wang^XiaoDong=王^小東"}},
		},
		{
			name:    "LT with line breaks",
			before:  func(d *dsBuilder) { d.u16(tRows, 1).pixel() },
			after:   func(d *dsBuilder) { d.str(tAdditionalHistory, LT, "a\\b\r\nc").u16(tRows, 1).pixel() },
			changes: []Change{{Tag: tAdditionalHistory, Value: "a\\b\r\nc"}},
		},
	}
	for _, tt := range tests {
		for _, enc := range editEncodings {
			if tt.explicitOnly && enc.ImplicitVR {
				continue
			}
			t.Run(tt.name+"/"+encName(enc), func(t *testing.T) {
				before, after := newDS(enc), newDS(enc)
				if tt.charset != "" {
					v := tt.charset
					if len(v)%2 == 1 {
						v += " "
					}
					before.str(TagSpecificCharacterSet, CS, v)
					after.str(TagSpecificCharacterSet, CS, v)
				}
				tt.before(before)
				tt.after(after)
				got, err := editDS(t, before.bytes(), enc, tt.changes, EditOptions{})
				if err != nil {
					t.Fatalf("Edit: %v", err)
				}
				if !bytes.Equal(got, after.bytes()) {
					t.Fatalf("Edit =\n% x\nwant\n% x", got, after.bytes())
				}
				h, err := ReadHeader(bytes.NewReader(got), enc, Limits{})
				if err != nil {
					t.Fatalf("the result does not parse: %v", err)
				}
				checkHeaderShape(t, h, int64(len(got)))
			})
		}
	}
}

// recordingWriter records what is written.
type recordingWriter struct{ bytes.Buffer }

func TestEditRefuses(t *testing.T) {
	ds := func(enc Encoding) []byte {
		d := newDS(enc).str(TagSpecificCharacterSet, CS, "ISO_IR 100").
			el(tGroupLen10, UL, newDS(enc).u32(10)).str(tPatientName, PN, "DOE^JOHN").
			str(tPrivCreator, LO, "ACME").str(tPrivData, SH, "ab").
			hdr(tRefSeries, SQ, UndefinedLength).item(UndefinedLength).itemEnd().seqEnd().
			u16(tRows, 64)
		return d.pixel().bytes()
	}
	tests := []struct {
		name    string
		changes []Change
		is      error
		msg     string
	}{
		{"file meta", []Change{{Tag: TagTransferSyntaxUID, Value: "1.2"}}, ErrNotEditable, "(0002,0010) cannot be changed: file meta element"},
		{"command", []Change{{Tag: 0x00000100, Value: "1"}}, ErrNotEditable, "(0000,0100) cannot be changed: command element"},
		{"item", []Change{{Tag: TagItem, Delete: true}}, ErrNotEditable, "(FFFE,E000) cannot be changed: item or delimiter"},
		{"group length", []Change{{Tag: tGroupLen10, Value: "4"}}, ErrNotEditable, "(0010,0000) cannot be changed: group lengths are computed"},
		{"charset", []Change{{Tag: TagSpecificCharacterSet, Value: "ISO_IR 192"}}, ErrNotEditable,
			"(0008,0005) cannot be changed: Specific Character Set is fixed"},
		{"charset delete", []Change{{Tag: TagSpecificCharacterSet, Delete: true}}, ErrNotEditable,
			"(0008,0005) cannot be changed: Specific Character Set is fixed"},
		{"pixel data", []Change{{Tag: TagPixelData, Delete: true}}, ErrNotEditable, "(7FE0,0010) cannot be changed: pixel data or after it"},
		{"after pixel data", []Change{{Tag: 0xFFFAFFFA, Delete: true}}, ErrNotEditable, "(FFFA,FFFA) cannot be changed: pixel data or after it"},
		{"unknown standard tag", []Change{{Tag: 0x00090002, Value: "x"}}, ErrNotEditable,
			"(0009,0002) cannot be changed: outside private blocks"},
		{"unknown even tag", []Change{{Tag: 0x00100002, Value: "x"}}, ErrNotEditable,
			"(0010,0002) cannot be changed: not in the dictionary, VR unknown"},
		{"no private creator", []Change{{Tag: 0x00111001, Value: "x"}}, ErrNoPrivateCreator, "(0011,1001) no private creator for its block"},
		{"private creator deleted", []Change{{Tag: 0x00091001, Value: "x"}, {Tag: tPrivCreator, Delete: true}}, ErrNotEditable,
			"(0009,0010) cannot be changed: private creator still in use"},
		{"private creator in use", []Change{{Tag: tPrivCreator, Delete: true}}, ErrNotEditable,
			"(0009,0010) cannot be changed: private creator still in use"},
		{"not a private group", []Change{{Tag: 0x00031001, Value: "x"}}, ErrNotEditable,
			"(0003,1001) cannot be changed: not a private group"},
		{"sequence", []Change{{Tag: tRefSeries, Value: "x"}}, ErrBadValue, "(0008,1115) SQ: a sequence can only be set empty"},
		{"bad value", []Change{{Tag: tRows, Value: "70000"}}, ErrBadValue, "(0028,0010) US value 1: out of range 0..65535"},
		{"VM", []Change{{Tag: tRows, Value: `1\2`}}, ErrBadValue, "(0028,0010) US: 2 values where VM is 1"},
		{"VM of text", []Change{{Tag: tPatientName, Value: `A\B`}}, ErrBadValue, "(0010,0010) PN: 2 values where VM is 1"},
		{"charset", []Change{{Tag: tPatientName, Value: "山田"}}, ErrBadValue, "(0010,0010) PN: character 1 not in ISO_IR 100"},
		{"first error wins", []Change{{Tag: tPatientName, Value: "山田"}, {Tag: tRows, Value: "x"}}, ErrBadValue,
			"(0010,0010) PN: character 1 not in ISO_IR 100"},
	}
	for _, tt := range tests {
		for _, enc := range editEncodings {
			t.Run(tt.name+"/"+encName(enc), func(t *testing.T) {
				raw := ds(enc)
				h, err := ReadHeader(bytes.NewReader(raw), enc, Limits{})
				if err != nil {
					t.Fatal(err)
				}
				var w recordingWriter
				err = Edit(&w, raw, h, enc, tt.changes, EditOptions{})
				var ee *EditError
				if !errors.Is(err, tt.is) || !errors.As(err, &ee) {
					t.Fatalf("Edit error = %v, want %v in an *EditError", err, tt.is)
				}
				if err.Error() != tt.msg {
					t.Errorf("message %q, want %q", err, tt.msg)
				}
				if len(err.Error()) > 64 {
					t.Errorf("message %q longer than 64 characters", err)
				}
				if w.Len() != 0 {
					t.Errorf("%d bytes written", w.Len())
				}
			})
		}
	}
}

// TestEditShortLength: a value too long for a 16-bit length is refused in
// explicit VR and fine in implicit VR.
func TestEditShortLength(t *testing.T) {
	v := strings.Repeat(`1\`, 40000) + "1" // 40001 US values, 80002 bytes
	for _, enc := range editEncodings {
		raw := newDS(enc).u16(tRows, 1).bytes()
		_, err := editDS(t, raw, enc, []Change{{Tag: 0x00283006, Value: v}}, EditOptions{}) // LUT Data, US or OW, 1-n
		if enc.ImplicitVR && err != nil {
			t.Errorf("%s: %v", encName(enc), err)
		}
		if !enc.ImplicitVR && (!errors.Is(err, ErrBadValue) || !strings.Contains(err.Error(), "longer than 65535 bytes")) {
			t.Errorf("%s: error %v, want longer than 65535 bytes", encName(enc), err)
		}
	}
}

func TestEditHeaderMismatch(t *testing.T) {
	raw := base(newDS(ExplicitLittle)).pixel().bytes()
	good, err := ReadHeader(bytes.NewReader(raw), ExplicitLittle, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		raw    []byte
		mangle func(h *Header)
	}{
		{"nil header", raw, nil},
		{"raw too short", raw[:good.Length-1], func(h *Header) {}},
		{"gap", raw, func(h *Header) { h.Elements[1].Offset++ }},
		{"element past the header", raw, func(h *Header) { h.Elements[len(h.Elements)-1].End = h.Length + 1 }},
		{"bad header length", raw, func(h *Header) { h.Elements[0].HeaderLen = 3 }},
		{"pixel data misplaced", raw, func(h *Header) { h.PixelData.Offset-- }},
		{"no pixel data, short", raw, func(h *Header) { h.PixelData = nil }},
		{"negative length", raw, func(h *Header) { h.Length = -1 }},
	}
	for _, tt := range tests {
		var h *Header
		if tt.mangle != nil {
			c := *good
			c.Elements = append([]Element(nil), good.Elements...)
			pd := *good.PixelData
			c.PixelData = &pd
			tt.mangle(&c)
			h = &c
		}
		err := Edit(io.Discard, tt.raw, h, ExplicitLittle, []Change{{Tag: tPatientName, Value: "X"}}, EditOptions{})
		if !errors.Is(err, ErrHeaderMismatch) {
			t.Errorf("%s: error %v, want ErrHeaderMismatch", tt.name, err)
		}
	}
}

type failingWriter struct{ n int }

var errWrite = errors.New("disk full")

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.n == 0 {
		return 0, errWrite
	}
	f.n--
	return len(p), nil
}

func TestEditWriteError(t *testing.T) {
	raw := base(newDS(ExplicitLittle)).pixel().bytes()
	h, _ := ReadHeader(bytes.NewReader(raw), ExplicitLittle, Limits{})
	for n := range 3 {
		err := Edit(&failingWriter{n: n}, raw, h, ExplicitLittle, []Change{{Tag: tPatientName, Value: "X"}}, EditOptions{})
		if !errors.Is(err, errWrite) {
			t.Errorf("after %d writes: error %v, want the writer's", n, err)
		}
	}
}

func TestEditCharsetOption(t *testing.T) {
	raw := newDS(ExplicitLittle).str(tPatientName, PN, "A ").bytes()
	latin1, _ := charset.NewEncoder("ISO_IR 100")
	got, err := editDS(t, raw, ExplicitLittle, []Change{{Tag: tPatientName, Value: "é"}}, EditOptions{Charset: latin1})
	if err != nil || !bytes.Equal(got, newDS(ExplicitLittle).str(tPatientName, PN, "\xe9 ").bytes()) {
		t.Errorf("with a Latin-1 encoder: % x, %v", got, err)
	}
	if _, err := editDS(t, raw, ExplicitLittle, []Change{{Tag: tPatientName, Value: "é"}}, EditOptions{}); !errors.Is(err, ErrBadValue) {
		t.Errorf("default repertoire: error %v, want ErrBadValue", err)
	}
	// An unknown Specific Character Set: ASCII still works.
	raw = newDS(ExplicitLittle).str(TagSpecificCharacterSet, CS, "ISO_IR 999").str(tPatientName, PN, "A ").bytes()
	if _, err := editDS(t, raw, ExplicitLittle, []Change{{Tag: tPatientName, Value: "B"}}, EditOptions{}); err != nil {
		t.Errorf("unknown character set, ASCII: %v", err)
	}
	_, err = editDS(t, raw, ExplicitLittle, []Change{{Tag: tPatientName, Value: "é"}}, EditOptions{})
	if err == nil || err.Error() != "(0010,0010) PN: character 1 not in unknown set ISO_IR 999" {
		t.Errorf("unknown character set, é: %v", err)
	}
}

// finalChanges returns the change that counts for each tag (the last).
func finalChanges(changes []Change) map[Tag]Change {
	m := make(map[Tag]Change, len(changes))
	for _, c := range changes {
		m[c.Tag] = c
	}
	return m
}

// checkEdited checks the edited header h2 (of the data set out) against
// the original h (of raw): every element no change names, except the group
// lengths of touched groups, is there in the same order with the same
// bytes; each set tag is there once, each deleted tag is gone; the group
// lengths of touched groups that remain are right; the pixel data header
// is the same.
func checkEdited(t testing.TB, raw []byte, h *Header, out []byte, h2 *Header, changes []Change) {
	t.Helper()
	final := finalChanges(changes)
	touched := map[uint16]bool{}
	for tag, c := range final {
		if !c.Delete || h.Lookup(tag) != nil {
			touched[tag.Group()] = true
		}
	}
	keep := func(e *Element) bool {
		_, changed := final[e.Tag]
		return !changed && !(e.Tag.IsGroupLength() && touched[e.Tag.Group()])
	}
	var a, b []*Element
	for i := range h.Elements {
		if keep(&h.Elements[i]) {
			a = append(a, &h.Elements[i])
		}
	}
	for i := range h2.Elements {
		if keep(&h2.Elements[i]) {
			b = append(b, &h2.Elements[i])
		}
	}
	if len(a) != len(b) {
		t.Fatalf("%d untouched elements before, %d after", len(a), len(b))
	}
	for i := range a {
		if a[i].Tag != b[i].Tag || !bytes.Equal(raw[a[i].Offset:a[i].End], out[b[i].Offset:b[i].End]) {
			t.Fatalf("untouched element %s (#%d) changed: %s % x", a[i].Tag, i, b[i].Tag, out[b[i].Offset:min(b[i].End, b[i].Offset+64)])
		}
	}
	count := map[Tag]int{}
	for i := range h2.Elements {
		count[h2.Elements[i].Tag]++
	}
	for tag, c := range final {
		if want := map[bool]int{true: 0, false: 1}[c.Delete]; count[tag] != want {
			t.Errorf("%s appears %d times after the edit, want %d", tag, count[tag], want)
		}
	}
	for g := range touched {
		gl := h2.Lookup(NewTag(g, 0))
		if gl == nil {
			continue
		}
		var sum int64
		for i := range h2.Elements {
			if e := &h2.Elements[i]; e.Tag.Group() == g && e != gl {
				sum += e.End - e.Offset
			}
		}
		if len(gl.Value) != 4 || int64(byteOrder(ExplicitLittle).Uint32(gl.Value)) != sum && int64(byteOrder(ExplicitBig).Uint32(gl.Value)) != sum {
			t.Errorf("group length %s = % x, the group has %d bytes", gl.Tag, gl.Value, sum)
		}
	}
	switch {
	case (h.PixelData == nil) != (h2.PixelData == nil):
		t.Errorf("pixel data %v before, %v after", h.PixelData != nil, h2.PixelData != nil)
	case h.PixelData != nil && !bytes.Equal(raw[h.PixelData.Offset:h.Length], out[h2.PixelData.Offset:h2.Length]):
		t.Errorf("pixel data header changed")
	}
	if !bytes.Equal(raw[h.Length:], out[h2.Length:]) {
		t.Errorf("the bytes after the header changed")
	}
}

// acceptanceChanges are the changes of the acceptance test; Rows
// is set to its own value where the data set has it.
func acceptanceChanges(h *Header, enc Encoding) []Change {
	changes := []Change{
		{Tag: tPatientName, Value: "ANON^PATIENT"},
		{Tag: tPatientID, Value: "ANON-0001"},
		{Tag: tPatientBirthDate, Value: "19700101"},
		{Tag: tOtherPatientIDs, Delete: true},
	}
	if e := h.Lookup(tRows); e != nil {
		if v, ok := e.Render(enc, nil, false); ok {
			changes = append(changes, Change{Tag: tRows, Value: v})
		}
	}
	return changes
}

// editedSample is a pydicom sample after an edit, written as a Part-10 file.
type editedSample struct {
	orig, edited string // paths
	changes      []Change
	rows         string
}

// writePart10 writes meta and the data set ds to path, deflating ds for a
// deflated transfer syntax.
func writePart10(t *testing.T, path string, m *FileMeta, ds []byte) {
	t.Helper()
	icu := m.ImplementationClassUID
	if icu == "" {
		icu = "1.2.3.4"
	}
	b := AppendFileMeta(nil, &MetaInfo{MediaStorageSOPClassUID: m.MediaStorageSOPClassUID,
		MediaStorageSOPInstanceUID: m.MediaStorageSOPInstanceUID, TransferSyntaxUID: m.TransferSyntaxUID,
		ImplementationClassUID: icu})
	if _, deflated := encodingOf(m.TransferSyntaxUID, ds); deflated {
		var z bytes.Buffer
		zw, _ := flate.NewWriter(&z, flate.DefaultCompression)
		zw.Write(ds)
		zw.Close()
		ds = z.Bytes()
	}
	if err := os.WriteFile(path, append(b, ds...), 0o644); err != nil {
		t.Fatal(err)
	}
}

// editCorpus edits every sample that ReadHeader parses with changes(h) and
// checks each result with checkEdited; it returns the edited files.
func editCorpus(t *testing.T, changes func(h *Header, enc Encoding) []Change) []editedSample {
	files := loadCorpus(t)
	parsed := parsedCorpus(t, files)
	dir := t.TempDir()
	var out []editedSample
	for i, f := range files {
		p, ok := parsed[f.path]
		if !ok {
			continue
		}
		if f.meta.MediaStorageSOPClassUID == "1.2.840.10008.1.3.10" {
			// A DICOMDIR: its records are found by byte offsets, which any
			// change of length before them breaks. It is not a Storage SOP
			// Class: a receiver never gets one.
			continue
		}
		h, enc := p.Header, p.enc
		cs := changes(h, enc)
		if cs == nil {
			continue
		}
		var buf bytes.Buffer
		if err := Edit(&buf, f.dataset, h, enc, cs, EditOptions{}); err != nil {
			t.Errorf("%s: Edit: %v", f.path, err)
			continue
		}
		buf.Write(f.dataset[h.Length:])
		edited := buf.Bytes()
		h2, err := ReadHeader(bytes.NewReader(edited), enc, Limits{})
		if err != nil {
			t.Errorf("%s: the edited data set does not parse: %v", f.path, err)
			continue
		}
		checkHeaderShape(t, h2, int64(len(edited)))
		checkEdited(t, f.dataset, h, edited, h2, cs)
		var dec *charset.Decoder
		if e := h2.Lookup(TagSpecificCharacterSet); e != nil {
			dec, _ = charset.New(string(e.Value))
		}
		for _, c := range cs {
			if c.Delete {
				continue
			}
			if got, ok := h2.Lookup(c.Tag).Render(enc, dec, false); !ok || got != c.Value {
				t.Errorf("%s: %s renders %q, %v; set to %q", f.path, c.Tag, got, ok, c.Value)
			}
		}
		path := filepath.Join(dir, fmt.Sprintf("%03d-%s", i, f.name))
		meta := *f.meta
		if meta.TransferSyntaxUID == "" && enc == ImplicitLittle {
			meta.TransferSyntaxUID = ImplicitVRLittleEndian // AppendFileMeta writes one
		}
		writePart10(t, path, &meta, edited)
		s := editedSample{orig: f.path, edited: path, changes: cs}
		if e := h.Lookup(tRows); e != nil {
			s.rows, _ = e.Render(enc, nil, false)
		}
		out = append(out, s)
	}
	return out
}

// pydicomRead is a Python script printing, for each file given, what
// pydicom reads of the attributes the edit tests change, and a hash of the
// raw pixel data.
const pydicomRead = `
import hashlib, json, sys, warnings
warnings.simplefilter("ignore")
import pydicom
out = {}
for p in sys.argv[1:]:
    r = {}
    try:
        ds = pydicom.dcmread(p, force=True)
        for kw in ("PatientName", "PatientID", "PatientBirthDate", "Rows"):
            if kw in ds:
                v = ds[kw].value
                r[kw] = "" if v is None else str(v)
        r["OtherPatientIDs"] = "OtherPatientIDs" in ds
        for tag in (0x7FE00010, 0x7FE00008, 0x7FE00009):
            if tag in ds:
                r["pixel"] = hashlib.sha256(ds[tag].value).hexdigest()
    except Exception as e:
        r = {"error": repr(e)}
    out[p] = r
json.dump(out, sys.stdout, ensure_ascii=False)
`

type pydicomAttrs struct {
	PatientName, PatientID, PatientBirthDate, Rows *string
	OtherPatientIDs                                bool
	Pixel                                          string `json:"pixel"`
	Error                                          string `json:"error"`
}

func runPydicomRead(t *testing.T, paths []string) map[string]pydicomAttrs {
	t.Helper()
	testutil.RequireFile(t, testutil.Python)
	cmd := exec.Command(testutil.Python, append([]string{"-c", pydicomRead}, paths...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if strings.Contains(stderr.String(), "No module named 'pydicom'") {
		testutil.Missing(t, "pydicom for "+testutil.Python)
	}
	if err != nil {
		t.Fatalf("python: %v\n%s", err, stderr.Bytes())
	}
	var res map[string]pydicomAttrs
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	return res
}

func deref(s *string) string {
	if s == nil {
		return "<absent>"
	}
	return *s
}

// TestEditCorpus applies the acceptance change to every pydicom sample:
// the result parses, untouched elements are byte-identical, the new values
// render as set, pydicom reads the new values and the same pixel data, and
// DCMTK's dcmdump reads the file with the right VRs.
func TestEditCorpus(t *testing.T) {
	samples := editCorpus(t, acceptanceChanges)
	t.Logf("%d samples edited", len(samples))
	if len(samples) < 100 {
		t.Fatalf("only %d samples edited", len(samples))
	}
	var paths []string
	for _, s := range samples {
		paths = append(paths, s.orig, s.edited)
	}
	py := runPydicomRead(t, paths)
	pixels := 0
	for _, s := range samples {
		o, e := py[s.orig], py[s.edited]
		name := filepath.Base(s.orig)
		if e.Error != "" {
			t.Errorf("%s: pydicom cannot read the edited file: %s (the original: %q)", name, e.Error, o.Error)
			continue
		}
		if got := fmt.Sprintf("%s|%s|%s|%v", deref(e.PatientName), deref(e.PatientID), deref(e.PatientBirthDate), e.OtherPatientIDs); got != "ANON^PATIENT|ANON-0001|19700101|false" {
			t.Errorf("%s: pydicom reads %s", name, got)
		}
		if deref(e.Rows) != deref(o.Rows) || e.Pixel != o.Pixel {
			t.Errorf("%s: Rows %s, pixel data %s; the original: %s, %s", name, deref(e.Rows), e.Pixel, deref(o.Rows), o.Pixel)
		}
		if o.Pixel != "" {
			pixels++
		}
	}
	t.Logf("pydicom read the same pixel data in %d edited files", pixels)
	if pixels < 90 {
		t.Errorf("only %d files with pixel data compared", pixels)
	}

	dcmdump := testutil.RequireTool(t, "dcmdump")
	type dump struct {
		out []byte
		err error
	}
	dumps := make([]dump, len(samples))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4) // dcmdump spends its time starting up
	for i, s := range samples {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			out, err := exec.Command(dcmdump, "-q", s.edited).CombinedOutput()
			dumps[i] = dump{out, err}
		})
	}
	wg.Wait()
	dumped := 0
	for i, s := range samples {
		out, err := dumps[i].out, dumps[i].err
		if err != nil {
			if _, oerr := exec.Command(dcmdump, "-q", s.orig).CombinedOutput(); oerr == nil {
				t.Errorf("%s: dcmdump fails on the edited file only: %v\n%s", filepath.Base(s.orig), err, out)
			}
			continue
		}
		dumped++
		want := []string{"(0010,0010) PN [ANON^PATIENT]", "(0010,0020) LO [ANON-0001]", "(0010,0030) DA [19700101]"}
		if s.rows != "" {
			want = append(want, "(0028,0010) US "+s.rows+" ")
		}
		for _, w := range want {
			if !bytes.Contains(out, []byte(w)) {
				t.Errorf("%s: dcmdump shows no %q", filepath.Base(s.orig), w)
			}
		}
		if bytes.Contains(out, []byte("(0010,1000)")) {
			t.Errorf("%s: dcmdump still shows OtherPatientIDs", filepath.Base(s.orig))
		}
	}
	t.Logf("dcmdump read %d edited files", dumped)
}

// TestEditCorpusCharset sets the PatientName of every sample that has a
// non-ASCII one to the name as this package decodes it: the value is
// encoded again in the sample's character set, renders the same, and
// pydicom reads the same name as in the original.
func TestEditCorpusCharset(t *testing.T) {
	names := map[string]string{}
	samples := editCorpus(t, func(h *Header, enc Encoding) []Change {
		e := h.Lookup(tPatientName)
		if e == nil || e.Items != nil {
			return nil
		}
		ascii := true
		for _, c := range e.Value {
			if c >= 0x80 || c == 0x1b {
				ascii = false
			}
		}
		if ascii {
			return nil
		}
		dec, _ := charset.New(string(h.Elements[0].Value))
		if cs := h.Lookup(TagSpecificCharacterSet); cs != nil {
			dec, _ = charset.New(string(cs.Value))
		}
		v, ok := e.Render(enc, dec, false)
		if !ok {
			return nil
		}
		names[string(e.Value)] = v
		return []Change{{Tag: tPatientName, Value: v}}
	})
	t.Logf("%d samples with a non-ASCII PatientName", len(samples))
	if len(samples) < 10 {
		t.Fatalf("only %d samples", len(samples))
	}
	var paths []string
	for _, s := range samples {
		paths = append(paths, s.orig, s.edited)
	}
	py := runPydicomRead(t, paths)
	for _, s := range samples {
		o, e := py[s.orig], py[s.edited]
		if o.Error != "" || e.Error != "" || deref(e.PatientName) != deref(o.PatientName) || e.PatientName == nil {
			t.Errorf("%s: pydicom reads %q (%s), the original %q (%s)", filepath.Base(s.orig),
				deref(e.PatientName), e.Error, deref(o.PatientName), o.Error)
		}
	}
}

// fuzzTags are tags FuzzEdit picks besides those of the data set.
var fuzzTags = []Tag{tPatientName, tPatientID, tPatientBirthDate, tOtherPatientIDs, tRows, tColumns, tModality,
	tImageType, tSmallestPixel, TagPixelRepresentation, tRefSeries, tPrivCreator, tPrivData, tPrivCreator11,
	tPrivData11, tGroupLen10, TagSpecificCharacterSet, TagPixelData, tWaveformData, tAdditionalHistory,
	0x00091002, 0x00100002, 0x00031001, 0x00200032, 0x00181030, 0x00080012, 0x00080013, 0x0008002A, 0x00280030}

// fuzzValues are values FuzzEdit picks besides its own text.
var fuzzValues = []string{"", "ANON^PATIENT", "64", "-5", "1.2.3", "19700101", "120000.5", "20231201120000+0100",
	`1\2`, `1.5\-2.5`, "base64:AQID", "Jérôme", "山田^太郎", "ORIGINAL", "0", "(0010,0010)", strings.Repeat("x", 70)}

// fuzzChanges turns the fuzzer's bytes into changes: three bytes each,
// picking delete or set, a tag (of the data set, of fuzzTags, or any) and
// a value (of fuzzValues, or a piece of text).
func fuzzChanges(h *Header, ops []byte, text string) []Change {
	pieces := strings.Split(text, "|")
	var cs []Change
	for i := 0; i+2 < len(ops) && len(cs) < 16; i += 3 {
		op, a, b := ops[i], ops[i+1], ops[i+2]
		var c Change
		switch op % 3 {
		case 0:
			if len(h.Elements) > 0 {
				c.Tag = h.Elements[int(a)%len(h.Elements)].Tag
			} else {
				c.Tag = fuzzTags[int(a)%len(fuzzTags)]
			}
		case 1:
			c.Tag = fuzzTags[int(a)%len(fuzzTags)]
		default:
			c.Tag = NewTag(uint16(a)<<8|uint16(b), uint16(b)<<4|uint16(a))
		}
		switch op / 3 % 4 {
		case 0:
			c.Delete = true
		case 1, 2:
			c.Value = fuzzValues[int(b)%len(fuzzValues)]
		default:
			c.Value = pieces[int(b)%len(pieces)]
		}
		cs = append(cs, c)
	}
	return cs
}

// FuzzEdit applies fuzzer-chosen changes to fuzzer-chosen data sets (seeded
// with the pydicom samples' headers) in every encoding: Edit never panics;
// a refusal writes nothing and is an *EditError; an accepted edit parses
// again, read in pieces of fuzzer-chosen sizes, and passes checkEdited.
func FuzzEdit(f *testing.F) {
	f.Add(base(newDS(ExplicitLittle)).pixel().bytes(), uint8(1), []byte{4, 0, 1, 1, 3, 5, 0, 2, 0}, "A^B|1.2", []byte{3})
	f.Add(base(newDS(ImplicitLittle)).pixel().bytes(), uint8(0), []byte{9, 1, 3, 10, 2, 7}, "X", []byte{0, 1})
	f.Fuzz(func(t *testing.T, data []byte, mode uint8, ops []byte, text string, split []byte) {
		enc := fuzzEncodings[mode&3]
		h, err := ReadHeader(bytes.NewReader(data), enc, Limits{})
		if err != nil {
			return
		}
		changes := fuzzChanges(h, ops, text)
		var out bytes.Buffer
		if err := Edit(&out, data, h, enc, changes, EditOptions{}); err != nil {
			var ee *EditError
			if !errors.As(err, &ee) || out.Len() != 0 {
				t.Fatalf("Edit: %v (%d bytes written)", err, out.Len())
			}
			return
		}
		out.Write(data[h.Length:])
		h2, err := ReadHeader(&splitReader{data: out.Bytes(), sizes: fuzzSizes(split)}, enc, Limits{})
		if err != nil {
			t.Fatalf("the edited data set does not parse: %v\nchanges %+v", err, changes)
		}
		checkEdited(t, data, h, out.Bytes(), h2, changes)
	})
}

var updateEditCorpus = flag.Bool("update-edit-corpus", false, "rewrite testdata/fuzz/FuzzEdit from the pydicom samples")

// TestUpdateEditFuzzCorpus writes the seed corpus of FuzzEdit: the headers
// of the small pydicom samples (cut a few bytes after the pixel data
// header), each with the acceptance change and a few random ones. Run with
// -update-edit-corpus.
func TestUpdateEditFuzzCorpus(t *testing.T) {
	if !*updateEditCorpus {
		t.Skip("run with -update-edit-corpus to rewrite the seed corpus")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzEdit")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	n, eligible := 0, 0
	for _, f := range loadCorpus(t) {
		h, err := ReadHeader(bytes.NewReader(f.dataset), f.enc, Limits{})
		if err != nil || !strings.HasSuffix(f.name, ".dcm") {
			continue
		}
		size := len(f.dataset)
		if h.PixelData != nil {
			size = min(size, int(h.Length)+16)
		}
		if size > 3000 {
			continue
		}
		if eligible++; eligible%3 != 1 {
			continue // a third of them is variety enough
		}
		// Set PatientName, delete a tag of the data set, set a private tag.
		ops := []byte{3, 0, 0, 0, byte(n), 0, 4, 12, 5, 5, 0, byte(n)}
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\nuint8(%d)\n[]byte(%s)\nstring(%s)\n[]byte(%s)\n",
			strconv.Quote(string(f.dataset[:size])), fuzzMode(f.enc), strconv.Quote(string(ops)), strconv.Quote("ANON^X|1|"), strconv.Quote("\x01\xf1"))
		if err := os.WriteFile(filepath.Join(dir, "pydicom-"+f.name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		n++
	}
	t.Logf("wrote %d seeds to %s", n, dir)
}

// BenchmarkEdit measures a one-tag change (PatientName) on CT_small's
// header, written to io.Discard.
func BenchmarkEdit(b *testing.B) {
	ds := ctSmallDataSet(b)
	enc := ExplicitLittle
	h, err := ReadHeader(bytes.NewReader(ds), enc, Limits{})
	if err != nil {
		b.Fatal(err)
	}
	changes := []Change{{Tag: tPatientName, Value: "ANON^PATIENT"}}
	b.SetBytes(h.Length)
	b.ReportAllocs()
	for b.Loop() {
		if err := Edit(io.Discard, ds, h, enc, changes, EditOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
