package charset

import (
	"testing"
	"unicode/utf8"
)

// FuzzDecode decodes arbitrary bytes under arbitrary Specific Character Set
// values and VRs. Decode never panics and returns valid UTF-8, ASCII without
// ESC comes back unchanged, and the input split in two at an inserted line
// feed decodes as its two halves around the line feed: a control character
// resets the state (PS3.5 §6.1.2.5.3) and never continues a character, so
// no state may leak across it.
func FuzzDecode(f *testing.F) {
	for _, tt := range decodeTests {
		f.Add(tt.charset, tt.vr, []byte(tt.in), uint(len(tt.in)/2))
	}
	f.Fuzz(func(t *testing.T, charset, vr string, data []byte, split uint) {
		d, err := New(charset)
		if d == nil {
			t.Fatalf("New(%q) = nil, %v", charset, err)
		}
		got := d.Decode(data, vr)
		if !utf8.ValidString(got) {
			t.Fatalf("New(%q).Decode(%q, %q) = %q: not UTF-8", charset, data, vr, got)
		}
		if plain(data) && got != string(data) {
			t.Fatalf("New(%q).Decode(%q, %q) = %q, want the input", charset, data, vr, got)
		}
		if again := d.Decode(data, vr); again != got {
			t.Fatalf("New(%q).Decode(%q, %q) = %q, then %q", charset, data, vr, got, again)
		}
		k := int(split % uint(len(data)+1))
		joined := append(append(append([]byte(nil), data[:k]...), '\n'), data[k:]...)
		want := d.Decode(data[:k], vr) + "\n" + d.Decode(data[k:], vr)
		if got := d.Decode(joined, vr); got != want {
			t.Fatalf("New(%q).Decode(%q, %q) = %q, want the halves %q", charset, joined, vr, got, want)
		}
	})
}
