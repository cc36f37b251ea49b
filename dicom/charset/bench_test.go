package charset

import "testing"

// BenchmarkDecode measures Decode on the common ASCII value (fast path), a
// Latin-1 name, and the Japanese and Korean names of PS3.5 Annex H and I.
func BenchmarkDecode(b *testing.B) {
	for _, bb := range []struct{ name, charset, vr, in string }{
		{"ASCII", "ISO_IR 100", "PN", "Yamada^Tarou^^Dr.^MD"},
		{"ASCII-long-LT", `\ISO 2022 IR 87`, "LT", "The quick brown fox jumps over the lazy dog. 0123456789 " +
			"The quick brown fox jumps over the lazy dog. 0123456789 The quick brown fox jumps over the lazy dog."},
		{"Latin1-PN", "ISO_IR 100", "PN", "Buc^J\xe9r\xf4me"},
		{"UTF8-PN", "ISO_IR 192", "PN", "Wang^XiaoDong=\xe7\x8e\x8b^\xe5\xb0\x8f\xe6\x9d\xb1="},
		{"Japanese-PN", `\ISO 2022 IR 87`, "PN",
			"Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B=\x1b$B$d$^$@\x1b(B^\x1b$B$?$m$&\x1b(B"},
		{"Korean-PN", `\ISO 2022 IR 149`, "PN",
			"Hong^Gildong=\x1b$)C\xfb\xf3^\x1b$)C\xd1\xce\xd4\xd7=\x1b$)C\xc8\xab^\x1b$)C\xb1\xe6\xb5\xbf"},
		{"GB18030-PN", "GB18030", "PN", "Wang^XiaoDong=\xcd\xf5^\xd0\xa1\xb6\xab="},
	} {
		d, err := New(bb.charset)
		if err != nil {
			b.Fatal(err)
		}
		in := []byte(bb.in)
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				d.Decode(in, bb.vr)
			}
		})
	}
}

// BenchmarkNew measures New for common values, which are cached.
func BenchmarkNew(b *testing.B) {
	for _, v := range []string{"", "ISO_IR 100", "ISO_IR 192", `ISO 2022 IR 13\ISO 2022 IR 87`} {
		b.Run(v, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				New(v)
			}
		})
	}
}
