// Package testds builds small DICOM data sets, explicit VR little endian, for the
// tests of the receiver and of its hostile-input battery. It is apart from
// package testutil because package dicom's own tests use testutil, and this
// package needs dicom.
package testds

import (
	"encoding/binary"

	"github.com/dicomrecv/dicomrecv/dicom"
)

// Elem is a data element: tag, VR and value bytes (padded by the caller, or
// by Str).
type Elem struct {
	Tag   dicom.Tag
	VR    dicom.VR
	Value []byte
}

// Str is a text element, padded to even length as PS3.5 §6.2 requires: UI
// with a NUL, other VRs with a space.
func Str(t dicom.Tag, vr dicom.VR, s string) Elem {
	b := []byte(s)
	if len(b)%2 == 1 {
		if vr == dicom.UI {
			b = append(b, 0)
		} else {
			b = append(b, ' ')
		}
	}
	return Elem{t, vr, b}
}

// ExplicitLE encodes elements in explicit VR little endian.
func ExplicitLE(es ...Elem) []byte {
	var b []byte
	for _, e := range es {
		b = AppendHeader(b, e.Tag, e.VR, uint32(len(e.Value)))
		b = append(b, e.Value...)
	}
	return b
}

// AppendHeader appends an explicit VR little endian element header that
// claims n bytes of value (0xFFFFFFFF: undefined length), whatever follows.
func AppendHeader(b []byte, tag dicom.Tag, vr dicom.VR, n uint32) []byte {
	b = binary.LittleEndian.AppendUint16(b, tag.Group())
	b = binary.LittleEndian.AppendUint16(b, tag.Element())
	b = append(b, byte(vr>>8), byte(vr))
	if vr.LongLength() {
		b = append(b, 0, 0)
		return binary.LittleEndian.AppendUint32(b, n)
	}
	return binary.LittleEndian.AppendUint16(b, uint16(n))
}

// Instance returns the elements of a minimal image with the given UIDs and
// pixel bytes (OW), in tag order.
func Instance(sopClass, sop, study, series string, pixels []byte) []Elem {
	return []Elem{
		Str(dicom.TagSOPClassUID, dicom.UI, sopClass),
		Str(dicom.TagSOPInstanceUID, dicom.UI, sop),
		Str(dicom.NewTag(0x0010, 0x0010), dicom.PN, "DOE^JOHN"),
		Str(dicom.TagStudyInstanceUID, dicom.UI, study),
		Str(dicom.TagSeriesInstanceUID, dicom.UI, series),
		{dicom.TagPixelData, dicom.OW, pixels},
	}
}

// Nested returns depth sequences (0008,1115) of undefined length, each the
// one item of the sequence around it, with their item and sequence
// delimiters.
func Nested(depth int) []byte {
	var b []byte
	for i := 0; i < depth; i++ {
		b = AppendHeader(b, dicom.NewTag(0x0008, 0x1115), dicom.SQ, 0xFFFFFFFF)
		b = binary.LittleEndian.AppendUint32(b, 0xE000FFFE) // item
		b = binary.LittleEndian.AppendUint32(b, 0xFFFFFFFF)
	}
	for i := 0; i < depth; i++ {
		b = binary.LittleEndian.AppendUint32(b, 0xE00DFFFE) // item delimiter
		b = binary.LittleEndian.AppendUint32(b, 0)
		b = binary.LittleEndian.AppendUint32(b, 0xE0DDFFFE) // sequence delimiter
		b = binary.LittleEndian.AppendUint32(b, 0)
	}
	return b
}
