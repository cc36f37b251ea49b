package dicomrecv

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// recordingWriter records the size of every write; it fails from write
// number failAt on (0: never) and writes short when short is set.
type recordingWriter struct {
	bytes.Buffer
	sizes  []int
	failAt int
	short  bool
}

var errDisk = errors.New("disk full")

func (r *recordingWriter) Write(p []byte) (int, error) {
	r.sizes = append(r.sizes, len(p))
	if r.failAt > 0 && len(r.sizes) >= r.failAt {
		return 0, errDisk
	}
	if r.short {
		return r.Buffer.Write(p[:len(p)/2])
	}
	return r.Buffer.Write(p)
}

func TestStoreWriterPieces(t *testing.T) {
	data := make([]byte, 20*storageWriteSize+123)
	for i := range data {
		data[i] = byte(i * 7)
	}
	for _, tc := range []struct {
		name   string
		chunks []int // sizes of the writes into the storeWriter
	}{
		{"one large write", []int{len(data)}},
		{"PDV-sized writes", []int{16372, 16372, 16372, 16372, 16372, len(data) - 5*16372}},
		{"byte by byte then a large rest", append(make([]int, 100), len(data)-100)},
		{"128 KiB PDVs", []int{131066, len(data) - 131066}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i := range tc.chunks {
				if tc.chunks[i] == 0 {
					tc.chunks[i] = 1
				}
			}
			var dst recordingWriter
			s := newStoreWriter()
			s.Reset(&dst)
			off := 0
			for _, c := range tc.chunks {
				n, err := s.Write(data[off : off+c])
				if n != c || err != nil {
					t.Fatalf("Write(%d) = %d, %v", c, n, err)
				}
				off += c
			}
			if err := s.Flush(); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(dst.Bytes(), data) {
				t.Fatal("bytes written differ from bytes given")
			}
			for i, n := range dst.sizes {
				last := i == len(dst.sizes)-1
				if n > storageWriteSize || (!last && n != storageWriteSize) {
					t.Fatalf("write %d of %d is %d bytes; want %d (the last at most that)", i, len(dst.sizes), n, storageWriteSize)
				}
			}
			if want := (len(data) + storageWriteSize - 1) / storageWriteSize; len(dst.sizes) != want {
				t.Errorf("%d writes, want %d", len(dst.sizes), want)
			}
		})
	}
}

func TestStoreWriterErrors(t *testing.T) {
	data := make([]byte, 3*storageWriteSize)
	t.Run("failing writer", func(t *testing.T) {
		dst := &recordingWriter{failAt: 2}
		s := newStoreWriter()
		s.Reset(dst)
		n, err := s.Write(data)
		if !errors.Is(err, errDisk) || n != 2*storageWriteSize {
			t.Fatalf("Write = %d, %v; want %d, %v", n, err, 2*storageWriteSize, errDisk)
		}
		if _, err := s.Write([]byte{1}); !errors.Is(err, errDisk) {
			t.Fatalf("error not sticky: %v", err)
		}
		if err := s.Flush(); !errors.Is(err, errDisk) {
			t.Fatalf("Flush = %v", err)
		}
		// Reset clears the error for the next object.
		var ok recordingWriter
		s.Reset(&ok)
		if _, err := s.Write([]byte("next")); err != nil {
			t.Fatal(err)
		}
		if err := s.Flush(); err != nil || ok.String() != "next" {
			t.Fatalf("after Reset: %v, %q", err, ok.String())
		}
	})
	t.Run("short writer", func(t *testing.T) {
		s := newStoreWriter()
		s.Reset(&recordingWriter{short: true})
		if _, err := s.Write(data); !errors.Is(err, io.ErrShortWrite) {
			t.Fatalf("Write = %v, want io.ErrShortWrite", err)
		}
	})
	t.Run("reset drops buffered bytes", func(t *testing.T) {
		var a, b recordingWriter
		s := newStoreWriter()
		s.Reset(&a)
		s.Write([]byte("abandoned"))
		s.Reset(&b)
		s.Write([]byte("kept"))
		if err := s.Flush(); err != nil || a.Len() != 0 || b.String() != "kept" {
			t.Fatalf("a=%q b=%q err=%v", a.String(), b.String(), err)
		}
	})
}

func BenchmarkStoreWriter(b *testing.B) {
	pdv := make([]byte, 16372)
	s := newStoreWriter()
	b.ReportAllocs()
	b.SetBytes(int64(len(pdv)))
	for b.Loop() {
		s.Reset(io.Discard)
		s.Write(pdv)
		s.Flush()
	}
}
