package dicom

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/dicomrecv/dicomrecv/dicom/charset"
)

// ErrBadValue is wrapped by every *ValueError: the text cannot be encoded as
// a value of the VR.
var ErrBadValue = errors.New("dicom: value not valid for its VR")

// ValueError says why a text cannot be a value of a VR. Its message never
// quotes the text (often patient data) and, with the tag Edit puts before
// it, fits a DIMSE Error Comment (64 characters).
type ValueError struct {
	VR VR
	// Value is the position (from 1) of the offending value in a
	// multi-valued text, or 0 when the error concerns the text as a whole.
	Value int
	// Reason says why in a few words.
	Reason string
}

// Error returns e.g. "US value 2: out of range 0..65535" or "DA: not a
// date YYYYMMDD".
func (e *ValueError) Error() string {
	if e.Value > 0 {
		return e.VR.String() + " value " + strconv.Itoa(e.Value) + ": " + e.Reason
	}
	return e.VR.String() + ": " + e.Reason
}

// Unwrap returns ErrBadValue.
func (e *ValueError) Unwrap() error { return ErrBadValue }

// Base64Prefix marks a value given as bytes rather than text: "base64:"
// followed by the standard base64 (RFC 4648 §4, padded) of the value bytes
// exactly as they are encoded in the data set. It is the form
// Element.Render gives custom binary values, so that such a value can be
// given back.
const Base64Prefix = "base64:"

// Maximum value lengths of PS3.5 Table 6.2-1, in characters.
const (
	maxAE = 16
	maxCS = 16
	maxDS = 16
	maxDT = 26
	maxIS = 12
	maxLO = 64
	maxLT = 10240
	maxPN = 64 // per component group
	maxSH = 16
	maxST = 1024
	maxTM = 14
	maxUI = 64
	// maxValueLength is the longest value any element can hold: the
	// 32-bit length less the undefined length, made even.
	maxValueLength = 0xFFFFFFFE
)

// EncodeValue encodes text as the value of an element of VR vr, in big or
// little endian byte order, with the default character repertoire. It is
// AppendValue(nil, vr, text, bigEndian, nil); see AppendValue for the
// rules.
func EncodeValue(vr VR, text string, bigEndian bool) ([]byte, error) {
	return AppendValue(nil, vr, text, bigEndian, nil)
}

// AppendValue appends the value of an element of VR vr holding text to dst
// and returns the extended slice; on error, it returns dst unchanged and a
// *ValueError. Text values of SH, LO, ST, LT, UC, UT and PN are encoded by
// cs (nil: the default repertoire, ASCII); see charset.Encoder. The other
// text VRs take ASCII only, whatever cs (PS3.5 §6.1.2.3).
//
// An empty text is an empty value (length 0) for every VR. Otherwise:
//
//   - Text VRs (AE AS CS DA DS DT IS LO LT PN SH ST TM UC UI UR UT) are
//     checked against PS3.5 Table 6.2-1, value by value (values are
//     separated by "\", except in LT, ST, UT and UR, where "\" is text):
//     the characters allowed (no control characters, except TAB, LF, FF and
//     CR in LT, ST and UT; CS upper case only; UI digits and dots with no
//     leading zeros, PS3.5 §9.1), the maximum length in characters (PN: per
//     component group, with at most 3 groups of at most 5 components), and
//     the form of AS (nnnD, nnnW, nnnM, nnnY), DA (YYYYMMDD, a real date),
//     TM (HH[MM[SS[.F{1,6}]]], SS up to 60), DT (YYYY[MM[DD[HH[MM[SS[.F{1,6}]]]]]]
//     with an optional &ZZXX offset from -1200 to +1400), DS (a finite
//     decimal number) and IS (a decimal integer of 32 bits); DA, TM and DT
//     take digits (and ".", "+", "-" where their form has them) only, so
//     the ACR-NEMA forms ("2023.12.01", "12:00:00") and query ranges are
//     refused. Leading and trailing spaces are kept where the VR allows
//     them. The value is padded to even length with a space, UI with a NUL
//     (PS3.5 §6.2).
//   - US SS UL SL UV SV FL FD: decimal numbers (FL and FD also "NaN",
//     "+Inf", "-Inf", as Element.Render writes them), AT: tags written
//     "(0010,0010)", "0010,0010" or "00100010"; several values separated by
//     "\", spaces around each allowed; each must fit the VR.
//   - OW OL OV OF OD: the same decimal lists as US UL UV FL FD; or
//     Base64Prefix followed by the bytes, whose length must be a multiple
//     of the VR's unit.
//   - OB and UN (and a VR unknown to this edition): Base64Prefix followed by
//     the bytes, padded with a NUL to even length; any other text is
//     encoded as UT would be (with cs), padded with a space.
//   - SQ: only the empty text (an empty sequence).
func AppendValue(dst []byte, vr VR, text string, bigEndian bool, cs *charset.Encoder) ([]byte, error) {
	if text == "" {
		return dst, nil
	}
	start := len(dst)
	out, err := appendValue(dst, vr, text, byteOrder(Encoding{BigEndian: bigEndian}), cs)
	if err != nil {
		return dst[:start], err
	}
	if len(out)-start > maxValueLength {
		return dst[:start], &ValueError{VR: vr, Reason: "longer than 4 GiB"}
	}
	return out, nil
}

