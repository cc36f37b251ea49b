// Package dicom holds the data-element layer of dicomrecv: tags, value
// representations, the standard dictionary and UID registry, and a streaming
// reader for data sets in every standard transfer syntax (PS3.5).
//
// It knows nothing of the network or of storage.
package dicom

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Tag is a data element tag, group in the high 16 bits and element in the
// low 16 bits (PS3.5 §7.1.1), so that tags order as the standard orders them.
type Tag uint32

// NewTag returns the tag (group,element).
func NewTag(group, element uint16) Tag { return Tag(uint32(group)<<16 | uint32(element)) }

// Group returns the tag's group number.
func (t Tag) Group() uint16 { return uint16(t >> 16) }

// Element returns the tag's element number.
func (t Tag) Element() uint16 { return uint16(t) }

// IsPrivate reports whether t is a private tag (odd group, PS3.5 §7.8).
func (t Tag) IsPrivate() bool { return t.Group()&1 == 1 }

// IsGroupLength reports whether t is a group length element (gggg,0000).
func (t Tag) IsGroupLength() bool { return t.Element() == 0 }

// String formats t as "(gggg,eeee)" with upper-case hex digits, as DICOM
// tools print it.
func (t Tag) String() string {
	const hex = "0123456789ABCDEF"
	var b [11]byte
	b[0] = '('
	for i := 0; i < 4; i++ {
		b[1+i] = hex[(t>>(28-4*i))&0xF]
		b[6+i] = hex[(t>>(12-4*i))&0xF]
	}
	b[5] = ','
	b[10] = ')'
	return string(b[:])
}

// Hex formats t as eight hex digits, "ggggeeee", the form of the seed's
// custom tags.
func (t Tag) Hex() string { return fmt.Sprintf("%08X", uint32(t)) }

// Well-known tags used by the receiver itself.
const (
	TagFileMetaInformationGroupLength  Tag = 0x00020000
	TagFileMetaInformationVersion      Tag = 0x00020001
	TagMediaStorageSOPClassUID         Tag = 0x00020002
	TagMediaStorageSOPInstanceUID      Tag = 0x00020003
	TagTransferSyntaxUID               Tag = 0x00020010
	TagImplementationClassUID          Tag = 0x00020012
	TagImplementationVersionName       Tag = 0x00020013
	TagSourceApplicationEntityTitle    Tag = 0x00020016
	TagSendingApplicationEntityTitle   Tag = 0x00020017
	TagReceivingApplicationEntityTitle Tag = 0x00020018

	TagSpecificCharacterSet Tag = 0x00080005
	TagSOPClassUID          Tag = 0x00080016
	TagSOPInstanceUID       Tag = 0x00080018
	TagStudyInstanceUID     Tag = 0x0020000D
	TagSeriesInstanceUID    Tag = 0x0020000E

	TagFloatPixelData       Tag = 0x7FE00008
	TagDoubleFloatPixelData Tag = 0x7FE00009
	TagPixelData            Tag = 0x7FE00010

	// Item and delimitation tags (PS3.5 §7.5).
	TagItem                     Tag = 0xFFFEE000
	TagItemDelimitationItem     Tag = 0xFFFEE00D
	TagSequenceDelimitationItem Tag = 0xFFFEE0DD
)

// IsPixelData reports whether t is one of the three pixel data tags
// (Pixel Data, Float Pixel Data, Double Float Pixel Data), where the
// receiver stops parsing a top-level data set.
func (t Tag) IsPixelData() bool {
	return t == TagPixelData || t == TagFloatPixelData || t == TagDoubleFloatPixelData
}

// ErrBadTag is returned by ParseTag for text that is not a tag.
var ErrBadTag = errors.New("not a tag: want 8 hex digits (00100010) or (gggg,eeee)")

// ParseTag parses a tag written as eight hex digits ("00100010"), as
// "(0010,0010)" or as "0010,0010". Hex digits may be upper or lower case.
func ParseTag(s string) (Tag, error) {
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "(") && strings.HasSuffix(t, ")") {
		t = t[1 : len(t)-1]
	}
	if len(t) == 9 && t[4] == ',' {
		t = t[:4] + t[5:]
	}
	if len(t) != 8 {
		return 0, fmt.Errorf("%q: %w", s, ErrBadTag)
	}
	v, err := strconv.ParseUint(t, 16, 32)
	if err != nil {
		return 0, fmt.Errorf("%q: %w", s, ErrBadTag)
	}
	return Tag(v), nil
}

