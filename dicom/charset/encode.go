package charset

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// ErrNotRepresentable is wrapped by every *EncodeError: a character of the
// text has no encoding the Specific Character Set allows.
var ErrNotRepresentable = errors.New("charset: character not representable")

// EncodeError reports the first character of a text that Encode cannot
// encode. Its message names the character by position only, never the text
// itself (the text is often patient data), and is short enough for a DIMSE
// Error Comment.
type EncodeError struct {
	// Char is the position of the character in the text, counted in
	// characters from 1.
	Char int
	// Reason says why in a few words, e.g. "not in ISO_IR 100".
	Reason string
}

// Error returns "character N " followed by the reason.
func (e *EncodeError) Error() string { return fmt.Sprintf("character %d %s", e.Char, e.Reason) }

// Unwrap returns ErrNotRepresentable.
func (e *EncodeError) Unwrap() error { return ErrNotRepresentable }

// Encoder converts UTF-8 text into the bytes of one Specific Character Set
// value (PS3.5 §6.1, PS3.3 C.12.1.1.2), the inverse of Decoder: whatever
// Encode returns, a Decoder of the same value decodes back to the text.
//
// Encoders are immutable and safe for concurrent use. A nil *Encoder (and
// the zero value) encodes the default repertoire: ASCII only.
//
// The character sets:
//
//   - Default repertoire (no value, or ISO_IR 6): ASCII.
//   - A single-byte set as value 1 (ISO_IR 100 101 109 110 126 127 138 144
//     148 166 203, with or without "2022"): ASCII and the set's characters in
//     GR, without escape sequences. ISO_IR 13: ASCII and the half-width
//     katakana U+FF61-U+FF9F; JIS X 0201 Romaji (the YEN SIGN at 05/12) is not
//     produced, as 05/12 is read as the value delimiter.
//   - ISO_IR 192: UTF-8. GB18030 and GBK: through golang.org/x/text.
//   - Several values (ISO 2022 code extension, PS3.5 §6.1.2.4-6.1.2.5): each
//     character is written in the first set that has it, preferring the set
//     already designated, then value 1's, then the others in their order;
//     escape sequences of PS3.3 Tables C.12-3 and C.12-4 designate JIS X 0208
//     (ESC $ B) and JIS X 0212 (ESC $ ( D) into G0, the single-byte sets
//     (ESC - F), katakana (ESC ) I), KS X 1001 (ESC $ ) C) and GB 2312
//     (ESC $ ) A) into G1. As PS3.5 §6.1.2.5.3 requires, value 1's sets are
//     active again before each control character, before each value
//     delimiter "\" of SH, LO, UC and PN, before the "^" and "=" of PN, and at
//     the end of the text: G0 returns by ESC ( B (ESC ( J when value 1 is
//     ISO 2022 IR 13, as PS3.5 Annex H does), and G1 by the designation of
//     value 1's set when it has one. KS X 1001 or GB 2312 as value 1 is in G1
//     from the start (as Decoder reads it).
//
// Only SH, LO, ST, LT, UC, UT and PN use the character set (PS3.5
// §6.1.2.3); the other VRs take ASCII only.
//
// A multi-byte character whose encoding contains the byte 05/12 is refused
// in SH, LO, UC and PN: PS3.5 §6.1.2.3 says only a single byte 05/12 is a
// delimiter, but readers split such values at every 05/12 before decoding
// (pydicom 2.3; dicom.Element.Render decodes first). (pydicom 2.3 also splits PN at
// every 03/13 byte before decoding, which misreads some JIS X 0208
// characters; they are common in Japanese names and decoded correctly by
// this package, so they are not refused.)
//
// The double-byte sets are restricted to the rows their standards define
// (JIS X 0208 rows 1-8 and 16-84, JIS X 0212 rows 2, 6-7, 9-11 and 16-77,
// KS X 1001, GB 2312 rows 1-9 and 16-87), where Python and so pydicom
// decode them as Decoder does; their tables are built from Decoder the
// first time a value needs one.
type Encoder struct {
	kind   kind
	init   set   // G1 of the initial state (kindISO2022); setNone: nothing
	romaji bool  // value 1 is ISO 2022 IR 13: G0 returns with ESC ( J
	sets   []set // every set a character may use, value 1's first; setNone for ISO-IR 6
	multi  bool  // more than one value: code extension (PS3.5 §6.1.2.5.4 c)
	name   string
	err    error // the unknown term of value 1, if any
}

