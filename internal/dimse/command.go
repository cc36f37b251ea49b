// Package dimse encodes and decodes DIMSE command sets (PS3.7 §9.3, §E) and
// reassembles the PDVs of a DIMSE message into a command and a streaming data
// set reader.
//
// It knows PDVs but not the association state machine: the association
// supplies the PDVs through the PDVSource interface.
package dimse

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// Command field values (PS3.7 §E.1).
const (
	CStoreRQ        uint16 = 0x0001
	CStoreRSP       uint16 = 0x8001
	CGetRQ          uint16 = 0x0010
	CFindRQ         uint16 = 0x0020
	CMoveRQ         uint16 = 0x0021
	CEchoRQ         uint16 = 0x0030
	CEchoRSP        uint16 = 0x8030
	NEventReportRQ  uint16 = 0x0100
	NGetRQ          uint16 = 0x0110
	NSetRQ          uint16 = 0x0120
	NActionRQ       uint16 = 0x0130
	NCreateRQ       uint16 = 0x0140
	NDeleteRQ       uint16 = 0x0150
	CCancelRQ       uint16 = 0x0FFF
	responseBit     uint16 = 0x8000
	noDataSet       uint16 = 0x0101 // Command Data Set Type: no data set (PS3.7 §E.1)
	dataSetPresent  uint16 = 0x0000 // any value other than 0x0101 means a data set follows
	maxErrorComment        = 64     // Error Comment is LO: at most 64 characters
)

// Command-set element tags (group 0000, PS3.7 §E.1).
const (
	tagCommandGroupLength        = 0x00000000
	tagAffectedSOPClassUID       = 0x00000002
	tagRequestedSOPClassUID      = 0x00000003
	tagCommandField              = 0x00000100
	tagMessageID                 = 0x00000110
	tagMessageIDBeingRespondedTo = 0x00000120
	tagMoveDestination           = 0x00000600
	tagPriority                  = 0x00000700
	tagCommandDataSetType        = 0x00000800
	tagStatus                    = 0x00000900
	tagOffendingElement          = 0x00000901
	tagErrorComment              = 0x00000902
	tagErrorID                   = 0x00000903
	tagAffectedSOPInstanceUID    = 0x00001000
	tagRequestedSOPInstanceUID   = 0x00001001
	tagMoveOriginatorAETitle     = 0x00001030
	tagMoveOriginatorMessageID   = 0x00001031
)

// CommandName returns a readable name for a command field value.
func CommandName(field uint16) string {
	switch field {
	case CStoreRQ:
		return "C-STORE-RQ"
	case CStoreRSP:
		return "C-STORE-RSP"
	case CGetRQ:
		return "C-GET-RQ"
	case CFindRQ:
		return "C-FIND-RQ"
	case CMoveRQ:
		return "C-MOVE-RQ"
	case CEchoRQ:
		return "C-ECHO-RQ"
	case CEchoRSP:
		return "C-ECHO-RSP"
	case NEventReportRQ:
		return "N-EVENT-REPORT-RQ"
	case NGetRQ:
		return "N-GET-RQ"
	case NSetRQ:
		return "N-SET-RQ"
	case NActionRQ:
		return "N-ACTION-RQ"
	case NCreateRQ:
		return "N-CREATE-RQ"
	case NDeleteRQ:
		return "N-DELETE-RQ"
	case CCancelRQ:
		return "C-CANCEL-RQ"
	}
	return fmt.Sprintf("command 0x%04X", field)
}

// Command is a decoded command set. Only the elements the receiver uses are
// kept; the Has* fields say which of the optional ones were present.
type Command struct {
	Field                     uint16
	MessageID                 uint16
	MessageIDBeingRespondedTo uint16
	AffectedSOPClassUID       string
	AffectedSOPInstanceUID    string
	RequestedSOPClassUID      string
	Priority                  uint16
	DataSetType               uint16
	Status                    uint16
	ErrorComment              string
	MoveOriginatorAETitle     string
	MoveOriginatorMessageID   uint16

	HasField, HasMessageID, HasDataSetType bool
	HasMessageIDBeingRespondedTo           bool
	HasMoveOriginatorMessageID             bool
}

