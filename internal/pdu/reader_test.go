package pdu

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"reflect"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

// record is what a Reader yields for one PDU.
type record struct {
	H    Header
	Body []byte // non-data PDUs
	PDVs []pdvRecord
}

type pdvRecord struct {
	H    PDVHeader
	Data []byte
}

// testStream returns a stream of an A-ASSOCIATE-RQ, P-DATA-TF PDUs with
// several PDVs each (empty ones, and one larger than any read buffer), an
// A-RELEASE-RQ and an A-ABORT, with the records a Reader should yield.
func testStream(t testing.TB) ([]byte, []record) {
	r := rand.New(rand.NewPCG(5, 6))
	var (
		stream []byte
		want   []record
	)
	add := func(m Message) {
		b, err := encode(m)
		if err != nil {
			t.Fatal(err)
		}
		stream = append(stream, b...)
		rec := record{H: Header{Type: m.Type(), Length: uint32(len(b) - HeaderLength)}}
		if p, ok := m.(*PDataTF); ok {
			for _, v := range p.PDVs {
				rec.PDVs = append(rec.PDVs, pdvRecord{
					H:    PDVHeader{ContextID: v.ContextID, Command: v.Command, Last: v.Last, Length: uint32(len(v.Data))},
					Data: v.Data,
				})
			}
		} else {
			rec.Body = b[HeaderLength:]
		}
		want = append(want, rec)
	}
	add(randAssociateRQ(r))
	for range 4 {
		add(randPDataTF(r))
	}
	add(&PDataTF{PDVs: []PDV{{ContextID: 1, Data: nil}, {ContextID: 1, Last: true, Data: randBytes(r, 0)}}})
	big := make([]byte, 100_000)
	for i := range big {
		big[i] = byte(i * 7)
	}
	add(&PDataTF{PDVs: []PDV{{ContextID: 3, Command: true, Last: true, Data: []byte("cmd")}, {ContextID: 3, Data: big}}})
	add(&ReleaseRQ{})
	add(&Abort{Source: AbortSourceServiceProvider, Reason: AbortReasonUnexpectedPDU})
	return stream, want
}

// readMode says how readAll consumes PDV data.
type readMode struct {
	name string
	next bool // Next instead of Read
	n    int  // bytes per call
}

var readModes = []readMode{
	{"Read1", false, 1}, {"Read7", false, 7}, {"Read64K", false, 64 << 10},
	{"Next1", true, 1}, {"Next1000", true, 1000}, {"NextHuge", true, 1 << 30},
}

// readAll reads every PDU of r until io.EOF.
func readAll(r *Reader, mode readMode) ([]record, error) {
	var (
		recs []record
		buf  []byte
	)
	if !mode.next {
		buf = make([]byte, mode.n)
	}
	for {
		h, err := r.ReadHeader()
		if err == io.EOF {
			return recs, nil
		}
		if err != nil {
			return recs, fmt.Errorf("ReadHeader: %w", err)
		}
		rec := record{H: h}
		if h.Type != TypePDataTF {
			body, err := r.ReadBody(h, 1<<20)
			if err != nil {
				return recs, fmt.Errorf("ReadBody: %w", err)
			}
			rec.Body = bytes.Clone(body)
			recs = append(recs, rec)
			continue
		}
		for {
			ph, err := r.NextPDV()
			if err == io.EOF {
				break
			}
			if err != nil {
				return recs, fmt.Errorf("NextPDV: %w", err)
			}
			var data []byte
			for {
				var (
					n int
					p []byte
				)
				if mode.next {
					p, err = r.Next(mode.n)
					n = len(p)
					if n > mode.n {
						return recs, fmt.Errorf("Next(%d) returned %d bytes", mode.n, n)
					}
				} else {
					n, err = r.Read(buf)
					p = buf[:n]
				}
				data = append(data, p...)
				if err == io.EOF {
					break
				}
				if err != nil {
					return recs, fmt.Errorf("PDV data: %w", err)
				}
			}
			rec.PDVs = append(rec.PDVs, pdvRecord{H: ph, Data: data})
		}
		recs = append(recs, rec)
	}
}

