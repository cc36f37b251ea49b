package dicom

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLookupUID(t *testing.T) {
	tests := []struct {
		uid  string
		want UIDInfo
		ok   bool
	}{
		{"1.2.840.10008.1.1", UIDInfo{"1.2.840.10008.1.1", "Verification SOP Class", "Verification", UIDTypeSOPClass, false}, true},
		{"1.2.840.10008.5.1.4.1.1.2", UIDInfo{"1.2.840.10008.5.1.4.1.1.2", "CT Image Storage", "CTImageStorage", UIDTypeSOPClass, false}, true},
		{"1.2.840.10008.5.1.4.1.1.6.1", UIDInfo{"1.2.840.10008.5.1.4.1.1.6.1", "Ultrasound Image Storage", "UltrasoundImageStorage", UIDTypeSOPClass, false}, true},
		{"1.2.840.10008.5.1.4.1.1.6", UIDInfo{"1.2.840.10008.5.1.4.1.1.6", "Ultrasound Image Storage", "UltrasoundImageStorageRetired", UIDTypeSOPClass, true}, true},
		{"1.2.840.10008.1.2.4.50", UIDInfo{"1.2.840.10008.1.2.4.50", "JPEG Baseline (Process 1)", "JPEGBaseline8Bit", UIDTypeTransferSyntax, false}, true},
		{"1.2.840.10008.1.2.2", UIDInfo{"1.2.840.10008.1.2.2", "Explicit VR Big Endian", "ExplicitVRBigEndian", UIDTypeTransferSyntax, true}, true},
		{"1.2.840.10008.3.1.1.1", UIDInfo{"1.2.840.10008.3.1.1.1", "DICOM Application Context Name", "DICOMApplicationContext", UIDTypeApplicationContextName, false}, true},
		{"1.2.840.10008.5.1.1.9", UIDInfo{"1.2.840.10008.5.1.1.9", "Basic Grayscale Print Management Meta SOP Class", "BasicGrayscalePrintManagementMeta", UIDTypeMetaSOPClass, false}, true},
		{"1.2.840.10008.1.20.1.1", UIDInfo{"1.2.840.10008.1.20.1.1", "Storage Commitment Push Model SOP Instance", "StorageCommitmentPushModelInstance", UIDTypeWellKnownSOPInstance, false}, true},
		{"1.2.840.10008.1.4.1.1", UIDInfo{"1.2.840.10008.1.4.1.1", "Talairach Brain Atlas Frame of Reference", "TalairachBrainAtlas", UIDTypeWellKnownFrameOfReference, false}, true},
		{"1.2.840.10008.2.16.4", UIDInfo{"1.2.840.10008.2.16.4", "DICOM Controlled Terminology", "DCM", UIDTypeCodingScheme, false}, true},
		{"1.2.840.10008.15.0.3.1", UIDInfo{"1.2.840.10008.15.0.3.1", "dicomDeviceName", "dicomDeviceName", UIDTypeLDAPOID, false}, true},
		// Newest rows (2025).
		{"1.2.840.10008.1.2.8.1", UIDInfo{"1.2.840.10008.1.2.8.1", "Deflated Image Frame Compression", "DeflatedImageFrameCompression", UIDTypeTransferSyntax, false}, true},
		{"1.2.840.10008.5.1.4.1.1.9.100.2", UIDInfo{"1.2.840.10008.5.1.4.1.1.9.100.2", "Waveform Acquisition Presentation State Storage", "WaveformAcquisitionPresentationStateStorage", UIDTypeSOPClass, false}, true},
		{"1.2.840.10008.5.1.4.1.1.601.5", UIDInfo{"1.2.840.10008.5.1.4.1.1.601.5", "Ultrasound Waveform Storage", "UltrasoundWaveformStorage", UIDTypeSOPClass, false}, true},
		{"1.2.840.10008.5.1.4.1.1.2 ", UIDInfo{}, false},
		{"1.2.3.4", UIDInfo{}, false},
		{"", UIDInfo{}, false},
	}
	for _, tc := range tests {
		got, ok := LookupUID(tc.uid)
		if ok != tc.ok {
			t.Errorf("LookupUID(%q) ok = %v", tc.uid, ok)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("LookupUID(%q) (-want +got):\n%s", tc.uid, diff)
		}
		if tc.ok {
			byKW, ok := LookupUIDKeyword(tc.want.Keyword)
			if !ok || byKW != got {
				t.Errorf("LookupUIDKeyword(%q) = %+v, %v", tc.want.Keyword, byKW, ok)
			}
		}
	}
	for _, kw := range []string{"", "ctimagestorage", "CTImage", "UltrasoundMultiframeImageStorage"} {
		if info, ok := LookupUIDKeyword(kw); ok {
			t.Errorf("LookupUIDKeyword(%q) = %+v", kw, info)
		}
	}
}