// HasDataSet reports whether a data set follows the command (Command Data
// Set Type other than 0101H, PS3.7 §E.1).
func (c *Command) HasDataSet() bool { return c.HasDataSetType && c.DataSetType != noDataSet }

// IsResponse reports whether the command field has the response bit.
func (c *Command) IsResponse() bool { return c.Field&responseBit != 0 }

// MaxCommandLength bounds the bytes of one command set. Real command sets are
// a few hundred bytes; a C-MOVE or N-ACTION with every optional element stays
// far below this.
const MaxCommandLength = 64 << 10

// ErrCommand is wrapped by every command decoding error.
var ErrCommand = errors.New("dimse: malformed command set")

// ParseCommand decodes a command set: group 0000 elements in implicit VR
// little endian (PS3.7 §6.3.1). Unknown group 0000 elements are ignored;
// elements of any other group are an error.
func ParseCommand(b []byte) (*Command, error) {
	if len(b) > MaxCommandLength {
		return nil, fmt.Errorf("%w: %d bytes (limit %d)", ErrCommand, len(b), MaxCommandLength)
	}
	c := &Command{}
	var prev uint32
	for off := 0; off < len(b); {
		if len(b)-off < 8 {
			return nil, fmt.Errorf("%w: truncated element header at offset %d", ErrCommand, off)
		}
		tag := uint32(binary.LittleEndian.Uint16(b[off:]))<<16 | uint32(binary.LittleEndian.Uint16(b[off+2:]))
		n := binary.LittleEndian.Uint32(b[off+4:])
		off += 8
		if tag>>16 != 0 {
			return nil, fmt.Errorf("%w: element (%04X,%04X) outside group 0000", ErrCommand, tag>>16, tag&0xFFFF)
		}
		if off > 8 && tag <= prev {
			return nil, fmt.Errorf("%w: element (0000,%04X) out of order", ErrCommand, tag&0xFFFF)
		}
		prev = tag
		if uint64(n) > uint64(len(b)-off) {
			return nil, fmt.Errorf("%w: element (0000,%04X) length %d overruns the command set", ErrCommand, tag&0xFFFF, n)
		}
		v := b[off : off+int(n)]
		off += int(n)
		var err error
		switch tag {
		case tagCommandField:
			c.Field, err = us(v, tag)
			c.HasField = err == nil
		case tagMessageID:
			c.MessageID, err = us(v, tag)
			c.HasMessageID = err == nil
		case tagMessageIDBeingRespondedTo:
			c.MessageIDBeingRespondedTo, err = us(v, tag)
			c.HasMessageIDBeingRespondedTo = err == nil
		case tagAffectedSOPClassUID:
			c.AffectedSOPClassUID = trimUID(v)
		case tagAffectedSOPInstanceUID:
			c.AffectedSOPInstanceUID = trimUID(v)
		case tagRequestedSOPClassUID:
			c.RequestedSOPClassUID = trimUID(v)
		case tagPriority:
			c.Priority, err = us(v, tag)
		case tagCommandDataSetType:
			c.DataSetType, err = us(v, tag)
			c.HasDataSetType = err == nil
		case tagStatus:
			c.Status, err = us(v, tag)
		case tagErrorComment:
			c.ErrorComment = strings.TrimRight(string(v), " \x00")
		case tagMoveOriginatorAETitle:
			c.MoveOriginatorAETitle = strings.TrimSpace(string(v))
		case tagMoveOriginatorMessageID:
			c.MoveOriginatorMessageID, err = us(v, tag)
			c.HasMoveOriginatorMessageID = err == nil
		}
		if err != nil {
			return nil, err
		}
	}
	return c, nil
}

