package pdu

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Type is the PDU-type field, the first byte of every PDU (PS3.8 §9.3.1).
type Type uint8

// The seven PDU types of PS3.8 §9.3.
const (
	TypeAssociateRQ Type = 0x01
	TypeAssociateAC Type = 0x02
	TypeAssociateRJ Type = 0x03
	TypePDataTF     Type = 0x04
	TypeReleaseRQ   Type = 0x05
	TypeReleaseRP   Type = 0x06
	TypeAbort       Type = 0x07
)

// String returns the standard's name of the PDU type, or "PDU type 0xNN"
// for a value the standard does not define.
func (t Type) String() string {
	switch t {
	case TypeAssociateRQ:
		return "A-ASSOCIATE-RQ"
	case TypeAssociateAC:
		return "A-ASSOCIATE-AC"
	case TypeAssociateRJ:
		return "A-ASSOCIATE-RJ"
	case TypePDataTF:
		return "P-DATA-TF"
	case TypeReleaseRQ:
		return "A-RELEASE-RQ"
	case TypeReleaseRP:
		return "A-RELEASE-RP"
	case TypeAbort:
		return "A-ABORT"
	}
	return fmt.Sprintf("PDU type 0x%02X", uint8(t))
}

// Sizes and limits of the protocol.
const (
	// HeaderLength is the length of the PDU header: type, reserved byte and
	// the 4-byte PDU length (PS3.8 §9.3.1).
	HeaderLength = 6
	// PDVHeaderLength is the length of a PDV item's header as counted in
	// the P-DATA-TF PDU length: the 4-byte item length, the presentation
	// context ID and the message control header (PS3.8 §9.3.5.1, Annex E.2).
	PDVHeaderLength = 6
	// MaxPresentationContexts is the largest number of presentation
	// context items an A-ASSOCIATE-RQ or -AC may hold: their IDs are odd
	// integers from 1 to 255 (PS3.8 §9.3.2.2).
	MaxPresentationContexts = 128
	// MinPDataPDULength is the smallest maximum PDU length that
	// Writer.WriteMessage can honour: a PDV header and one fragment of two
	// bytes, since every fragment but the last has an even length (PS3.8
	// Annex E.1: "Each fragment of a message shall consist of an even number
	// of bytes").
	MinPDataPDULength = PDVHeaderLength + 2
	// MaxSendPDULength caps the P-DATA-TF PDUs that Writer.WriteMessage
	// builds, whatever the peer allows (0, "no maximum", included). It keeps
	// the writer's buffer bounded.
	MaxSendPDULength = 1 << 20
	// DefaultBufferSize is the read buffer NewReader uses when asked for a
	// size of 0 or less.
	DefaultBufferSize = 64 << 10

	// fixedAssociateLength is the length of the fixed fields of an
	// A-ASSOCIATE-RQ or -AC body: protocol version, reserved, called AE,
	// calling AE and 32 reserved bytes (PDU bytes 7-74).
	fixedAssociateLength = 2 + 2 + 16 + 16 + 32
	// fixedShortLength is the body length of A-ASSOCIATE-RJ, A-RELEASE-RQ,
	// A-RELEASE-RP and A-ABORT (PS3.8 §9.3.4, §9.3.6 to §9.3.8).
	fixedShortLength = 4
	maxItemLength    = 0xFFFF
)

// Well-known values used in association negotiation.
const (
	// ProtocolVersion1 is the protocol-version field of this version of the
	// DICOM UL protocol: bit 0 set (PS3.8 §9.3.2).
	ProtocolVersion1 uint16 = 0x0001
	// ApplicationContextName is the DICOM application context name (PS3.7
	// Annex A.2.1).
	ApplicationContextName = "1.2.840.10008.3.1.1.1"
	// ImplicitVRLittleEndian is the default transfer syntax (PS3.5 §10.1),
	// sent in the transfer syntax sub-item of a context that is not
	// accepted when no other is given.
	ImplicitVRLittleEndian = "1.2.840.10008.1.2"
)

// Result/reason values of a presentation context item in an
// A-ASSOCIATE-AC (PS3.8 Table 9-18).
const (
	ResultAcceptance                   byte = 0
	ResultUserRejection                byte = 1
	ResultNoReason                     byte = 2 // provider rejection
	ResultAbstractSyntaxNotSupported   byte = 3 // provider rejection
	ResultTransferSyntaxesNotSupported byte = 4 // provider rejection
)