func TestReaderStream(t *testing.T) {
	stream, want := testStream(t)
	sources := []struct {
		name string
		r    func() io.Reader
	}{
		{"whole", func() io.Reader { return bytes.NewReader(stream) }},
		{"OneByteReader", func() io.Reader { return iotest.OneByteReader(bytes.NewReader(stream)) }},
		{"HalfReader", func() io.Reader { return iotest.HalfReader(bytes.NewReader(stream)) }},
		{"DataErrReader", func() io.Reader { return iotest.DataErrReader(bytes.NewReader(stream)) }},
		{"random chunks", func() io.Reader { return newSplitReader(stream, 7) }},
	}
	for _, src := range sources {
		for _, bufSize := range []int{16, 4096, 0} {
			for _, mode := range readModes {
				if src.name == "OneByteReader" && mode.n == 1 {
					continue // slow and adds nothing
				}
				t.Run(fmt.Sprintf("%s/buf%d/%s", src.name, bufSize, mode.name), func(t *testing.T) {
					got, err := readAll(NewReader(src.r(), bufSize), mode)
					if err != nil {
						t.Fatal(err)
					}
					if !reflect.DeepEqual(got, want) {
						t.Fatalf("records differ (-want +got):\n%s", cmp.Diff(want, got))
					}
				})
			}
		}
	}
}

// TestReaderDiscards checks that unread bodies and PDV data are skipped.
func TestReaderDiscards(t *testing.T) {
	stream, want := testStream(t)
	r := NewReader(iotest.HalfReader(bytes.NewReader(stream)), 64)
	for i, w := range want {
		h, err := r.ReadHeader()
		if err != nil || h != w.H {
			t.Fatalf("PDU %d: header %+v, %v; want %+v", i, h, err, w.H)
		}
		switch i % 3 {
		case 0: // leave the PDU to ReadHeader
		case 1:
			if err := r.Skip(); err != nil {
				t.Fatal(err)
			}
			if h.Type == TypePDataTF {
				if _, err := r.NextPDV(); err != io.EOF {
					t.Fatalf("NextPDV after Skip: %v, want io.EOF", err)
				}
			}
		case 2:
			if h.Type != TypePDataTF {
				continue
			}
			// Read one byte of each PDV, let NextPDV drop the rest.
			for j := 0; ; j++ {
				ph, err := r.NextPDV()
				if err == io.EOF {
					if j != len(w.PDVs) {
						t.Fatalf("PDU %d: %d PDVs, want %d", i, j, len(w.PDVs))
					}
					break
				}
				if err != nil || ph != w.PDVs[j].H {
					t.Fatalf("PDU %d PDV %d: %+v, %v; want %+v", i, j, ph, err, w.PDVs[j].H)
				}
				var b [1]byte
				n, err := r.Read(b[:])
				if len(w.PDVs[j].Data) == 0 {
					if n != 0 || err != io.EOF {
						t.Fatalf("empty PDV: Read = %d, %v", n, err)
					}
				} else if n != 1 || b[0] != w.PDVs[j].Data[0] {
					t.Fatalf("PDU %d PDV %d: first byte %d %v", i, j, b[0], err)
				}
			}
		}
	}
	if _, err := r.ReadHeader(); err != io.EOF {
		t.Fatalf("at the end: %v, want io.EOF", err)
	}
}

func TestReaderTruncated(t *testing.T) {
	stream, _ := testStream(t)
	// Every prefix must read without panic and end in io.EOF exactly at a
	// PDU boundary, io.ErrUnexpectedEOF otherwise.
	bounds := map[int]bool{0: true}
	for off := 0; off < len(stream); {
		off += HeaderLength + int(uint32(stream[off+2])<<24|uint32(stream[off+3])<<16|uint32(stream[off+4])<<8|uint32(stream[off+5]))
		bounds[off] = true
	}
	r := rand.New(rand.NewPCG(9, 10))
	for n := range len(stream) {
		if !bounds[n] && !bounds[n-1] && r.IntN(64) != 0 {
			continue
		}
		_, err := readAll(NewReader(bytes.NewReader(stream[:n]), 256), readModes[4])
		if bounds[n] {
			if err != nil {
				t.Fatalf("prefix %d at a PDU boundary: %v", n, err)
			}
		} else if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("prefix %d: %v, want io.ErrUnexpectedEOF", n, err)
		}
	}
}

