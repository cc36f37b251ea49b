// Package charset decodes DICOM text values to UTF-8 according to the
// Specific Character Set (0008,0005) of their data set (PS3.5 §6.1, PS3.3
// C.12.1.1.2).
//
// # Terms
//
// New accepts the Defined Terms of PS3.3 Tables C.12-2 to C.12-5:
//
//	(empty)                          default repertoire, ISO-IR 6
//	ISO_IR 100 101 109 110 148 203   Latin alphabets 1, 2, 3, 4, 5, 9
//	ISO_IR 144 127 126 138 166       Cyrillic, Arabic, Greek, Hebrew, Thai
//	ISO_IR 13                        JIS X 0201 (Romaji in G0, half-width katakana in G1)
//	ISO_IR 192, GB18030, GBK         UTF-8, GB 18030, GBK (no code extensions)
//	ISO 2022 IR 6 100 101 109 110 148 203 144 127 126 138 166 13
//	ISO 2022 IR 87 159 149 58        JIS X 0208, JIS X 0212, KS X 1001, GB 2312
//
// It also accepts common misspellings, most of which pydicom accepts too: a
// term is matched ignoring ASCII case and the separators ' ', '_' and '-'
// ("ISO-IR 100", "ISO_IR100", "iso_ir 100", "ISO_2022_IR_87"); "ISO_IR n"
// and "ISO 2022 IR n" are accepted for every n above (including "ISO_IR 6"
// and "ISO_IR 149"); "ISO 2022 GBK" means GBK, "ISO 2022 58" and "GB2312"
// mean ISO 2022 IR 58 (pydicom's readings of CP-1234), "UTF8" and "UTF-8"
// mean ISO_IR 192. Spaces and NULs around each term are padding.
//
// # Decoding
//
// Value 1 sets the initial state: ISO-IR 6 in G0 and, for the single-byte
// terms, the term's set in G1 (PS3.5 §6.1.2.5.1). An empty value 1 of a
// multi-valued attribute means ISO 2022 IR 6. Escape sequences of PS3.3
// Tables C.12-3 and C.12-4 switch G0 and G1 anywhere in a value, whether or
// not the designated set is listed in a later term (pydicom 2.3 decodes an
// undeclared set as raw bytes of value 1; this package decodes it as
// designated), so later terms are only validated. The initial state returns
// before every control character other than ESC (CR, LF, FF, TAB, ...),
// before each value delimiter "\" of SH, LO, UC and PN and before the "^"
// and "=" delimiters of PN (PS3.5 §6.1.2.5.3), so a sender that forgets to
// switch G1 back loses nothing beyond the delimiter. While a two-byte set is
// in G0, bytes 02/01-07/14 pair into characters: "\", "^" and "=" delimit
// only outside them, as the standard has the sender switch G0 back first.
// Escape sequences are also honoured with a single term or none (pydicom
// looks for them there too); they are not with ISO_IR 192, GB18030 and GBK,
// which are not ISO 2022 codes.
//
// Bytes of the GR area (0x80-0xFF) with nothing designated in G1 are read as
// ISO 8859-1, as pydicom's default "iso8859" does. JIS X 0201 Romaji is read
// as ASCII (0x5C stays a backslash, the value delimiter; 0x7E a tilde), as
// pydicom does. In G1 with ISO_IR 13, Shift JIS double-byte characters are
// decoded too (pydicom reads ISO_IR 13 as Shift JIS); in G1 with IR 149,
// CP949 (Unified Hangul Code) pairs are too. Bytes that form no character
// of the active set, and unknown escape sequences, become U+FFFD.
package charset

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ErrUnknownTerm reports a Specific Character Set term that New does not
// know. The decoder returned with it reads that term as the default
// repertoire (value 1) or ignores it (later values).
var ErrUnknownTerm = errors.New("charset: unknown Specific Character Set term")

// ErrCodeExtension reports a Specific Character Set value that combines
// ISO_IR 192, GB18030 or GBK with other terms, which these character sets do
// not allow (PS3.5 §6.1.2.5.4 d). The decoder returned with it uses value 1
// alone when value 1 is one of them, and otherwise ignores the term.
var ErrCodeExtension = errors.New("charset: character set does not allow code extensions")

// kind says how a Decoder reads the bytes of a value.
type kind uint8

const (
	kindISO2022 kind = iota // ISO 2022: ISO-IR 6 in G0, g1 in G1, escape sequences switch
	kindUTF8                // ISO_IR 192
	kindGB18030             // GB18030
	kindGBK                 // GBK
)

// Decoder converts the bytes of text values to UTF-8 for one Specific
// Character Set value. Decoders are immutable: one may be used by many
// goroutines at once. The zero value (and a nil *Decoder) decodes the
// default repertoire.
type Decoder struct {
	kind kind
	g1   set // G1 of the initial state (kindISO2022)
}

// defaultDecoder decodes the default repertoire; New("") returns it.
var defaultDecoder = &Decoder{}

// termDecoders maps each term, as normalizeTerm writes it, to its decoder.
// It is built once and never modified, so New allocates nothing for a valid
// value.
var termDecoders = buildTerms()

