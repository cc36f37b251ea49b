package dicom

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// dsBuilder builds data set byte streams by hand, in one encoding.
type dsBuilder struct {
	enc Encoding
	b   []byte
}

func newDS(enc Encoding) *dsBuilder { return &dsBuilder{enc: enc} }

type appendOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

func (d *dsBuilder) order() appendOrder {
	if d.enc.BigEndian {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

func (d *dsBuilder) tag(t Tag) *dsBuilder {
	d.b = d.order().AppendUint16(d.b, t.Group())
	d.b = d.order().AppendUint16(d.b, t.Element())
	return d
}

// hdr appends an element header: implicit (tag, 32-bit length) or explicit
// with the short or long form by VR.
func (d *dsBuilder) hdr(t Tag, vr VR, length uint32) *dsBuilder {
	d.tag(t)
	switch {
	case d.enc.ImplicitVR:
		d.b = d.order().AppendUint32(d.b, length)
	case vr.Known() && !vr.LongLength():
		d.b = append(d.b, byte(vr>>8), byte(vr))
		d.b = d.order().AppendUint16(d.b, uint16(length))
	default:
		d.b = append(d.b, byte(vr>>8), byte(vr), 0, 0)
		d.b = d.order().AppendUint32(d.b, length)
	}
	return d
}

// el appends a whole element.
func (d *dsBuilder) el(t Tag, vr VR, v []byte) *dsBuilder {
	d.hdr(t, vr, uint32(len(v)))
	d.b = append(d.b, v...)
	return d
}

func (d *dsBuilder) str(t Tag, vr VR, s string) *dsBuilder { return d.el(t, vr, []byte(s)) }

func (d *dsBuilder) u16(t Tag, vs ...uint16) *dsBuilder {
	var v []byte
	for _, x := range vs {
		v = d.order().AppendUint16(v, x)
	}
	return d.el(t, US, v)
}

func (d *dsBuilder) item(length uint32) *dsBuilder {
	d.tag(TagItem)
	d.b = d.order().AppendUint32(d.b, length)
	return d
}

func (d *dsBuilder) itemEnd() *dsBuilder {
	d.tag(TagItemDelimitationItem)
	d.b = d.order().AppendUint32(d.b, 0)
	return d
}

func (d *dsBuilder) seqEnd() *dsBuilder {
	d.tag(TagSequenceDelimitationItem)
	d.b = d.order().AppendUint32(d.b, 0)
	return d
}

func (d *dsBuilder) raw(b ...byte) *dsBuilder { d.b = append(d.b, b...); return d }

// with appends the bytes of another builder (e.g. implicit content).
func (d *dsBuilder) with(o *dsBuilder) *dsBuilder { d.b = append(d.b, o.b...); return d }

func (d *dsBuilder) bytes() []byte { return d.b }

// countingReader counts the bytes handed out, to prove what ReadHeader
// consumed.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// splitReader hands out its data in pieces of the given sizes (cycled), so
// that every read boundary is exercised.
type splitReader struct {
	data  []byte
	sizes []int
	i     int
}

func (s *splitReader) Read(p []byte) (int, error) {
	if len(s.data) == 0 {
		return 0, io.EOF
	}
	n := len(p)
	if len(s.sizes) > 0 {
		n = min(n, max(1, s.sizes[s.i%len(s.sizes)]))
		s.i++
	}
	n = copy(p, s.data[:min(n, len(s.data))])
	s.data = s.data[n:]
	return n, nil
}

// elemView is the comparable shape of an element.
type elemView struct {
	Tag       Tag
	VR        string
	Length    uint32
	Offset    int64
	HeaderLen int
	End       int64
	Value     string
	Skipped   bool
	ItemCount int
	Items     [][]elemView
}

func view(es []Element) []elemView {
	var out []elemView
	for _, e := range es {
		v := elemView{Tag: e.Tag, VR: e.VR.String(), Length: e.Length, Offset: e.Offset, HeaderLen: e.HeaderLen,
			End: e.End, Value: string(e.Value), Skipped: e.Skipped, ItemCount: e.ItemCount}
		for _, it := range e.Items {
			v.Items = append(v.Items, view(it.Elements))
		}
		out = append(out, v)
	}
	return out
}

const (
	tModality    Tag = 0x00080060
	tPatientName Tag = 0x00100010
	tPatientID   Tag = 0x00100020
	tRows        Tag = 0x00280010
	tPrivCreator Tag = 0x00090010
	tPrivData    Tag = 0x00091001
	tRefSeries   Tag = 0x00081115 // Referenced Series Sequence
	tIconSeq     Tag = 0x00880200 // Icon Image Sequence
	tRadioSeq    Tag = 0x00540016 // Radiopharmaceutical Information Sequence
	tRadioStart  Tag = 0x00181072 // Radiopharmaceutical Start Time
	tGroupLen08  Tag = 0x00080000
)

func TestReadHeaderEncodings(t *testing.T) {
	for _, enc := range []Encoding{ExplicitLittle, ExplicitBig, ImplicitLittle} {
		d := newDS(enc).
			el(tGroupLen08, UL, newDS(enc).order().AppendUint32(nil, 18)).
			str(TagSOPInstanceUID, UI, "1.2.3\x00").
			str(tModality, CS, "MR").
			str(tPrivCreator, LO, "ACME").
			str(tPrivData, UN, "abc"). // odd length: tolerated
			u16(tRows, 512)
		pixelAt := int64(len(d.b))
		d.hdr(TagPixelData, OW, 4).raw(1, 2, 3, 4)
		t.Run(encName(enc), func(t *testing.T) {
			cr := &countingReader{r: bytes.NewReader(d.bytes())}
			h, err := ReadHeader(cr, enc, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if h.PixelData == nil || h.PixelData.Tag != TagPixelData || h.PixelData.Length != 4 || h.PixelData.Offset != pixelAt {
				t.Fatalf("PixelData = %+v, want at %d with length 4", h.PixelData, pixelAt)
			}
			if cr.n != h.Length || h.Length != pixelAt+int64(h.PixelData.HeaderLen) {
				t.Fatalf("consumed %d bytes, Length %d; want pixel value offset %d", cr.n, h.Length, pixelAt+int64(h.PixelData.HeaderLen))
			}
			checkHeaderShape(t, h, int64(len(d.b)))
			wantVR := []VR{UL, UI, CS, LO, UN, US}
			if enc.ImplicitVR {
				wantVR = []VR{UL, UI, implicitVR(tModality), LO, UN, implicitVR(tRows)}
			}
			for i, e := range h.Elements {
				if e.VR != wantVR[i] {
					t.Errorf("%s: VR %s, want %s", e.Tag, e.VR, wantVR[i])
				}
			}
			if got := h.Lookup(tRows).Value; !bytes.Equal(got, newDS(enc).order().AppendUint16(nil, 512)) {
				t.Errorf("Rows value % x: not in the data set's byte order", got)
			}
			if uid, ok := h.UID(TagSOPInstanceUID); !ok || uid != "1.2.3" {
				t.Errorf("UID = %q, %v", uid, ok)
			}
		})
	}
}

func encName(enc Encoding) string {
	switch enc {
	case ExplicitLittle:
		return "explicit-LE"
	case ExplicitBig:
		return "explicit-BE"
	case ImplicitLittle:
		return "implicit-LE"
	}
	return "other"
}

func TestReadHeaderLongVRs(t *testing.T) {
	d := newDS(ExplicitLittle)
	vrs := []VR{OB, OD, OF, OL, OV, OW, UC, UN, UR, UT, UV, SV}
	for i, vr := range vrs {
		d.str(NewTag(0x0011, uint16(0x1000+i)), vr, "12345678")
	}
	h, err := ReadHeader(bytes.NewReader(d.bytes()), ExplicitLittle, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Elements) != len(vrs) {
		t.Fatalf("%d elements, want %d", len(h.Elements), len(vrs))
	}
	for i, e := range h.Elements {
		if e.VR != vrs[i] || e.HeaderLen != 12 || string(e.Value) != "12345678" || e.Offset != int64(i*20) {
			t.Errorf("element %d: %+v", i, e)
		}
	}
}

func TestReadHeaderSequences(t *testing.T) {
	type tc struct {
		name string
		enc  Encoding
		ds   []byte
		lim  Limits
		want []elemView
	}
	// Defined-length sequence, two defined-length items.
	item1 := newDS(ExplicitLittle).str(tPatientID, LO, "A1")
	item2 := newDS(ExplicitLittle).str(tPatientID, LO, "B2")
	seqLen := uint32(8 + len(item1.b) + 8 + len(item2.b))
	defined := newDS(ExplicitLittle).hdr(tRefSeries, SQ, seqLen).
		item(uint32(len(item1.b))).with(item1).item(uint32(len(item2.b))).with(item2).
		str(tPatientName, PN, "X^Y ").bytes()

	// Undefined-length sequence and items, nested, empty ones included.
	undefined := newDS(ExplicitBig).hdr(tRefSeries, SQ, UndefinedLength).
		item(UndefinedLength).str(tPatientID, LO, "C3").
		hdr(tRadioSeq, SQ, UndefinedLength).item(UndefinedLength).str(tRadioStart, TM, "101010").itemEnd().seqEnd().
		itemEnd().
		item(UndefinedLength).itemEnd(). // empty item
		item(0).                         // empty defined-length item
		seqEnd().
		hdr(tIconSeq, SQ, 0). // empty defined-length sequence
		hdr(0x00400275, SQ, UndefinedLength).seqEnd().
		bytes()

	// Explicit UN of undefined length: implicit VR little endian content,
	// even in a big endian data set (PS3.5 §6.2.2).
	implicitContent := newDS(ImplicitLittle).item(UndefinedLength).str(TagStudyInstanceUID, UI, "1.2\x00").
		hdr(0x00091002, UN, UndefinedLength).item(UndefinedLength).str(TagSeriesInstanceUID, UI, "3.4\x00").itemEnd().seqEnd().
		itemEnd().seqEnd()
	un := newDS(ExplicitBig).hdr(0x00091010, UN, UndefinedLength).with(implicitContent).u16(tRows, 7).bytes()

	// Encapsulated pixel data inside a sequence (icon image), read past.
	icon := newDS(ExplicitLittle).hdr(tIconSeq, SQ, UndefinedLength).item(UndefinedLength).
		u16(tRows, 64).
		hdr(TagPixelData, OB, UndefinedLength).item(0).item(4).raw(1, 2, 3, 4).item(3).raw(5, 6, 7).seqEnd().
		itemEnd().seqEnd().
		str(tPatientName, PN, "Z").bytes()

	// The same icon with its pixel data sent as UN: still fragments.
	iconUN := newDS(ExplicitLittle).hdr(tIconSeq, SQ, UndefinedLength).item(UndefinedLength).
		hdr(TagPixelData, UN, UndefinedLength).item(2).raw(1, 2).seqEnd().
		itemEnd().seqEnd().bytes()

	// Implicit VR: an unknown tag of undefined length is a sequence.
	implicitSeq := newDS(ImplicitLittle).hdr(0x00111010, UN, UndefinedLength).
		item(UndefinedLength).str(TagSOPInstanceUID, UI, "9\x00").itemEnd().seqEnd().bytes()

	// Delimiters tolerated at the exact end of defined-length containers.
	tolerant := newDS(ExplicitLittle).hdr(tRefSeries, SQ, 8+10+8+8).
		item(10+8).str(tPatientID, LO, "AB").itemEnd().seqEnd().bytes()

	for _, c := range []tc{
		{name: "defined", enc: ExplicitLittle, ds: defined, lim: Limits{KeepItems: -1}, want: []elemView{
			{Tag: tRefSeries, VR: "SQ", Length: seqLen, HeaderLen: 12, End: 12 + int64(seqLen), ItemCount: 2, Items: [][]elemView{
				{{Tag: tPatientID, VR: "LO", Length: 2, Offset: 20, HeaderLen: 8, End: 30, Value: "A1"}},
				{{Tag: tPatientID, VR: "LO", Length: 2, Offset: 38, HeaderLen: 8, End: 48, Value: "B2"}},
			}},
			{Tag: tPatientName, VR: "PN", Length: 4, Offset: 48, HeaderLen: 8, End: 60, Value: "X^Y "},
		}},
		{name: "defined-keep-1", enc: ExplicitLittle, ds: defined, want: []elemView{
			{Tag: tRefSeries, VR: "SQ", Length: seqLen, HeaderLen: 12, End: 12 + int64(seqLen), ItemCount: 2, Items: [][]elemView{
				{{Tag: tPatientID, VR: "LO", Length: 2, Offset: 20, HeaderLen: 8, End: 30, Value: "A1"}},
			}},
			{Tag: tPatientName, VR: "PN", Length: 4, Offset: 48, HeaderLen: 8, End: 60, Value: "X^Y "},
		}},
		{name: "undefined-nested-empty", enc: ExplicitBig, ds: undefined, lim: Limits{KeepItems: -1}, want: []elemView{
			{Tag: tRefSeries, VR: "SQ", Length: UndefinedLength, HeaderLen: 12, End: 12 + 8 + 10 + 12 + 8 + 14 + 8 + 8 + 8 + 8 + 8 + 8 + 8, ItemCount: 3, Items: [][]elemView{
				{
					{Tag: tPatientID, VR: "LO", Length: 2, Offset: 20, HeaderLen: 8, End: 30, Value: "C3"},
					{Tag: tRadioSeq, VR: "SQ", Length: UndefinedLength, Offset: 30, HeaderLen: 12, End: 80, ItemCount: 1, Items: [][]elemView{
						{{Tag: tRadioStart, VR: "TM", Length: 6, Offset: 50, HeaderLen: 8, End: 64, Value: "101010"}},
					}},
				},
				nil,
				nil,
			}},
			{Tag: tIconSeq, VR: "SQ", Length: 0, Offset: 120, HeaderLen: 12, End: 132},
			{Tag: 0x00400275, VR: "SQ", Length: UndefinedLength, Offset: 132, HeaderLen: 12, End: 152},
		}},
		{name: "un-undefined-is-implicit", enc: ExplicitBig, ds: un, want: []elemView{
			{Tag: 0x00091010, VR: "UN", Length: UndefinedLength, HeaderLen: 12, End: int64(12 + len(implicitContent.b)), ItemCount: 1, Items: [][]elemView{{
				{Tag: TagStudyInstanceUID, VR: "UI", Length: 4, Offset: 20, HeaderLen: 8, End: 32, Value: "1.2\x00"},
				{Tag: 0x00091002, VR: "SQ", Length: UndefinedLength, Offset: 32, HeaderLen: 8, End: 76, ItemCount: 1, Items: [][]elemView{{
					{Tag: TagSeriesInstanceUID, VR: "UI", Length: 4, Offset: 48, HeaderLen: 8, End: 60, Value: "3.4\x00"},
				}}},
			}}},
			{Tag: tRows, VR: "US", Length: 2, Offset: int64(12 + len(implicitContent.b)), HeaderLen: 8, End: int64(12 + len(implicitContent.b) + 10), Value: "\x00\x07"},
		}},
		{name: "icon-fragments", enc: ExplicitLittle, ds: icon, want: []elemView{
			{Tag: tIconSeq, VR: "SQ", Length: UndefinedLength, HeaderLen: 12, End: 12 + 8 + 10 + 12 + 8 + 12 + 11 + 8 + 8 + 8, ItemCount: 1, Items: [][]elemView{{
				{Tag: tRows, VR: "US", Length: 2, Offset: 20, HeaderLen: 8, End: 30, Value: "\x40\x00"},
				{Tag: TagPixelData, VR: "OB", Length: UndefinedLength, Offset: 30, HeaderLen: 12, End: 30 + 12 + 8 + 12 + 11 + 8, Skipped: true, ItemCount: 3},
			}}},
			{Tag: tPatientName, VR: "PN", Length: 1, Offset: 97, HeaderLen: 8, End: 106, Value: "Z"},
		}},
		{name: "icon-fragments-as-UN", enc: ExplicitLittle, ds: iconUN, want: []elemView{
			{Tag: tIconSeq, VR: "SQ", Length: UndefinedLength, HeaderLen: 12, End: int64(len(iconUN)), ItemCount: 1, Items: [][]elemView{{
				{Tag: TagPixelData, VR: "UN", Length: UndefinedLength, Offset: 20, HeaderLen: 12, End: 20 + 12 + 10 + 8, Skipped: true, ItemCount: 1},
			}}},
		}},
		{name: "implicit-undefined-unknown-is-sequence", enc: ImplicitLittle, ds: implicitSeq, want: []elemView{
			{Tag: 0x00111010, VR: "SQ", Length: UndefinedLength, HeaderLen: 8, End: int64(len(implicitSeq)), ItemCount: 1, Items: [][]elemView{{
				{Tag: TagSOPInstanceUID, VR: "UI", Length: 2, Offset: 16, HeaderLen: 8, End: 26, Value: "9\x00"},
			}}},
		}},
		{name: "delimiters-closing-defined-lengths", enc: ExplicitLittle, ds: tolerant, want: []elemView{
			{Tag: tRefSeries, VR: "SQ", Length: 34, HeaderLen: 12, End: 46, ItemCount: 1, Items: [][]elemView{{
				{Tag: tPatientID, VR: "LO", Length: 2, Offset: 20, HeaderLen: 8, End: 30, Value: "AB"},
			}}},
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, split := range [][]int{nil, {1}, {3, 7, 2}} {
				h, err := ReadHeader(&splitReader{data: c.ds, sizes: split}, c.enc, c.lim)
				if err != nil {
					t.Fatalf("split %v: %v", split, err)
				}
				if diff := cmp.Diff(c.want, view(h.Elements)); diff != "" {
					t.Fatalf("split %v: elements (-want +got):\n%s", split, diff)
				}
				if h.PixelData != nil || h.Length != int64(len(c.ds)) {
					t.Fatalf("PixelData %v, Length %d, want nil and %d", h.PixelData, h.Length, len(c.ds))
				}
			}
		})
	}
}

func TestReadHeaderStopsAtPixelData(t *testing.T) {
	tail := []byte("PIXELS-NOT-TO-BE-READ")
	for _, pix := range []Tag{TagFloatPixelData, TagDoubleFloatPixelData, TagPixelData} {
		for _, enc := range []Encoding{ExplicitLittle, ExplicitBig, ImplicitLittle} {
			for _, length := range []uint32{uint32(len(tail)), UndefinedLength} {
				d := newDS(enc).str(tModality, CS, "CT").hdr(pix, OB, length).raw(tail...)
				for _, split := range [][]int{nil, {1}, {5, 3}} {
					cr := &countingReader{r: &splitReader{data: d.bytes(), sizes: split}}
					h, err := ReadHeader(cr, enc, Limits{})
					if err != nil {
						t.Fatal(err)
					}
					rest, _ := io.ReadAll(cr.r)
					if h.PixelData == nil || h.PixelData.Tag != pix || h.PixelData.Length != length ||
						!bytes.Equal(rest, tail) || cr.n != h.Length {
						t.Fatalf("%s %s length %#x split %v: PixelData %+v, Length %d, consumed %d, left %q",
							pix, encName(enc), length, split, h.PixelData, h.Length, cr.n, rest)
					}
				}
			}
		}
	}
}

func TestReadHeaderEmptyAndOddCases(t *testing.T) {
	h, err := ReadHeader(bytes.NewReader(nil), ExplicitLittle, Limits{})
	if err != nil || len(h.Elements) != 0 || h.PixelData != nil || h.Length != 0 {
		t.Fatalf("empty data set: %+v, %v", h, err)
	}
	// Group 0002 in a data set, private tags, an unknown VR of two capital
	// letters (12-byte header, like OB), an empty value.
	d := newDS(ExplicitLittle).str(TagTransferSyntaxUID, UI, "1.2.840.10008.1.2\x00").
		str(tPatientName, PN, "").
		str(tPrivCreator, LO, "ACME").
		hdr(tPrivData, VR('X'<<8|'X'), 3).raw('a', 'b', 'c').
		str(tModality, CS, "OT")
	h, err = ReadHeader(bytes.NewReader(d.bytes()), ExplicitLittle, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	got := view(h.Elements)
	want := []elemView{
		{Tag: TagTransferSyntaxUID, VR: "UI", Length: 18, HeaderLen: 8, End: 26, Value: "1.2.840.10008.1.2\x00"},
		{Tag: tPatientName, VR: "PN", Offset: 26, HeaderLen: 8, End: 34},
		{Tag: tPrivCreator, VR: "LO", Length: 4, Offset: 34, HeaderLen: 8, End: 46, Value: "ACME"},
		{Tag: tPrivData, VR: "XX", Length: 3, Offset: 46, HeaderLen: 12, End: 61, Value: "abc"},
		{Tag: tModality, VR: "CS", Length: 2, Offset: 61, HeaderLen: 8, End: 71, Value: "OT"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	// An unknown VR of undefined length is read like UN: a sequence.
	d = newDS(ExplicitLittle).hdr(tPrivData, VR('Z'<<8|'Z'), UndefinedLength).
		with(newDS(ImplicitLittle).item(UndefinedLength).str(TagSOPClassUID, UI, "1\x00").itemEnd().seqEnd())
	h, err = ReadHeader(bytes.NewReader(d.bytes()), ExplicitLittle, Limits{})
	if err != nil || len(h.Elements) != 1 || h.Elements[0].ItemCount != 1 || h.Elements[0].Items[0].Elements[0].Tag != TagSOPClassUID {
		t.Fatalf("unknown VR, undefined length: %+v, %v", h, err)
	}
}

func TestReadHeaderUNSequenceDefinedLength(t *testing.T) {
	if dictionaryIsPlaceholder() {
		t.Skip("needs the generated dictionary: (0008,1115) must be known as SQ")
	}
	content := newDS(ImplicitLittle).item(UndefinedLength).str(TagSeriesInstanceUID, UI, "1.2\x00").itemEnd().bytes()
	d := newDS(ExplicitLittle).el(tRefSeries, UN, content).str(tModality, CS, "CT")
	h, err := ReadHeader(bytes.NewReader(d.bytes()), ExplicitLittle, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	e := h.Elements[0]
	if e.VR != UN || e.Value != nil || e.ItemCount != 1 || len(e.Items) != 1 || string(e.Items[0].Elements[0].Value) != "1.2\x00" ||
		e.Items[0].Elements[0].Offset != 12+8 {
		t.Fatalf("UN sequence: %+v", view(h.Elements))
	}
	// Bytes that are not a sequence stay a value.
	d = newDS(ExplicitLittle).str(tRefSeries, UN, "not a sequence")
	h, err = ReadHeader(bytes.NewReader(d.bytes()), ExplicitLittle, Limits{})
	if err != nil || string(h.Elements[0].Value) != "not a sequence" || h.Elements[0].Items != nil {
		t.Fatalf("UN non-sequence: %+v, %v", h, err)
	}
}

func TestReadHeaderErrors(t *testing.T) {
	le := func() *dsBuilder { return newDS(ExplicitLittle) }
	deep := le()
	for i := 0; i < 5; i++ {
		deep.hdr(tRefSeries, SQ, UndefinedLength).item(UndefinedLength)
	}
	for i := 0; i < 5; i++ {
		deep.itemEnd().seqEnd()
	}
	many := le()
	for i := 0; i < 11; i++ {
		many.str(NewTag(0x0011, uint16(i)), LO, "x ")
	}
	for _, c := range []struct {
		name string
		enc  Encoding
		ds   []byte
		lim  Limits
		want error
		at   int64
	}{
		{"truncated-header", ExplicitLittle, le().str(tModality, CS, "CT").raw(0x10, 0, 0x10).bytes(), Limits{}, ErrTruncated, 10},
		{"truncated-long-header", ExplicitLittle, le().raw(0x11, 0, 0x10, 0, 'O', 'B', 0, 0, 1).bytes(), Limits{}, ErrTruncated, 0},
		{"truncated-value", ExplicitLittle, le().hdr(tPatientName, PN, 10).raw('A').bytes(), Limits{}, ErrTruncated, 0},
		{"truncated-undefined-sequence", ExplicitLittle, le().hdr(tRefSeries, SQ, UndefinedLength).item(UndefinedLength).str(tPatientID, LO, "AB").bytes(), Limits{}, ErrTruncated, 30},
		{"truncated-fragments", ExplicitLittle, le().hdr(tIconSeq, SQ, UndefinedLength).item(UndefinedLength).hdr(TagPixelData, OB, UndefinedLength).item(4).raw(1).bytes(), Limits{}, ErrTruncated, 20},
		{"value-overruns-item", ExplicitLittle, le().hdr(tRefSeries, SQ, UndefinedLength).item(9).str(tPatientID, LO, "AB").itemEnd().seqEnd().bytes(), Limits{}, ErrMalformed, 20},
		{"header-overruns-item", ExplicitLittle, le().hdr(tRefSeries, SQ, UndefinedLength).item(6).str(tPatientID, LO, "AB").itemEnd().seqEnd().bytes(), Limits{}, ErrMalformed, 20},
		{"item-overruns-sequence", ExplicitLittle, le().hdr(tRefSeries, SQ, 12).item(10).str(tPatientID, LO, "AB").bytes(), Limits{}, ErrMalformed, 12},
		{"sequence-overruns-item", ExplicitLittle, le().hdr(tRefSeries, SQ, UndefinedLength).item(20).hdr(tRadioSeq, SQ, 100).bytes(), Limits{}, ErrMalformed, 20},
		{"fragment-overruns-item", ExplicitLittle, le().hdr(tIconSeq, SQ, UndefinedLength).item(30).hdr(TagPixelData, OB, UndefinedLength).item(40).bytes(), Limits{}, ErrMalformed, 32},
		{"element-where-item-must-be", ExplicitLittle, le().hdr(tRefSeries, SQ, UndefinedLength).str(tPatientID, LO, "AB").bytes(), Limits{}, ErrMalformed, 12},
		{"element-where-fragment-must-be", ExplicitLittle, le().hdr(tIconSeq, SQ, UndefinedLength).item(UndefinedLength).hdr(TagPixelData, OB, UndefinedLength).str(tPatientID, LO, "AB").bytes(), Limits{}, ErrMalformed, 32},
		{"undefined-length-fragment", ExplicitLittle, le().hdr(tIconSeq, SQ, UndefinedLength).item(UndefinedLength).hdr(TagPixelData, OB, UndefinedLength).item(UndefinedLength).bytes(), Limits{}, ErrMalformed, 32},
		{"item-at-top-level", ExplicitLittle, le().item(0).bytes(), Limits{}, ErrMalformed, 0},
		{"item-delimiter-at-top-level", ExplicitLittle, le().itemEnd().bytes(), Limits{}, ErrMalformed, 0},
		{"sequence-delimiter-in-item", ExplicitLittle, le().hdr(tRefSeries, SQ, UndefinedLength).item(UndefinedLength).seqEnd().bytes(), Limits{}, ErrMalformed, 20},
		{"early-item-delimiter-in-defined-item", ExplicitLittle, le().hdr(tRefSeries, SQ, UndefinedLength).item(20).itemEnd().raw(make([]byte, 12)...).seqEnd().bytes(), Limits{}, ErrMalformed, 20},
		{"undefined-length-text", ExplicitLittle, le().raw(0x10, 0, 0x10, 0, 'U', 'T', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF).bytes(), Limits{}, ErrMalformed, 0},
		{"bad-vr-lowercase", ExplicitLittle, le().raw(0x10, 0, 0x10, 0, 'p', 'n', 2, 0, 'A', 'B').bytes(), Limits{}, ErrBadVR, 0},
		{"bad-vr-binary", ExplicitBig, newDS(ExplicitBig).raw(0, 0x10, 0, 0x10, 0, 0, 0, 2, 'A', 'B').bytes(), Limits{}, ErrBadVR, 0},
		{"too-deep", ExplicitLittle, deep.bytes(), Limits{MaxDepth: 4}, ErrTooDeep, 4 * 20},
		{"too-many-elements", ExplicitLittle, many.bytes(), Limits{MaxElements: 10}, ErrTooManyElements, 100},
		{"too-many-items", ExplicitLittle, le().hdr(tRefSeries, SQ, UndefinedLength).item(0).item(0).item(0).seqEnd().bytes(), Limits{MaxElements: 3}, ErrTooManyElements, 28},
		{"too-large-to-hold", ExplicitLittle, many.bytes(), Limits{MaxHeldBytes: 3*elementCost + 3*2}, ErrTooLarge, 30},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, split := range [][]int{nil, {1}} {
				h, err := ReadHeader(&splitReader{data: c.ds, sizes: split}, c.enc, c.lim)
				var pe *ParseError
				if !errors.Is(err, c.want) || !errors.As(err, &pe) {
					t.Fatalf("split %v: got %v, %v; want %v", split, h, err, c.want)
				}
				if pe.Offset != c.at {
					t.Errorf("split %v: error at offset %d, want %d: %v", split, pe.Offset, c.at, err)
				}
				if !strings.Contains(err.Error(), pe.Tag.String()) {
					t.Errorf("error text %q lacks the tag", err)
				}
			}
		})
	}
}

// failingReader returns its data, then a transport error.
type failingReader struct {
	data []byte
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

func TestReadHeaderTransportErrorIsNotParseError(t *testing.T) {
	errConn := errors.New("connection reset")
	d := newDS(ExplicitLittle).str(tModality, CS, "CT").hdr(tPatientName, PN, 10).raw('A')
	_, err := ReadHeader(&failingReader{data: d.bytes(), err: errConn}, ExplicitLittle, Limits{})
	var pe *ParseError
	if !errors.Is(err, errConn) || errors.As(err, &pe) {
		t.Fatalf("got %v; want the transport error, not a *ParseError", err)
	}
}

func TestReadHeaderLimits(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 20000) // 320 000 bytes: the growing path
	d := newDS(ExplicitLittle).str(tPatientID, LO, "short").el(0x00111000, OB, big).el(0x00111001, OB, big[:100]).
		hdr(tRefSeries, SQ, UndefinedLength)
	for i := 0; i < 3; i++ {
		d.item(UndefinedLength).str(tPatientID, LO, string(rune('a'+i))+" ").itemEnd()
	}
	d.seqEnd()

	t.Run("defaults-hold-everything", func(t *testing.T) {
		h, err := ReadHeader(&splitReader{data: d.bytes(), sizes: []int{4096, 1}}, ExplicitLittle, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(h.Elements[1].Value, big) || h.Elements[1].Skipped {
			t.Fatalf("large value not held intact (%d bytes)", len(h.Elements[1].Value))
		}
		if sq := h.Elements[3]; sq.ItemCount != 3 || len(sq.Items) != 1 {
			t.Fatalf("KeepItems default: %d items kept of %d", len(sq.Items), sq.ItemCount)
		}
	})
	t.Run("max-value-length", func(t *testing.T) {
		h, err := ReadHeader(bytes.NewReader(d.bytes()), ExplicitLittle, Limits{MaxValueLength: 100, KeepItems: -1})
		if err != nil {
			t.Fatal(err)
		}
		if e := h.Elements[1]; !e.Skipped || e.Value != nil || e.End != e.Offset+12+int64(len(big)) {
			t.Fatalf("long value: %+v", view(h.Elements[1:2]))
		}
		if e := h.Elements[2]; e.Skipped || len(e.Value) != 100 {
			t.Fatalf("value at the limit: skipped %v, %d bytes", e.Skipped, len(e.Value))
		}
		if sq := h.Elements[3]; len(sq.Items) != 3 {
			t.Fatalf("KeepItems -1: %d items kept", len(sq.Items))
		}
	})
	t.Run("max-held-bytes-skips-values", func(t *testing.T) {
		lim := Limits{MaxHeldBytes: 8*elementCost + itemCost + 1000}
		h, err := ReadHeader(bytes.NewReader(d.bytes()), ExplicitLittle, lim)
		if err != nil {
			t.Fatal(err)
		}
		if !h.Elements[1].Skipped || h.Elements[2].Skipped || string(h.Elements[0].Value) != "short" {
			t.Fatalf("budget: %+v", view(h.Elements))
		}
		if held := h.HeldBytes(); held > lim.MaxHeldBytes {
			t.Fatalf("held %d > %d", held, lim.MaxHeldBytes)
		}
	})
	t.Run("negative-max-value-length-holds-nothing", func(t *testing.T) {
		h, err := ReadHeader(bytes.NewReader(d.bytes()), ExplicitLittle, Limits{MaxValueLength: -1})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range h.Elements[:3] {
			if !e.Skipped || e.Value != nil {
				t.Fatalf("%s held", e.Tag)
			}
		}
	})
}

// A HeaderReader gives the same headers as ReadHeader, file after file,
// while reusing its buffers.
func TestHeaderReaderReuse(t *testing.T) {
	files := loadCorpus(t)
	var hr HeaderReader
	for pass := 0; pass < 2; pass++ {
		for _, f := range files {
			want, werr := ReadHeader(bytes.NewReader(f.dataset), f.enc, Limits{})
			got, gerr := hr.Read(bytes.NewReader(f.dataset), f.enc, Limits{})
			if (werr == nil) != (gerr == nil) {
				t.Fatalf("%s: errors %v vs %v", f.name, werr, gerr)
			}
			if werr != nil {
				continue
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("%s (pass %d): HeaderReader differs (-ReadHeader +HeaderReader):\n%s", f.name, pass, diff)
			}
		}
	}
	ct := corpusFile{}
	for _, f := range files {
		if f.name == "CT_small.dcm" {
			ct = f
		}
	}
	// The same MaxHeldBytes admits the same headers: the reused chunk is
	// charged when used, as ReadHeader charges a new one.
	small := newDS(ExplicitLittle).str(TagSOPClassUID, UI, "1.2.840.10008.5.1.4.1.1.2\x00").
		str(TagSOPInstanceUID, UI, "1.2.3.4").bytes()
	for _, tc := range []struct {
		data []byte
		enc  Encoding
		held int64
	}{
		{small, ExplicitLittle, 1024}, {small, ExplicitLittle, 4096}, {small, ExplicitLittle, 9000},
		{ct.dataset, ct.enc, 4096}, {ct.dataset, ct.enc, 9000}, {ct.dataset, ct.enc, 20000}, {ct.dataset, ct.enc, 60000},
	} {
		held, lim := tc.held, Limits{MaxHeldBytes: tc.held}
		want, werr := ReadHeader(bytes.NewReader(tc.data), tc.enc, lim)
		got, gerr := hr.Read(bytes.NewReader(tc.data), tc.enc, lim)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("MaxHeldBytes %d: ReadHeader error %v, HeaderReader error %v", held, werr, gerr)
		}
		if werr == nil {
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("MaxHeldBytes %d: HeaderReader differs:\n%s", held, diff)
			}
		}
	}
	hr.Read(bytes.NewReader(ct.dataset), ct.enc, Limits{})
	reuse := testing.AllocsPerRun(20, func() { hr.Read(bytes.NewReader(ct.dataset), ct.enc, Limits{}) })
	fresh := testing.AllocsPerRun(20, func() { ReadHeader(bytes.NewReader(ct.dataset), ct.enc, Limits{}) })
	if reuse >= fresh {
		t.Fatalf("HeaderReader allocates %v times per header, ReadHeader %v", reuse, fresh)
	}
	t.Logf("allocations per CT_small header: ReadHeader %v, HeaderReader %v", fresh, reuse)
}
