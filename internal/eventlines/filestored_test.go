package eventlines

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"github.com/dicomrecv/dicomrecv"
	"github.com/dicomrecv/dicomrecv/internal/hooks"
)

// fullEvent sets every field of FileStoredEvent by reflection, so that a
// field added to the type without being added to appendFileStored makes
// the comparison fail.
func fullEvent(t testing.TB, s string) dicomrecv.FileStoredEvent {
	var ev dicomrecv.FileStoredEvent
	v := reflect.ValueOf(&ev).Elem()
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		name := v.Type().Field(i).Name
		switch f.Kind() {
		case reflect.String:
			f.SetString(name + ":" + s)
		case reflect.Int64:
			f.SetInt(int64(len(s)) * 1_000_003)
		case reflect.Bool:
			f.SetBool(len(s)%2 == 0)
		case reflect.Map:
			f.Set(reflect.ValueOf(map[string]string{"PatientName": s, "Modality": "CT", s: "k", "": ""}))
		default:
			t.Fatalf("field %s of kind %s: teach fullEvent and appendFileStored about it", name, f.Kind())
		}
	}
	return ev
}

func TestAppendFileStoredMatchesEncode(t *testing.T) {
	at := time.Date(2026, 11, 29, 11, 2, 3, 456789000, time.FixedZone("X", 3600))
	strs := []string{
		"", "plain", "Müller^Hans", "<script>&amp;</script>", "quote\" back\\slash", "\b\f\n\r\t\x00\x01\x1f\x7f",
		"\xff\xfe invalid", "a\u2028b\u2029c", "日本語", "\xe6\x97", "emoji 😀", "=\u00e9\u00e8",
	}
	cases := []dicomrecv.FileStoredEvent{
		{},
		{Tags: map[string]string{}},
		{File: "/data/1.2/3.4/5.6.dcm", SOPInstanceUID: "5.6", Tags: map[string]string{"B": "2", "A": "1"}, Bytes: -1},
	}
	for _, s := range strs {
		cases = append(cases, fullEvent(t, s))
		ev := fullEvent(t, s)
		ev.PeerCertificateSubject = ""
		cases = append(cases, ev)
	}
	big := fullEvent(t, "many")
	for i := 0; i < 200; i++ {
		big.Tags[string(rune('A'+i%26))+string(rune('a'+i/26))] = "v"
	}
	cases = append(cases, big)
	for i, ev := range cases {
		want, err := hooks.Encode(hooks.EventFileStored, at, ev)
		if err != nil {
			t.Fatal(err)
		}
		got := appendFileStored(nil, at, &ev)
		if !bytes.Equal(got, want) {
			t.Errorf("case %d:\n got %s\nwant %s", i, got, want)
		}
	}
}

func FuzzAppendFileStored(f *testing.F) {
	f.Add("Müller^Hans", "<>&\"\\", int64(7), true, int64(1))
	f.Add("\xff\u2028", "\x00\t", int64(-3), false, int64(0))
	f.Fuzz(func(t *testing.T, a, b string, n int64, dup bool, nanos int64) {
		at := time.Unix(1_790_000_000, nanos%1_000_000_000)
		ev := dicomrecv.FileStoredEvent{
			File: a, SOPInstanceUID: b, SOPClassUID: a + b, TransferSyntaxUID: b + a,
			StudyInstanceUID: a, SeriesInstanceUID: b, Tags: map[string]string{a: b, b: a, "X" + a: ""},
			CallingAETitle: a, CalledAETitle: b, RemoteAddr: a, Bytes: n, Duplicate: dup, PeerCertificateSubject: b,
		}
		want, err := hooks.Encode(hooks.EventFileStored, at, ev)
		if err != nil {
			t.Skip()
		}
		if got := appendFileStored(nil, at, &ev); !bytes.Equal(got, want) {
			t.Fatalf("\n got %s\nwant %s", got, want)
		}
	})
}

func BenchmarkFileStoredJSON(b *testing.B) {
	ev := fullEvent(b, "1.2.840.113619.2.55.3.604688119.969.1268071029.320")
	at := time.Now()
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := hooks.Encode(hooks.EventFileStored, at, ev); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf = appendFileStored(buf[:0], at, &ev)
		}
	})
}
