package pdu

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Errors for calls out of sequence: they are the caller's mistakes, not
// the peer's.
var (
	// ErrNotPData is returned by NextPDV when the current PDU is not a
	// P-DATA-TF.
	ErrNotPData = errors.New("pdu: NextPDV outside a P-DATA-TF PDU")
	// ErrBodyState is returned by ReadBody when h is not the header just
	// read or the body was already (partly) consumed.
	ErrBodyState = errors.New("pdu: ReadBody without the matching ReadHeader")
)

// Reader reads PDUs from a byte stream, typically a network connection,
// through its own buffer.
//
// After ReadHeader, the caller either reads the body of a non-data PDU with
// ReadBody, or walks the PDV items of a P-DATA-TF with NextPDV and reads
// each PDV's data with Read or Next, or discards the PDU with Skip.
// ReadHeader discards what is left of the previous PDU.
//
// A *ParseError from the Reader (a PDV that does not fit its PDU) means the
// stream can no longer be followed; it is returned again by every later
// call. Other errors, such as a read timeout in ReadHeader, NextPDV, Read or
// Next, leave the Reader where it was, so that the call can be retried;
// an error from ReadBody other than *TooLongError leaves the body partly
// read. A Reader is not safe for concurrent use.
type Reader struct {
	br  *bufio.Reader
	hdr Header
	// started is set once a header has been read.
	started bool
	// remain is the number of bytes of the current PDU's body not yet
	// consumed; pdvRemain those of the current PDV's data (part of remain).
	remain, pdvRemain uint32
	pdvs              int  // PDV items read in the current P-DATA-TF
	skipped           bool // Skip discarded the current PDU
	body              []byte
	err               error // sticky *ParseError
}

// NewReader returns a Reader that reads from r through a buffer of bufSize
// bytes (DefaultBufferSize when bufSize <= 0). The buffer bounds the chunks
// that Next returns; a buffer at least as large as the P-DATA-TF PDUs the
// peer sends lets Next return whole fragments.
func NewReader(r io.Reader, bufSize int) *Reader {
	if bufSize <= 0 {
		bufSize = DefaultBufferSize
	}
	return &Reader{br: bufio.NewReaderSize(r, bufSize)}
}

// Remaining returns a reader of the bytes that r has buffered but not yet
// returned, followed by those of next (normally the stream r was created
// on). It lets a caller replace r by a Reader with another buffer size
// between two PDUs without losing data; r must not be used afterwards.
func (r *Reader) Remaining(next io.Reader) io.Reader {
	n := r.br.Buffered()
	if n == 0 {
		return next
	}
	b, _ := r.br.Peek(n)
	return io.MultiReader(bytes.NewReader(bytes.Clone(b)), next)
}

// ReadHeader discards what is left of the current PDU, then reads the next
// PDU header. It returns io.EOF when the stream ends cleanly before a new
// PDU, io.ErrUnexpectedEOF when it ends inside one. A PDU type that PS3.8
// does not define is returned as is; the reserved byte is not tested (PS3.8
// §9.3.1).
func (r *Reader) ReadHeader() (Header, error) {
	if r.err != nil {
		return Header{}, r.err
	}
	if err := r.discard(r.remain); err != nil {
		return Header{}, err
	}
	p, err := r.br.Peek(HeaderLength)
	if err != nil {
		if err == io.EOF && len(p) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return Header{}, err
	}
	h := Header{Type: Type(p[0]), Length: binary.BigEndian.Uint32(p[2:])}
	_, _ = r.br.Discard(HeaderLength)
	r.hdr, r.started = h, true
	r.remain, r.pdvRemain, r.pdvs, r.skipped = h.Length, 0, 0, false
	return h, nil
}

