package dicom

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/dicomrecv/dicomrecv/dicom/charset"
)

// h decodes hex written with optional spaces, for expected values.
func hx(s string) string {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return string(b)
}

// encodeValueTests covers every VR: the bytes in little and big endian
// (big "" means the same as little), or the error's reason.
var encodeValueTests = []struct {
	vr          VR
	in          string
	little, big string
	err         string // reason of the *ValueError; "" for success
	value       int    // the *ValueError's value index
}{
	// Empty text: an empty value, whatever the VR.
	{vr: PN, in: ""}, {vr: US, in: ""}, {vr: SQ, in: ""}, {vr: OB, in: ""}, {vr: UI, in: ""},

	// AE
	{vr: AE, in: "STORE-SCP", little: "STORE-SCP "},
	{vr: AE, in: ` A B \C`, little: ` A B \C `},
	{vr: AE, in: "ABCDEFGHIJKLMNOPQ", err: "longer than 16 characters", value: 1},
	{vr: AE, in: "   ", err: "only spaces", value: 1},
	{vr: AE, in: "A\tB", err: "control character not allowed", value: 1},
	{vr: AE, in: "É", err: "only ASCII allowed", value: 1},
	// AS
	{vr: AS, in: "045Y", little: "045Y"},
	{vr: AS, in: `001D\002W`, little: `001D\002W `},
	{vr: AS, in: "45Y", err: "not an age nnnD, nnnW, nnnM or nnnY", value: 1},
	{vr: AS, in: "045y", err: "not an age nnnD, nnnW, nnnM or nnnY", value: 1},
	// AT
	{vr: AT, in: "(0010,0020)", little: hx("1000 2000"), big: hx("0010 0020")},
	{vr: AT, in: `00100010\ 7fe0,0010 `, little: hx("1000 1000 e07f 1000"), big: hx("0010 0010 7fe0 0010")},
	{vr: AT, in: "0010", err: "not a tag (gggg,eeee)", value: 1},
	{vr: AT, in: `(0010,0010)\`, err: "empty", value: 2},
	// CS
	{vr: CS, in: "ORIGINAL", little: "ORIGINAL"},
	{vr: CS, in: `ORIGINAL\PRIMARY\AXIAL`, little: `ORIGINAL\PRIMARY\AXIAL`},
	{vr: CS, in: "MONO_2 X", little: "MONO_2 X"},
	{vr: CS, in: `ORIGINAL\primary`, err: "character 1 not allowed", value: 2},
	{vr: CS, in: "ABCDEFGHIJKLMNOPQ", err: "longer than 16 characters", value: 1},
	{vr: CS, in: "A-B", err: "character 2 not allowed", value: 1},
	// DA
	{vr: DA, in: "20231201", little: "20231201"},
	{vr: DA, in: "20240229", little: "20240229"},
	{vr: DA, in: `20231201\19991231`, little: `20231201\19991231 `},
	{vr: DA, in: "2023-12-01", err: "character 5 not allowed", value: 1},
	{vr: DA, in: "202312011", err: "longer than 8 characters", value: 1},
	{vr: DA, in: "20231345", err: "not a date YYYYMMDD", value: 1},
	{vr: DA, in: "20230229", err: "not a date YYYYMMDD", value: 1},
	{vr: DA, in: "19000229", err: "not a date YYYYMMDD", value: 1},
	{vr: DA, in: "2023120", err: "not a date YYYYMMDD", value: 1},
	{vr: DA, in: "1", err: "not a date YYYYMMDD", value: 1},
	{vr: DT, in: "1", err: "not a date-time YYYYMMDDHHMMSS&ZZXX", value: 1},
	{vr: DT, in: "2023+1", err: "not a date-time YYYYMMDDHHMMSS&ZZXX", value: 1},
	{vr: DT, in: "+0100", err: "not a date-time YYYYMMDDHHMMSS&ZZXX", value: 1},
	{vr: TM, in: "1", err: "not a time HHMMSS.FFFFFF", value: 1},
	{vr: TM, in: ".", err: "not a time HHMMSS.FFFFFF", value: 1},
	{vr: AS, in: "1", err: "not an age nnnD, nnnW, nnnM or nnnY", value: 1},
	{vr: DA, in: "2023.12.", err: "character 5 not allowed", value: 1},
	// DS
	{vr: DS, in: "1.5", little: "1.5 "},
	{vr: DS, in: `1.5\-2.5e3\ +7 `, little: `1.5\-2.5e3\ +7  `},
	{vr: DS, in: "0.661468", little: "0.661468"},
	{vr: DS, in: "abc", err: "character 1 not allowed", value: 1},
	{vr: DS, in: "1..5", err: "not a decimal number", value: 1},
	{vr: DS, in: "1 5", err: "space inside a number", value: 1},
	{vr: DS, in: "1e999", err: "not a decimal number", value: 1},
	{vr: DS, in: "12345678901234567", err: "longer than 16 characters", value: 1},
	// DT
	{vr: DT, in: "20231201120000.123456+0100", little: "20231201120000.123456+0100"},
	{vr: DT, in: "2023", little: "2023"},
	{vr: DT, in: "202312", little: "202312"},
	{vr: DT, in: "2023120112", little: "2023120112"},
	{vr: DT, in: "20231201-1200", little: "20231201-1200 "},
	{vr: DT, in: "202313", err: "not a date-time YYYYMMDDHHMMSS&ZZXX", value: 1},
	{vr: DT, in: "20231201+1500", err: "not a date-time YYYYMMDDHHMMSS&ZZXX", value: 1},
	{vr: DT, in: "20231201126", err: "not a date-time YYYYMMDDHHMMSS&ZZXX", value: 1},
	{vr: DT, in: "20231201 12", err: "character 9 not allowed", value: 1},
	{vr: DT, in: "2023120112.5", err: "not a date-time YYYYMMDDHHMMSS&ZZXX", value: 1},
	{vr: DT, in: "20231201+01", err: "not a date-time YYYYMMDDHHMMSS&ZZXX", value: 1},
	// FD, FL
	{vr: FD, in: "1.5", little: hx("000000000000f83f"), big: hx("3ff8000000000000")},
	{vr: FD, in: `-2\NaN\+Inf`, little: hx("00000000000000c0 010000000000f87f 000000000000f07f"),
		big: hx("c000000000000000 7ff8000000000001 7ff0000000000000")},
	{vr: FD, in: "1e999", err: "out of range for FD", value: 1},
	{vr: FL, in: "0.5", little: hx("0000003f"), big: hx("3f000000")},
	{vr: FL, in: "1e39", err: "out of range for FL", value: 1},
	{vr: FL, in: "one", err: "not a number", value: 1},
	// IS
	{vr: IS, in: "512", little: "512 "},
	{vr: IS, in: `-2147483648\+7`, little: `-2147483648\+7`},
	{vr: IS, in: "2147483648", err: "out of range for IS", value: 1},
	{vr: IS, in: "abc", err: "character 1 not allowed", value: 1},
	{vr: IS, in: "1.5", err: "character 2 not allowed", value: 1},
	{vr: IS, in: "1234567890123", err: "longer than 12 characters", value: 1},
	// LO, SH, UC
	{vr: LO, in: "1CT1", little: "1CT1"},
	{vr: LO, in: `A\B^C`, little: `A\B^C `},
	{vr: LO, in: strings.Repeat("x", 65), err: "longer than 64 characters", value: 1},
	{vr: LO, in: "a\nb", err: "control character not allowed", value: 1},
	{vr: LO, in: "Jérôme", err: "character 2 not in the default repertoire"},
	{vr: SH, in: "ABCDEFGHIJKLMNOPQ", err: "longer than 16 characters", value: 1},
	{vr: UC, in: strings.Repeat("x", 1000) + `\y`, little: strings.Repeat("x", 1000) + `\y`},
	// LT, ST, UT: one value, "\" is text, TAB LF FF CR allowed.
	{vr: LT, in: "a\\b\r\n\tc\f", little: "a\\b\r\n\tc\f"},
	{vr: ST, in: "abc", little: "abc "},
	{vr: LT, in: strings.Repeat("x", 10241), err: "longer than 10240 characters"},
	{vr: ST, in: strings.Repeat("x", 1025), err: "longer than 1024 characters"},
	{vr: ST, in: "a\x00b", err: "control character not allowed"},
	{vr: UT, in: strings.Repeat("x", 20000), little: strings.Repeat("x", 20000)},
	{vr: UT, in: "a\x7fb", err: "control character not allowed"},
	// PN
	{vr: PN, in: "DOE^JOHN", little: "DOE^JOHN"},
	{vr: PN, in: "Yamada^Tarou=^=", little: "Yamada^Tarou=^= "},
	{vr: PN, in: `A^B\C^D`, little: `A^B\C^D `},
	{vr: PN, in: "A^B^C^D^E^F", err: "more than 5 components", value: 1},
	{vr: PN, in: "A=B=C=D", err: "more than 3 component groups", value: 1},
	{vr: PN, in: strings.Repeat("x", 64) + "=" + strings.Repeat("y", 64), little: strings.Repeat("x", 64) + "=" + strings.Repeat("y", 64) + " "},
	{vr: PN, in: strings.Repeat("x", 65), err: "component group over 64 characters", value: 1},
	{vr: PN, in: "DOE\x00", err: "control character not allowed", value: 1},
	{vr: PN, in: "D\xffOE", err: "not valid UTF-8", value: 1},
	// TM
	{vr: TM, in: "120000", little: "120000"},
	{vr: TM, in: "235960.123456", little: "235960.123456 "},
	{vr: TM, in: `07\0730`, little: `07\0730 `},
	{vr: TM, in: "12:00:00", err: "character 3 not allowed", value: 1},
	{vr: TM, in: "240000", err: "not a time HHMMSS.FFFFFF", value: 1},
	{vr: TM, in: "1260", err: "not a time HHMMSS.FFFFFF", value: 1},
	{vr: TM, in: "1200.5", err: "not a time HHMMSS.FFFFFF", value: 1},
	{vr: TM, in: "120000.1234567", err: "not a time HHMMSS.FFFFFF", value: 1},
	// UI
	{vr: UI, in: "1.2.840.10008.1.2.1", little: "1.2.840.10008.1.2.1\x00"},
	{vr: UI, in: `1.2\0.3`, little: `1.2\0.3` + "\x00"},
	{vr: UI, in: "1.2.840.abc", err: "character 9 not allowed", value: 1},
	{vr: UI, in: "1.02", err: "UID component with a leading zero", value: 1},
	{vr: UI, in: "1..2", err: "empty UID component", value: 1},
	{vr: UI, in: "1.2.", err: "empty UID component", value: 1},
	{vr: UI, in: "1." + strings.Repeat("2", 63), err: "longer than 64 characters", value: 1},
	// UR
	{vr: UR, in: "http://example.com/a\\b", err: "space or backslash inside a URI"},
	{vr: UR, in: "http://example.com/ ", little: "http://example.com/ "},
	{vr: UR, in: " http://example.com/", err: "space or backslash inside a URI"},
	// US, SS, UL, SL, UV, SV
	{vr: US, in: "512", little: hx("0002"), big: hx("0200")},
	{vr: US, in: `0\65535`, little: hx("0000 ffff"), big: hx("0000 ffff")},
	{vr: US, in: "70000", err: "out of range 0..65535", value: 1},
	{vr: US, in: "-1", err: "not a decimal integer", value: 1},
	{vr: US, in: "0x10", err: "not a decimal integer", value: 1},
	{vr: US, in: `1\\2`, err: "empty", value: 2},
	{vr: SS, in: "-2000", little: hx("30f8"), big: hx("f830")},
	{vr: SS, in: "32768", err: "out of range -32768..32767", value: 1},
	{vr: UL, in: "4294967295", little: hx("ffffffff"), big: hx("ffffffff")},
	{vr: UL, in: "4294967296", err: "out of range 0..4294967295", value: 1},
	{vr: SL, in: "-2", little: hx("feffffff"), big: hx("fffffffe")},
	{vr: UV, in: "1", little: hx("0100000000000000"), big: hx("0000000000000001")},
	{vr: SV, in: "-1", little: hx("ffffffffffffffff"), big: hx("ffffffffffffffff")},
	{vr: SV, in: "9223372036854775808", err: "out of range -2^63..2^63-1", value: 1},
	// O* VRs from decimal lists or base64; OB and UN from base64 or text.
	{vr: OW, in: `1\258`, little: hx("0100 0201"), big: hx("0001 0102")},
	{vr: OW, in: "base64:AQID", err: "length not a multiple of 2"},
	{vr: OW, in: "base64:AQIDBA==", little: hx("01020304")},
	{vr: OL, in: "1", little: hx("01000000"), big: hx("00000001")},
	{vr: OV, in: "1", little: hx("0100000000000000"), big: hx("0000000000000001")},
	{vr: OF, in: "0.5", little: hx("0000003f"), big: hx("3f000000")},
	{vr: OD, in: "1.5", little: hx("000000000000f83f"), big: hx("3ff8000000000000")},
	{vr: OB, in: "base64:AQID", little: hx("01020300")},
	{vr: OB, in: "base64:!!", err: "not valid base64"},
	{vr: OB, in: "abc", little: "abc "},
	{vr: UN, in: "base64:AAE=", little: hx("0001")},
	{vr: UN, in: "abc", little: "abc "},
	{vr: UN, in: "é", err: "character 1 not in the default repertoire"},
	{vr: VR('X'<<8 | 'Y'), in: "ab", little: "ab"},
	// SQ: only empty.
	{vr: SQ, in: "x", err: "a sequence can only be set empty"},
}

func TestEncodeValue(t *testing.T) {
	for _, tt := range encodeValueTests {
		for _, big := range []bool{false, true} {
			got, err := EncodeValue(tt.vr, tt.in, big)
			name := tt.vr.String() + " " + strings.ToValidUTF8(tt.in[:min(len(tt.in), 40)], "?")
			if tt.err != "" {
				var ve *ValueError
				if !errors.As(err, &ve) || !errors.Is(err, ErrBadValue) {
					t.Errorf("%s (big %v) = %q, %v; want a *ValueError", name, big, got, err)
					continue
				}
				if ve.VR != tt.vr || ve.Reason != tt.err || ve.Value != tt.value {
					t.Errorf("%s (big %v): error %+v, want %s value %d: %s", name, big, ve, tt.vr, tt.value, tt.err)
				}
				if n := len("(gggg,eeee) ") + len(err.Error()); n > 64 {
					t.Errorf("%s: error %q too long for an Error Comment (%d with the tag)", name, err, n)
				}
				continue
			}
			want := tt.little
			if big && tt.big != "" {
				want = tt.big
			}
			if err != nil || string(got) != want {
				t.Errorf("%s (big %v) = %q, %v; want %q", name, big, got, err, want)
			}
			if len(got)%2 != 0 {
				t.Errorf("%s: odd length %d", name, len(got))
			}
		}
	}
}

// TestEncodeValueRenders checks that what EncodeValue writes renders back
// to the text (the form the FileStored event carries), for the values that
// keep their form.
func TestEncodeValueRenders(t *testing.T) {
	tests := []struct {
		vr         VR
		in, render string
	}{
		{PN, "DOE^JOHN", "DOE^JOHN"},
		{PN, "DOE^JOHN==", "DOE^JOHN"},
		{LO, `A\B`, `A\B`},
		{UI, "1.2.3", "1.2.3"},
		{DS, `1.5\-2`, `1.5\-2`},
		{IS, "512", "512"},
		{DA, "20231201", "20231201"},
		{US, `512\7`, `512\7`},
		{SS, "-2000", "-2000"},
		{UL, "4294967295", "4294967295"},
		{SL, "-5", "-5"},
		{UV, "18446744073709551615", "18446744073709551615"},
		{SV, "-9223372036854775808", "-9223372036854775808"},
		{FL, `0.5\1e-06\NaN`, `0.5\1e-06\NaN`},
		{FD, `1.234567e+06\-Inf`, `1.234567e+06\-Inf`},
		{AT, "(0010,0010)", "(0010,0010)"},
		{LT, "a\\b\r\nc", "a\\b\r\nc"},
	}
	for _, tt := range tests {
		for _, enc := range []Encoding{ExplicitLittle, ExplicitBig} {
			v, err := EncodeValue(tt.vr, tt.in, enc.BigEndian)
			if err != nil {
				t.Fatalf("%s %q: %v", tt.vr, tt.in, err)
			}
			e := Element{Tag: 0x00091010, VR: tt.vr, Length: uint32(len(v)), Value: v}
			got, ok := e.Render(enc, nil, true)
			if !ok || got != tt.render {
				t.Errorf("%s %q (%s) renders %q, %v; want %q", tt.vr, tt.in, encName(enc), got, ok, tt.render)
			}
		}
	}
}

func TestAppendValueCharset(t *testing.T) {
	latin1, _ := charset.NewEncoder("ISO_IR 100")
	jis, _ := charset.NewEncoder(`\ISO 2022 IR 87`)
	tests := []struct {
		cs       *charset.Encoder
		vr       VR
		in, want string
		err      string
	}{
		{latin1, PN, "Buc^Jérôme", "Buc^J\xe9r\xf4me", ""},
		{latin1, LO, "é", "\xe9 ", ""},
		{latin1, PN, "山田", "", "PN: character 1 not in ISO_IR 100"},
		{latin1, CS, "É", "", "CS value 1: only ASCII allowed"},
		{jis, PN, "Yamada^Tarou=山田^太郎", "Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B", ""},
		{jis, UN, "山", "\x1b$B;3\x1b(B", ""},
		{jis, UN, "山a", "\x1b$B;3\x1b(Ba ", ""},
		{nil, SH, "é", "", "SH: character 1 not in the default repertoire"},
	}
	for _, tt := range tests {
		got, err := AppendValue([]byte("x"), tt.vr, tt.in, false, tt.cs)
		switch {
		case tt.err != "" && (err == nil || err.Error() != tt.err):
			t.Errorf("%s %q: error %v, want %q", tt.vr, tt.in, err, tt.err)
		case tt.err != "" && string(got) != "x":
			t.Errorf("%s %q: dst %q on error, want it unchanged", tt.vr, tt.in, got)
		case tt.err == "" && (err != nil || string(got) != "x"+tt.want):
			t.Errorf("%s %q = %q, %v; want %q", tt.vr, tt.in, got, err, "x"+tt.want)
		}
	}
}

func TestVMAllows(t *testing.T) {
	tests := []struct {
		vm   string
		n    int
		want bool
	}{
		{"1", 1, true}, {"1", 2, false},
		{"1-n", 1, true}, {"1-n", 9, true}, {"1-n", 0, false},
		{"2-2n", 2, true}, {"2-2n", 3, false}, {"2-2n", 4, true},
		{"3-3n", 6, true}, {"3-3n", 4, false},
		{"1-3", 3, true}, {"1-3", 4, false},
		{"6", 6, true}, {"6", 5, false},
		{"1-n or 1", 3, true},
		{"2-n", 1, false},
		{"", 5, true}, {"odd", 5, true},
	}
	for _, tt := range tests {
		if got := vmAllows(tt.vm, tt.n); got != tt.want {
			t.Errorf("vmAllows(%q, %d) = %v, want %v", tt.vm, tt.n, got, tt.want)
		}
	}
}

// FuzzEncodeValue encodes arbitrary text as every VR (and arbitrary VR
// bytes) in both byte orders, with and without a character set: no panic;
// a value has even length; a refusal is a *ValueError whose message fits an
// Error Comment after the tag; text VR values render back to the text when
// they need no trimming.
func FuzzEncodeValue(f *testing.F) {
	for _, tt := range encodeValueTests {
		f.Add(uint16(tt.vr), tt.in, false, "")
	}
	f.Add(uint16(PN), "Yamada^Tarou=山田", true, `\ISO 2022 IR 87`)
	f.Fuzz(func(t *testing.T, vrBits uint16, text string, big bool, cs string) {
		enc, _ := charset.NewEncoder(cs)
		vr := VR(vrBits)
		v, err := AppendValue(nil, vr, text, big, enc)
		if err != nil {
			var ve *ValueError
			if !errors.As(err, &ve) || len(err.Error()) > 64-len("(gggg,eeee) ") {
				t.Fatalf("%s %q: error %v", vr, text, err)
			}
			return
		}
		if len(v)%2 != 0 {
			t.Fatalf("%s %q: odd length %d", vr, text, len(v))
		}
		if vr.IsText() && vr != PN && vr != UR && strings.TrimRight(text, " ") == text && !strings.ContainsAny(text, " \x00") {
			dec, _ := charset.New(cs)
			e := Element{Tag: 0x00091010, VR: vr, Length: uint32(len(v)), Value: v}
			if got, ok := e.Render(ExplicitLittle, dec, true); !ok || got != text {
				t.Fatalf("%s %q (charset %q) renders %q", vr, text, cs, got)
			}
		}
	})
}
