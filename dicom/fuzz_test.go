package dicom

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/dicomrecv/dicomrecv/internal/testutil"
)

// fuzzEncodings are chosen by the low two bits of the fuzzer's mode byte;
// the fourth (implicit VR big endian) is not standard but must not break
// anything either.
var fuzzEncodings = [4]Encoding{ImplicitLittle, ExplicitLittle, ExplicitBig, {ImplicitVR: true, BigEndian: true}}

// fuzzMode is the mode byte that selects enc (see fuzzEncodings), for the
// seed corpora.
func fuzzMode(enc Encoding) uint8 {
	return uint8(slices.Index(fuzzEncodings[:], enc))
}

// fuzzSmallLimits are used when bit 2 of the mode byte is set, so that the
// limits themselves are exercised.
var fuzzSmallLimits = Limits{MaxDepth: 6, MaxValueLength: 64, MaxElements: 500, KeepItems: 2, MaxHeldBytes: 16 << 10}

// fuzzSizes turns the fuzzer's split bytes into read sizes.
func fuzzSizes(split []byte) []int {
	sizes := make([]int, len(split))
	for i, b := range split {
		sizes[i] = int(b) + 1
		if b >= 0xF0 {
			sizes[i] = int(b-0xF0+1) * 4096
		}
	}
	return sizes
}

// FuzzReadHeader feeds arbitrary data, split at fuzzer-chosen points, to
// ReadHeader in every encoding: it must not panic, must hold no more than
// the limits allow, must not read a byte past the pixel data header, and
// whatever it returns must render and extract without panicking.
func FuzzReadHeader(f *testing.F) {
	f.Add([]byte{}, uint8(1), []byte{})
	f.Fuzz(func(t *testing.T, data []byte, mode uint8, split []byte) {
		enc := fuzzEncodings[mode&3]
		lim := Limits{}
		if mode&4 != 0 {
			lim = fuzzSmallLimits
		}
		cr := &countingReader{r: &splitReader{data: data, sizes: fuzzSizes(split)}}
		h, err := ReadHeader(cr, enc, lim)
		if cr.n > int64(len(data)) {
			t.Fatalf("consumed %d of %d bytes", cr.n, len(data))
		}
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error is not a *ParseError: %v", err)
			}
			if pe.Offset < 0 || pe.Offset > int64(len(data)) {
				t.Fatalf("error offset %d out of range: %v", pe.Offset, err)
			}
			return
		}
		if h.PixelData != nil {
			if cr.n != h.Length {
				t.Fatalf("consumed %d bytes, pixel data value starts at %d", cr.n, h.Length)
			}
			rest, _ := io.ReadAll(cr.r)
			if !bytes.Equal(rest, data[h.Length:]) {
				t.Fatalf("the bytes after the pixel data header were touched")
			}
		} else if h.Length != int64(len(data)) || cr.n != h.Length {
			t.Fatalf("no pixel data: Length %d, consumed %d, data %d", h.Length, cr.n, len(data))
		}
		maxHeld := lim.withDefaults().MaxHeldBytes
		if held := h.HeldBytes(); held > maxHeld {
			t.Fatalf("holds %d bytes, limit %d", held, maxHeld)
		}
		checkHeaderShape(t, h, int64(len(data)))
		var specs []ExtractSpec
		for i, e := range h.Elements {
			specs = append(specs, ExtractSpec{Name: "s" + strconv.Itoa(i), Tag: e.Tag}, ExtractSpec{Name: "c" + strconv.Itoa(i), Tag: e.Tag, Custom: true})
			for _, it := range e.Items {
				for _, ie := range it.Elements {
					specs = append(specs, ExtractSpec{Name: "n" + ie.Tag.Hex(), Tag: ie.Tag, Custom: true})
				}
			}
		}
		h.Extract(specs, enc)
		for i := range h.Elements {
			h.Elements[i].RenderSigned(enc, nil, false, true)
		}
	})
}

