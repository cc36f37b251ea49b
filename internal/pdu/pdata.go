package pdu

import (
	"encoding/binary"
	"fmt"
)

// Message control header bits (PS3.8 Annex E.2). Bits 2-7 are sent as 0 and
// never checked by the receiver.
const (
	mchCommand = 0x01 // the fragment holds command information
	mchLast    = 0x02 // the fragment is the last of its command or data set
)

// PDVHeader describes a presentation data value item (PS3.8 §9.3.5.1).
type PDVHeader struct {
	// ContextID is the presentation context the PDV belongs to.
	ContextID byte
	// Command is set when the fragment is part of a command set, clear for
	// a data set (message control header bit 0).
	Command bool
	// Last is set on the last fragment of the command or data set (bit 1).
	Last bool
	// Length is the length of the fragment: the item length minus the
	// context ID and the message control header.
	Length uint32
}

// PDV is a presentation data value item with its data.
type PDV struct {
	ContextID     byte
	Command, Last bool
	Data          []byte
}

// PDataTF is a P-DATA-TF PDU (PS3.8 §9.3.5). It is meant for tests and
// tools; the data path uses Reader.NextPDV and Writer.WriteMessage, which
// neither copy nor allocate per PDU.
type PDataTF struct {
	PDVs []PDV
}

// Type returns TypePDataTF.
func (*PDataTF) Type() Type { return TypePDataTF }

// AppendBinary appends the PDU, header included, to b. It fails when there
// is no PDV (PS3.8 §9.3.5: "one or more") or the PDU would be longer than
// the PDU-length field can say.
func (p *PDataTF) AppendBinary(b []byte) ([]byte, error) {
	if len(p.PDVs) == 0 {
		return b, fmt.Errorf("pdu: P-DATA-TF without PDV")
	}
	orig := len(b)
	b, start := appendHeader(b, TypePDataTF)
	for i := range p.PDVs {
		v := &p.PDVs[i]
		if uint64(len(v.Data)) > 0xFFFFFFFF-2 {
			return b[:orig], fmt.Errorf("pdu: PDV of %d bytes does not fit its item length", len(v.Data))
		}
		b = appendPDVHeader(b, v.ContextID, v.Command, v.Last, len(v.Data))
		b = append(b, v.Data...)
	}
	b, err := finishPDU(b, start)
	if err != nil {
		return b[:orig], err
	}
	return b, nil
}

// appendPDVHeader appends the header of a PDV item carrying n bytes.
func appendPDVHeader(b []byte, ctx byte, command, last bool, n int) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(n)+2)
	mch := byte(0)
	if command {
		mch |= mchCommand
	}
	if last {
		mch |= mchLast
	}
	return append(b, ctx, mch)
}

// decodePDVHeader decodes the 6 bytes of a PDV item header.
func decodePDVHeader(b []byte) (itemLength uint32, h PDVHeader) {
	itemLength = binary.BigEndian.Uint32(b)
	h = PDVHeader{ContextID: b[4], Command: b[5]&mchCommand != 0, Last: b[5]&mchLast != 0}
	if itemLength >= 2 {
		h.Length = itemLength - 2
	}
	return itemLength, h
}

// ParsePDataTF decodes the body of a P-DATA-TF PDU. The PDVs' data is
// copied. Errors are *ParseError.
func ParsePDataTF(body []byte) (*PDataTF, error) {
	p := &PDataTF{}
	off := 0
	for off < len(body) {
		if len(body)-off < PDVHeaderLength {
			return nil, &ParseError{PDU: TypePDataTF, Offset: off, Reason: AbortReasonInvalidPDUParameterValue,
				Msg: fmt.Sprintf("%d bytes left, too few for a PDV item header", len(body)-off)}
		}
		n, h := decodePDVHeader(body[off:])
		if err := checkPDVLength(n, uint64(len(body)-off), off); err != nil {
			return nil, err
		}
		data := body[off+PDVHeaderLength : off+4+int(n)]
		p.PDVs = append(p.PDVs, PDV{ContextID: h.ContextID, Command: h.Command, Last: h.Last, Data: cloneBytes(data)})
		off += 4 + int(n)
	}
	if len(p.PDVs) == 0 {
		return nil, &ParseError{PDU: TypePDataTF, Offset: 0, Reason: AbortReasonInvalidPDUParameterValue,
			Msg: "no PDV item"}
	}
	return p, nil
}

// checkPDVLength checks the item length n of a PDV at offset off when left
// bytes of the PDU body remain from the start of the item.
func checkPDVLength(n uint32, left uint64, off int) error {
	if n < 2 {
		return &ParseError{PDU: TypePDataTF, Offset: off, Reason: AbortReasonInvalidPDUParameterValue,
			Msg: fmt.Sprintf("PDV item length %d, shorter than the context ID and message control header", n)}
	}
	if uint64(n) > left-4 {
		return &ParseError{PDU: TypePDataTF, Offset: off, Reason: AbortReasonInvalidPDUParameterValue,
			Msg: fmt.Sprintf("PDV item length %d runs past the PDU (%d bytes left)", n, left-4)}
	}
	return nil
}
