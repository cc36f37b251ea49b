package charset

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func TestNew(t *testing.T) {
	tests := []struct {
		value string
		same  string // New(value) returns the decoder of New(same)
		err   error  // errors.Is(err, ...); nil: no error
		in    string // the error names this
	}{
		{value: "", same: "ISO_IR 6"},
		{value: "ISO_IR 100", same: "ISO 2022 IR 100"},
		{value: "ISO_IR 100 ", same: "ISO_IR 100"},
		{value: " ISO_IR 100\x00", same: "ISO_IR 100"},
		{value: "ISO-IR 100", same: "ISO_IR 100"},
		{value: "ISO IR 100", same: "ISO_IR 100"},
		{value: "ISO_IR100", same: "ISO_IR 100"},
		{value: "iso_ir 100", same: "ISO_IR 100"},
		{value: "ISO_IR 144", same: "ISO-2022-IR-144"},
		{value: `\ISO 2022 IR 87`, same: ""},
		{value: `ISO 2022 IR 6\ISO 2022 IR 87`, same: ""},
		{value: "ISO 2022 IR 87", same: ""},
		{value: "ISO_2022_IR_87", same: ""},
		{value: `ISO 2022 IR 13\ISO 2022 IR 87 `, same: "ISO_IR 13"},
		{value: `\ISO 2022 IR 149`, same: ""},
		{value: "ISO 2022 IR 149", same: "ISO_IR 149"},
		{value: "ISO 2022 GBK", same: "GBK"},
		{value: "ISO 2022 58", same: "ISO 2022 IR 58"},
		{value: "GB2312", same: "ISO 2022 IR 58"},
		{value: "UTF-8", same: "ISO_IR 192"},
		{value: `ISO_IR 100\\`, same: "ISO_IR 100"},
		{value: "ISO_IR 999", same: "", err: ErrUnknownTerm, in: `"ISO_IR 999"`},
		{value: "ISO_IR 100 TOO LONG FOR A TERM", same: "", err: ErrUnknownTerm, in: "TOO LONG"},
		{value: `\ISO 2022 IR 87\FOO`, same: "", err: ErrUnknownTerm, in: `"FOO"`},
		{value: `ISO_IR 192\ISO 2022 IR 100`, same: "ISO_IR 192", err: ErrCodeExtension, in: `"ISO 2022 IR 100"`},
		{value: `GB18030\GBK`, same: "GB18030", err: ErrCodeExtension, in: `"GBK"`},
		{value: `ISO 2022 IR 100\GB18030`, same: "ISO_IR 100", err: ErrCodeExtension, in: `"GB18030"`},
	}
	for _, tt := range tests {
		d, err := New(tt.value)
		want, werr := New(tt.same)
		if werr != nil {
			t.Fatalf("New(%q): %v", tt.same, werr)
		}
		if d != want {
			t.Errorf("New(%q) = %+v, want New(%q) = %+v", tt.value, d, tt.same, want)
		}
		switch {
		case tt.err == nil && err != nil:
			t.Errorf("New(%q): unexpected error %v", tt.value, err)
		case tt.err != nil && !errors.Is(err, tt.err):
			t.Errorf("New(%q) error = %v, want %v", tt.value, err, tt.err)
		case tt.err != nil && !strings.Contains(err.Error(), tt.in):
			t.Errorf("New(%q) error %q does not name %s", tt.value, err, tt.in)
		}
	}
}