// failReader fails the test if it is read.
type failReader struct{ t testing.TB }

func (f failReader) Read([]byte) (int, error) {
	f.t.Error("the body was read")
	return 0, io.ErrUnexpectedEOF
}

func TestReadBodyTooLong(t *testing.T) {
	for _, typ := range []Type{TypeAssociateRQ, TypePDataTF, Type(0x42)} {
		hdr := []byte{byte(typ), 0, 0xFF, 0xFF, 0xFF, 0xFF}
		r := NewReader(io.MultiReader(bytes.NewReader(hdr), failReader{t}), 0)
		h, err := r.ReadHeader()
		if err != nil || h != (Header{Type: typ, Length: 0xFFFFFFFF}) {
			t.Fatalf("ReadHeader = %+v, %v", h, err)
		}
		allocs := testing.AllocsPerRun(100, func() {
			_, err = r.ReadBody(h, 64<<10)
		})
		var tl *TooLongError
		if !errors.As(err, &tl) || !errors.Is(err, ErrTooLong) || tl.Length != 0xFFFFFFFF || tl.Max != 64<<10 || tl.PDU != typ {
			t.Fatalf("ReadBody error %v", err)
		}
		// The one allocation is the error value; the body is never allocated.
		if allocs > 1 || cap(r.body) != 0 {
			t.Errorf("ReadBody allocated %.0f times, body buffer of %d bytes", allocs, cap(r.body))
		}
	}
}

func TestReadBodyGrowsAsDataArrives(t *testing.T) {
	// A header announcing 1 MiB followed by 10 bytes: the buffer stays small.
	stream := append([]byte{1, 0, 0, 0x10, 0, 0}, make([]byte, 10)...)
	r := NewReader(bytes.NewReader(stream), 0)
	h, err := r.ReadHeader()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReadBody(h, 2<<20); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("ReadBody: %v, want io.ErrUnexpectedEOF", err)
	}
	if cap(r.body) > 8<<10 {
		t.Errorf("buffer grew to %d bytes for 10 bytes received", cap(r.body))
	}
}

func TestReadBodyReusesBuffer(t *testing.T) {
	rq, err := randAssociateRQ(rand.New(rand.NewPCG(11, 12))).AppendBinary(nil)
	if err != nil {
		t.Fatal(err)
	}
	rj := (&AssociateRJ{Result: 1, Source: 1, Reason: 1}).Append(nil)
	pdus := append(append(bytes.Clone(rq), rj...), rq...)
	src := &repeatReader{b: pdus}
	r := NewReader(src, 0)
	var first []byte
	for i := range 3 {
		h, err := r.ReadHeader()
		if err != nil {
			t.Fatal(err)
		}
		body, err := r.ReadBody(h, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = body
		} else if &body[0] != &first[0] {
			t.Errorf("PDU %d: body not read into the buffer of the first", i)
		}
	}
	allocs := testing.AllocsPerRun(200, func() {
		h, err := r.ReadHeader()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.ReadBody(h, 1<<20); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("ReadHeader+ReadBody allocate %.1f times per PDU once warm", allocs)
	}
}

// repeatReader returns b over and over.
type repeatReader struct {
	b   []byte
	pos int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.b[r.pos:])
		n += c
		r.pos = (r.pos + c) % len(r.b)
	}
	return n, nil
}

