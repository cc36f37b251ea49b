package dicom

import (
	"encoding/base64"
	"encoding/binary"
	"math"
	"strings"
	"testing"

	"github.com/dicomrecv/dicomrecv/dicom/charset"
)

func TestRenderText(t *testing.T) {
	for _, c := range []struct {
		vr   VR
		in   string
		want string
	}{
		{AE, "  STORE-SCP ", "STORE-SCP"},
		{AE, " A \\ B ", "A\\B"},
		{AS, "045Y", "045Y"},
		{CS, "ORIGINAL\\PRIMARY\\AXIAL ", "ORIGINAL\\PRIMARY\\AXIAL"},
		{CS, " MR\x00", " MR"},  // leading space kept, as pydicom keeps it
		{CS, "A \\B ", "A \\B"}, // inner padding kept (pydicom trims the whole value only)
		{DA, "20240101", "20240101"},
		{DT, "20240101120000.5 ", "20240101120000.5"},
		{TM, "101010.123\x00", "101010.123"},
		{UI, "1.2.840.10008.1.2\x00", "1.2.840.10008.1.2"},
		{UI, "1.2\\3.4 ", "1.2\\3.4"},
		{DS, " 0.661468\\ 0.661468 ", "0.661468\\0.661468"},
		{DS, "1.5\x00", "1.5"},
		{IS, " 12 \\-3", "12\\-3"},
		{IS, "1A", "1A"}, // invalid, rendered as is
		{SH, " lead\\trail  \\x\x00", " lead\\trail\\x"},
		{LO, "Siemens ", "Siemens"},
		{UC, "a \\b ", "a\\b"},
		{ST, "line 1\\not a delimiter  ", "line 1\\not a delimiter"},
		{LT, "text\r\nmore \x00", "text\r\nmore"},
		{UT, " x ", " x"},
		{UR, "http://x/a\\b  ", "http://x/a\\b"},
		{PN, "Doe^John ", "Doe^John"},
		{PN, "Wang^XiaoDong=Wang^XD=\\Li==", "Wang^XiaoDong=Wang^XD\\Li"},
		{PN, "=B", "=B"},
		{CS, "  ", ""},
		{LO, "caf\xe9", "caf\u00e9"},     // default repertoire read as ISO 8859-1, like pydicom
		{CS, "\xc4\xd6", "\u00c4\u00d6"}, // non-charset VRs: ISO 8859-1 always
	} {
		for _, enc := range []Encoding{ExplicitLittle, ExplicitBig} {
			e := &Element{Tag: 0x00100010, VR: c.vr, Length: uint32(len(c.in)), Value: []byte(c.in)}
			for _, custom := range []bool{false, true} {
				got, ok := e.Render(enc, nil, custom)
				if !ok || got != c.want {
					t.Errorf("%s %q (custom %v): got %q, %v; want %q", c.vr, c.in, custom, got, ok, c.want)
				}
			}
		}
	}
}

func TestRenderCharset(t *testing.T) {
	if charsetIsPlaceholder() {
		t.Skip("dicom/charset is still the Latin-1 placeholder")
	}
	utf8Dec, _ := charset.New("ISO_IR 192")
	latin5, _ := charset.New("ISO_IR 148")
	for _, c := range []struct {
		vr   VR
		dec  *charset.Decoder
		in   string
		want string
	}{
		{PN, utf8Dec, "Wang^XiaoDong=\u738b^\u5c0f\u6771=", "Wang^XiaoDong=\u738b^\u5c0f\u6771"},
		{LO, utf8Dec, "\u00e9t\u00e9 \\x", "\u00e9t\u00e9\\x"},
		{LO, latin5, "\xdd", "\u0130"},            // İ in ISO 8859-9
		{CS, utf8Dec, "\xc3\xa9", "\u00c3\u00a9"}, // CS is never decoded with the character set
	} {
		e := &Element{VR: c.vr, Length: uint32(len(c.in)), Value: []byte(c.in)}
		if got, ok := e.Render(ExplicitLittle, c.dec, false); !ok || got != c.want {
			t.Errorf("%s %q: got %q, want %q", c.vr, c.in, got, c.want)
		}
	}
}