func us(v []byte, tag uint32) (uint16, error) {
	if len(v) != 2 {
		return 0, fmt.Errorf("%w: element (0000,%04X) has length %d, want 2 (US)", ErrCommand, tag&0xFFFF, len(v))
	}
	return binary.LittleEndian.Uint16(v), nil
}

func trimUID(v []byte) string {
	return strings.TrimRight(string(v), "\x00 ")
}

// AppendCommand appends the encoding of c (implicit VR little endian, with
// its Command Group Length) to b. Only the fields that a response of c's kind
// carries are written: for a response, Message ID Being Responded To, Status
// and, when set, Error Comment; for a request, Message ID and Priority (C-STORE).
func AppendCommand(b []byte, c *Command) []byte {
	start := len(b)
	b = appendUL(b, tagCommandGroupLength, 0) // patched below
	bodyStart := len(b)
	if c.AffectedSOPClassUID != "" {
		b = appendUI(b, tagAffectedSOPClassUID, c.AffectedSOPClassUID)
	}
	b = appendUS(b, tagCommandField, c.Field)
	if c.IsResponse() {
		b = appendUS(b, tagMessageIDBeingRespondedTo, c.MessageIDBeingRespondedTo)
	} else {
		b = appendUS(b, tagMessageID, c.MessageID)
		if c.Field == CStoreRQ {
			b = appendUS(b, tagPriority, c.Priority)
		}
	}
	dst := c.DataSetType
	if !c.HasDataSetType {
		dst = noDataSet
	}
	b = appendUS(b, tagCommandDataSetType, dst)
	if c.IsResponse() {
		b = appendUS(b, tagStatus, c.Status)
		if c.ErrorComment != "" {
			b = appendText(b, tagErrorComment, TruncateComment(c.ErrorComment), ' ')
		}
	}
	if c.AffectedSOPInstanceUID != "" {
		b = appendUI(b, tagAffectedSOPInstanceUID, c.AffectedSOPInstanceUID)
	}
	if !c.IsResponse() && c.MoveOriginatorAETitle != "" {
		b = appendText(b, tagMoveOriginatorAETitle, c.MoveOriginatorAETitle, ' ')
		b = appendUS(b, tagMoveOriginatorMessageID, c.MoveOriginatorMessageID)
	}
	binary.LittleEndian.PutUint32(b[start+8:], uint32(len(b)-bodyStart))
	return b
}

// TruncateComment makes s fit an Error Comment (LO, at most 64 characters,
// no backslash or control characters: PS3.5 Table 6.2-1).
func TruncateComment(s string) string {
	var sb strings.Builder
	for _, r := range s {
		if sb.Len() >= maxErrorComment {
			break
		}
		if r == '\\' || r < 0x20 || r == 0x7F || r > 0x7E {
			r = ' '
		}
		sb.WriteRune(r)
	}
	return strings.TrimRight(sb.String(), " ")
}

func appendHeader(b []byte, tag uint32, n int) []byte {
	b = binary.LittleEndian.AppendUint16(b, uint16(tag>>16))
	b = binary.LittleEndian.AppendUint16(b, uint16(tag))
	return binary.LittleEndian.AppendUint32(b, uint32(n))
}

func appendUS(b []byte, tag uint32, v uint16) []byte {
	b = appendHeader(b, tag, 2)
	return binary.LittleEndian.AppendUint16(b, v)
}

func appendUL(b []byte, tag uint32, v uint32) []byte {
	b = appendHeader(b, tag, 4)
	return binary.LittleEndian.AppendUint32(b, v)
}

// appendUI writes a UID padded with NUL to even length (PS3.5 §9.1).
func appendUI(b []byte, tag uint32, v string) []byte {
	return appendText(b, tag, v, 0)
}

func appendText(b []byte, tag uint32, v string, pad byte) []byte {
	n := len(v) + len(v)&1
	b = appendHeader(b, tag, n)
	b = append(b, v...)
	if len(v)&1 == 1 {
		b = append(b, pad)
	}
	return b
}