func TestUIDRegistryConsistent(t *testing.T) {
	if len(uidByKeyword) != len(uidRegistry) {
		t.Fatalf("%d keywords for %d UIDs", len(uidByKeyword), len(uidRegistry))
	}
	for i, r := range uidRegistry {
		if i > 0 && uidRegistry[i-1].UID >= r.UID {
			t.Errorf("registry not sorted or not unique at %s", r.UID)
		}
		if !uidSyntaxOK(r.UID) || !strings.HasPrefix(r.UID, "1.2.840.10008.") {
			t.Errorf("bad UID %q", r.UID)
		}
		if r.Keyword == "" || r.Name == "" || r.Type == UIDTypeUnknown {
			t.Errorf("incomplete row %+v", r)
			continue
		}
		// The Resolve functions tell keywords from UIDs by the first byte.
		if c := r.Keyword[0]; c >= '0' && c <= '9' {
			t.Errorf("keyword %q starts with a digit", r.Keyword)
		}
		if strings.HasSuffix(r.Name, "(Retired)") {
			t.Errorf("%s: name keeps the (Retired) suffix", r.UID)
		}
		if got, ok := LookupUID(r.UID); !ok || got != r {
			t.Errorf("LookupUID(%s) = %+v, %v", r.UID, got, ok)
		}
		if got, ok := LookupUIDKeyword(r.Keyword); !ok || got != r {
			t.Errorf("LookupUIDKeyword(%s) = %+v, %v", r.Keyword, got, ok)
		}
	}
}

func TestUIDTypeString(t *testing.T) {
	tests := map[UIDType]string{
		UIDTypeUnknown:                 "Unknown",
		UIDTypeSOPClass:                "SOP Class",
		UIDTypeTransferSyntax:          "Transfer Syntax",
		UIDTypeDICOMUIDsAsCodingScheme: "DICOM UIDs as a Coding Scheme",
		UIDTypeLDAPOID:                 "LDAP OID",
		UIDType(200):                   "Unknown",
	}
	for typ, want := range tests {
		if got := typ.String(); got != want {
			t.Errorf("UIDType(%d).String() = %q, want %q", typ, got, want)
		}
	}
}

func TestUIDConstants(t *testing.T) {
	tests := []struct{ uid, keyword string }{
		{VerificationSOPClass, "Verification"},
		{ImplicitVRLittleEndian, "ImplicitVRLittleEndian"},
		{ExplicitVRLittleEndian, "ExplicitVRLittleEndian"},
		{ExplicitVRBigEndian, "ExplicitVRBigEndian"},
		{DeflatedExplicitVRLittleEndian, "DeflatedExplicitVRLittleEndian"},
		{EncapsulatedUncompressedExplicitVRLittleEndian, "EncapsulatedUncompressedExplicitVRLittleEndian"},
	}
	for _, tc := range tests {
		info, ok := LookupUIDKeyword(tc.keyword)
		if !ok || info.UID != tc.uid {
			t.Errorf("constant %s = %s, registry has %s", tc.keyword, tc.uid, info.UID)
		}
	}
}

