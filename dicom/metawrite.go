package dicom

import "encoding/binary"

// MetaInfo is what a receiver writes into the File Meta Information of a
// Part-10 file (PS3.10 §7.1, Table 7.1-1).
type MetaInfo struct {
	MediaStorageSOPClassUID    string
	MediaStorageSOPInstanceUID string
	TransferSyntaxUID          string
	ImplementationClassUID     string
	ImplementationVersionName  string // at most 16 characters (SH)
	// SourceAETitle is the AE that wrote the file; SendingAETitle the AE
	// that sent it over the network; ReceivingAETitle the AE that received
	// it. Empty ones are left out.
	SourceAETitle, SendingAETitle, ReceivingAETitle string
}

// PreambleLength is the length of the Part-10 preamble (PS3.10 §7.1).
const PreambleLength = 128

// AppendFileMeta appends the 128-byte preamble (zeros), "DICM" and the group
// 0002 elements in explicit VR little endian, with a correct File Meta
// Information Group Length, to b.
func AppendFileMeta(b []byte, m *MetaInfo) []byte {
	b = append(b, make([]byte, PreambleLength)...)
	b = append(b, "DICM"...)
	lenAt := len(b) + 8
	b = appendExplicitLE(b, TagFileMetaInformationGroupLength, UL, []byte{0, 0, 0, 0})
	start := len(b)
	b = appendExplicitLE(b, TagFileMetaInformationVersion, OB, []byte{0x00, 0x01})
	b = appendMetaText(b, TagMediaStorageSOPClassUID, UI, m.MediaStorageSOPClassUID)
	b = appendMetaText(b, TagMediaStorageSOPInstanceUID, UI, m.MediaStorageSOPInstanceUID)
	b = appendMetaText(b, TagTransferSyntaxUID, UI, m.TransferSyntaxUID)
	b = appendMetaText(b, TagImplementationClassUID, UI, m.ImplementationClassUID)
	if m.ImplementationVersionName != "" {
		b = appendMetaText(b, TagImplementationVersionName, SH, m.ImplementationVersionName)
	}
	for _, e := range [...]struct {
		t Tag
		v string
	}{
		{TagSourceApplicationEntityTitle, m.SourceAETitle},
		{TagSendingApplicationEntityTitle, m.SendingAETitle},
		{TagReceivingApplicationEntityTitle, m.ReceivingAETitle},
	} {
		if e.v != "" {
			b = appendMetaText(b, e.t, AE, e.v)
		}
	}
	binary.LittleEndian.PutUint32(b[lenAt:], uint32(len(b)-start))
	return b
}

// appendMetaText appends a text element padded to even length: UI with NUL,
// everything else with a space (PS3.5 §6.2).
func appendMetaText(b []byte, t Tag, vr VR, v string) []byte {
	n := len(v)
	if n&1 == 1 {
		pad := byte(' ')
		if vr == UI {
			pad = 0
		}
		b = appendElementHeader(b, ExplicitLittle, t, vr, uint32(n+1))
		b = append(b, v...)
		return append(b, pad)
	}
	return appendExplicitLE(b, t, vr, []byte(v))
}

func appendExplicitLE(b []byte, t Tag, vr VR, v []byte) []byte {
	b = appendElementHeader(b, ExplicitLittle, t, vr, uint32(len(v)))
	return append(b, v...)
}