func appendValue(dst []byte, vr VR, text string, order binary.AppendByteOrder, cs *charset.Encoder) ([]byte, error) {
	switch {
	case vr == SQ:
		return dst, &ValueError{VR: vr, Reason: "a sequence can only be set empty"}
	case vr.IsText():
		return appendText(dst, vr, text, cs)
	case numSize(vr) > 0:
		return appendNumbers(dst, vr, vr, text, order)
	}
	if b64, ok := strings.CutPrefix(text, Base64Prefix); ok {
		return appendBase64(dst, vr, b64)
	}
	switch vr {
	case OW:
		return appendNumbers(dst, vr, US, text, order)
	case OL:
		return appendNumbers(dst, vr, UL, text, order)
	case OV:
		return appendNumbers(dst, vr, UV, text, order)
	case OF:
		return appendNumbers(dst, vr, FL, text, order)
	case OD:
		return appendNumbers(dst, vr, FD, text, order)
	}
	// OB, UN and unknown VRs: text as UT would be.
	start := len(dst)
	out, err := appendCharsetText(dst, vr, UT, text, cs)
	if err != nil {
		return dst[:start], err
	}
	return padText(out, start, ' '), nil
}

// unitSize is the size of one value of the binary VRs.
func unitSize(vr VR) int {
	switch vr {
	case OW:
		return 2
	case OL, OF:
		return 4
	case OV, OD:
		return 8
	}
	return numSize(vr)
}

func appendBase64(dst []byte, vr VR, b64 string) ([]byte, error) {
	n := base64.StdEncoding.DecodedLen(len(b64))
	start := len(dst)
	dst = slices.Grow(dst, n+1)[:start+n]
	k, err := base64.StdEncoding.Decode(dst[start:], []byte(b64))
	if err != nil {
		return dst[:start], &ValueError{VR: vr, Reason: "not valid base64"}
	}
	dst = dst[:start+k]
	if u := unitSize(vr); u > 1 && k%u != 0 {
		return dst[:start], &ValueError{VR: vr, Reason: "length not a multiple of " + strconv.Itoa(u)}
	}
	return padText(dst, start, 0), nil
}

// padText pads the value that starts at start to even length.
func padText(b []byte, start int, pad byte) []byte {
	if (len(b)-start)&1 == 1 {
		b = append(b, pad)
	}
	return b
}

// numberRange is the range of an integer VR, for errors.
func numberRange(vr VR) string {
	switch vr {
	case US:
		return "0..65535"
	case SS:
		return "-32768..32767"
	case UL:
		return "0..4294967295"
	case SL:
		return "-2147483648..2147483647"
	case UV:
		return "0..2^64-1"
	}
	return "-2^63..2^63-1"
}

// appendSized appends the low size bytes (2, 4 or 8) of u.
func appendSized(dst []byte, order binary.AppendByteOrder, size int, u uint64) []byte {
	switch size {
	case 2:
		return order.AppendUint16(dst, uint16(u))
	case 4:
		return order.AppendUint32(dst, uint32(u))
	}
	return order.AppendUint64(dst, u)
}

