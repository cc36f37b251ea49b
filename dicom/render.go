package dicom

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/dicomrecv/dicomrecv/dicom/charset"
)

// MaxRenderedBinary is how many leading bytes of a binary custom value are
// rendered in base64.
const MaxRenderedBinary = 1024

// Render returns the text of e's value as the FileStored event's tags map
// carries it, and whether e is rendered at all. custom is true for the
// user's custom tags (extractCustomTags), false for standard attributes.
//
// The rules (they match what pydicom 2.3 reads, value for value):
//
//   - Text VRs are decoded to UTF-8. SH, LO, ST, LT, UC, UT and PN use dec,
//     the decoder of the Specific Character Set in effect (nil: the default
//     repertoire); AE, AS, CS, DA, DS, DT, IS, TM, UI and UR are decoded as
//     ISO 8859-1, whatever the character set. Padding is removed as pydicom
//     removes it:
//     AE: each value, leading and trailing spaces;
//     DS, IS: trailing spaces and NULs of the whole value, then leading and
//     trailing spaces of each value;
//     SH, LO, UC: trailing spaces and NULs of each value;
//     AS, CS, DA, DT, TM, UI, PN, ST, LT, UT: trailing spaces and NULs of the
//     whole value (not of each value); PN also drops empty trailing
//     component groups of each value ("Wang^XiaoDong=王^小東=" is
//     "Wang^XiaoDong=王^小東");
//     UR: trailing spaces.
//     Multiple values stay separated by "\" as DICOM writes them; LT, ST, UT
//     and UR have a single value, a "\" in them is text.
//   - US, SS, UL, SL, UV, SV: decimal; FL, FD: Go's shortest form that reads
//     back to the same float32 or float64 (strconv.FormatFloat(v, 'g', -1,
//     32 or 64): "0.5", "1e-06", "1.234567e+06", "NaN", "+Inf"); AT:
//     "(GGGG,EEEE)". Several values are joined with "\". Byte order is enc's.
//     A value whose length is not a multiple of the VR's size is not
//     rendered (a custom one falls back to the binary rule below).
//   - An empty value renders as "".
//   - Sequences (SQ, and undefined-length UN), encapsulated pixel data and
//     values not held (Element.Skipped) are never rendered, custom or not.
//   - Standard attributes: OB, OD, OF, OL, OV, OW and UN are not rendered,
//     except that a standard attribute that arrives as UN (or as a VR this
//     edition does not know) while the dictionary knows its VR is rendered
//     by the dictionary's VR, reading the value as little endian (PS3.5
//     §6.2.2), like pydicom's replace_un_with_known_vr. In implicit VR, a
//     dictionary "US or SS" is US (Render) or SS when the pixel data are
//     signed (RenderSigned; Header.Extract decides from Pixel
//     Representation (0028,0103) of the data set or item holding the
//     element, or of its parents, as pydicom does), and "US or OW", "OB or
//     OW" are binary.
//   - Custom tags are rendered whatever their VR: text and numeric VRs as
//     above; anything else (OB, UN, ...) as text when the value, without
//     trailing NULs and spaces and leading spaces, is printable UTF-8 (tab,
//     CR and LF allowed), otherwise as "base64:" followed by the standard
//     base64 of at most the first 1 KiB (MaxRenderedBinary) of the value.
func (e *Element) Render(enc Encoding, dec *charset.Decoder, custom bool) (string, bool) {
	return e.render(enc, dec, custom, false)
}

// RenderSigned is Render for an element of a data set whose pixel data are
// signed (Pixel Representation 1): an implicit-VR "US or SS" attribute is
// then rendered as SS.
func (e *Element) RenderSigned(enc Encoding, dec *charset.Decoder, custom, signed bool) (string, bool) {
	return e.render(enc, dec, custom, signed)
}

func (e *Element) render(enc Encoding, dec *charset.Decoder, custom, signed bool) (string, bool) {
	if e.Skipped || isSequence(e) {
		return "", false
	}
	vr := e.VR
	order := byteOrder(enc)
	fromDict := enc.ImplicitVR
	if vr == UN || !vr.Known() {
		if ent, ok := LookupTag(e.Tag); ok && ent.VR != 0 && ent.VR != UN {
			vr, fromDict, order = ent.VR, true, binary.LittleEndian
		}
	}
	if fromDict {
		vr = resolveAmbiguous(e.Tag, vr, signed)
	}
	if len(e.Value) == 0 {
		if vr == SQ || (vr.IsBulk() || !vr.Known()) && !custom {
			return "", false
		}
		return "", true
	}
	switch {
	case vr.IsText():
		return renderText(e.Value, vr, dec), true
	case vr == AT || numSize(vr) > 0:
		if s, ok := renderNumbers(e.Value, vr, order); ok {
			return s, true
		}
	case vr == SQ:
		return "", false
	}
	if !custom {
		return "", false
	}
	return renderBinary(e.Value), true
}