// FuzzReadFileMeta feeds arbitrary files to ReadFileMeta through a peeking
// and a plain reader, split at fuzzer-chosen points, and to SplitFile: no
// panic, the same meta either way, and the data set that follows intact.
func FuzzReadFileMeta(f *testing.F) {
	f.Add(metaFile(true, sampleMeta(), []byte("DATASET")), []byte{3})
	f.Add(metaFile(false, sampleMeta(), []byte("DATASET")), []byte{0, 7})
	f.Fuzz(func(t *testing.T, data []byte, split []byte) {
		sm, ds, serr := SplitFile(data)
		for _, peek := range []bool{false, true} {
			var r io.Reader = &splitReader{data: data, sizes: fuzzSizes(split)}
			if peek {
				r = bufio.NewReader(r)
			}
			m, err := ReadFileMeta(r)
			if err != nil {
				var pe *ParseError
				if !errors.As(err, &pe) {
					t.Fatalf("peek %v: error is not a *ParseError: %v", peek, err)
				}
				continue
			}
			if m.Length > int64(len(data)) {
				t.Fatalf("peek %v: Length %d > %d", peek, m.Length, len(data))
			}
			rest, _ := io.ReadAll(m.DataSet(r))
			if !bytes.Equal(rest, data[m.Length:]) {
				t.Fatalf("peek %v: data set after the meta differs", peek)
			}
			if peek && (serr != nil || sm.Length != m.Length || !bytes.Equal(ds, rest)) {
				t.Fatalf("SplitFile (%v, Length %v) and ReadFileMeta with Peek (Length %d) differ", serr, sm, m.Length)
			}
		}
	})
}

var updateFuzzCorpus = flag.Bool("update-fuzz-corpus", false, "rewrite testdata/fuzz/FuzzReadHeader from the pydicom samples")

// TestUpdateFuzzCorpus writes the seed corpus of FuzzReadHeader: the data
// sets of the small pydicom samples (cut a few bytes after the pixel data
// header) and the hand-built streams of the table tests. Run with
// -update-fuzz-corpus.
func TestUpdateFuzzCorpus(t *testing.T) {
	if !*updateFuzzCorpus {
		t.Skip("run with -update-fuzz-corpus to rewrite the seed corpus")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzReadHeader")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name string, data []byte, mode uint8, split []byte) {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\nuint8(%d)\n[]byte(%s)\n", strconv.Quote(string(data)), mode, strconv.Quote(string(split)))
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	testutil.RequireFile(t, testutil.PydicomTestFiles)
	n := 0
	for _, f := range loadCorpus(t) {
		h, err := ReadHeader(bytes.NewReader(f.dataset), f.enc, Limits{})
		size := len(f.dataset)
		if err == nil && h.PixelData != nil {
			size = int(h.Length) + 16
		}
		if size > 4096 || !strings.HasSuffix(f.name, ".dcm") {
			continue // big, or one of the near-identical dicomdirtests images
		}
		size = min(size, len(f.dataset))
		write("pydicom-"+f.name, f.dataset[:size], fuzzMode(f.enc), []byte{byte(n % 7), 0xF1, 2})
		n++
	}
	icon := newDS(ExplicitLittle).hdr(tIconSeq, SQ, UndefinedLength).item(UndefinedLength).u16(tRows, 64).
		hdr(TagPixelData, OB, UndefinedLength).item(0).item(4).raw(1, 2, 3, 4).seqEnd().itemEnd().seqEnd().
		hdr(TagPixelData, OW, 4).raw(9, 9, 9, 9)
	write("hand-icon", icon.bytes(), 1|4, []byte{1})
	un := newDS(ExplicitBig).hdr(0x00091010, UN, UndefinedLength).
		with(newDS(ImplicitLittle).item(UndefinedLength).str(TagStudyInstanceUID, UI, "1.2\x00").itemEnd().seqEnd()).u16(tRows, 7)
	write("hand-un-big-endian", un.bytes(), 2, []byte{5, 3})
	t.Logf("wrote %d pydicom seeds and 2 hand-built seeds to %s", n, dir)
}