func TestRenderNumbers(t *testing.T) {
	le, be := binary.LittleEndian, binary.BigEndian
	f32 := func(o binary.ByteOrder, vs ...float32) []byte {
		b := make([]byte, 4*len(vs))
		for i, v := range vs {
			o.PutUint32(b[4*i:], math.Float32bits(v))
		}
		return b
	}
	f64 := func(o binary.ByteOrder, vs ...float64) []byte {
		b := make([]byte, 8*len(vs))
		for i, v := range vs {
			o.PutUint64(b[8*i:], math.Float64bits(v))
		}
		return b
	}
	for _, c := range []struct {
		vr   VR
		enc  Encoding
		in   []byte
		want string
		ok   bool
	}{
		{US, ExplicitLittle, []byte{0x00, 0x02, 0xFF, 0xFF}, "512\\65535", true},
		{US, ExplicitBig, []byte{0x00, 0x02, 0xFF, 0xFF}, "2\\65535", true},
		{SS, ExplicitLittle, []byte{0xFF, 0xFF, 0x00, 0x80}, "-1\\-32768", true},
		{UL, ExplicitBig, []byte{0, 0, 1, 0}, "256", true},
		{SL, ExplicitLittle, []byte{0xFE, 0xFF, 0xFF, 0xFF}, "-2", true},
		{UV, ExplicitLittle, le.AppendUint64(nil, math.MaxUint64), "18446744073709551615", true},
		{SV, ExplicitBig, be.AppendUint64(nil, uint64(1<<63)), "-9223372036854775808", true},
		{FL, ExplicitLittle, f32(le, 0.1, 2.5, -0, 1234567, float32(math.Inf(1))), "0.1\\2.5\\0\\1.234567e+06\\+Inf", true},
		{FL, ExplicitBig, f32(be, 1e-7, 100000), "1e-07\\100000", true},
		{FD, ExplicitLittle, f64(le, 0.1, 1.0/3, 1e21, math.NaN()), "0.1\\0.3333333333333333\\1e+21\\NaN", true},
		{FD, ExplicitBig, f64(be, -2.5e-5), "-2.5e-05", true},
		{AT, ExplicitLittle, []byte{0x10, 0x00, 0x10, 0x00, 0xE0, 0x7F, 0x10, 0x00}, "(0010,0010)\\(7FE0,0010)", true},
		{AT, ExplicitBig, []byte{0x00, 0x28, 0x00, 0x10}, "(0028,0010)", true},
		{US, ExplicitLittle, []byte{1, 2, 3}, "", false}, // not a multiple of 2
		{FD, ExplicitLittle, make([]byte, 4), "", false},
		{US, ExplicitLittle, nil, "", true}, // empty
	} {
		e := &Element{Tag: 0x00280010, VR: c.vr, Length: uint32(len(c.in)), Value: c.in}
		got, ok := e.Render(c.enc, nil, false)
		if ok != c.ok || got != c.want {
			t.Errorf("%s % x (%s): got %q, %v; want %q, %v", c.vr, c.in, encName(c.enc), got, ok, c.want, c.ok)
		}
	}
}

func TestRenderNotRendered(t *testing.T) {
	for _, c := range []struct {
		name string
		e    Element
	}{
		{"OB", Element{Tag: 0x00291010, VR: OB, Length: 2, Value: []byte("ab")}},
		{"OW", Element{Tag: 0x00281201, VR: OW, Length: 2, Value: []byte("ab")}},
		{"OF", Element{Tag: 0x00640009, VR: OF, Length: 4, Value: []byte("abcd")}},
		{"UN-unknown", Element{Tag: 0x00431001, VR: UN, Length: 2, Value: []byte("ab")}},
		{"UN-empty", Element{Tag: 0x00431001, VR: UN}},
		{"SQ", Element{Tag: tRefSeries, VR: SQ, Length: UndefinedLength, Items: []Item{{}}}},
		{"SQ-empty", Element{Tag: tRefSeries, VR: SQ}},
		{"UN-sequence", Element{Tag: 0x00431001, VR: UN, Length: UndefinedLength, Items: []Item{{}}}},
		{"skipped", Element{Tag: tPatientName, VR: PN, Length: 1 << 21, Skipped: true}},
		{"fragments", Element{Tag: TagPixelData, VR: OB, Length: UndefinedLength, Skipped: true}},
		{"future-VR", Element{Tag: 0x00431001, VR: VR('X'<<8 | 'X'), Length: 2, Value: []byte("ab")}},
	} {
		if got, ok := c.e.Render(ExplicitLittle, nil, false); ok {
			t.Errorf("%s: rendered %q", c.name, got)
		}
		// Sequences and values not held are not rendered as custom tags either.
		if c.e.Items != nil || c.e.VR == SQ || c.e.Skipped {
			if got, ok := c.e.Render(ExplicitLittle, nil, true); ok {
				t.Errorf("%s custom: rendered %q", c.name, got)
			}
		}
	}
}

func TestRenderCustomBinary(t *testing.T) {
	bin := make([]byte, 3000)
	for i := range bin {
		bin[i] = byte(i)
	}
	for _, c := range []struct {
		name string
		vr   VR
		in   []byte
		want string
	}{
		{"printable", OB, []byte("  hello world \x00"), "hello world"},
		{"utf8", UN, []byte("Gr\u00fc\u00dfe\n"), "Gr\u00fc\u00dfe\n"},
		{"empty", OB, nil, ""},
		{"binary", OB, []byte{0, 1, 2, 0xFF}, "base64:" + base64.StdEncoding.EncodeToString([]byte{0, 1, 2, 0xFF})},
		{"binary-1KiB", OW, bin, "base64:" + base64.StdEncoding.EncodeToString(bin[:1024])},
		{"future-VR", VR('X'<<8 | 'Y'), []byte("abc "), "abc"},
		{"numeric-odd-length", US, []byte{1, 2, 3}, "base64:AQID"},
		{"text", LO, []byte("ACME "), "ACME"},
		{"numeric", UL, []byte{1, 0, 0, 0}, "1"},
	} {
		e := &Element{Tag: 0x00091001, VR: c.vr, Length: uint32(len(c.in)), Value: c.in}
		got, ok := e.Render(ExplicitLittle, nil, true)
		if !ok || got != c.want {
			t.Errorf("%s: got %q, %v; want %q", c.name, got, ok, c.want)
		}
	}
}