// resolveAmbiguous picks one VR where the dictionary lists several (PS3.6
// "US or SS", "US or OW", "OB or OW").
func resolveAmbiguous(t Tag, vr VR, signed bool) VR {
	ent, ok := LookupTag(t)
	if !ok || ent.AltVR == 0 || vr != ent.VR && vr != ent.AltVR {
		return vr
	}
	switch {
	case ent.AltVR == OW:
		return OW
	case ent.VR == US && ent.AltVR == SS && signed:
		return SS
	}
	return ent.VR
}

// numSize is the size of one value of a binary numeric VR, else 0.
func numSize(vr VR) int {
	switch vr {
	case US, SS:
		return 2
	case UL, SL, FL, AT:
		return 4
	case FD, UV, SV:
		return 8
	}
	return 0
}

func renderNumbers(b []byte, vr VR, order binary.ByteOrder) (string, bool) {
	n := numSize(vr)
	if len(b)%n != 0 {
		return "", false
	}
	out := make([]byte, 0, len(b)*3)
	for i := 0; i < len(b); i += n {
		if i > 0 {
			out = append(out, '\\')
		}
		v := b[i : i+n]
		switch vr {
		case US:
			out = strconv.AppendUint(out, uint64(order.Uint16(v)), 10)
		case SS:
			out = strconv.AppendInt(out, int64(int16(order.Uint16(v))), 10)
		case UL:
			out = strconv.AppendUint(out, uint64(order.Uint32(v)), 10)
		case SL:
			out = strconv.AppendInt(out, int64(int32(order.Uint32(v))), 10)
		case UV:
			out = strconv.AppendUint(out, order.Uint64(v), 10)
		case SV:
			out = strconv.AppendInt(out, int64(order.Uint64(v)), 10)
		case FL:
			out = strconv.AppendFloat(out, float64(math.Float32frombits(order.Uint32(v))), 'g', -1, 32)
		case FD:
			out = strconv.AppendFloat(out, math.Float64frombits(order.Uint64(v)), 'g', -1, 64)
		case AT:
			out = append(out, NewTag(order.Uint16(v[0:2]), order.Uint16(v[2:4])).String()...)
		}
	}
	return string(out), true
}

// charsetVR reports whether values of vr are decoded with the Specific
// Character Set (PS3.5 §6.1.2.3); the other text VRs use the default
// repertoire.
func charsetVR(vr VR) bool {
	switch vr {
	case SH, LO, ST, LT, UC, UT, PN:
		return true
	}
	return false
}

// renderText decodes and trims a text value; see Render for the rules.
func renderText(b []byte, vr VR, dec *charset.Decoder) string {
	const pad = " \x00"
	switch vr {
	case ST, LT, UT:
		return strings.TrimRight(decodeText(b, vr, dec), pad)
	case UR:
		return strings.TrimRight(latin1(b), " ")
	case AS, CS, DA, DT, TM, UI:
		return latin1(bytes.TrimRight(b, pad))
	case PN:
		// Empty trailing component groups are dropped: "A^B=" is "A^B".
		return joinDecoded(decodeText(bytes.TrimRight(b, pad), vr, dec), func(v string) string {
			return strings.TrimRight(v, "=")
		})
	case SH, LO, UC:
		return joinDecoded(decodeText(b, vr, dec), func(v string) string { return strings.TrimRight(v, pad) })
	case DS, IS:
		return joinDecoded(latin1(bytes.TrimRight(b, pad)), trimSpaces)
	default: // AE
		return joinDecoded(latin1(b), trimSpaces)
	}
}

// joinDecoded splits a decoded value at the value delimiter "\", renders
// each value with f and joins them with "\". Splitting after decoding
// matters for multi-byte character sets (GBK, GB18030, JIS X 0208 in ISO
// 2022): a byte 0x5C inside a character is not a delimiter (PS3.5
// §6.1.2.3); pydicom 2.3 splits first and garbles such characters.
func joinDecoded(s string, f func(string) string) string {
	if !strings.Contains(s, "\\") {
		return f(s)
	}
	parts := strings.Split(s, "\\")
	for i, p := range parts {
		parts[i] = f(p)
	}
	return strings.Join(parts, "\\")
}

func trimSpaces(v string) string { return strings.Trim(v, " ") }

func decodeText(b []byte, vr VR, dec *charset.Decoder) string {
	if !charsetVR(vr) {
		return latin1(b)
	}
	if dec == nil {
		dec, _ = charset.New("")
	}
	return dec.Decode(b, vr.String())
}

// latin1 decodes ISO 8859-1 (pydicom's default for values outside the
// Specific Character Set's reach).
func latin1(b []byte) string {
	ascii := true
	for _, c := range b {
		if c >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return string(b)
	}
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

// renderBinary renders a custom value of a binary VR: as text when it is
// printable, else as base64 of its first MaxRenderedBinary bytes.
func renderBinary(b []byte) string {
	t := bytes.TrimLeft(bytes.TrimRight(b, " \x00"), " ")
	if printable(t) {
		return string(t)
	}
	if len(b) > MaxRenderedBinary {
		b = b[:MaxRenderedBinary]
	}
	return "base64:" + base64.StdEncoding.EncodeToString(b)
}

func printable(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		if !unicode.IsPrint(r) && r != '\t' && r != '\r' && r != '\n' {
			return false
		}
	}
	return true
}
