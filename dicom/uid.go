package dicom

import (
	"slices"
	"strings"
)

// UIDType is the "UID Type" column of the UID registry (PS3.6 Table A-1).
type UIDType uint8

// The UID types of PS3.6 Table A-1.
const (
	UIDTypeUnknown UIDType = iota
	UIDTypeSOPClass
	UIDTypeMetaSOPClass
	UIDTypeTransferSyntax
	UIDTypeWellKnownSOPInstance
	UIDTypeWellKnownFrameOfReference
	UIDTypeSynchronizationFrameOfReference
	UIDTypeCodingScheme
	UIDTypeDICOMUIDsAsCodingScheme
	UIDTypeApplicationContextName
	UIDTypeServiceClass
	UIDTypeApplicationHostingModel
	UIDTypeMappingResource
	UIDTypeLDAPOID
)

var uidTypeNames = [...]string{
	UIDTypeUnknown:                         "Unknown",
	UIDTypeSOPClass:                        "SOP Class",
	UIDTypeMetaSOPClass:                    "Meta SOP Class",
	UIDTypeTransferSyntax:                  "Transfer Syntax",
	UIDTypeWellKnownSOPInstance:            "Well-known SOP Instance",
	UIDTypeWellKnownFrameOfReference:       "Well-known frame of reference",
	UIDTypeSynchronizationFrameOfReference: "Synchronization Frame of Reference",
	UIDTypeCodingScheme:                    "Coding Scheme",
	UIDTypeDICOMUIDsAsCodingScheme:         "DICOM UIDs as a Coding Scheme",
	UIDTypeApplicationContextName:          "Application Context Name",
	UIDTypeServiceClass:                    "Service Class",
	UIDTypeApplicationHostingModel:         "Application Hosting Model",
	UIDTypeMappingResource:                 "Mapping Resource",
	UIDTypeLDAPOID:                         "LDAP OID",
}

// String returns the type as PS3.6 writes it, e.g. "SOP Class".
func (t UIDType) String() string {
	if int(t) < len(uidTypeNames) {
		return uidTypeNames[t]
	}
	return "Unknown"
}

// UIDInfo is one row of the UID registry (PS3.6 Table A-1).
type UIDInfo struct {
	UID     string // e.g. "1.2.840.10008.5.1.4.1.1.2"
	Name    string // e.g. "CT Image Storage", without " (Retired)"
	Keyword string // PS3.6's keyword, e.g. "CTImageStorage"
	Type    UIDType
	Retired bool
}

// Well-known UIDs the receiver uses itself.
const (
	// VerificationSOPClass is the Verification SOP Class (C-ECHO, PS3.4 Annex A).
	VerificationSOPClass = "1.2.840.10008.1.1"

	// ImplicitVRLittleEndian is the default transfer syntax (PS3.5 §10.1).
	ImplicitVRLittleEndian = "1.2.840.10008.1.2"
	// ExplicitVRLittleEndian is PS3.5 §A.2.
	ExplicitVRLittleEndian = "1.2.840.10008.1.2.1"
	// ExplicitVRBigEndian is PS3.5 §A.3 (retired).
	ExplicitVRBigEndian = "1.2.840.10008.1.2.2"
	// DeflatedExplicitVRLittleEndian is PS3.5 §A.5.
	DeflatedExplicitVRLittleEndian = "1.2.840.10008.1.2.1.99"
	// EncapsulatedUncompressedExplicitVRLittleEndian carries uncompressed
	// pixel data in encapsulated form (PS3.5 Annex A.4).
	EncapsulatedUncompressedExplicitVRLittleEndian = "1.2.840.10008.1.2.1.98"
)

// LookupUID returns the registry row of uid.
func LookupUID(uid string) (UIDInfo, bool) {
	i, ok := slices.BinarySearchFunc(uidRegistry[:], uid, func(r UIDInfo, uid string) int {
		return strings.Compare(r.UID, uid)
	})
	if !ok {
		return UIDInfo{}, false
	}
	return uidRegistry[i], true
}

// LookupUIDKeyword returns the registry row whose keyword is kw (case
// sensitive, as PS3.6 spells it: "CTImageStorage", "JPEGBaseline8Bit").
func LookupUIDKeyword(kw string) (UIDInfo, bool) {
	i, ok := slices.BinarySearchFunc(uidByKeyword[:], kw, func(idx uint16, kw string) int {
		return strings.Compare(uidRegistry[idx].Keyword, kw)
	})
	if !ok {
		return UIDInfo{}, false
	}
	return uidRegistry[uidByKeyword[i]], true
}

