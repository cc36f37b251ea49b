package dicomrecv

import "io"

// storageWriteSize is the size of the writes to storage: an object's bytes
// are gathered into pieces of 16 KiB, whatever the size of the PDVs they
// arrive in, as DCMTK's storescp writes them with the default 16 KiB PDU.
//
// Larger writes mean fewer system calls but, measured with bench/ on the
// reference machine (a 2-core VM, ext4, Linux 6.18), they cost more: with
// 256 KiB writes the kernel's copy into fresh page-cache folios
// (copy_folio_from_iter_atomic) took up to half of the receiver's CPU, and
// runs alternated between about 1.4 and 2.3 CPU-s per GB for 0.5 MB
// objects and between 0.9 and 2.2 for 50-100 MB objects; with 16 KiB writes
// they stayed at 1.4-1.5 and 1.2-1.5 (docs/operations.md, "Write size").
// The cause is not settled (storescp's 124 KiB writes at 128 KiB PDUs do
// not suffer); the measurement is what this size rests on.
//
// Copying every byte into the 16 KiB buffer looks wasteful but measured
// cheaper on ext4 than the alternatives tried (1,000 0.5 MB objects from
// one storescu, 4 alternating pairs each, receiver CPU from perf stat):
// writing PDV-sized pieces straight from the read buffer (16,372 bytes at
// unaligned file offsets) cost 24% more CPU, and writing them straight
// while keeping 4 KiB alignment (two writes per PDV) 14% more. On tmpfs
// the straight writes were about 5% cheaper.
const storageWriteSize = 16 << 10

// storeWriter gathers an object's bytes into writes of storageWriteSize.
// Unlike bufio.Writer it never passes a large slice through in one write.
// It is reused across the objects of an association (Reset).
type storeWriter struct {
	w   io.Writer
	buf []byte
	n   int // bytes buffered
	err error
}

func newStoreWriter() *storeWriter {
	return &storeWriter{buf: make([]byte, storageWriteSize)}
}

// Reset makes s write to w, dropping anything buffered and any error.
func (s *storeWriter) Reset(w io.Writer) {
	s.w, s.n, s.err = w, 0, nil
}

func (s *storeWriter) Write(p []byte) (int, error) {
	total := 0
	for len(p) > 0 && s.err == nil {
		c := copy(s.buf[s.n:], p)
		s.n += c
		total += c
		p = p[c:]
		if s.n == len(s.buf) {
			s.flush()
		}
	}
	return total, s.err
}

func (s *storeWriter) flush() {
	if s.err != nil || s.n == 0 {
		return
	}
	n, err := s.w.Write(s.buf[:s.n])
	if err == nil && n < s.n {
		err = io.ErrShortWrite
	}
	s.err = err
	s.n = 0
}

// Flush writes what is buffered and reports the first error of any write.
func (s *storeWriter) Flush() error {
	s.flush()
	return s.err
}
