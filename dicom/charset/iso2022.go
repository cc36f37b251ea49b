package charset

import (
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

const esc = 0x1b

// set is a graphic character set that an escape sequence designates into G0
// or G1 (PS3.3 Tables C.12-3 and C.12-4).
type set uint8

const (
	// setNone: nothing designated in G1; GR bytes are read as ISO 8859-1.
	setNone set = iota
	// G0 sets. ISO-IR 14 (JIS X 0201 Romaji) is read as setASCII.
	setASCII    // ISO-IR 6
	setJISX0208 // ISO-IR 87, 2 bytes
	setJISX0212 // ISO-IR 159, 2 bytes
	// G1 sets.
	setKatakana // ISO-IR 13, JIS X 0201 katakana
	setKSX1001  // ISO-IR 149, 2 bytes
	setGB2312   // ISO-IR 58, 2 bytes
	// setSingle + i is the 96-character set singleByte[i].
	setSingle
)

// singleByte lists the 96-character sets of ISO 8859 and TIS 620 with the
// final byte of their G1 designation ESC 02/13 F (PS3.3 Table C.12-3).
var singleByte = [...]struct {
	ir    string
	final byte
	cm    *charmap.Charmap
	noA0  bool // 0xA0 is undefined
}{
	{"100", 'A', charmap.ISO8859_1, false},
	{"101", 'B', charmap.ISO8859_2, false},
	{"109", 'C', charmap.ISO8859_3, false},
	{"110", 'D', charmap.ISO8859_4, false},
	{"144", 'L', charmap.ISO8859_5, false},
	{"127", 'G', charmap.ISO8859_6, false},
	{"126", 'F', charmap.ISO8859_7, false},
	{"138", 'H', charmap.ISO8859_8, false},
	{"148", 'M', charmap.ISO8859_9, false},
	{"203", 'b', charmap.ISO8859_15, false},
	// TIS 620 is Windows-874 without its additions in 0x80-0xA0.
	{"166", 'T', charmap.Windows874, true},
}

// grTables holds the GR half (0x80-0xFF) of each singleByte set, built once.
var grTables = buildGR()

func buildGR() (t [len(singleByte)][128]rune) {
	for i, sb := range singleByte {
		for c := 0x80; c <= 0xff; c++ {
			r := rune(c) // 0x80-0x9F: C1 controls, as ISO 8859 and Python read them
			switch {
			case c == 0xa0 && sb.noA0:
				r = utf8.RuneError
			case c >= 0xa0:
				r = sb.cm.DecodeByte(byte(c))
			}
			t[i][c-0x80] = r
		}
	}
	return t
}

// designation parses the escape sequence at the start of b (b[0] == ESC)
// following ISO 2022: ESC, intermediate bytes 02/00-02/15, a final byte
// 03/00-07/14. It returns the designated set, whether it goes to G1, and the
// length of the sequence. A complete sequence that designates no set known
// here returns ok false and its length; an incomplete one returns length 1.
func designation(b []byte) (s set, g1 bool, n int, ok bool) {
	n = 1
	for n < len(b) && b[n] >= 0x20 && b[n] <= 0x2f {
		n++
	}
	if n == len(b) || b[n] < 0x30 || b[n] > 0x7e {
		return 0, false, 1, false
	}
	final := b[n]
	n++
	switch string(b[1 : n-1]) {
	case "(":
		if final == 'B' || final == 'J' { // ISO-IR 6, ISO-IR 14
			return setASCII, false, n, true
		}
	case ")":
		if final == 'I' {
			return setKatakana, true, n, true
		}
	case "-":
		for i, sb := range singleByte {
			if sb.final == final {
				return setSingle + set(i), true, n, true
			}
		}
	case "$":
		// ESC $ @ (JIS C 6226-1978) is accepted as JIS X 0208, as Python does.
		if final == 'B' || final == '@' {
			return setJISX0208, false, n, true
		}
	case "$(":
		switch final {
		case 'B':
			return setJISX0208, false, n, true
		case 'D':
			return setJISX0212, false, n, true
		}
	case "$)":
		switch final {
		case 'C':
			return setKSX1001, true, n, true
		case 'A':
			return setGB2312, true, n, true
		}
	}
	return 0, false, n, false
}

// standard returns the character of the double-byte code c1 c2 of set s
// where x/text's tables (WHATWG's, which follow the Windows code pages)
// differ from the mappings of JIS X 0208, JIS X 0212 and GB 2312 that
// Python, and so pydicom, use; it returns 0 elsewhere. glibc's iconv agrees
// with Python except for JIS X 0212 0x2237, which it reads as U+FF5E.
func standard(s set, c1, c2 byte) rune {
	const jis, jis2, gb = uint32(setJISX0208) << 16, uint32(setJISX0212) << 16, uint32(setGB2312) << 16
	switch uint32(s)<<16 | uint32(c1&0x7f)<<8 | uint32(c2&0x7f) {
	case jis | 0x2141:
		return '\u301c' // WAVE DASH, not FULLWIDTH TILDE
	case jis | 0x2142:
		return '\u2016' // DOUBLE VERTICAL LINE, not PARALLEL TO
	case jis | 0x215d:
		return '\u2212' // MINUS SIGN, not FULLWIDTH HYPHEN-MINUS
	case jis | 0x2171:
		return '\u00a2' // CENT SIGN, not its fullwidth form
	case jis | 0x2172:
		return '\u00a3' // POUND SIGN, not its fullwidth form
	case jis | 0x224c:
		return '\u00ac' // NOT SIGN, not its fullwidth form
	case jis2 | 0x2237:
		return '~' // TILDE, not FULLWIDTH TILDE
	case gb | 0x2124:
		return '\u30fb' // KATAKANA MIDDLE DOT, not MIDDLE DOT
	case gb | 0x212a:
		return '\u2015' // HORIZONTAL BAR, not EM DASH
	}
	return 0
}

func gl94(c byte) bool { return 0x21 <= c && c <= 0x7e }

// gr decodes the character that starts with GR byte b[0] in G1 set g1 and
// returns its length in bytes.
func (r *run) gr(g1 set, b []byte) int {
	c := b[0]
	var next byte // 0 when there is no next byte: never a valid trail byte
	if len(b) > 1 {
		next = b[1]
	}
	switch {
	case g1 >= setSingle:
		r.rune(grTables[g1-setSingle][c-0x80])
	case g1 == setNone:
		r.rune(rune(c))
	case g1 == setKatakana:
		switch {
		case 0xa1 <= c && c <= 0xdf:
			r.rune(0xff61 + rune(c-0xa1))
		case (0x81 <= c && c <= 0x9f || 0xe0 <= c && c <= 0xfc) &&
			(0x40 <= next && next <= 0x7e || 0x80 <= next && next <= 0xfc):
			r.char(codeSJIS, c, next)
			return 2
		default:
			r.rune(utf8.RuneError)
		}
	case g1 == setKSX1001:
		// KS X 1001 pairs are 0xA1-0xFE twice; CP949 adds leads from 0x81
		// and trails 0x41-0x5A, 0x61-0x7A, 0x81-0xA0 (never a delimiter).
		if 0x81 <= c && c <= 0xfe &&
			(0x41 <= next && next <= 0x5a || 0x61 <= next && next <= 0x7a || 0x81 <= next && next <= 0xfe) {
			r.char(codeEUCKR, c, next)
			return 2
		}
		r.rune(utf8.RuneError)
	default: // setGB2312: GB 2312 pairs, and GBK pairs whose trail is in GR.
		if 0x81 <= c && c <= 0xfe && 0x80 <= next && next <= 0xfe {
			if s := standard(g1, c, next); s != 0 {
				r.rune(s)
			} else {
				r.char(codeGBK, c, next)
			}
			return 2
		}
		r.rune(utf8.RuneError)
	}
	return 1
}

// decodeISO2022 decodes b under ISO 2022 code extension (PS3.5 §6.1.2.5)
// starting from ISO-IR 6 in G0 and initG1 in G1.
func decodeISO2022(b []byte, initG1 set, class vrClass) string {
	var r run
	r.out.Grow(len(b) + len(b)/2)
	g0, g1 := setASCII, initG1
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c == esc:
			s, toG1, n, ok := designation(b[i:])
			switch {
			case !ok:
				r.rune(utf8.RuneError)
			case toG1:
				g1 = s
			default:
				g0 = s
			}
			i += n
			continue
		case c < 0x20:
			// PS3.5 §6.1.2.5.3: value 1's sets are active again before
			// any control character other than ESC.
			g0, g1 = setASCII, initG1
		case c >= 0x80:
			i += r.gr(g1, b[i:])
			continue
		case g0 == setJISX0208 || g0 == setJISX0212:
			if !gl94(c) { // SPACE and DEL stand for themselves
				break
			}
			if i+1 == len(b) || !gl94(b[i+1]) {
				r.rune(utf8.RuneError)
				i++
				continue
			}
			if s := standard(g0, c, b[i+1]); s != 0 {
				r.rune(s)
				i += 2
				continue
			}
			// EUC-JP form: GR bytes, JIS X 0212 after SS3 (0x8F).
			if g0 == setJISX0212 {
				r.char(codeEUCJP, 0x8f, c|0x80, b[i+1]|0x80)
			} else {
				r.char(codeEUCJP, c|0x80, b[i+1]|0x80)
			}
			i += 2
			continue
		case c == '\\' && class >= classMulti, (c == '^' || c == '=') && class == classPN:
			// PS3.5 §6.1.2.5.3: value 1's sets are active again before
			// each value delimiter and, in PN, each component delimiter.
			g0, g1 = setASCII, initG1
		}
		r.out.WriteByte(c)
		i++
	}
	return r.out.String()
}