func TestStorageSOPClasses(t *testing.T) {
	got := StorageSOPClasses()
	if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
		t.Fatal("StorageSOPClasses() not sorted and unique")
	}
	if len(got) != len(storageSOPClasses) || len(got) < 200 {
		t.Fatalf("StorageSOPClasses() has %d UIDs", len(got))
	}
	for _, uid := range got {
		info, ok := LookupUID(uid)
		if !ok || info.Type != UIDTypeSOPClass {
			t.Errorf("%s: not a registered SOP Class", uid)
		}
		if !IsStorageSOPClass(uid) {
			t.Errorf("IsStorageSOPClass(%s) = false", uid)
		}
	}
	got[0] = "changed"
	if StorageSOPClasses()[0] == "changed" {
		t.Error("StorageSOPClasses() returned shared storage")
	}

	// The decision for the registry's SOP classes that mention storage, or
	// that a receiver must not miss.
	tests := []struct {
		keyword string
		storage bool
	}{
		{"CTImageStorage", true},
		{"UltrasoundImageStorage", true},
		{"UltrasoundImageStorageRetired", true},
		{"UltrasoundMultiFrameImageStorageRetired", true},
		{"NuclearMedicineImageStorageRetired", true},
		{"StandaloneOverlayStorage", true},
		{"StandaloneCurveStorage", true},
		{"StandaloneModalityLUTStorage", true},
		{"StandaloneVOILUTStorage", true},
		{"StandalonePETCurveStorage", true},
		{"StoredPrintStorage", true},
		{"HardcopyGrayscaleImageStorage", true},
		{"HardcopyColorImageStorage", true},
		{"XRayAngiographicBiPlaneImageStorage", true},
		{"VLImageStorageTrial", true},
		{"TextSRStorageTrial", true},
		{"WaveformStorageTrial", true},
		{"RTBeamsDeliveryInstructionStorageTrial", true},
		{"RTBeamsDeliveryInstructionStorage", true},
		{"RTBrachyApplicationSetupDeliveryInstructionStorage", true},
		{"DigitalXRayImageStorageForPresentation", true},
		{"DigitalMammographyXRayImageStorageForProcessing", true},
		{"IntravascularOpticalCoherenceTomographyImageStorageForProcessing", true},
		{"DICOSDigitalXRayImageStorageForPresentation", true},
		{"EddyCurrentImageStorage", true},
		{"KeyObjectSelectionDocumentStorage", true},
		{"SegmentationStorage", true},
		{"VLWholeSlideMicroscopyImageStorage", true},
		{"EncapsulatedPDFStorage", true},
		{"RawDataStorage", true},
		// Added since pydicom 2.3.1 (2022).
		{"PhotoacousticImageStorage", true},
		{"DermoscopicPhotographyImageStorage", true},
		{"ConfocalMicroscopyImageStorage", true},
		{"ConfocalMicroscopyTiledPyramidalImageStorage", true},
		{"HeightMapSegmentationStorage", true},
		{"LabelMapSegmentationStorage", true},
		{"EnhancedRTImageStorage", true},
		{"EnhancedContinuousRTImageStorage", true},
		{"RTPatientPositionAcquisitionInstructionStorage", true},
		{"VariableModalityLUTSoftcopyPresentationStateStorage", true},
		{"General32bitECGWaveformStorage", true},
		{"WaveformAnnotationSRStorage", true},
		{"WaveformPresentationStateStorage", true},
		{"WaveformAcquisitionPresentationStateStorage", true},
		{"ThermographyMultiFrameImageStorage", true},
		{"UltrasoundWaveformStorage", true},
		// Not the Storage Service Class.
		{"Verification", false},
		{"MediaStorageDirectoryStorage", false},
		{"StorageCommitmentPushModel", false},
		{"StorageCommitmentPullModel", false},
		{"HangingProtocolStorage", false},
		{"ColorPaletteStorage", false},
		{"GenericImplantTemplateStorage", false},
		{"ImplantAssemblyTemplateStorage", false},
		{"ImplantTemplateGroupStorage", false},
		{"CTDefinedProcedureProtocolStorage", false},
		{"XADefinedProcedureProtocolStorage", false},
		{"ProtocolApprovalStorage", false},
		{"InventoryStorage", false},
		{"ModalityPerformedProcedureStep", false},
		{"StudyRootQueryRetrieveInformationModelMove", false},
		{"RTConventionalMachineVerification", false},
	}
	for _, tc := range tests {
		info, ok := LookupUIDKeyword(tc.keyword)
		if !ok {
			t.Errorf("%s: not in the registry", tc.keyword)
			continue
		}
		if got := IsStorageSOPClass(info.UID); got != tc.storage {
			t.Errorf("IsStorageSOPClass(%s %s) = %v, want %v", info.UID, tc.keyword, got, tc.storage)
		}
	}
	// Every SOP Class keyword with "Storage" is decided one way or the
	// other above or is in the list.
	for _, r := range uidRegistry {
		if r.Type == UIDTypeSOPClass && strings.Contains(r.Keyword, "Storage") && !IsStorageSOPClass(r.UID) &&
			!slices.ContainsFunc(tests, func(tc struct {
				keyword string
				storage bool
			}) bool {
				return tc.keyword == r.Keyword
			}) {
			t.Errorf("%s (%s) mentions storage but is left out without a test", r.Keyword, r.UID)
		}
	}
	for _, uid := range []string{"", "1.2.3", "1.2.840.10008.1.2"} {
		if IsStorageSOPClass(uid) {
			t.Errorf("IsStorageSOPClass(%q) = true", uid)
		}
	}
}