// VR is a value representation (PS3.5 §6.2), the two ASCII characters packed
// big-endian into 16 bits ('C'<<8 | 'S' for CS). The zero VR means "unknown".
type VR uint16

// The value representations of PS3.5 §6.2.
const (
	AE VR = 'A'<<8 | 'E'
	AS VR = 'A'<<8 | 'S'
	AT VR = 'A'<<8 | 'T'
	CS VR = 'C'<<8 | 'S'
	DA VR = 'D'<<8 | 'A'
	DS VR = 'D'<<8 | 'S'
	DT VR = 'D'<<8 | 'T'
	FD VR = 'F'<<8 | 'D'
	FL VR = 'F'<<8 | 'L'
	IS VR = 'I'<<8 | 'S'
	LO VR = 'L'<<8 | 'O'
	LT VR = 'L'<<8 | 'T'
	OB VR = 'O'<<8 | 'B'
	OD VR = 'O'<<8 | 'D'
	OF VR = 'O'<<8 | 'F'
	OL VR = 'O'<<8 | 'L'
	OV VR = 'O'<<8 | 'V'
	OW VR = 'O'<<8 | 'W'
	PN VR = 'P'<<8 | 'N'
	SH VR = 'S'<<8 | 'H'
	SL VR = 'S'<<8 | 'L'
	SQ VR = 'S'<<8 | 'Q'
	SS VR = 'S'<<8 | 'S'
	ST VR = 'S'<<8 | 'T'
	SV VR = 'S'<<8 | 'V'
	TM VR = 'T'<<8 | 'M'
	UC VR = 'U'<<8 | 'C'
	UI VR = 'U'<<8 | 'I'
	UL VR = 'U'<<8 | 'L'
	UN VR = 'U'<<8 | 'N'
	UR VR = 'U'<<8 | 'R'
	US VR = 'U'<<8 | 'S'
	UT VR = 'U'<<8 | 'T'
	UV VR = 'U'<<8 | 'V'
)

// String returns the VR's two letters, or "??" for the zero VR.
func (v VR) String() string {
	if v == 0 {
		return "??"
	}
	return string([]byte{byte(v >> 8), byte(v)})
}

// VRFromBytes returns the VR spelled by the two bytes and whether it is one
// of the standard VRs.
func VRFromBytes(a, b byte) (VR, bool) {
	v := VR(a)<<8 | VR(b)
	return v, v.Known()
}

// Known reports whether v is one of the VRs of PS3.5 §6.2.
func (v VR) Known() bool {
	switch v {
	case AE, AS, AT, CS, DA, DS, DT, FD, FL, IS, LO, LT, OB, OD, OF, OL, OV, OW,
		PN, SH, SL, SQ, SS, ST, SV, TM, UC, UI, UL, UN, UR, US, UT, UV:
		return true
	}
	return false
}

// LongLength reports whether an explicit-VR element of this VR has the
// 12-byte header with a 32-bit length (PS3.5 §7.1.2, Table 7.1-1).
func (v VR) LongLength() bool {
	switch v {
	case OB, OD, OF, OL, OV, OW, SQ, SV, UC, UN, UR, UT, UV:
		return true
	}
	return false
}

// IsBulk reports whether values of this VR are binary bulk data (OB, OD, OF,
// OL, OV, OW, UN), which the receiver does not render as text.
func (v VR) IsBulk() bool {
	switch v {
	case OB, OD, OF, OL, OV, OW, UN:
		return true
	}
	return false
}

// IsText reports whether values of this VR are character strings.
func (v VR) IsText() bool {
	switch v {
	case AE, AS, CS, DA, DS, DT, IS, LO, LT, PN, SH, ST, TM, UC, UI, UR, UT:
		return true
	}
	return false
}

// UndefinedLength is the value length 0xFFFFFFFF (PS3.5 §7.1.1).
const UndefinedLength uint32 = 0xFFFFFFFF