// Fields of an A-ASSOCIATE-RJ (PS3.8 Table 9-21). Reason values depend on
// the source.
const (
	RejectedPermanent byte = 1
	RejectedTransient byte = 2

	RejectSourceServiceUser  byte = 1 // DICOM UL service-user
	RejectSourceACSE         byte = 2 // DICOM UL service-provider, ACSE related function
	RejectSourcePresentation byte = 3 // DICOM UL service-provider, presentation related function

	// Reasons when the source is RejectSourceServiceUser.
	RejectReasonNoReason               byte = 1
	RejectReasonAppContextNotSupported byte = 2
	RejectReasonCallingAENotRecognized byte = 3
	RejectReasonCalledAENotRecognized  byte = 7

	// Reasons when the source is RejectSourceACSE.
	RejectReasonACSENoReason               byte = 1
	RejectReasonProtocolVersionUnsupported byte = 2

	// Reasons when the source is RejectSourcePresentation.
	RejectReasonTemporaryCongestion byte = 1
	RejectReasonLocalLimitExceeded  byte = 2
)

// Fields of an A-ABORT (PS3.8 Table 9-26). The reason is significant only
// when the source is the service-provider; it is 0 otherwise.
const (
	AbortSourceServiceUser     byte = 0
	AbortSourceServiceProvider byte = 2

	AbortReasonNotSpecified             byte = 0
	AbortReasonUnrecognizedPDU          byte = 1
	AbortReasonUnexpectedPDU            byte = 2
	AbortReasonUnrecognizedPDUParameter byte = 4
	AbortReasonUnexpectedPDUParameter   byte = 5
	AbortReasonInvalidPDUParameterValue byte = 6
)

// User-identity-type values of the user identity negotiation sub-item
// (PS3.7 Table D.3-14).
const (
	UserIdentityUsername         byte = 1
	UserIdentityUsernamePasscode byte = 2
	UserIdentityKerberos         byte = 3
	UserIdentitySAML             byte = 4
	UserIdentityJWT              byte = 5
)

// Item types of the variable fields (PS3.8 §9.3.2, Annex D; PS3.7 D.3.3).
const (
	itemApplicationContext    = 0x10
	itemPresentationContextRQ = 0x20
	itemPresentationContextAC = 0x21
	itemAbstractSyntax        = 0x30
	itemTransferSyntax        = 0x40
	itemUserInfo              = 0x50
	itemMaxLength             = 0x51
	itemImplClassUID          = 0x52
	itemAsyncOps              = 0x53
	itemRoleSelection         = 0x54
	itemImplVersionName       = 0x55
	itemExtNeg                = 0x56
	itemCommonExtNeg          = 0x57
	itemUserIdentityRQ        = 0x58
	itemUserIdentityAC        = 0x59
)

// Header is a PDU header.
type Header struct {
	Type Type
	// Length is the PDU-length field: the number of bytes that follow the
	// header.
	Length uint32
}

// Message is a decoded PDU: *AssociateRQ, *AssociateAC, *AssociateRJ,
// *PDataTF, *ReleaseRQ, *ReleaseRP or *Abort.
type Message interface {
	// Type returns the PDU type of the message.
	Type() Type
}

// ParseError describes a PDU that violates the structure of PS3.8 §9.3.
// The association that received it is to be aborted with Reason.
type ParseError struct {
	// PDU is the type of the PDU being parsed.
	PDU Type
	// Offset is the offset in the PDU body (the bytes after the 6-byte
	// header) of the field or item at fault; the length of the body when a
	// mandatory item is missing.
	Offset int
	// Reason is the A-ABORT reason to send (service-provider source):
	// usually AbortReasonUnrecognizedPDUParameter,
	// AbortReasonUnexpectedPDUParameter or
	// AbortReasonInvalidPDUParameterValue; AbortReasonUnrecognizedPDU from
	// ParseBody for an undefined PDU type.
	Reason byte
	// Msg says what is wrong.
	Msg string
}

// Error returns a description of the error with its offset.
func (e *ParseError) Error() string {
	return fmt.Sprintf("pdu: malformed %v at offset %d: %s", e.PDU, e.Offset, e.Msg)
}

// ErrTooLong is matched by errors.Is for every *TooLongError.
var ErrTooLong = errors.New("pdu: PDU longer than allowed")