// uidPydicomStorageDump prints the Storage SOP Class constants of pydicom's
// uid.py (the generated block after its marker comment) as JSON {uid:
// keyword}.
const uidPydicomStorageDump = `
import json, re, inspect, pydicom.uid
src = inspect.getsource(pydicom.uid)
marker = "# Only auto-generated Storage SOP Class UIDs below"
if marker not in src:
    raise SystemExit("marker not found in pydicom.uid")
tail = src.split(marker, 1)[1]
print(json.dumps({m.group(2): m.group(1) for m in re.finditer(r"^(\w+) = UID\('([0-9.]+)'\)", tail, re.M)}))
`

// TestStorageSOPClassesMatchPydicom compares StorageSOPClasses with
// pydicom 2.3.1's Storage SOP Class constants; every difference is listed
// with its reason.
func TestStorageSOPClassesMatchPydicom(t *testing.T) {
	var py map[string]string
	dictRunPython(t, uidPydicomStorageDump, &py)

	const (
		retired = "retired: pydicom lists current classes only; old devices still send these"
		newer   = "added to the standard after pydicom 2.3.1 (2022)"
		gg      = "Non-Patient Object Storage (PS3.4 Annex GG): no Patient, Study or Series"
	)
	onlyOurs := map[string]string{
		"1.2.840.10008.5.1.1.27":          retired, // Stored Print Storage
		"1.2.840.10008.5.1.1.29":          retired, // Hardcopy Grayscale Image Storage
		"1.2.840.10008.5.1.1.30":          retired, // Hardcopy Color Image Storage
		"1.2.840.10008.5.1.4.1.1.10":      retired, // Standalone Modality LUT Storage
		"1.2.840.10008.5.1.4.1.1.11":      retired, // Standalone VOI LUT Storage
		"1.2.840.10008.5.1.4.1.1.12.3":    retired, // X-Ray Angiographic Bi-Plane Image Storage
		"1.2.840.10008.5.1.4.1.1.129":     retired, // Standalone PET Curve Storage
		"1.2.840.10008.5.1.4.1.1.3":       retired, // Ultrasound Multi-frame Image Storage (retired)
		"1.2.840.10008.5.1.4.1.1.5":       retired, // Nuclear Medicine Image Storage (retired)
		"1.2.840.10008.5.1.4.1.1.6":       retired, // Ultrasound Image Storage (retired)
		"1.2.840.10008.5.1.4.1.1.77.1":    retired, // VL Image Storage - Trial
		"1.2.840.10008.5.1.4.1.1.77.2":    retired, // VL Multi-frame Image Storage - Trial
		"1.2.840.10008.5.1.4.1.1.8":       retired, // Standalone Overlay Storage
		"1.2.840.10008.5.1.4.1.1.88.1":    retired, // Text SR Storage - Trial
		"1.2.840.10008.5.1.4.1.1.88.2":    retired, // Audio SR Storage - Trial
		"1.2.840.10008.5.1.4.1.1.88.3":    retired, // Detail SR Storage - Trial
		"1.2.840.10008.5.1.4.1.1.88.4":    retired, // Comprehensive SR Storage - Trial
		"1.2.840.10008.5.1.4.1.1.9":       retired, // Standalone Curve Storage
		"1.2.840.10008.5.1.4.1.1.9.1":     retired, // Waveform Storage - Trial
		"1.2.840.10008.5.1.4.34.1":        retired, // RT Beams Delivery Instruction Storage - Trial
		"1.2.840.10008.5.1.4.1.1.11.12":   newer,   // Variable Modality LUT Softcopy Presentation State Storage
		"1.2.840.10008.5.1.4.1.1.481.23":  newer,   // Enhanced RT Image Storage
		"1.2.840.10008.5.1.4.1.1.481.24":  newer,   // Enhanced Continuous RT Image Storage
		"1.2.840.10008.5.1.4.1.1.481.25":  newer,   // RT Patient Position Acquisition Instruction Storage
		"1.2.840.10008.5.1.4.1.1.6.3":     newer,   // Photoacoustic Image Storage
		"1.2.840.10008.5.1.4.1.1.601.3":   newer,   // Thermography Image Storage
		"1.2.840.10008.5.1.4.1.1.601.4":   newer,   // Thermography Multi-frame Image Storage
		"1.2.840.10008.5.1.4.1.1.601.5":   newer,   // Ultrasound Waveform Storage
		"1.2.840.10008.5.1.4.1.1.66.7":    newer,   // Label Map Segmentation Storage
		"1.2.840.10008.5.1.4.1.1.66.8":    newer,   // Height Map Segmentation Storage
		"1.2.840.10008.5.1.4.1.1.77.1.8":  newer,   // Confocal Microscopy Image Storage
		"1.2.840.10008.5.1.4.1.1.77.1.9":  newer,   // Confocal Microscopy Tiled Pyramidal Image Storage
		"1.2.840.10008.5.1.4.1.1.88.77":   newer,   // Waveform Annotation SR Storage
		"1.2.840.10008.5.1.4.1.1.9.1.4":   newer,   // General 32-bit ECG Waveform Storage
		"1.2.840.10008.5.1.4.1.1.9.100.1": newer,   // Waveform Presentation State Storage
		"1.2.840.10008.5.1.4.1.1.9.100.2": newer,   // Waveform Acquisition Presentation State Storage
	}
	onlyPydicom := map[string]string{
		"1.2.840.10008.1.3.10":          "Media Storage Directory Storage: the DICOMDIR (PS3.10), never sent by C-STORE",
		"1.2.840.10008.5.1.4.1.1.200.1": gg, // CT Defined Procedure Protocol Storage
		"1.2.840.10008.5.1.4.1.1.200.3": gg, // Protocol Approval Storage
		"1.2.840.10008.5.1.4.1.1.200.7": gg, // XA Defined Procedure Protocol Storage
		"1.2.840.10008.5.1.4.38.1":      gg, // Hanging Protocol Storage
		"1.2.840.10008.5.1.4.39.1":      gg, // Color Palette Storage
		"1.2.840.10008.5.1.4.43.1":      gg, // Generic Implant Template Storage
		"1.2.840.10008.5.1.4.44.1":      gg, // Implant Assembly Template Storage
		"1.2.840.10008.5.1.4.45.1":      gg, // Implant Template Group Storage
	}
	ours := StorageSOPClasses()
	for _, uid := range ours {
		_, inPy := py[uid]
		_, listed := onlyOurs[uid]
		if inPy == listed {
			t.Errorf("%s: in pydicom %v, listed as ours only %v", uid, inPy, listed)
		}
	}
	for uid, kw := range py {
		ours := IsStorageSOPClass(uid)
		_, listed := onlyPydicom[uid]
		if ours == listed {
			t.Errorf("%s %s: ours %v, listed as pydicom only %v", uid, kw, ours, listed)
		}
		if info, ok := LookupUID(uid); !ok || info.Keyword != kw {
			t.Errorf("%s: pydicom keyword %s, registry %+v", uid, kw, info)
		}
	}
	t.Logf("%d ours, %d pydicom, %d only ours, %d only pydicom", len(ours), len(py), len(onlyOurs), len(onlyPydicom))
}

