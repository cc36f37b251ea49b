package pdu

import (
	"encoding/binary"
	"fmt"
	"io"
)

// Writer writes PDUs to a byte stream, each with a single Write call, from
// a buffer reused between calls. A Writer is not safe for concurrent use.
type Writer struct {
	w   io.Writer
	buf []byte
}

// NewWriter returns a Writer that writes to w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: w}
}

// send writes the PDU b (built in w.buf) and keeps the buffer for reuse.
func (w *Writer) send(t Type, b []byte) error {
	w.buf = b[:0]
	if _, err := w.w.Write(b); err != nil {
		return fmt.Errorf("pdu: writing %v: %w", t, err)
	}
	return nil
}

// WriteAssociateRQ writes an A-ASSOCIATE-RQ PDU.
func (w *Writer) WriteAssociateRQ(rq *AssociateRQ) error {
	b, err := rq.AppendBinary(w.buf[:0])
	if err != nil {
		return err
	}
	return w.send(TypeAssociateRQ, b)
}

// WriteAssociateAC writes an A-ASSOCIATE-AC PDU.
func (w *Writer) WriteAssociateAC(ac *AssociateAC) error {
	b, err := ac.AppendBinary(w.buf[:0])
	if err != nil {
		return err
	}
	return w.send(TypeAssociateAC, b)
}

// WriteAssociateRJ writes an A-ASSOCIATE-RJ PDU.
func (w *Writer) WriteAssociateRJ(rj *AssociateRJ) error {
	return w.send(TypeAssociateRJ, rj.Append(w.buf[:0]))
}

// WriteReleaseRQ writes an A-RELEASE-RQ PDU.
func (w *Writer) WriteReleaseRQ() error {
	return w.send(TypeReleaseRQ, (&ReleaseRQ{}).Append(w.buf[:0]))
}

// WriteReleaseRP writes an A-RELEASE-RP PDU.
func (w *Writer) WriteReleaseRP() error {
	return w.send(TypeReleaseRP, (&ReleaseRP{}).Append(w.buf[:0]))
}

// WriteAbort writes an A-ABORT PDU.
func (w *Writer) WriteAbort(a *Abort) error {
	return w.send(TypeAbort, a.Append(w.buf[:0]))
}

// WritePDataTF writes a P-DATA-TF PDU holding the PDVs of p as they are.
func (w *Writer) WritePDataTF(p *PDataTF) error {
	b, err := p.AppendBinary(w.buf[:0])
	if err != nil {
		return err
	}
	return w.send(TypePDataTF, b)
}

// WriteMessage writes a command set (command true) or a data set as
// P-DATA-TF PDUs of one PDV each on presentation context ctxID (PS3.8 Annex
// E). The PDU-length field of each PDU, which counts the 6-byte PDV header,
// is at most maxPDU, the peer's maximum length sub-item; 0 means no maximum
// (PS3.8 Annex D.1). Whatever maxPDU says, PDUs are kept to
// MaxSendPDULength. Every fragment but the last has an even length (PS3.8
// Annex E.1); the last has the last-fragment bit set. An empty data slice
// still sends one PDV. A maxPDU from 1 to MinPDataPDULength-1 leaves no
// room for a fragment: WriteMessage then writes nothing and returns an
// error wrapping ErrMaxPDUTooSmall. Once the Writer's buffer has grown,
// WriteMessage allocates nothing.
func (w *Writer) WriteMessage(ctxID byte, command bool, data []byte, maxPDU uint32) error {
	limit := maxPDU
	if limit == 0 || limit > MaxSendPDULength {
		limit = MaxSendPDULength
	}
	if limit < MinPDataPDULength {
		return fmt.Errorf("%w: %d bytes, need at least %d", ErrMaxPDUTooSmall, maxPDU, MinPDataPDULength)
	}
	frag := int(limit-PDVHeaderLength) &^ 1
	for {
		n := min(frag, len(data))
		last := n == len(data)
		b := append(w.buf[:0], byte(TypePDataTF), 0)
		b = binary.BigEndian.AppendUint32(b, uint32(PDVHeaderLength+n))
		b = appendPDVHeader(b, ctxID, command, last, n)
		b = append(b, data[:n]...)
		if err := w.send(TypePDataTF, b); err != nil {
			return err
		}
		if last {
			return nil
		}
		data = data[n:]
	}
}