// appendNumbers encodes decimal numbers (tags for AT) as values of the
// numeric VR unit; vr is the element's VR, for errors.
func appendNumbers(dst []byte, vr, unit VR, text string, order binary.AppendByteOrder) ([]byte, error) {
	start := len(dst)
	for i := 1; ; i++ {
		v, rest, more := strings.Cut(text, `\`)
		text = rest
		v = strings.TrimSpace(v)
		fail := func(reason string) ([]byte, error) {
			return dst[:start], &ValueError{VR: vr, Value: i, Reason: reason}
		}
		if v == "" {
			return fail("empty")
		}
		var err error
		switch unit {
		case US, UL, UV:
			var u uint64
			if u, err = strconv.ParseUint(v, 10, 8*numSize(unit)); err == nil {
				dst = appendSized(dst, order, numSize(unit), u)
			}
		case SS, SL, SV:
			var s int64
			if s, err = strconv.ParseInt(v, 10, 8*numSize(unit)); err == nil {
				dst = appendSized(dst, order, numSize(unit), uint64(s)) // two's complement
			}
		case FL:
			var f float64
			if f, err = strconv.ParseFloat(v, 32); err == nil {
				dst = order.AppendUint32(dst, math.Float32bits(float32(f)))
			}
		case FD:
			var f float64
			if f, err = strconv.ParseFloat(v, 64); err == nil {
				dst = order.AppendUint64(dst, math.Float64bits(f))
			}
		case AT:
			t, terr := ParseTag(v)
			if terr != nil {
				return fail("not a tag (gggg,eeee)")
			}
			dst = order.AppendUint16(dst, t.Group())
			dst = order.AppendUint16(dst, t.Element())
		}
		if err != nil {
			switch {
			case errors.Is(err, strconv.ErrRange) && (unit == FL || unit == FD):
				return fail("out of range for " + unit.String())
			case errors.Is(err, strconv.ErrRange):
				return fail("out of range " + numberRange(unit))
			case unit == FL || unit == FD:
				return fail("not a number")
			}
			return fail("not a decimal integer")
		}
		if !more {
			return dst, nil
		}
	}
}

// textRule is how PS3.5 Table 6.2-1 constrains a text VR.
type textRule struct {
	max      int  // characters per value; 0: no limit (PN: checkPN limits each component group)
	multi    bool // "\" separates values
	controls bool // TAB, LF, FF and CR are allowed (LT, ST, UT)
	// check validates one value of the VR's own form; it returns a reason,
	// or "" when the value is fine. Characters are checked before.
	check func(v string) string
	// allowed reports whether an ASCII character may appear (nil: all
	// printable ASCII, and anything else for charsetVR VRs).
	allowed func(c byte) bool
}

func textRuleOf(vr VR) textRule {
	switch vr {
	case AE:
		return textRule{max: maxAE, multi: true, check: checkAE}
	case AS:
		return textRule{max: 4, multi: true, check: checkAS}
	case CS:
		return textRule{max: maxCS, multi: true, allowed: csChar}
	case DA:
		return textRule{max: 8, multi: true, allowed: isDigit, check: checkDA}
	case DS:
		return textRule{max: maxDS, multi: true, allowed: dsChar, check: checkDS}
	case DT:
		return textRule{max: maxDT, multi: true, allowed: dtChar, check: checkDT}
	case IS:
		return textRule{max: maxIS, multi: true, allowed: isChar, check: checkIS}
	case LO:
		return textRule{max: maxLO, multi: true}
	case LT:
		return textRule{max: maxLT, controls: true}
	case PN:
		return textRule{multi: true, check: checkPN}
	case SH:
		return textRule{max: maxSH, multi: true}
	case ST:
		return textRule{max: maxST, controls: true}
	case TM:
		return textRule{max: maxTM, multi: true, allowed: tmChar, check: checkTM}
	case UC:
		return textRule{multi: true}
	case UI:
		return textRule{max: maxUI, multi: true, allowed: uiChar, check: checkUI}
	case UR:
		return textRule{check: checkUR}
	}
	return textRule{controls: true} // UT
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func csChar(c byte) bool { return 'A' <= c && c <= 'Z' || isDigit(c) || c == ' ' || c == '_' }
func dsChar(c byte) bool {
	return isDigit(c) || c == '+' || c == '-' || c == 'E' || c == 'e' || c == '.' || c == ' '
}
func isChar(c byte) bool { return isDigit(c) || c == '+' || c == '-' || c == ' ' }
func uiChar(c byte) bool { return isDigit(c) || c == '.' }
func tmChar(c byte) bool { return isDigit(c) || c == '.' }
func dtChar(c byte) bool { return isDigit(c) || c == '.' || c == '+' || c == '-' }

// appendText checks and encodes a text VR value.
func appendText(dst []byte, vr VR, text string, cs *charset.Encoder) ([]byte, error) {
	rule := textRuleOf(vr)
	values := 1
	if rule.multi {
		values = strings.Count(text, `\`) + 1
	}
	rest := text
	for i := 1; i <= values; i++ {
		v := rest
		if i < values {
			v, rest, _ = strings.Cut(rest, `\`)
		}
		if reason := checkTextValue(v, vr, rule); reason != "" {
			idx := i
			if !rule.multi {
				idx = 0
			}
			return dst, &ValueError{VR: vr, Value: idx, Reason: reason}
		}
	}
	start := len(dst)
	var err error
	if charsetVR(vr) {
		dst, err = appendCharsetText(dst, vr, vr, text, cs)
	} else {
		dst = append(dst, text...)
	}
	if err != nil {
		return dst[:start], err
	}
	pad := byte(' ')
	if vr == UI {
		pad = 0
	}
	return padText(dst, start, pad), nil
}

// appendCharsetText encodes text with cs as a value of VR as (vr names the
// element's VR in errors).
func appendCharsetText(dst []byte, vr, as VR, text string, cs *charset.Encoder) ([]byte, error) {
	out, err := cs.AppendEncode(dst, text, as.String())
	if err != nil {
		reason := "cannot be encoded"
		var ee *charset.EncodeError
		if errors.As(err, &ee) {
			reason = ee.Error()
		}
		return dst, &ValueError{VR: vr, Reason: reason}
	}
	return out, nil
}

// checkTextValue checks one value's characters and length, then its form.
func checkTextValue(v string, vr VR, rule textRule) string {
	n := 0
	for i := 0; i < len(v); {
		c := v[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(v[i:])
			switch {
			case r == utf8.RuneError && size == 1:
				return "not valid UTF-8"
			case !charsetVR(vr):
				return "only ASCII allowed"
			case r < 0xa0:
				return "control character not allowed"
			}
			i += size
			n++
			continue
		}
		switch {
		case c < 0x20 || c == 0x7f:
			if !rule.controls || !(c == '\t' || c == '\n' || c == '\f' || c == '\r') {
				return "control character not allowed"
			}
		case rule.allowed != nil && !rule.allowed(c):
			return "character " + strconv.Itoa(n+1) + " not allowed"
		}
		i++
		n++
	}
	if rule.max > 0 && n > rule.max {
		return "longer than " + strconv.Itoa(rule.max) + " characters"
	}
	if rule.check != nil && v != "" {
		return rule.check(v)
	}
	return ""
}

func checkAE(v string) string {
	if strings.Trim(v, " ") == "" {
		return "only spaces"
	}
	return ""
}

func checkAS(v string) string {
	if len(v) != 4 || !isDigit(v[0]) || !isDigit(v[1]) || !isDigit(v[2]) || !strings.ContainsRune("DWMY", rune(v[3])) {
		return "not an age nnnD, nnnW, nnnM or nnnY"
	}
	return ""
}

// digits parses the decimal digits s[i:j]; ok is false for a non-digit
// or a range beyond s.
func digits(s string, i, j int) (int, bool) {
	if j > len(s) || i > j {
		return 0, false
	}
	n := 0
	for ; i < j; i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

// validDate reports whether year, month, day is a date of the Gregorian
// calendar (day 1 to the month's last).
func validDate(year, month, day int) bool {
	if month < 1 || month > 12 || day < 1 {
		return false
	}
	days := [...]int{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[month-1]
	if month == 2 && year%4 == 0 && (year%100 != 0 || year%400 == 0) {
		days = 29
	}
	return day <= days
}

func checkDA(v string) string {
	y, ok1 := digits(v, 0, 4)
	m, ok2 := digits(v, 4, 6)
	d, ok3 := digits(v, 6, 8)
	if len(v) != 8 || !ok1 || !ok2 || !ok3 || !validDate(y, m, d) {
		return "not a date YYYYMMDD"
	}
	return ""
}

// checkTime checks HH[MM[SS[.F{1,6}]]] (TM, and the time of DT).
func checkTime(v string) bool {
	hms, frac, dot := strings.Cut(v, ".")
	if len(hms) != 2 && len(hms) != 4 && len(hms) != 6 {
		return false
	}
	if dot && (len(hms) != 6 || len(frac) < 1 || len(frac) > 6) {
		return false
	}
	if _, ok := digits(frac, 0, len(frac)); !ok {
		return false
	}
	limits := [...]int{23, 59, 60} // PS3.5 Table 6.2-1: SS up to 60 (leap second)
	for i := 0; i < len(hms); i += 2 {
		n, ok := digits(hms, i, i+2)
		if !ok || n > limits[i/2] {
			return false
		}
	}
	return true
}

func checkTM(v string) string {
	if !checkTime(v) {
		return "not a time HHMMSS.FFFFFF"
	}
	return ""
}

func checkDT(v string) string {
	const bad = "not a date-time YYYYMMDDHHMMSS&ZZXX"
	if i := strings.LastIndexAny(v, "+-"); i >= 0 {
		off := v[i+1:]
		hh, ok1 := digits(off, 0, 2)
		mm, ok2 := digits(off, 2, 4)
		minutes := hh*60 + mm
		if v[i] == '-' {
			minutes = -minutes
		}
		if len(off) != 4 || !ok1 || !ok2 || mm > 59 || minutes < -12*60 || minutes > 14*60 {
			return bad
		}
		v = v[:i]
	}
	date, t := v, ""
	if len(v) > 8 {
		date, t = v[:8], v[8:]
	}
	y, ok := digits(date, 0, len(date))
	switch {
	case !ok:
		return bad
	case len(date) == 4:
	case len(date) == 6:
		if m := y % 100; m < 1 || m > 12 {
			return bad
		}
	case len(date) == 8:
		if !validDate(y/10000, y/100%100, y%100) {
			return bad
		}
	default:
		return bad
	}
	if t != "" && !checkTime(t) {
		return bad
	}
	return ""
}

func checkDS(v string) string {
	s := strings.Trim(v, " ")
	if strings.Contains(s, " ") {
		return "space inside a number"
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return "not a decimal number"
	}
	return ""
}

func checkIS(v string) string {
	s := strings.Trim(v, " ")
	if strings.Contains(s, " ") {
		return "space inside a number"
	}
	if _, err := strconv.ParseInt(s, 10, 32); err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return "out of range for IS"
		}
		return "not a decimal integer"
	}
	return ""
}

func checkPN(v string) string {
	groups := strings.Count(v, "=") + 1
	if groups > 3 {
		return "more than 3 component groups"
	}
	for g := range strings.SplitSeq(v, "=") {
		if utf8.RuneCountInString(g) > maxPN {
			return "component group over 64 characters"
		}
		if strings.Count(g, "^") > 4 {
			return "more than 5 components"
		}
	}
	return ""
}

// checkUI checks a UID (PS3.5 §9.1): components of digits separated by
// dots, none empty, none with a leading zero.
func checkUI(v string) string {
	for c := range strings.SplitSeq(v, ".") {
		switch {
		case c == "":
			return "empty UID component"
		case len(c) > 1 && c[0] == '0':
			return "UID component with a leading zero"
		}
	}
	return ""
}

// checkUR checks a URI (PS3.5 Table 6.2-1): no leading space, trailing
// spaces only, no backslash.
func checkUR(v string) string {
	s := strings.TrimRight(v, " ")
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == ' ' || c == '\\' {
			return "space or backslash inside a URI"
		}
	}
	return ""
}