// StorageSOPClasses returns the UIDs of every SOP Class of the Storage
// Service Class (PS3.4 Annex B) in the registry, retired ones included
// (Standalone Overlay and Curve, the retired Ultrasound and Nuclear Medicine
// classes, the SR and VL trial classes, Stored Print and Hardcopy), sorted in
// byte order; a fresh copy each call.
//
// Left out are the SOP Classes whose names merely mention storage: Media
// Storage Directory Storage (the DICOMDIR, PS3.10), Storage Commitment (PS3.4
// Annex J), and the Non-Patient Object Storage classes of PS3.4 Annex GG
// (Hanging Protocol, Color Palette, implant templates, Defined Procedure
// Protocols, Protocol Approval, Inventory), whose IODs lack the Patient,
// Study and Series a Storage Service Class IOD has (PS3.4 §B.1.1). The DICOS
// and DICONDE Storage SOP Classes registered in PS3.6 are included.
func StorageSOPClasses() []string {
	return slices.Clone(storageSOPClasses[:])
}

// IsStorageSOPClass reports whether uid is one of StorageSOPClasses.
func IsStorageSOPClass(uid string) bool {
	_, ok := slices.BinarySearch(storageSOPClasses[:], uid)
	return ok
}

// TransferSyntax describes a standard transfer syntax (PS3.5 §10, Annex A).
type TransferSyntax struct {
	UID     string
	Name    string // PS3.6's name, e.g. "JPEG Baseline (Process 1)"
	Keyword string // PS3.6's keyword, e.g. "JPEGBaseline8Bit"
	// Encoding is the encoding of the data set's elements: implicit VR
	// little endian for 1.2.840.10008.1.2, explicit VR big endian for
	// 1.2.840.10008.1.2.2, explicit VR little endian for all others.
	Encoding Encoding
	// Deflated is set when the whole data set is deflated (RFC 1951) after
	// encoding: Deflated Explicit VR Little Endian and the two JPIP
	// Referenced Deflate syntaxes (PS3.5 §A.5, §A.7, §A.12).
	Deflated bool
	// Encapsulated is set when Pixel Data is encapsulated in fragments
	// (PS3.5 §A.4): every compressed syntax, Encapsulated Uncompressed
	// Explicit VR Little Endian and Deflated Image Frame Compression. JPIP
	// Referenced syntaxes carry no Pixel Data (a Pixel Data Provider URL
	// instead, PS3.5 §8.4) and the SMPTE ST 2110 ones describe a separate
	// video or audio flow (PS3.5 §A.8-§A.10); neither is encapsulated.
	Encapsulated bool
	Retired      bool
}

// TransferSyntaxes returns every transfer syntax of the standard, retired
// ones included (Explicit VR Big Endian, the JPEG processes that PS3.5
// retired), sorted by UID in byte order; a fresh copy each call.
//
// The registry's retired RFC 2557 MIME Encapsulation, XML Encoding and
// Papyrus 3 Implicit VR Little Endian are not data set encodings of PS3.5
// Annex A and are left out (LookupUID still knows them).
func TransferSyntaxes() []TransferSyntax {
	return slices.Clone(transferSyntaxes[:])
}

// LookupTransferSyntax returns the transfer syntax uid, if it is one of
// TransferSyntaxes.
func LookupTransferSyntax(uid string) (TransferSyntax, bool) {
	i, ok := slices.BinarySearchFunc(transferSyntaxes[:], uid, func(ts TransferSyntax, uid string) int {
		return strings.Compare(ts.UID, uid)
	})
	if !ok {
		return TransferSyntax{}, false
	}
	return transferSyntaxes[i], true
}

// maxUIDLength is the longest a UID may be (PS3.5 §9.1).
const maxUIDLength = 64

// uidSyntaxOK reports whether s is a UID as PS3.5 §9.1 defines it: at most 64
// characters, components of digits separated by single periods, and no
// component with a leading zero unless it is "0".
func uidSyntaxOK(s string) bool {
	if s == "" || len(s) > maxUIDLength {
		return false
	}
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != '.' {
			if s[i] < '0' || s[i] > '9' {
				return false
			}
			continue
		}
		n := i - start
		if n == 0 || (n > 1 && s[start] == '0') {
			return false
		}
		start = i + 1
	}
	return true
}