func TestNewErrorsJoined(t *testing.T) {
	d, err := New(`FOO\ISO 2022 IR 87\BAR`)
	if d != defaultDecoder {
		t.Errorf("decoder %+v, want the default repertoire", d)
	}
	for _, want := range []string{`"FOO"`, `"BAR"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
}

// Annex examples and samples of PS3.5 (H: Japanese, I: Korean, J: Unicode
// and GB18030, K: GB 2312) and one known string per other character set.
var decodeTests = []struct {
	name, charset, vr, in, want string
}{
	// Default repertoire: ASCII, and ISO 8859-1 for GR bytes.
	{"default", "", "PN", "Buc^J\xe9r\xf4me", "Buc^Jérôme"},
	{"default C1", "", "LO", "\x80\x9f\xa0", "\u0080\u009f\u00a0"},
	{"ISO_IR 100", "ISO_IR 100", "PN", "Buc^J\xe9r\xf4me", "Buc^Jérôme"},
	{"ISO_IR 101", "ISO_IR 101", "PN", "Wa\xb3\xeasa", "Wałęsa"},
	{"ISO_IR 109", "ISO_IR 109", "LO", "\xa1al \xd5", "Ħal Ġ"},
	{"ISO_IR 110", "ISO_IR 110", "LO", "\xe0\xf3", "āķ"},
	{"ISO_IR 144", "ISO_IR 144", "PN", "\xbb\xee\xdace\xdc\xd1yp\xd3", "Люкceмбypг"},
	{"ISO_IR 127", "ISO_IR 127", "PN", "\xe2\xc8\xc7\xe6\xea^\xe4\xe6\xd2\xc7\xd1", "قباني^لنزار"},
	{"ISO_IR 126", "ISO_IR 126", "PN", "\xc4\xe9\xef\xed\xf5\xf3\xe9\xef\xf2", "Διονυσιος"},
	{"ISO_IR 138", "ISO_IR 138", "PN", "\xf9\xf8\xe5\xef^\xe3\xe1\xe5\xf8\xe4", "שרון^דבורה"},
	{"ISO_IR 148", "ISO_IR 148", "PN", "\xc7a\xf0r\xfd", "Çağrı"},
	{"ISO_IR 203", "ISO_IR 203", "LO", "\xbcuvre \xa4", "Œuvre €"},
	{"ISO_IR 166", "ISO_IR 166", "LO", "\xe4\xb7\xc2", "ไทย"},
	{"ISO_IR 13", "ISO_IR 13", "PN", "\xd4\xcf\xc0\xde^\xc0\xdb\xb3", "ﾔﾏﾀﾞ^ﾀﾛｳ"},
	{"ISO_IR 13 Shift JIS", "ISO_IR 13", "LO", "\x88\x9f\x95\\", "亜表"},
	{"ISO_IR 192", "ISO_IR 192", "PN", "Wang^XiaoDong=\xe7\x8e\x8b^\xe5\xb0\x8f\xe6\x9d\xb1=", "Wang^XiaoDong=王^小東="},
	{"GB18030", "GB18030", "PN", "Wang^XiaoDong=\xcd\xf5^\xd0\xa1\xb6\xab=", "Wang^XiaoDong=王^小东="},
	{"GB18030 4 bytes", "GB18030", "LO", "\xa8\xa6\xa2\xe3\x949\xfc6", "é€😀"},
	// GBK and GB18030 are decoded whole: 0x5C and 0x5E may be trail bytes.
	{"GBK", "GBK", "LO", "\x81@\x81\\\x81^", "丂乗乛"},
	// ISO 2022: PS3.5 H.3.1 (chrH31) and H.3.2 (chrH32).
	{"IR 87", `\ISO 2022 IR 87`, "PN",
		"Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B=\x1b$B$d$^$@\x1b(B^\x1b$B$?$m$&\x1b(B",
		"Yamada^Tarou=山田^太郎=やまだ^たろう"},
	{"IR 13 IR 87", `ISO 2022 IR 13\ISO 2022 IR 87`, "PN",
		"\xd4\xcf\xc0\xde^\xc0\xdb\xb3=\x1b$B;3ED\x1b(J^\x1b$BB@O:\x1b(J=\x1b$B$d$^$@\x1b(J^\x1b$B$?$m$&\x1b(J",
		"ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう"},
	{"IR 159", `\ISO 2022 IR 159`, "LO", "\x1b$(D0!\x1b(B", "丂"},
	{"IR 87 standard mapping", `\ISO 2022 IR 87`, "LT", "\x1b$B!A!B!]!q!r\"L\x1b(B", "〜‖−¢£¬"},
	// PS3.5 I.2 (chrI2).
	{"IR 149", `\ISO 2022 IR 149`, "PN",
		"Hong^Gildong=\x1b$)C\xfb\xf3^\x1b$)C\xd1\xce\xd4\xd7=\x1b$)C\xc8\xab^\x1b$)C\xb1\xe6\xb5\xbf",
		"Hong^Gildong=洪^吉洞=홍^길동"},
	{"IR 149 CP949", `\ISO 2022 IR 149`, "LO", "\x1b$)C\x8cc\xc8\xab", "똠홍"},
	// PS3.5 K.2.
	{"IR 58", `\ISO 2022 IR 58`, "PN",
		"Zhang^XiaoDong=\x1b$)A\xd5\xc5^\x1b$)A\xd0\xa1\xb6\xab=",
		"Zhang^XiaoDong=张^小东="},
	{"IR 58 standard mapping", `\ISO 2022 IR 58`, "LO", "\x1b$)A\xa1\xa4\xa1\xaa", "・―"},
	{"IR 100 IR 126", `ISO 2022 IR 100\ISO 2022 IR 126`, "LO",
		"J\xe9r\xf4me \x1b-F\xc4\xe9\xef\x1b-A \xe9", "Jérôme Διο é"},
	{"IR 166", `\ISO 2022 IR 166`, "SH", "\x1b-T\xe4\xb7\xc2", "ไทย"},
	{"IR 203", `\ISO 2022 IR 203`, "SH", "\x1b-b\xa4", "€"},

	// Escape sequences in the middle of values.
	{"mid-value G0", `\ISO 2022 IR 87`, "LO", "abc\x1b$B;3ED\x1b(Bdef", "abc山田def"},
	{"mid-value G1", `\ISO 2022 IR 149`, "LO", "Hong \x1b$)C\xc8\xab\xb1\xe6\xb5\xbf", "Hong 홍길동"},
	{"katakana G1 by escape", `\ISO 2022 IR 13`, "SH", "a\x1b)I\xb1", "aｱ"},
	{"romaji G0 is ASCII", `ISO 2022 IR 13\ISO 2022 IR 87`, "SH", "\xd4\x1b(Jab\\~\x1b(Bcd", `ﾔab\~cd`},
	{"JIS C 6226 escape", `\ISO 2022 IR 87`, "LO", "\x1b$@;3\x1b(B", "山"},
	{"long-form JIS X 0208 escape", `\ISO 2022 IR 87`, "LO", "\x1b$(B;3\x1b(B", "山"},
	{"undeclared set", "", "LO", "\x1b$B;3\x1b(B \x1b-F\xc4", "山 Δ"},
	{"undeclared G1 single term", "ISO_IR 100", "LO", "\x1b-F\xc4", "Δ"},
	{"2-byte G0 space", `\ISO 2022 IR 87`, "LO", "\x1b$B;3 ED\x1b(B", "山 田"},

	// The initial state returns at delimiters (PS3.5 §6.1.2.5.3).
	{"reset at value delimiter", `ISO 2022 IR 100\ISO 2022 IR 126`, "LO", "\x1b-F\xc4\\\xc4", `Δ\Ä`},
	{"no reset at backslash in LT", `ISO 2022 IR 100\ISO 2022 IR 126`, "LT", "\x1b-F\xc4\\\xc4", `Δ\Δ`},
	{"reset at CR LF", `ISO 2022 IR 100\ISO 2022 IR 126`, "LT", "\x1b-F\xc4\r\n\xc4", "Δ\r\nÄ"},
	{"reset at TAB", `ISO 2022 IR 100\ISO 2022 IR 126`, "ST", "\x1b-F\xc4\t\xc4", "Δ\tÄ"},
	{"reset at FF", `ISO 2022 IR 100\ISO 2022 IR 126`, "UT", "\x1b-F\xc4\f\xc4", "Δ\fÄ"},
	{"reset G0 at CR", `\ISO 2022 IR 87`, "LT", "\x1b$B;3\r;3", "山\r;3"},
	{"reset at PN ^", `\ISO 2022 IR 149`, "PN", "\x1b$)C\xc8\xab^\xb1\xe6", "홍^±æ"},
	{"reset at PN =", `\ISO 2022 IR 149`, "PN", "\x1b$)C\xc8\xab=\xc8\xab", "홍=È«"},
	{"reset at PN \\", `\ISO 2022 IR 149`, "PN", "\x1b$)C\xc8\xab\\\xc8\xab", `홍\È«`},
	{"no reset at ^ in LO", `\ISO 2022 IR 149`, "LO", "\x1b$)C\xc8\xab^\xc8\xab", "홍^홍"},
	{"reset to value 1 G1", `ISO 2022 IR 100\ISO 2022 IR 149`, "PN", "\x1b$)C\xc8\xab^\xc8\xab", "홍^È«"},
	{"reset to IR 13", `ISO 2022 IR 13\ISO 2022 IR 149`, "PN", "\x1b$)C\xc8\xab^\xb1", "홍^ｱ"},
	// Delimiter bytes inside two-byte characters are not delimiters:
	// ま is 24 5E, 宗 3D 21, 棔 5C 21 in JIS X 0208.
	{"delimiter bytes in JIS X 0208 PN", `\ISO 2022 IR 87`, "PN", "\x1b$B$^=!\\!\x1b(B^x", "ま宗棔^x"},
	{"delimiter bytes in JIS X 0208 LO", `\ISO 2022 IR 87`, "LO", "\x1b$B\\!\x1b(B\\x", `棔\x`},

	// Invalid bytes become U+FFFD; unknown escape sequences too.
	{"UTF-8 invalid", "ISO_IR 192", "LO", "a\xe6\x97b\xffc\xf0\x9f\x98", "a\ufffdb\ufffdc\ufffd"},
	{"UTF-8 ESC is a control", "ISO_IR 192", "LO", "a\x1b(Bb", "a\x1b(Bb"},
	{"GB18030 ESC is a control", "GB18030", "LO", "a\x1b$)A", "a\x1b$)A"},
	{"GB18030 truncated", "GB18030", "LO", "a\xcd", "a\ufffd"},
	{"JIS X 0208 odd byte", `\ISO 2022 IR 87`, "LO", "\x1b$B;", "\ufffd"},
	{"JIS X 0208 pair broken by control", `\ISO 2022 IR 87`, "LT", "\x1b$B;\n3", "\ufffd\n3"},
	{"JIS X 0208 unmapped", `\ISO 2022 IR 87`, "LO", "\x1b$B\"/\x1b(B", "\ufffd"},
	{"KS X 1001 lead alone", `\ISO 2022 IR 149`, "LO", "\x1b$)C\xb1", "\ufffd"},
	{"KS X 1001 lead then ASCII", `\ISO 2022 IR 149`, "LO", "\x1b$)C\xb1 x", "\ufffd x"},
	{"GB 2312 lead then delimiter", `\ISO 2022 IR 58`, "PN", "\x1b$)A\xd5^\xd5\xc5", "\ufffd^Õ\u00c5"},
	{"katakana invalid", `ISO_IR 13`, "LO", "\x80\xa0\xe0", "\ufffd\ufffd\ufffd"},
	{"ISO 8859-3 undefined", "ISO_IR 109", "LO", "\xa5", "\ufffd"},
	{"TIS 620 undefined", "ISO_IR 166", "LO", "\xa0\xdb\xfc", "\ufffd\ufffd\ufffd"},
	{"unknown escape", "", "LO", "a\x1b(Zb", "a\ufffdb"},
	{"unknown escape with intermediates", "", "LO", "a\x1b$+Xb", "a\ufffdb"},
	{"truncated escape", "", "LO", "a\x1b$", "a\ufffd$"},
	{"ESC at end", `\ISO 2022 IR 87`, "LO", "a\x1b", "a\ufffd"},
	{"ESC then control", "", "LT", "a\x1b\nb", "a\ufffd\nb"},

	// VRs the character set does not affect: ISO 8859-1, no escapes.
	{"CS under UTF-8", "ISO_IR 192", "CS", "\xc3\xa9", "Ã©"},
	{"AE with ESC", `\ISO 2022 IR 87`, "AE", "\x1b$B;3", "\x1b$B;3"},
	{"empty VR", "ISO_IR 144", "", "\xbb", "»"},
	{"ASCII", "ISO_IR 144", "SH", "ABC^DEF", "ABC^DEF"},
	{"empty", `\ISO 2022 IR 87`, "PN", "", ""},
}

func TestDecode(t *testing.T) {
	for _, tt := range decodeTests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := New(tt.charset)
			if err != nil {
				t.Fatalf("New(%q): %v", tt.charset, err)
			}
			got := d.Decode([]byte(tt.in), tt.vr)
			if got != tt.want {
				t.Errorf("New(%q).Decode(%q, %q) = %q, want %q\n%s", tt.charset, tt.in, tt.vr, got, tt.want,
					cmp.Diff([]rune(tt.want), []rune(got)))
			}
		})
	}
}

func TestDecodeUnknownTerm(t *testing.T) {
	d, err := New("ISO_IR 999")
	if !errors.Is(err, ErrUnknownTerm) {
		t.Fatalf("error %v, want ErrUnknownTerm", err)
	}
	if got, want := d.Decode([]byte("J\xe9r\xf4me \x1b$B;3"), "PN"), "Jérôme 山"; got != want {
		t.Errorf("Decode = %q, want %q", got, want)
	}
}

func TestDecodeNilAndZero(t *testing.T) {
	in := []byte("J\xe9r\xf4me \x1b$B;3")
	want := "Jérôme 山"
	var nilDecoder *Decoder
	if got := nilDecoder.Decode(in, "PN"); got != want {
		t.Errorf("nil Decoder: %q, want %q", got, want)
	}
	if got := new(Decoder).Decode(in, "PN"); got != want {
		t.Errorf("zero Decoder: %q, want %q", got, want)
	}
}

// TestDecodeEveryCharset decodes, with every decoder and VR class, every
// byte followed by each byte that matters to some set (controls, ESC,
// delimiters, bounds of lead and trail byte ranges): the result is valid
// UTF-8, ASCII without ESC comes back unchanged, and a lone byte decodes to
// at most one character.
func TestDecodeEveryCharset(t *testing.T) {
	decoders := map[*Decoder]bool{defaultDecoder: true}
	for _, d := range termDecoders {
		decoders[d] = true
	}
	seconds := []byte{0x00, 0x0a, 0x1b, 0x20, 0x21, 0x30, 0x3d, 0x40, 0x41, 0x5c, 0x5e, 0x61, 0x7e, 0x7f,
		0x80, 0x81, 0x8e, 0x8f, 0x9f, 0xa0, 0xa1, 0xc7, 0xdf, 0xe0, 0xfc, 0xfe, 0xff}
	for d := range decoders {
		for _, vr := range []string{"PN", "LO", "LT", "CS"} {
			for c := range 256 {
				one := []byte{byte(c)}
				if got := d.Decode(one, vr); utf8.RuneCountInString(got) != 1 || !utf8.ValidString(got) {
					t.Errorf("%+v.Decode(%q, %s) = %q, want one character", d, one, vr, got)
				}
				for _, c2 := range seconds {
					in := []byte{byte(c), c2}
					got := d.Decode(in, vr)
					if !utf8.ValidString(got) {
						t.Errorf("%+v.Decode(%q, %s) = %q: not UTF-8", d, in, vr, got)
					}
					if plain(in) && got != string(in) {
						t.Errorf("%+v.Decode(%q, %s) = %q, want the input", d, in, vr, got)
					}
				}
			}
		}
	}
}

func TestNewAllocs(t *testing.T) {
	for _, v := range []string{"", "ISO_IR 100", "ISO_IR 192", `\ISO 2022 IR 87`, `ISO 2022 IR 13\ISO 2022 IR 87`, "GB18030 "} {
		if n := testing.AllocsPerRun(100, func() { New(v) }); n != 0 {
			t.Errorf("New(%q): %v allocations, want 0", v, n)
		}
	}
}

// TestDecodeASCIIAllocs checks the fast path: only the result is allocated.
func TestDecodeASCIIAllocs(t *testing.T) {
	in := []byte("Yamada^Tarou")
	for _, v := range []string{"", "ISO_IR 100", "ISO_IR 192", "GB18030", `ISO 2022 IR 13\ISO 2022 IR 87`} {
		d, _ := New(v)
		if n := testing.AllocsPerRun(100, func() { d.Decode(in, "PN") }); n != 1 {
			t.Errorf("New(%q).Decode(ASCII): %v allocations, want 1", v, n)
		}
	}
}

// TestConcurrent shares decoders between goroutines (run with -race).
func TestConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	for _, tt := range decodeTests {
		d, _ := New(tt.charset)
		for range 4 {
			wg.Go(func() {
				if got := d.Decode([]byte(tt.in), tt.vr); got != tt.want {
					t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
				}
			})
		}
	}
	wg.Wait()
}