func TestReaderParseErrors(t *testing.T) {
	pdata := func(body ...byte) []byte {
		return append([]byte{4, 0, 0, 0, 0, byte(len(body))}, body...)
	}
	tests := []struct {
		name   string
		stream []byte
		pdvs   int // PDVs read before the error
		offset int
	}{
		{"no PDV", pdata(), 0, 0},
		{"too short for a PDV header", pdata(0, 0, 0, 1, 1), 0, 0},
		{"PDV item length 1", pdata(0, 0, 0, 1, 1, 3), 0, 0},
		{"PDV past the PDU", pdata(0, 0, 0, 3, 1, 3, 0xAA, 0, 0, 0, 9, 1, 3), 1, 7},
		{"PDV past the PDU by one byte", pdata(0, 0, 0, 3, 1, 3), 0, 0},
		{"second PDV header truncated", pdata(0, 0, 0, 2, 1, 3, 0, 0, 0), 1, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The PDU is followed by a valid one, which must not be reached.
			stream := append(bytes.Clone(tt.stream), (&ReleaseRQ{}).Append(nil)...)
			r := NewReader(iotest.OneByteReader(bytes.NewReader(stream)), 0)
			if _, err := r.ReadHeader(); err != nil {
				t.Fatal(err)
			}
			var err error
			for i := 0; ; i++ {
				if _, err = r.NextPDV(); err != nil {
					if i != tt.pdvs {
						t.Errorf("error after %d PDVs, want %d", i, tt.pdvs)
					}
					break
				}
			}
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Reason != AbortReasonInvalidPDUParameterValue || pe.PDU != TypePDataTF || pe.Offset != tt.offset {
				t.Fatalf("NextPDV: %v (%+v), want a ParseError at offset %d", err, pe, tt.offset)
			}
			// The error sticks: the stream cannot be followed any more.
			if _, err2 := r.ReadHeader(); err2 != err {
				t.Errorf("ReadHeader after the error: %v", err2)
			}
			if _, err2 := r.Read(make([]byte, 1)); err2 != err {
				t.Errorf("Read after the error: %v", err2)
			}
		})
	}
	for _, typ := range []Type{TypeAssociateRJ, TypeReleaseRQ, TypeReleaseRP, TypeAbort} {
		for _, n := range []uint32{0, 3, 5, 0xFFFFFFFF} {
			r := NewReader(io.MultiReader(bytes.NewReader([]byte{byte(typ), 0, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}), failReader{t}), 0)
			h, err := r.ReadHeader()
			if err != nil {
				t.Fatal(err)
			}
			_, err = r.ReadBody(h, 1<<20)
			var pe *ParseError
			if !errors.As(err, &pe) || pe.PDU != typ || pe.Reason != AbortReasonInvalidPDUParameterValue {
				t.Errorf("%v of length %d: ReadBody error %v", typ, n, err)
			}
		}
	}
}

func TestReaderMisuse(t *testing.T) {
	b, _ := (&PDataTF{PDVs: []PDV{{ContextID: 1, Data: []byte("ab")}}}).AppendBinary((&ReleaseRQ{}).Append(nil))
	r := NewReader(bytes.NewReader(b), 0)
	if _, err := r.NextPDV(); err != ErrNotPData {
		t.Errorf("NextPDV before any header: %v", err)
	}
	if n, err := r.Read(make([]byte, 4)); n != 0 || err != io.EOF {
		t.Errorf("Read before any PDV: %d, %v", n, err)
	}
	h, _ := r.ReadHeader()
	if _, err := r.NextPDV(); err != ErrNotPData {
		t.Errorf("NextPDV in an A-RELEASE-RQ: %v", err)
	}
	if _, err := r.ReadBody(Header{Type: TypeReleaseRQ, Length: 5}, 100); err != ErrBodyState {
		t.Errorf("ReadBody with another header: %v", err)
	}
	if _, err := r.ReadBody(h, 100); err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReadBody(h, 100); err != ErrBodyState {
		t.Errorf("ReadBody twice: %v", err)
	}
	h, _ = r.ReadHeader()
	if _, err := r.NextPDV(); err != nil {
		t.Fatal(err)
	}
	if p, err := r.Next(0); p != nil || err != nil {
		t.Errorf("Next(0) = %q, %v", p, err)
	}
	if n, err := r.Read(nil); n != 0 || err != nil {
		t.Errorf("Read(nil) = %d, %v", n, err)
	}
	if _, err := r.ReadBody(h, 100); err != ErrBodyState {
		t.Errorf("ReadBody after NextPDV: %v", err)
	}
}