func buildTerms() map[string]*Decoder {
	m := map[string]*Decoder{
		"ISOIR6":     defaultDecoder,
		"ISO2022IR6": defaultDecoder,
		// JIS X 0208 and JIS X 0212 are G0 sets that are never initially
		// invoked: as value 1 they leave ISO-IR 6 in G0.
		"ISO2022IR87":  defaultDecoder,
		"ISOIR87":      defaultDecoder,
		"ISO2022IR159": defaultDecoder,
		"ISOIR159":     defaultDecoder,
		"ISOIR192":     {kind: kindUTF8},
		"GB18030":      {kind: kindGB18030},
		"GBK":          {kind: kindGBK},
	}
	m["ISO2022IR192"] = m["ISOIR192"]
	m["UTF8"] = m["ISOIR192"]
	m["ISO2022GBK"] = m["GBK"]
	iso := func(ir string, d *Decoder) {
		m["ISOIR"+ir] = d
		m["ISO2022IR"+ir] = d
	}
	for i, sb := range singleByte {
		iso(sb.ir, &Decoder{g1: setSingle + set(i)})
	}
	iso("13", &Decoder{g1: setKatakana})
	iso("149", &Decoder{g1: setKSX1001})
	gb := &Decoder{g1: setGB2312}
	iso("58", gb)
	m["ISO202258"] = gb
	m["GB2312"] = gb
	return m
}

// maxTerm bounds the length of a normalized term; longer ones are unknown.
const maxTerm = 16

// normalizeTerm writes term into buf upper-cased and without spaces,
// underscores and hyphens ("ISO_IR 100" becomes "ISOIR100"), and returns
// the result, or false when it is longer than maxTerm.
func normalizeTerm(buf *[maxTerm]byte, term string) ([]byte, bool) {
	n := 0
	for i := 0; i < len(term); i++ {
		c := term[i]
		switch {
		case c == ' ' || c == '_' || c == '-':
			continue
		case 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		}
		if n == len(buf) {
			return nil, false
		}
		buf[n] = c
		n++
	}
	return buf[:n], true
}

// lookup returns the decoder of one trimmed, non-empty term.
func lookup(term string) (*Decoder, bool) {
	var buf [maxTerm]byte
	norm, ok := normalizeTerm(&buf, term)
	if !ok {
		return nil, false
	}
	d, ok := termDecoders[string(norm)]
	return d, ok
}

// New returns the decoder for a Specific Character Set value as it appears in
// the data set (backslash-separated defined terms, padding allowed). An empty
// value means the default repertoire. Unknown terms are reported in err, and
// a usable decoder that falls back to the default repertoire for them is
// still returned; so are terms combined with ISO_IR 192, GB18030 or GBK. New
// does not allocate for a valid value.
func New(value string) (*Decoder, error) {
	var errs []error
	d, first := defaultDecoder, ""
	for i := 0; ; i++ {
		term, rest, more := strings.Cut(value, `\`)
		value = rest
		term = strings.Trim(term, " \x00")
		switch t, ok := lookup(term); {
		case term == "":
			// An empty value 1 is ISO 2022 IR 6 (PS3.3 C.12.1.1.2); empty
			// later values are ignored.
		case !ok && i == 0:
			errs = append(errs, fmt.Errorf("%w %q: decoding as the default repertoire", ErrUnknownTerm, term))
		case !ok:
			errs = append(errs, fmt.Errorf("%w %q: ignored", ErrUnknownTerm, term))
		case i == 0:
			d, first = t, term
		case d.kind != kindISO2022:
			errs = append(errs, fmt.Errorf("%w: ignoring %q after %q", ErrCodeExtension, term, first))
		case t.kind != kindISO2022:
			errs = append(errs, fmt.Errorf("%w: ignoring %q as value %d", ErrCodeExtension, term, i+1))
		}
		if !more {
			break
		}
	}
	return d, errors.Join(errs...)
}

// vrClass groups VRs by the delimiters that reset the character set state.
type vrClass uint8

const (
	classOther vrClass = iota // not affected by the character set: default repertoire
	classText                 // ST, LT, UT: control characters only
	classMulti                // SH, LO, UC: also the value delimiter "\"
	classPN                   // PN: also "\", "^" and "="
)

func classify(vr string) vrClass {
	switch vr {
	case "PN":
		return classPN
	case "SH", "LO", "UC":
		return classMulti
	case "ST", "LT", "UT":
		return classText
	}
	return classOther
}

// plain reports whether b is all ASCII without ESC, which every character
// set decodes as itself.
func plain(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf || c == esc {
			return false
		}
	}
	return true
}

// Decode converts b, a value of the text VR vr ("PN", "LO", "SH", "ST",
// "LT", "UT", "UC", or any other text VR), to UTF-8. Padding is not removed.
// b may hold several values separated by "\". Only SH, LO, ST, LT, UC, UT and
// PN use the character set (PS3.5 §6.1.2.3); the other VRs are read in the
// default repertoire, with bytes above 0x7F as ISO 8859-1. The result is
// always valid UTF-8: bytes that do not decode become U+FFFD.
func (d *Decoder) Decode(b []byte, vr string) string {
	if plain(b) {
		return string(b)
	}
	if d == nil {
		d = defaultDecoder
	}
	class := classify(vr)
	if class == classOther {
		return latin1(b)
	}
	switch d.kind {
	case kindUTF8:
		if utf8.Valid(b) {
			return string(b)
		}
		return transcodeAll(codeUTF8, b)
	case kindGB18030:
		return transcodeAll(codeGB18030, b)
	case kindGBK:
		return transcodeAll(codeGBK, b)
	}
	return decodeISO2022(b, d.g1, class)
}