// TooLongError is returned by Reader.ReadBody for a PDU whose length exceeds
// the caller's limit. The body has not been read.
type TooLongError struct {
	PDU    Type
	Length uint32 // the PDU-length field
	Max    uint32 // the caller's limit
}

// Error returns a description of the error.
func (e *TooLongError) Error() string {
	return fmt.Sprintf("pdu: %v of %d bytes exceeds the limit of %d", e.PDU, e.Length, e.Max)
}

// Unwrap returns ErrTooLong.
func (e *TooLongError) Unwrap() error { return ErrTooLong }

// ErrMaxPDUTooSmall is returned (wrapped) by Writer.WriteMessage when the
// maximum PDU length leaves no room for a fragment.
var ErrMaxPDUTooSmall = errors.New("pdu: maximum PDU length too small for a P-DATA-TF PDU")

// PadAE returns s as a 16-byte AE title field, padded with trailing spaces
// (PS3.8 §9.3.2). A longer s is truncated to 16 bytes; checking the title is
// the caller's job.
func PadAE(s string) [16]byte {
	var b [16]byte
	n := copy(b[:], s)
	for i := n; i < len(b); i++ {
		b[i] = ' '
	}
	return b
}

// TrimAE returns the AE title in b without its leading and trailing spaces,
// which are not significant (PS3.8 §9.3.2).
func TrimAE(b [16]byte) string {
	s, e := 0, len(b)
	for s < e && b[s] == ' ' {
		s++
	}
	for e > s && b[e-1] == ' ' {
		e--
	}
	return string(b[s:e])
}

// Parse decodes a complete PDU, header included. The PDU-length field must
// match len(b) - HeaderLength exactly.
func Parse(b []byte) (Message, error) {
	if len(b) < HeaderLength {
		var t Type
		if len(b) > 0 {
			t = Type(b[0])
		}
		return nil, &ParseError{PDU: t, Offset: 0, Reason: AbortReasonInvalidPDUParameterValue,
			Msg: fmt.Sprintf("%d bytes, shorter than a PDU header", len(b))}
	}
	t := Type(b[0])
	n := binary.BigEndian.Uint32(b[2:6])
	if uint64(n) != uint64(len(b)-HeaderLength) {
		return nil, &ParseError{PDU: t, Offset: 0, Reason: AbortReasonInvalidPDUParameterValue,
			Msg: fmt.Sprintf("PDU length %d but %d bytes follow the header", n, len(b)-HeaderLength)}
	}
	return ParseBody(t, b[HeaderLength:])
}

// ParseBody decodes the body of a PDU of type t. An undefined type is a
// *ParseError with reason AbortReasonUnrecognizedPDU. The result does not
// refer to body.
func ParseBody(t Type, body []byte) (Message, error) {
	switch t {
	case TypeAssociateRQ:
		return ParseAssociateRQ(body)
	case TypeAssociateAC:
		return ParseAssociateAC(body)
	case TypeAssociateRJ:
		return ParseAssociateRJ(body)
	case TypePDataTF:
		return ParsePDataTF(body)
	case TypeReleaseRQ:
		return ParseReleaseRQ(body)
	case TypeReleaseRP:
		return ParseReleaseRP(body)
	case TypeAbort:
		return ParseAbort(body)
	}
	return nil, &ParseError{PDU: t, Offset: 0, Reason: AbortReasonUnrecognizedPDU, Msg: "undefined PDU type"}
}

// appendHeader appends a PDU header with a zero length, to be set by
// finishPDU, and returns the offset of the body.
func appendHeader(b []byte, t Type) ([]byte, int) {
	b = append(b, byte(t), 0, 0, 0, 0, 0)
	return b, len(b)
}

// finishPDU sets the length of the PDU whose body starts at start.
func finishPDU(b []byte, start int) ([]byte, error) {
	n := len(b) - start
	if uint64(n) > 0xFFFFFFFF {
		return b, fmt.Errorf("pdu: PDU body of %d bytes does not fit the PDU-length field", n)
	}
	binary.BigEndian.PutUint32(b[start-4:start], uint32(n))
	return b, nil
}

// trimUID removes one trailing NUL, the padding PS3.5 §9.1 prescribes for
// UIDs in data sets and that some implementations also send in PDUs.
func trimUID(b []byte) string {
	if n := len(b); n > 0 && b[n-1] == 0 {
		b = b[:n-1]
	}
	return string(b)
}

// cloneBytes copies b; an empty b gives nil.
func cloneBytes(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}