// timeoutReader returns errTimeout once before each of the given offsets.
type timeoutReader struct {
	b     []byte
	pos   int
	stops []int
}

var errTimeout = errors.New("i/o timeout")

func (r *timeoutReader) Read(p []byte) (int, error) {
	if len(r.stops) > 0 && r.pos == r.stops[0] {
		r.stops = r.stops[1:]
		return 0, errTimeout
	}
	if r.pos == len(r.b) {
		return 0, io.EOF
	}
	end := len(r.b)
	if len(r.stops) > 0 {
		end = r.stops[0]
	}
	n := copy(p, r.b[r.pos:end])
	r.pos += n
	return n, nil
}

// TestReaderRetry checks that ReadHeader, NextPDV, Read and Next can be
// called again after an error from the underlying reader (a read timeout)
// without losing the stream.
func TestReaderRetry(t *testing.T) {
	stream, want := testStream(t)
	stream, want = stream[len(want[0].Body)+HeaderLength:], want[1:] // without the request
	var stops []int
	for i := 1; i < len(stream); i += 1 + i/3 {
		stops = append(stops, i)
	}
	for _, mode := range readModes[1:] {
		t.Run(mode.name, func(t *testing.T) {
			src := &timeoutReader{b: stream, stops: stops}
			r := NewReader(src, 16)
			var got []record
			retry := func(err error) bool {
				if errors.Is(err, errTimeout) {
					return true
				}
				if err != nil && err != io.EOF {
					t.Fatal(err)
				}
				return false
			}
			for {
				h, err := r.ReadHeader()
				if retry(err) {
					continue
				}
				if err == io.EOF {
					break
				}
				rec := record{H: h}
				if h.Type != TypePDataTF {
					// ReadBody is not retryable; the bodies here are 4 bytes.
					for {
						body, err := r.ReadBody(h, 100)
						if retry(err) {
							t.Fatalf("timeout inside ReadBody of %v", h)
						}
						rec.Body = bytes.Clone(body)
						break
					}
					got = append(got, rec)
					continue
				}
				for {
					ph, err := r.NextPDV()
					if retry(err) {
						continue
					}
					if err == io.EOF {
						break
					}
					var data, buf []byte
					if !mode.next {
						buf = make([]byte, mode.n)
					}
					for {
						var p []byte
						if mode.next {
							p, err = r.Next(mode.n)
						} else {
							var n int
							n, err = r.Read(buf)
							p = buf[:n]
						}
						data = append(data, p...)
						if retry(err) {
							continue
						}
						if err == io.EOF {
							break
						}
					}
					rec.PDVs = append(rec.PDVs, pdvRecord{H: ph, Data: data})
				}
				got = append(got, rec)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("records differ (-want +got):\n%s", cmp.Diff(want, got))
			}
			if len(src.stops) != 0 {
				t.Fatalf("%d of %d timeouts not reached", len(src.stops), len(stops))
			}
		})
	}
}

// TestReaderRemaining switches to a Reader with another buffer after the
// first PDU, as the association layer does once the association is
// accepted.
func TestReaderRemaining(t *testing.T) {
	stream, want := testStream(t)
	src := bytes.NewReader(stream)
	r := NewReader(src, 4096)
	h, err := r.ReadHeader()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReadBody(h, 1<<20); err != nil {
		t.Fatal(err)
	}
	if r.br.Buffered() == 0 {
		t.Fatal("nothing buffered: the test does not test Remaining")
	}
	got, err := readAll(NewReader(r.Remaining(src), 1<<16), readModes[4])
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want[1:]) {
		t.Fatalf("records differ (-want +got):\n%s", cmp.Diff(want[1:], got))
	}
}