func TestTransferSyntaxes(t *testing.T) {
	// Encoding (I implicit VR LE, E explicit VR LE, B explicit VR BE) and
	// flags (d deflated, e encapsulated, r retired) of every transfer
	// syntax, from PS3.5 §10 and Annex A.
	want := map[string]string{
		"1.2.840.10008.1.2":         "I",
		"1.2.840.10008.1.2.1":       "E",
		"1.2.840.10008.1.2.1.98":    "E e",
		"1.2.840.10008.1.2.1.99":    "E d",
		"1.2.840.10008.1.2.2":       "B r",
		"1.2.840.10008.1.2.4.50":    "E e",
		"1.2.840.10008.1.2.4.51":    "E e",
		"1.2.840.10008.1.2.4.52":    "E er",
		"1.2.840.10008.1.2.4.53":    "E er",
		"1.2.840.10008.1.2.4.54":    "E er",
		"1.2.840.10008.1.2.4.55":    "E er",
		"1.2.840.10008.1.2.4.56":    "E er",
		"1.2.840.10008.1.2.4.57":    "E e",
		"1.2.840.10008.1.2.4.58":    "E er",
		"1.2.840.10008.1.2.4.59":    "E er",
		"1.2.840.10008.1.2.4.60":    "E er",
		"1.2.840.10008.1.2.4.61":    "E er",
		"1.2.840.10008.1.2.4.62":    "E er",
		"1.2.840.10008.1.2.4.63":    "E er",
		"1.2.840.10008.1.2.4.64":    "E er",
		"1.2.840.10008.1.2.4.65":    "E er",
		"1.2.840.10008.1.2.4.66":    "E er",
		"1.2.840.10008.1.2.4.70":    "E e",
		"1.2.840.10008.1.2.4.80":    "E e",
		"1.2.840.10008.1.2.4.81":    "E e",
		"1.2.840.10008.1.2.4.90":    "E e",
		"1.2.840.10008.1.2.4.91":    "E e",
		"1.2.840.10008.1.2.4.92":    "E e",
		"1.2.840.10008.1.2.4.93":    "E e",
		"1.2.840.10008.1.2.4.94":    "E",
		"1.2.840.10008.1.2.4.95":    "E d",
		"1.2.840.10008.1.2.4.100":   "E e",
		"1.2.840.10008.1.2.4.100.1": "E e",
		"1.2.840.10008.1.2.4.101":   "E e",
		"1.2.840.10008.1.2.4.101.1": "E e",
		"1.2.840.10008.1.2.4.102":   "E e",
		"1.2.840.10008.1.2.4.102.1": "E e",
		"1.2.840.10008.1.2.4.103":   "E e",
		"1.2.840.10008.1.2.4.103.1": "E e",
		"1.2.840.10008.1.2.4.104":   "E e",
		"1.2.840.10008.1.2.4.104.1": "E e",
		"1.2.840.10008.1.2.4.105":   "E e",
		"1.2.840.10008.1.2.4.105.1": "E e",
		"1.2.840.10008.1.2.4.106":   "E e",
		"1.2.840.10008.1.2.4.106.1": "E e",
		"1.2.840.10008.1.2.4.107":   "E e",
		"1.2.840.10008.1.2.4.108":   "E e",
		"1.2.840.10008.1.2.4.110":   "E e",
		"1.2.840.10008.1.2.4.111":   "E e",
		"1.2.840.10008.1.2.4.112":   "E e",
		"1.2.840.10008.1.2.4.201":   "E e",
		"1.2.840.10008.1.2.4.202":   "E e",
		"1.2.840.10008.1.2.4.203":   "E e",
		"1.2.840.10008.1.2.4.204":   "E",
		"1.2.840.10008.1.2.4.205":   "E d",
		"1.2.840.10008.1.2.5":       "E e",
		"1.2.840.10008.1.2.7.1":     "E",
		"1.2.840.10008.1.2.7.2":     "E",
		"1.2.840.10008.1.2.7.3":     "E",
		"1.2.840.10008.1.2.8.1":     "E e",
	}
	describe := func(ts TransferSyntax) string {
		s := "E"
		switch ts.Encoding {
		case ImplicitLittle:
			s = "I"
		case ExplicitBig:
			s = "B"
		case ExplicitLittle:
		default:
			s = fmt.Sprintf("%+v", ts.Encoding)
		}
		flags := ""
		if ts.Deflated {
			flags += "d"
		}
		if ts.Encapsulated {
			flags += "e"
		}
		if ts.Retired {
			flags += "r"
		}
		if flags != "" {
			s += " " + flags
		}
		return s
	}
	all := TransferSyntaxes()
	got := map[string]string{}
	for i, ts := range all {
		got[ts.UID] = describe(ts)
		if i > 0 && all[i-1].UID >= ts.UID {
			t.Errorf("TransferSyntaxes() not sorted at %s", ts.UID)
		}
		info, ok := LookupUID(ts.UID)
		if !ok || info.Type != UIDTypeTransferSyntax || info.Name != ts.Name || info.Keyword != ts.Keyword || info.Retired != ts.Retired {
			t.Errorf("%s: %+v disagrees with the registry %+v", ts.UID, ts, info)
		}
		if l, ok := LookupTransferSyntax(ts.UID); !ok || l != ts {
			t.Errorf("LookupTransferSyntax(%s) = %+v, %v", ts.UID, l, ok)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("TransferSyntaxes() (-want +got):\n%s", diff)
	}
	all[0].UID = "changed"
	if TransferSyntaxes()[0].UID == "changed" {
		t.Error("TransferSyntaxes() returned shared storage")
	}
	// Registered as transfer syntaxes, but not data set encodings.
	for _, uid := range []string{"1.2.840.10008.1.2.6.1", "1.2.840.10008.1.2.6.2", "1.2.840.10008.1.20", "1.2.840.10008.5.1.4.1.1.2", "1.2.3", ""} {
		if ts, ok := LookupTransferSyntax(uid); ok {
			t.Errorf("LookupTransferSyntax(%q) = %+v", uid, ts)
		}
	}
}

func TestUIDSyntaxOK(t *testing.T) {
	tests := map[string]bool{
		"1.2.840.10008.1.2": true,
		"0":                 true,
		"1.0.2":             true,
		"2.25.329800735698586629295641978511506172918": true,
		"1.2.840.10008.5.1.4.1.1.2.0":                  true,
		strings.Repeat("1.", 31) + "12":                true, // 64 characters
		strings.Repeat("1.", 31) + "123":               false,
		"":                                             false,
		"1..2":                                         false,
		".1.2":                                         false,
		"1.2.":                                         false,
		"1.02":                                         false,
		"01.2":                                         false,
		"1.2.a":                                        false,
		"1.2 ":                                         false,
		"1.2\x00":                                      false,
	}
	for s, want := range tests {
		if got := uidSyntaxOK(s); got != want {
			t.Errorf("uidSyntaxOK(%q) = %v, want %v", s, got, want)
		}
	}
}

func BenchmarkLookupUID(b *testing.B) {
	uids := []string{"1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.5.1.4.1.1.4", "1.2.840.10008.1.1"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, ok := LookupUID(uids[i%len(uids)]); !ok {
			b.Fatal("not found")
		}
	}
}

func BenchmarkIsStorageSOPClass(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if !IsStorageSOPClass("1.2.840.10008.5.1.4.1.1.128") {
			b.Fatal("not storage")
		}
	}
}