func TestRenderDictionaryVR(t *testing.T) {
	// A standard attribute that arrives as UN (or a VR unknown to this
	// edition) is rendered by the dictionary VR, little endian (PS3.5
	// §6.2.2) even in a big endian data set. SOP Instance UID is in every
	// dictionary, the placeholder included.
	for _, vr := range []VR{UN, VR('Q'<<8 | 'Q')} {
		e := &Element{Tag: TagSOPInstanceUID, VR: vr, Length: 6, Value: []byte("1.2.3\x00")}
		if got, ok := e.Render(ExplicitBig, nil, false); !ok || got != "1.2.3" {
			t.Errorf("%s: got %q, %v", vr, got, ok)
		}
	}
	if dictionaryIsPlaceholder() {
		t.Skip("the rest needs the generated dictionary")
	}
	rows := &Element{Tag: tRows, VR: UN, Length: 2, Value: []byte{0x00, 0x02}}
	if got, ok := rows.Render(ExplicitBig, nil, false); !ok || got != "512" {
		t.Errorf("Rows as UN in big endian: got %q, %v; want 512 (UN values are little endian)", got, ok)
	}
	// Implicit VR: "US or SS" by Pixel Representation.
	smallest := &Element{Tag: 0x00280106, VR: implicitVR(0x00280106), Length: 2, Value: []byte{0xFF, 0xFF}}
	if got, ok := smallest.Render(ImplicitLittle, nil, false); !ok || got != "65535" {
		t.Errorf("SmallestImagePixelValue unsigned: %q, %v", got, ok)
	}
	if got, ok := smallest.RenderSigned(ImplicitLittle, nil, false, true); !ok || got != "-1" {
		t.Errorf("SmallestImagePixelValue signed: %q, %v", got, ok)
	}
	// Explicit VR wins over the dictionary.
	explicitSS := &Element{Tag: 0x00280106, VR: SS, Length: 2, Value: []byte{0xFF, 0xFF}}
	if got, ok := explicitSS.RenderSigned(ExplicitLittle, nil, false, false); !ok || got != "-1" {
		t.Errorf("explicit SS: %q, %v", got, ok)
	}
	// "OB or OW" and "US or OW" are binary in implicit VR.
	for _, tag := range []Tag{0x60003000, 0x00283006} {
		e := &Element{Tag: tag, VR: implicitVR(tag), Length: 2, Value: []byte{1, 0}}
		if got, ok := e.Render(ImplicitLittle, nil, false); ok {
			t.Errorf("%s (implicit %s): rendered %q", tag, e.VR, got)
		}
	}
	// A standard sequence sent as UN with a defined length that did not
	// parse is not rendered.
	un := &Element{Tag: tRefSeries, VR: UN, Length: 3, Value: []byte("abc")}
	if got, ok := un.Render(ExplicitLittle, nil, false); ok {
		t.Errorf("UN sequence bytes: rendered %q", got)
	}
}

func TestRenderNilDecoderIsDefaultRepertoire(t *testing.T) {
	def, _ := charset.New("")
	in := []byte("Doe^J\xf6rg")
	e := &Element{VR: PN, Length: uint32(len(in)), Value: in}
	got, _ := e.Render(ExplicitLittle, nil, false)
	want, _ := e.Render(ExplicitLittle, def, false)
	if got != want || !strings.HasPrefix(got, "Doe^J") {
		t.Errorf("nil decoder %q, default decoder %q", got, want)
	}
}

// A multi-byte character whose second byte is 0x5C ("\") is not a value
// delimiter (PS3.5 §6.1.2.3): GBK "乗" is 0x81 0x5C.
func TestRenderMultiByteBackslash(t *testing.T) {
	dec, err := charset.New("GBK")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		vr   VR
		b    []byte
		want string
	}{
		{LO, []byte{0x81, 0x5C, 'A', '\\', 'B', ' '}, "乗A\\B"},
		{PN, []byte{'W', '^', 0x81, 0x5C, '=', 0x81, 0x5C}, "W^乗=乗"},
		{SH, []byte{0x81, 0x5C}, "乗"},
	} {
		e := &Element{Tag: NewTag(0x0010, 0x0010), VR: tc.vr, Length: uint32(len(tc.b)), Value: tc.b}
		if got, ok := e.Render(ExplicitLittle, dec, false); !ok || got != tc.want {
			t.Errorf("%s %x: %q, want %q", tc.vr, tc.b, got, tc.want)
		}
	}
}
