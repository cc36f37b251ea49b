package jsonenc

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{
		"", "plain", "1.2.840.10008.5.1.4.1.1.2", "Müller^Hans", "<script>&amp;</script>",
		"quote\" back\\slash", "\b\f\n\r\t\x00\x01\x1f\x7f", "\xff\xfe invalid", "a\u2028b\u2029c",
		"日本語", "\xe6\x97", "emoji 😀", "\xed\xa0\x80 surrogate", "=\u00e9\u00e8",
	} {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendString([]byte("prefix"), s); !bytes.Equal(got, append([]byte("prefix"), want...)) {
			t.Errorf("AppendString(%q) = %s, want prefix%s", s, got, want)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	f.Add("Müller^Hans <&>")
	f.Add("\xff\u2028\x00\t\"\\")
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("AppendString(%q) = %s, want %s", s, got, want)
		}
	})
}

func BenchmarkAppendString(b *testing.B) {
	s := "1.2.840.113619.2.55.3.604688119.969.1268071029.320"
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendString(buf[:0], s)
	}
}
