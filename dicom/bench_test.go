package dicom

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/dicomrecv/dicomrecv/internal/testutil"
)

// reportCPU reports the process CPU time per operation ("cpu-ns/op") when
// the returned function runs: wall time (ns/op) counts the time other
// processes hold the CPU, this does not (it includes the GC's CPU time).
func reportCPU(b *testing.B) func() {
	start := processCPU()
	return func() {
		if d := processCPU() - start; d > 0 && b.N > 0 {
			b.ReportMetric(float64(d.Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
	}
}

// defaultSpecs is the seed's Default set (42 keywords), the first 42
// entries of tagSets.
func defaultSpecs() []ExtractSpec { return tagSetSpecs()[:42] }

// ctSmallDataSet returns the data set of pydicom's CT_small.dcm (explicit
// VR little endian).
func ctSmallDataSet(b *testing.B) []byte {
	b.Helper()
	p := filepath.Join(testutil.PydicomTestFiles, "CT_small.dcm")
	testutil.RequireFile(b, p)
	file, err := os.ReadFile(p)
	if err != nil {
		b.Fatal(err)
	}
	_, ds, err := SplitFile(file)
	if err != nil {
		b.Fatal(err)
	}
	return ds
}

// headerOf returns the part of an explicit VR little endian data set before
// its pixel data element.
func headerOf(b *testing.B, ds []byte) []byte {
	b.Helper()
	h, err := ReadHeader(bytes.NewReader(ds), ExplicitLittle, Limits{})
	if err != nil || h.PixelData == nil {
		b.Fatalf("%v, pixel data %v", err, h)
	}
	return ds[:h.PixelData.Offset]
}

// patternReader generates n bytes of pixel data without holding them.
type patternReader struct {
	n    int64
	read int64
}

func (p *patternReader) Read(b []byte) (int, error) {
	if p.read >= p.n {
		return 0, io.EOF
	}
	k := int(min(int64(len(b)), p.n-p.read))
	for i := range b[:k] {
		b[i] = byte(p.read + int64(i))
	}
	p.read += int64(k)
	return k, nil
}

func benchHeaderExtract(b *testing.B, header []byte, pixelBytes int64) {
	pix := binary.LittleEndian.AppendUint32([]byte{0xE0, 0x7F, 0x10, 0x00, 'O', 'W', 0, 0}, uint32(pixelBytes))
	specs := defaultSpecs()
	b.SetBytes(int64(len(header)))
	b.ReportAllocs()
	var found int
	defer reportCPU(b)()
	for b.Loop() {
		gen := &patternReader{n: pixelBytes}
		r := bufio.NewReaderSize(io.MultiReader(bytes.NewReader(header), bytes.NewReader(pix), gen), 64<<10)
		h, err := ReadHeader(r, ExplicitLittle, Limits{})
		if err != nil || h.PixelData == nil || int64(h.PixelData.Length) != pixelBytes {
			b.Fatalf("%v", err)
		}
		found = len(h.Extract(specs, ExplicitLittle))
	}
	b.ReportMetric(float64(found), "tags")
}

// BenchmarkReadHeaderExtract parses a header and extracts the 42 Default
// tags. CT_small's header is followed by 0.5 MB and by 100 MB of
// generated pixel data: the cost must not depend on it.
func BenchmarkReadHeaderExtract(b *testing.B) {
	header := headerOf(b, ctSmallDataSet(b))
	b.Run("CT_small", func(b *testing.B) {
		ds := ctSmallDataSet(b)
		specs := defaultSpecs()
		b.SetBytes(int64(len(header)))
		b.ReportAllocs()
		defer reportCPU(b)()
		for b.Loop() {
			h, err := ReadHeader(bytes.NewReader(ds), ExplicitLittle, Limits{})
			if err != nil {
				b.Fatal(err)
			}
			h.Extract(specs, ExplicitLittle)
		}
	})
	b.Run("CT_small+0.5MB-pixels", func(b *testing.B) { benchHeaderExtract(b, header, 512<<10) })
	b.Run("CT_small+100MB-pixels", func(b *testing.B) { benchHeaderExtract(b, header, 100<<20) })

	// Headers of about 0.5 MB: CT_small's plus private data, as large
	// vendor headers are: a few large blobs (CSA-like), or many small
	// elements (the worst case per byte).
	blobs := newDS(ExplicitLittle).with(&dsBuilder{b: append([]byte(nil), header...)})
	blobs.str(0x00290010, LO, "SIEMENS CSA HEADER")
	for i := 0; i < 4; i++ {
		blobs.el(NewTag(0x0029, uint16(0x1010+i)), OB, bytes.Repeat([]byte{byte(i)}, 128<<10))
	}
	b.Run("0.5MB-header-blobs", func(b *testing.B) { benchHeaderExtract(b, blobs.bytes(), 100<<20) })
	many := newDS(ExplicitLittle).with(&dsBuilder{b: append([]byte(nil), header...)})
	many.str(0x00290010, LO, "ACME")
	for i := 0; len(many.b) < 512<<10; i++ {
		many.str(NewTag(0x0029, uint16(0x1000+i%0xF000)), LO, "value 0123456789")
	}
	b.Run("0.5MB-header-20k-elements", func(b *testing.B) { benchHeaderExtract(b, many.bytes(), 100<<20) })
}

// BenchmarkExtract measures Extract alone (42 Default tags) on CT_small.
func BenchmarkExtract(b *testing.B) {
	ds := ctSmallDataSet(b)
	h, err := ReadHeader(bytes.NewReader(ds), ExplicitLittle, Limits{})
	if err != nil {
		b.Fatal(err)
	}
	specs := defaultSpecs()
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		h.Extract(specs, ExplicitLittle)
	}
}

// BenchmarkReadHeader measures ReadHeader alone on CT_small.
func BenchmarkReadHeader(b *testing.B) {
	ds := ctSmallDataSet(b)
	b.SetBytes(int64(len(headerOf(b, ds))))
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		if _, err := ReadHeader(bytes.NewReader(ds), ExplicitLittle, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}