// maxNameInError bounds the term quoted in error reasons.
const maxNameInError = 16

// encTerm maps one trimmed term to what the encoder needs: the decoder's
// kind and G1 set, or a G0 set for JIS X 0208 and JIS X 0212 (which the
// decoder reads as the default repertoire when they are value 1).
func encTerm(term string) (k kind, s set, ok bool) {
	var buf [maxTerm]byte
	norm, ok := normalizeTerm(&buf, term)
	if !ok {
		return 0, 0, false
	}
	switch string(norm) {
	case "ISO2022IR87", "ISOIR87":
		return kindISO2022, setJISX0208, true
	case "ISO2022IR159", "ISOIR159":
		return kindISO2022, setJISX0212, true
	}
	d, ok := termDecoders[string(norm)]
	if !ok {
		return 0, 0, false
	}
	return d.kind, d.g1, true
}

// NewEncoder returns the encoder for a Specific Character Set value as it
// appears in the data set (backslash-separated defined terms, padding
// allowed; the same terms and spellings as New). An empty value means the
// default repertoire. Unknown terms are reported in err and a usable encoder
// is still returned: it leaves out an unknown later term, and encodes ASCII
// only when value 1 is unknown. Terms combined with ISO_IR 192, GB18030 or
// GBK are reported with ErrCodeExtension and ignored, as New does.
func NewEncoder(value string) (*Encoder, error) {
	e := &Encoder{}
	var errs []error
	for i := 0; ; i++ {
		term, rest, more := strings.Cut(value, `\`)
		value = rest
		term = strings.Trim(term, " \x00")
		if i > 0 {
			e.multi = true
		}
		k, s, ok := encTerm(term)
		switch {
		case term == "" && i == 0:
			e.sets = append(e.sets, setNone) // ISO 2022 IR 6 (PS3.3 C.12.1.1.2)
		case term == "":
		case !ok:
			err := fmt.Errorf("%w %q", ErrUnknownTerm, term)
			if i == 0 {
				e.name, e.err = shortName(term), err
				e.sets = append(e.sets, setNone)
			}
			errs = append(errs, err)
		case i == 0:
			e.kind, e.name = k, shortName(term)
			if s != setJISX0208 && s != setJISX0212 {
				e.init = s
			}
			e.romaji = s == setKatakana
			e.sets = append(e.sets, s)
		case e.kind != kindISO2022 || k != kindISO2022:
			errs = append(errs, fmt.Errorf("%w: ignoring %q as value %d", ErrCodeExtension, term, i+1))
		default:
			e.sets = append(e.sets, s)
		}
		if !more {
			break
		}
	}
	return e, errors.Join(errs...)
}

// shortName returns the term as error reasons quote it: at most
// maxNameInError bytes, anything but printable ASCII as "?".
func shortName(s string) string {
	b := []byte(s[:min(len(s), maxNameInError)])
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '?'
		}
	}
	return string(b)
}

// Encode returns s, UTF-8 text, encoded for a value of VR vr ("PN", "LO",
// ...). s may hold several values separated by "\". It fails with an
// *EncodeError at the first character it cannot encode: not valid UTF-8,
// ESC, a character outside the character set (outside ASCII for the VRs the
// character set does not apply to), or one whose encoding would hold a
// delimiter byte (see Encoder). ASCII without ESC is returned unchanged in
// every character set.
func (e *Encoder) Encode(s string, vr string) ([]byte, error) {
	return e.AppendEncode(nil, s, vr)
}

// AppendEncode is Encode appending to dst; on error it returns dst as it
// was.
func (e *Encoder) AppendEncode(dst []byte, s string, vr string) ([]byte, error) {
	ascii := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || c == esc {
			ascii = false
			break
		}
	}
	if ascii {
		return append(dst, s...), nil
	}
	if e == nil {
		e = &Encoder{sets: []set{setNone}}
	}
	class := classify(vr)
	// Validate first: every error below names a character position.
	n := 0
	for i, r := range s {
		n++
		switch {
		case r == utf8.RuneError && !validAt(s, i):
			return dst, &EncodeError{Char: n, Reason: "is not valid UTF-8"}
		case r == esc:
			return dst, &EncodeError{Char: n, Reason: "is ESC, not allowed"}
		case r >= utf8.RuneSelf && class == classOther:
			return dst, &EncodeError{Char: n, Reason: "not in the default repertoire"}
		}
	}
	start := len(dst)
	var err error
	switch e.kind {
	case kindUTF8:
		return append(dst, s...), nil
	case kindGB18030:
		dst, err = e.appendGB(dst, s, class, simplifiedchinese.GB18030)
	case kindGBK:
		dst, err = e.appendGB(dst, s, class, simplifiedchinese.GBK)
	default:
		dst, err = e.appendISO2022(dst, s, class)
	}
	if err != nil {
		return dst[:start], err
	}
	return dst, nil
}

// validAt reports whether the U+FFFD that ranging over s found at i is
// really encoded there (and not an invalid byte).
func validAt(s string, i int) bool {
	_, size := utf8.DecodeRuneInString(s[i:])
	return size == 3
}

// notIn is the reason for a character missing from e's character sets.
func (e *Encoder) notIn() string {
	switch {
	case e.err != nil:
		return "not in unknown set " + e.name
	case e.multi:
		return "not in the declared sets"
	case e.name == "":
		return "not in the default repertoire"
	}
	return "not in " + e.name
}

// hasDelimiter reports whether the encoded character b (two bytes or more)
// holds a byte that readers take for a delimiter of the class.
func hasDelimiter(b []byte, class vrClass) bool {
	if class != classMulti && class != classPN {
		return false
	}
	for _, c := range b {
		if c == '\\' {
			return true
		}
	}
	return false
}

// appendGB encodes s in GB18030 or GBK, which have no escape sequences.
func (e *Encoder) appendGB(dst []byte, s string, class vrClass, enc encoding.Encoding) ([]byte, error) {
	t := enc.NewEncoder()
	var buf [8]byte
	var src [utf8.UTFMax]byte
	n := 0
	for _, r := range s {
		n++
		if r < utf8.RuneSelf {
			dst = append(dst, byte(r))
			continue
		}
		t.Reset()
		size := utf8.EncodeRune(src[:], r)
		nDst, _, err := t.Transform(buf[:], src[:size], true)
		if err != nil || nDst == 0 {
			return dst, &EncodeError{Char: n, Reason: e.notIn()}
		}
		if hasDelimiter(buf[:nDst], class) {
			return dst, &EncodeError{Char: n, Reason: "would encode with a 05/12 byte"}
		}
		dst = append(dst, buf[:nDst]...)
	}
	return dst, nil
}

// ISO 2022 designations (PS3.3 Tables C.12-3, C.12-4).
const (
	escASCII  = "\x1b(B"
	escRomaji = "\x1b(J"
)

func designate(dst []byte, s set) []byte {
	switch s {
	case setASCII:
		return append(dst, escASCII...)
	case setJISX0208:
		return append(dst, "\x1b$B"...)
	case setJISX0212:
		return append(dst, "\x1b$(D"...)
	case setKatakana:
		return append(dst, "\x1b)I"...)
	case setKSX1001:
		return append(dst, "\x1b$)C"...)
	case setGB2312:
		return append(dst, "\x1b$)A"...)
	}
	return append(dst, esc, '-', singleByte[s-setSingle].final)
}

// isG0 reports whether s is designated into G0 (the JIS double-byte sets).
func isG0(s set) bool { return s == setJISX0208 || s == setJISX0212 }

// resetsState reports whether the ASCII character c makes value 1's sets
// active again, as the decoder reads it (PS3.5 §6.1.2.5.3).
func resetsState(c rune, class vrClass) bool {
	switch {
	case c < 0x20:
		return true
	case c == '\\':
		return class == classMulti || class == classPN
	case c == '^' || c == '=':
		return class == classPN
	}
	return false
}

// iso2022 is the state of one ISO 2022 encoding: the sets in G0 and G1.
type iso2022 struct {
	e      *Encoder
	g0, g1 set
}

// restore makes value 1's sets active again.
func (st *iso2022) restore(dst []byte) []byte {
	if st.g0 != setASCII {
		if st.e.romaji {
			dst = append(dst, escRomaji...)
		} else {
			dst = append(dst, escASCII...)
		}
		st.g0 = setASCII
	}
	if st.g1 != st.e.init {
		if st.e.init != setNone {
			dst = designate(dst, st.e.init)
		}
		st.g1 = st.e.init
	}
	return dst
}

// put appends code, a character of set s, designating s first if needed.
func (st *iso2022) put(dst []byte, s set, code []byte) []byte {
	switch {
	case isG0(s) && st.g0 != s:
		dst = designate(dst, s)
		st.g0 = s
	case !isG0(s) && st.g1 != s:
		dst = designate(dst, s)
		st.g1 = s
	}
	return append(dst, code...)
}

// pick finds the set for r: the one in G0 or G1 if it has r, else the
// first of e.sets that has it. delim reports a set that has r but was
// refused for a delimiter byte.
func (st *iso2022) pick(r rune, class vrClass, code []byte) (s set, n int, delim bool) {
	try := func(s set) bool {
		k, ok := encodeIn(s, r, code)
		if ok && hasDelimiter(code[:k], class) {
			delim, ok = true, false
		}
		n = k
		return ok
	}
	if isG0(st.g0) && try(st.g0) {
		return st.g0, n, false
	}
	if st.g1 != setNone && try(st.g1) {
		return st.g1, n, false
	}
	for _, s := range st.e.sets {
		if s != setNone && s != st.g0 && s != st.g1 && try(s) {
			return s, n, false
		}
	}
	return setNone, 0, delim
}

// appendISO2022 encodes s with the ISO 2022 sets of e.
func (e *Encoder) appendISO2022(dst []byte, s string, class vrClass) ([]byte, error) {
	st := iso2022{e: e, g0: setASCII, g1: e.init}
	var code [2]byte
	n := 0
	for _, r := range s {
		n++
		if r < utf8.RuneSelf {
			switch {
			case resetsState(r, class):
				dst = st.restore(dst)
			case st.g0 != setASCII:
				dst = append(dst, escASCII...)
				st.g0 = setASCII
			}
			dst = append(dst, byte(r))
			continue
		}
		set, k, delim := st.pick(r, class, code[:])
		switch {
		case k > 0:
			dst = st.put(dst, set, code[:k])
		case delim:
			return dst, &EncodeError{Char: n, Reason: "would encode with a 05/12 byte"}
		default:
			return dst, &EncodeError{Char: n, Reason: e.notIn()}
		}
	}
	return st.restore(dst), nil
}

// encodeIn writes the bytes of r in set s to code (GR bytes for G1 sets,
// GL for the G0 sets) and returns their number.
func encodeIn(s set, r rune, code []byte) (int, bool) {
	switch {
	case s >= setSingle:
		sb := singleByte[s-setSingle]
		b, ok := sb.cm.EncodeRune(r)
		if !ok || b < 0xa0 || grTables[s-setSingle][b-0x80] != r {
			return 0, false
		}
		code[0] = b
		return 1, true
	case s == setKatakana:
		if r < 0xff61 || r > 0xff9f {
			return 0, false
		}
		code[0] = byte(0xa1 + (r - 0xff61))
		return 1, true
	case s == setJISX0208 || s == setJISX0212 || s == setKSX1001 || s == setGB2312:
		c, ok := doubleByteTable(s)[r]
		if !ok {
			return 0, false
		}
		code[0], code[1] = byte(c>>8), byte(c)
		if !isG0(s) {
			code[0] |= 0x80
			code[1] |= 0x80
		}
		return 2, true
	}
	return 0, false
}

// codeRange is a range of codes (first byte << 8 | second byte, both
// 0x21-0x7E) of a double-byte set.
type codeRange struct{ first, last uint16 }

// repertoire lists the codes each double-byte standard defines (see
// Encoder): its rows, less the cells that x/text decodes (WHATWG's tables
// extend KS X 1001 and GB 2312 with CP949 and GBK) but Python, and so
// pydicom, does not.
type repertoire struct {
	rows    []codeRange // first and last rows, second bytes 0x21-0x7E
	without []codeRange
}

var (
	repJISX0208 = repertoire{rows: []codeRange{{0x21, 0x28}, {0x30, 0x74}}}
	repJISX0212 = repertoire{rows: []codeRange{{0x22, 0x22}, {0x26, 0x27}, {0x29, 0x2b}, {0x30, 0x6d}}}
	repKSX1001  = repertoire{
		rows: []codeRange{{0x21, 0x7e}},
		// HANGUL FILLER: Python reads it only as the start of a
		// KS X 1001:1998 Annex 3 composed syllable.
		without: []codeRange{{0x2454, 0x2454}},
	}
	repGB2312 = repertoire{
		rows: []codeRange{{0x21, 0x29}, {0x30, 0x77}},
		// GBK additions: small Roman numerals, the euro sign, vertical
		// presentation forms, pinyin letters.
		without: []codeRange{{0x2221, 0x2230}, {0x2263, 0x2264}, {0x2639, 0x2640}, {0x2659, 0x267e},
			{0x283b, 0x2844}, {0x286a, 0x287e}},
	}
)

// The double-byte tables, each built from the decoder once, when first
// needed, and read-only afterwards.
var (
	tableJISX0208 = sync.OnceValue(func() map[rune]uint16 { return buildTable(setJISX0208, repJISX0208) })
	tableJISX0212 = sync.OnceValue(func() map[rune]uint16 { return buildTable(setJISX0212, repJISX0212) })
	tableKSX1001  = sync.OnceValue(func() map[rune]uint16 { return buildTable(setKSX1001, repKSX1001) })
	tableGB2312   = sync.OnceValue(func() map[rune]uint16 { return buildTable(setGB2312, repGB2312) })
)

// doubleByteTable maps each character of s to its code (first byte << 8 |
// second byte, both 0x21-0x7E).
func doubleByteTable(s set) map[rune]uint16 {
	switch s {
	case setJISX0208:
		return tableJISX0208()
	case setJISX0212:
		return tableJISX0212()
	case setKSX1001:
		return tableKSX1001()
	}
	return tableGB2312()
}

// pairRune decodes the code c1 c2 (0x21-0x7E each) of the double-byte set
// s exactly as decodeISO2022 and run.gr do, and returns the character, or
// false when the code decodes to no single character.
func pairRune(r *run, s set, c1, c2 byte) (rune, bool) {
	if st := standard(s, c1, c2); st != 0 {
		return st, true
	}
	r.out.Reset()
	switch s {
	case setJISX0208:
		r.char(codeEUCJP, c1|0x80, c2|0x80)
	case setJISX0212:
		r.char(codeEUCJP, 0x8f, c1|0x80, c2|0x80)
	case setKSX1001:
		r.char(codeEUCKR, c1|0x80, c2|0x80)
	default:
		r.char(codeGBK, c1|0x80, c2|0x80)
	}
	out := r.out.String()
	c, size := utf8.DecodeRuneInString(out)
	if c == utf8.RuneError || size != len(out) {
		return 0, false
	}
	return c, true
}

// buildTable inverts the decoding of set s over its repertoire; where two
// codes decode to one character, the first one wins.
func buildTable(s set, rep repertoire) map[rune]uint16 {
	m := make(map[rune]uint16, 8000)
	var r run
	for _, rows := range rep.rows {
		for c1 := byte(rows.first); c1 <= byte(rows.last); c1++ {
		cells:
			for c2 := byte(0x21); c2 <= 0x7e; c2++ {
				code := uint16(c1)<<8 | uint16(c2)
				for _, w := range rep.without {
					if w.first <= code && code <= w.last {
						continue cells
					}
				}
				c, ok := pairRune(&r, s, c1, c2)
				if !ok || c < utf8.RuneSelf {
					continue
				}
				if _, dup := m[c]; !dup {
					m[c] = code
				}
			}
		}
	}
	return m
}