// ReadBody reads the body of the PDU whose header ReadHeader just returned,
// into a buffer reused by the next call (the result is valid until then).
// If h.Length > limit it returns a *TooLongError without reading the body or
// allocating for it; the caller may then Skip the body or, more likely,
// abort. A-ASSOCIATE-RJ, A-RELEASE-RQ, A-RELEASE-RP and A-ABORT PDUs whose
// length is not 4 are a *ParseError (PS3.8 §9.3.4, §9.3.6-§9.3.8). The
// buffer grows as bytes arrive, so a peer that announces a long PDU and
// sends less costs no more than what it sent.
func (r *Reader) ReadBody(h Header, limit uint32) ([]byte, error) {
	if r.err != nil {
		return nil, r.err
	}
	if !r.started || h != r.hdr || r.remain != h.Length || r.skipped {
		return nil, ErrBodyState
	}
	switch h.Type {
	case TypeAssociateRJ, TypeReleaseRQ, TypeReleaseRP, TypeAbort:
		if h.Length != fixedShortLength {
			r.err = &ParseError{PDU: h.Type, Offset: 0, Reason: AbortReasonInvalidPDUParameterValue,
				Msg: fmt.Sprintf("PDU length %d, not %d", h.Length, fixedShortLength)}
			return nil, r.err
		}
	}
	if h.Length > limit {
		return nil, &TooLongError{PDU: h.Type, Length: h.Length, Max: limit}
	}
	n := int(h.Length)
	buf := r.body[:0]
	for len(buf) < n {
		if len(buf) == cap(buf) {
			// Grow by doubling from 4 KiB, never past n.
			nb := make([]byte, len(buf), min(max(2*cap(buf), 4<<10), n))
			copy(nb, buf)
			buf = nb
		}
		m, err := r.br.Read(buf[len(buf):min(cap(buf), n)])
		buf = buf[:len(buf)+m]
		r.remain -= uint32(m)
		if err != nil {
			r.body = buf[:0]
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	r.body = buf
	return buf, nil
}

// NextPDV reads the header of the next PDV item of the current P-DATA-TF
// PDU, first discarding whatever the caller did not read of the previous
// PDV. It returns io.EOF when the PDU's body is used up. A PDV item whose
// length is less than 2 or runs past the PDU, and a P-DATA-TF PDU without
// any PDV, are a *ParseError (PS3.8 §9.3.5). The presentation context ID is
// returned as received: checking it against the accepted contexts is the
// caller's job.
func (r *Reader) NextPDV() (PDVHeader, error) {
	if r.err != nil {
		return PDVHeader{}, r.err
	}
	if !r.started || r.hdr.Type != TypePDataTF {
		return PDVHeader{}, ErrNotPData
	}
	if err := r.discard(r.pdvRemain); err != nil {
		return PDVHeader{}, err
	}
	if r.remain == 0 {
		if r.pdvs == 0 && !r.skipped {
			return PDVHeader{}, r.fail(0, "no PDV item")
		}
		return PDVHeader{}, io.EOF
	}
	off := int(r.hdr.Length - r.remain)
	if r.remain < PDVHeaderLength {
		return PDVHeader{}, r.fail(off, fmt.Sprintf("%d bytes left, too few for a PDV item header", r.remain))
	}
	p, err := r.br.Peek(PDVHeaderLength)
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return PDVHeader{}, err
	}
	n, h := decodePDVHeader(p)
	if err := checkPDVLength(n, uint64(r.remain), off); err != nil {
		r.err = err
		return PDVHeader{}, err
	}
	_, _ = r.br.Discard(PDVHeaderLength)
	r.remain -= PDVHeaderLength
	r.pdvRemain = h.Length
	r.pdvs++
	return h, nil
}

// Read reads the current PDV's data into p. It returns io.EOF at the end of
// the PDV (and before the first NextPDV), io.ErrUnexpectedEOF when the
// stream ends inside it.
func (r *Reader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if r.pdvRemain == 0 {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	if uint64(len(p)) > uint64(r.pdvRemain) {
		p = p[:r.pdvRemain]
	}
	n, err := r.br.Read(p)
	r.pdvRemain -= uint32(n)
	r.remain -= uint32(n)
	if err == io.EOF {
		if r.pdvRemain > 0 {
			err = io.ErrUnexpectedEOF
		} else {
			err = nil
		}
	}
	return n, err
}

// Next returns up to n bytes of the current PDV's data as a slice of the
// Reader's buffer, valid until the next call on r. It returns as soon as
// some data is buffered, so the slice may be shorter than n even before the
// PDV's end; it is never longer than the buffer. Next returns io.EOF at the
// end of the PDV, io.ErrUnexpectedEOF when the stream ends inside it.
func (r *Reader) Next(n int) ([]byte, error) {
	if r.err != nil {
		return nil, r.err
	}
	if r.pdvRemain == 0 {
		return nil, io.EOF
	}
	if n <= 0 {
		return nil, nil
	}
	if r.br.Buffered() == 0 {
		if _, err := r.br.Peek(1); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	k := min(uint64(n), uint64(r.pdvRemain), uint64(r.br.Buffered()))
	p, _ := r.br.Peek(int(k))
	_, _ = r.br.Discard(len(p))
	r.pdvRemain -= uint32(len(p))
	r.remain -= uint32(len(p))
	return p, nil
}

// Skip discards the rest of the current PDU.
func (r *Reader) Skip() error {
	if r.err != nil {
		return r.err
	}
	if err := r.discard(r.remain); err != nil {
		return err
	}
	r.skipped = true
	return nil
}

// discard consumes n bytes of the current PDU (n <= r.remain). The counters
// follow what was actually discarded, so a timeout can be retried.
func (r *Reader) discard(n uint32) error {
	for n > 0 {
		d, err := r.br.Discard(int(n))
		n -= uint32(d)
		r.remain -= uint32(d)
		r.pdvRemain -= min(r.pdvRemain, uint32(d))
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}

// fail records and returns a *ParseError in the current P-DATA-TF PDU.
func (r *Reader) fail(off int, msg string) error {
	r.err = &ParseError{PDU: r.hdr.Type, Offset: off, Reason: AbortReasonInvalidPDUParameterValue, Msg: msg}
	return r.err
}
