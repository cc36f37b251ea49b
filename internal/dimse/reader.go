package dimse

import (
	"errors"
	"fmt"
	"io"

	"github.com/dicomrecv/dicomrecv/internal/pdu"
)

// PDVSource yields the PDVs of an association's P-DATA stream, reading
// further P-DATA-TF PDUs as needed. Anything else that arrives (a release
// request, an abort, an invalid PDU) ends the stream with an error from the
// source; the association decides what it means.
type PDVSource interface {
	// NextPDV returns the header of the next PDV. The data of the previous
	// PDV, if not consumed, is discarded first.
	NextPDV() (pdu.PDVHeader, error)
	// Read reads the current PDV's data; io.EOF at its end.
	Read(p []byte) (int, error)
	// Next returns up to n bytes of the current PDV's data without copying;
	// the slice is valid until the next call. io.EOF at the PDV's end.
	Next(n int) ([]byte, error)
}

// ProtocolError is a violation of the PDV rules of PS3.8 Annex E that the
// association answers with an A-ABORT (PS3.8 §9.3.8 reason).
type ProtocolError struct {
	Reason byte // A-ABORT reason for source 2 (service-provider)
	Msg    string
}

func (e *ProtocolError) Error() string { return "dimse: " + e.Msg }

// Abort reasons used by this package (PS3.8 §9.3.8).
const (
	abortUnexpectedParameter byte = 5
	abortInvalidParameter    byte = 6
)

// Reader reassembles DIMSE messages from PDVs: first the command set (its
// fragments are collected, bounded by MaxCommandLength), then, when the
// command announces one, the data set as a stream.
type Reader struct {
	src    PDVSource
	cmdBuf []byte
	data   DataReader
}

// NewReader returns a Reader over src.
func NewReader(src PDVSource) *Reader {
	r := &Reader{src: src}
	r.data.src = src
	return r
}

// ReadCommand reads the command set of the next message and returns the
// presentation context ID it came on and the decoded command. The returned
// error is a *ProtocolError for PDV rule violations, wraps ErrCommand for an
// undecodable command set, or comes from the source.
func (r *Reader) ReadCommand() (byte, *Command, error) {
	r.cmdBuf = r.cmdBuf[:0]
	var ctx byte
	for first := true; ; first = false {
		h, err := r.src.NextPDV()
		if err != nil {
			return 0, nil, err
		}
		if !h.Command {
			// PS3.8 Annex E.2: a message's command fragments precede its
			// data fragments; a data PDV here belongs to no command.
			return 0, nil, &ProtocolError{Reason: abortUnexpectedParameter,
				Msg: fmt.Sprintf("data PDV on context %d where a command was expected", h.ContextID)}
		}
		if first {
			ctx = h.ContextID
		} else if h.ContextID != ctx {
			return 0, nil, &ProtocolError{Reason: abortUnexpectedParameter,
				Msg: fmt.Sprintf("command fragments on contexts %d and %d", ctx, h.ContextID)}
		}
		if uint64(len(r.cmdBuf))+uint64(h.Length) > MaxCommandLength {
			return 0, nil, &ProtocolError{Reason: abortInvalidParameter,
				Msg: fmt.Sprintf("command set longer than %d bytes", MaxCommandLength)}
		}
		r.cmdBuf, err = appendAll(r.cmdBuf, r.src, int(h.Length))
		if err != nil {
			return 0, nil, err
		}
		if h.Last {
			break
		}
	}
	c, err := ParseCommand(r.cmdBuf)
	if err != nil {
		return ctx, nil, err
	}
	return ctx, c, nil
}

func appendAll(b []byte, src PDVSource, n int) ([]byte, error) {
	for n > 0 {
		p, err := src.Next(n)
		b = append(b, p...)
		n -= len(p)
		if err == io.EOF && n > 0 {
			return b, io.ErrUnexpectedEOF
		}
		if err != nil && err != io.EOF {
			return b, err
		}
	}
	return b, nil
}

// DataSet returns the stream of the data set that follows the command just
// read on presentation context ctx. The stream ends (io.EOF) after the PDV
// flagged last. It must be read to its end (or drained with Drain) before the
// next ReadCommand. The returned reader is reused by the next call.
func (r *Reader) DataSet(ctx byte) *DataReader {
	r.data.reset(ctx)
	return &r.data
}

// DataReader streams a data set from its PDVs.
type DataReader struct {
	src     PDVSource
	ctx     byte
	started bool // a PDV of this data set is current
	last    bool // the current PDV is the last fragment
	done    bool
	n       int64
	err     error
}

func (d *DataReader) reset(ctx byte) {
	*d = DataReader{src: d.src, ctx: ctx}
}

// Count returns the number of data set bytes read so far.
func (d *DataReader) Count() int64 { return d.n }

// Done reports whether the whole data set was read.
func (d *DataReader) Done() bool { return d.done }

// advance moves to the next PDV of the data set.
func (d *DataReader) advance() error {
	if d.err != nil {
		return d.err
	}
	if d.started && d.last {
		d.done = true
		return io.EOF
	}
	h, err := d.src.NextPDV()
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		d.err = err
		return err
	}
	if h.Command {
		d.err = &ProtocolError{Reason: abortUnexpectedParameter,
			Msg: fmt.Sprintf("command PDV on context %d inside a data set", h.ContextID)}
		return d.err
	}
	if h.ContextID != d.ctx {
		// PS3.8 Annex E.2 / PS3.7 §6.3.1: all fragments of a message use
		// the presentation context of its command.
		d.err = &ProtocolError{Reason: abortUnexpectedParameter,
			Msg: fmt.Sprintf("data PDV on context %d while the message uses context %d", h.ContextID, d.ctx)}
		return d.err
	}
	d.started = true
	d.last = h.Last
	return nil
}

// Read implements io.Reader.
func (d *DataReader) Read(p []byte) (int, error) {
	if d.done {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	for {
		if d.started {
			n, err := d.src.Read(p)
			d.n += int64(n)
			if n > 0 {
				return n, nil
			}
			if err != nil && err != io.EOF {
				d.err = err
				return 0, err
			}
		}
		if err := d.advance(); err != nil {
			return 0, err
		}
	}
}

// Next returns up to n bytes of the data set without copying; the slice is
// valid until the next call. It returns io.EOF at the end of the data set.
func (d *DataReader) Next(n int) ([]byte, error) {
	if d.done {
		return nil, io.EOF
	}
	if n <= 0 {
		return nil, nil
	}
	for {
		if d.started {
			p, err := d.src.Next(n)
			d.n += int64(len(p))
			if len(p) > 0 {
				return p, nil
			}
			if err != nil && err != io.EOF {
				d.err = err
				return nil, err
			}
		}
		if err := d.advance(); err != nil {
			return nil, err
		}
	}
}

// WriteTo copies the rest of the data set to w without an intermediate
// buffer, so io.Copy(file, dataReader) moves each byte once.
func (d *DataReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		p, err := d.Next(1 << 20)
		if len(p) > 0 {
			m, werr := w.Write(p)
			total += int64(m)
			if werr != nil {
				return total, werr
			}
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// Drain reads and discards the rest of the data set, returning the first
// error other than the end of the data set.
func (d *DataReader) Drain() error {
	_, err := d.WriteTo(io.Discard)
	return err
}
