package pdu

import (
	"io"
	"os"
	"testing"
)

// pdataPDU returns a P-DATA-TF PDU whose PDU-length field is length, with
// one PDV.
func pdataPDU(b testing.TB, length int) []byte {
	data := make([]byte, length-PDVHeaderLength)
	for i := range data {
		data[i] = byte(i)
	}
	pdu, err := (&PDataTF{PDVs: []PDV{{ContextID: 1, Last: true, Data: data}}}).AppendBinary(nil)
	if err != nil {
		b.Fatal(err)
	}
	return pdu
}

// readPData reads one P-DATA-TF PDU with its single PDV, through Next or
// Read.
func readPData(b *testing.B, r *Reader, buf []byte) {
	h, err := r.ReadHeader()
	if err != nil || h.Type != TypePDataTF {
		b.Fatal(h, err)
	}
	if _, err := r.NextPDV(); err != nil {
		b.Fatal(err)
	}
	for {
		var err error
		if buf == nil {
			_, err = r.Next(1 << 20)
		} else {
			_, err = r.Read(buf)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	if _, err := r.NextPDV(); err != io.EOF {
		b.Fatal(err)
	}
}

// BenchmarkReadPData reads P-DATA-TF PDUs of 16 KiB (the default maximum
// PDU length) with one PDV each, from memory: the cost of the Reader per
// PDU, without the network.
func BenchmarkReadPData(b *testing.B) {
	for _, bc := range []struct {
		name string
		size int
		buf  []byte
	}{
		{"16KiB/Next", 16 << 10, nil},
		{"16KiB/Read", 16 << 10, make([]byte, 32<<10)},
		{"128KiB/Next", 128 << 10, nil},
	} {
		b.Run(bc.name, func(b *testing.B) {
			pdu := pdataPDU(b, bc.size)
			r := NewReader(&repeatReader{b: pdu}, 0)
			b.SetBytes(int64(len(pdu)))
			b.ReportAllocs()
			for b.Loop() {
				readPData(b, r, bc.buf)
			}
		})
	}
}

// BenchmarkWriteMessage fragments a 512 KiB data set (a typical CT or MR
// slice) into P-DATA-TF PDUs.
func BenchmarkWriteMessage(b *testing.B) {
	data := make([]byte, 512<<10)
	for _, bc := range []struct {
		name   string
		maxPDU uint32
	}{{"max16KiB", 16 << 10}, {"unlimited", 0}} {
		b.Run(bc.name, func(b *testing.B) {
			w := NewWriter(io.Discard)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if err := w.WriteMessage(1, false, data, bc.maxPDU); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkParseAssociateRQ parses the 128-context request of DCMTK
// storescu.
func BenchmarkParseAssociateRQ(b *testing.B) {
	pdu, err := os.ReadFile("testdata/storescu-associate-rq.bin")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(pdu)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseAssociateRQ(pdu[HeaderLength:]); err != nil {
			b.Fatal(err)
		}
	}
}
