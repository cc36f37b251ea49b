package dicomrecv

import (
	"github.com/dicomrecv/dicomrecv/dicom"
)

// TagSets holds the seed's predefined tag sets (getCommonTagSets), keyword
// lists in the seed's order.
type TagSets struct {
	PatientBasic   []string // 7 tags
	StudyBasic     []string // 7
	SeriesBasic    []string // 8
	InstanceBasic  []string // 5
	ImagePixelInfo []string // 9
	Equipment      []string // 6
	CT             []string // 6
	MR             []string // 6
	Ultrasound     []string // 6
	PetNM          []string // 11
	XA             []string // 8
	RT             []string // 11
	// Default is PatientBasic, StudyBasic, SeriesBasic, InstanceBasic,
	// ImagePixelInfo and Equipment: 42 tags.
	Default []string
}

// CommonTagSets returns the seed's tag sets. Each call returns fresh slices.
func CommonTagSets() TagSets {
	s := TagSets{
		PatientBasic:   []string{"PatientName", "PatientID", "PatientBirthDate", "PatientSex", "PatientAge", "PatientWeight", "PatientSize"},
		StudyBasic:     []string{"StudyInstanceUID", "StudyDate", "StudyTime", "StudyDescription", "StudyID", "AccessionNumber", "ReferringPhysicianName"},
		SeriesBasic:    []string{"SeriesInstanceUID", "SeriesNumber", "SeriesDescription", "SeriesDate", "SeriesTime", "Modality", "BodyPartExamined", "ProtocolName"},
		InstanceBasic:  []string{"SOPInstanceUID", "SOPClassUID", "InstanceNumber", "InstanceCreationDate", "InstanceCreationTime"},
		ImagePixelInfo: []string{"Rows", "Columns", "BitsAllocated", "BitsStored", "HighBit", "PixelRepresentation", "SamplesPerPixel", "PhotometricInterpretation", "PixelSpacing"},
		Equipment:      []string{"Manufacturer", "ManufacturerModelName", "DeviceSerialNumber", "SoftwareVersions", "InstitutionName", "StationName"},
		CT:             []string{"KVP", "ExposureTime", "XRayTubeCurrent", "Exposure", "ConvolutionKernel", "SliceThickness"},
		MR:             []string{"RepetitionTime", "EchoTime", "MagneticFieldStrength", "FlipAngle", "ImagingFrequency", "ScanningSequence"},
		Ultrasound:     []string{"TransducerType", "TransducerFrequency", "SoundPathLength", "UltrasoundColorDataPresent", "FrameTime", "HeartRate"},
		PetNM: []string{"RadiopharmaceuticalInformationSequence", "RadiopharmaceuticalStartTime", "RadiopharmaceuticalStartDateTime",
			"RadiopharmaceuticalVolume", "RadionuclideTotalDose", "Units", "DecayCorrection", "ActualFrameDuration", "CountsSource",
			"NumberOfSlices", "CorrectedImage"},
		XA: []string{"DistanceSourceToDetector", "DistanceSourceToPatient", "IntensifierSize", "ImagerPixelSpacing",
			"PositionerPrimaryAngle", "PositionerSecondaryAngle", "TableHeight", "RadiationSetting"},
		RT: []string{"RTImageLabel", "RTImageDescription", "ReferencedRTPlanSequence", "ReferencedBeamNumber", "RadiationMachineName",
			"GantryAngle", "BeamLimitingDeviceAngle", "PatientSupportAngle", "TableTopVerticalPosition", "TableTopLongitudinalPosition",
			"TableTopLateralPosition"},
	}
	s.Default = CombineTags(s.PatientBasic, s.StudyBasic, s.SeriesBasic, s.InstanceBasic, s.ImagePixelInfo, s.Equipment)
	return s
}

// tagSetsByName maps the seed's JavaScript property names (used as @name in
// configuration files) to the sets.
func tagSetsByName() map[string][]string {
	s := CommonTagSets()
	return map[string][]string{
		"patientBasic": s.PatientBasic, "studyBasic": s.StudyBasic, "seriesBasic": s.SeriesBasic,
		"instanceBasic": s.InstanceBasic, "imagePixelInfo": s.ImagePixelInfo, "equipment": s.Equipment,
		"ct": s.CT, "mr": s.MR, "ultrasound": s.Ultrasound, "petNm": s.PetNM, "xa": s.XA, "rt": s.RT,
		"default": s.Default,
	}
}

// CombineTags concatenates tag lists, keeping the first occurrence of each
// name (the seed's combineTags).
func CombineTags(sets ...[]string) []string {
	seen := map[string]bool{}
	var out []string
	for _, set := range sets {
		for _, name := range set {
			if !seen[name] {
				seen[name] = true
				out = append(out, name)
			}
		}
	}
	if out == nil {
		out = []string{}
	}
	return out
}

// SOP Class UIDs of the helper sets (PS3.4 Annex B.5).
const (
	uidCT              = "1.2.840.10008.5.1.4.1.1.2"
	uidEnhancedCT      = "1.2.840.10008.5.1.4.1.1.2.1"
	uidMR              = "1.2.840.10008.5.1.4.1.1.4"
	uidEnhancedMR      = "1.2.840.10008.5.1.4.1.1.4.1"
	uidUS              = "1.2.840.10008.5.1.4.1.1.6.1"
	uidUSMultiFrame    = "1.2.840.10008.5.1.4.1.1.3.1"
	uidPET             = "1.2.840.10008.5.1.4.1.1.128"
	uidEnhancedPET     = "1.2.840.10008.5.1.4.1.1.130"
	uidNM              = "1.2.840.10008.5.1.4.1.1.20"
	uidXA              = "1.2.840.10008.5.1.4.1.1.12.1"
	uidEnhancedXA      = "1.2.840.10008.5.1.4.1.1.12.1.1"
	uidCR              = "1.2.840.10008.5.1.4.1.1.1"
	uidDXPresentation  = "1.2.840.10008.5.1.4.1.1.1.1"
	uidDXProcessing    = "1.2.840.10008.5.1.4.1.1.1.1.1"
	uidMGPresentation  = "1.2.840.10008.5.1.4.1.1.1.2"
	uidMGProcessing    = "1.2.840.10008.5.1.4.1.1.1.2.1"
	uidBreastTomo      = "1.2.840.10008.5.1.4.1.1.13.1.3"
	uidBreastProjPres  = "1.2.840.10008.5.1.4.1.1.13.1.4"
	uidBreastProjProc  = "1.2.840.10008.5.1.4.1.1.13.1.5"
	uidSC              = "1.2.840.10008.5.1.4.1.1.7"
	uidSCSingleBit     = "1.2.840.10008.5.1.4.1.1.7.1"
	uidSCGrayByte      = "1.2.840.10008.5.1.4.1.1.7.2"
	uidSCGrayWord      = "1.2.840.10008.5.1.4.1.1.7.3"
	uidSCTrueColor     = "1.2.840.10008.5.1.4.1.1.7.4"
	uidRTImage         = "1.2.840.10008.5.1.4.1.1.481.1"
	uidRTDose          = "1.2.840.10008.5.1.4.1.1.481.2"
	uidRTStructureSet  = "1.2.840.10008.5.1.4.1.1.481.3"
	uidRTPlan          = "1.2.840.10008.5.1.4.1.1.481.5"
	uidEncapsulatedPDF = "1.2.840.10008.5.1.4.1.1.104.1"
	uidEncapsulatedCDA = "1.2.840.10008.5.1.4.1.1.104.2"
	uidEncapsulatedSTL = "1.2.840.10008.5.1.4.1.1.104.3"
	uidGSPS            = "1.2.840.10008.5.1.4.1.1.11.1"
	uidBasicTextSR     = "1.2.840.10008.5.1.4.1.1.88.11"
	uidEnhancedSR      = "1.2.840.10008.5.1.4.1.1.88.22"
	uidComprehensiveSR = "1.2.840.10008.5.1.4.1.1.88.33"
	uidVerification    = "1.2.840.10008.1.1"
)

// CommonSOPClasses returns the seed's SOP class sets (getCommonSopClasses)
// as UIDs, under the keys the seed documents (ct, mr, us, pet, nm, xa, dx,
// mg, sc, rt, all) and those its code has (ultrasound, xray, mammography,
// secondaryCapture, radiationTherapy, documents, structuredReports,
// allImaging). Each call returns fresh slices. See docs/configuration.md for
// the contents of each set.
func CommonSOPClasses() map[string][]string {
	m := map[string][]string{
		"ct":                {uidCT, uidEnhancedCT},
		"mr":                {uidMR, uidEnhancedMR},
		"ultrasound":        {uidUS, uidUSMultiFrame},
		"pet":               {uidPET, uidEnhancedPET, uidNM},
		"xray":              {uidCR, uidDXPresentation, uidDXProcessing},
		"mammography":       {uidMGPresentation, uidMGProcessing, uidBreastTomo, uidBreastProjPres, uidBreastProjProc},
		"secondaryCapture":  {uidSC, uidSCGrayByte, uidSCGrayWord, uidSCTrueColor},
		"radiationTherapy":  {uidRTImage, uidRTDose, uidRTStructureSet, uidRTPlan},
		"documents":         {uidEncapsulatedPDF, uidEncapsulatedCDA, uidEncapsulatedSTL, uidGSPS},
		"structuredReports": {uidBasicTextSR, uidEnhancedSR, uidComprehensiveSR},
		// Keys of the seed's documentation that its code lacks.
		"us": {uidUS, uidUSMultiFrame},
		"nm": {uidNM},
		"xa": {uidXA, uidEnhancedXA},
		"dx": {uidDXPresentation, uidDXProcessing},
		"mg": {uidMGPresentation, uidMGProcessing},
		"sc": {uidSC, uidSCSingleBit, uidSCGrayByte, uidSCGrayWord, uidSCTrueColor},
		"rt": {uidRTImage, uidRTDose, uidRTStructureSet, uidRTPlan},
	}
	m["allImaging"] = CombineTags(m["ct"], m["mr"], m["ultrasound"], m["pet"], m["xray"], m["mammography"])
	m["all"] = CombineTags(m["allImaging"], m["secondaryCapture"], m["radiationTherapy"], m["documents"],
		m["structuredReports"], []string{uidVerification}, m["nm"], m["xa"], m["sc"])
	return m
}

// Transfer syntax UIDs of the helper sets (PS3.5 Annex A).
const (
	tsImplicit       = dicom.ImplicitVRLittleEndian
	tsExplicit       = dicom.ExplicitVRLittleEndian
	tsBig            = dicom.ExplicitVRBigEndian
	tsDeflated       = dicom.DeflatedExplicitVRLittleEndian
	tsJPEGBaseline   = "1.2.840.10008.1.2.4.50"
	tsJPEGExtended   = "1.2.840.10008.1.2.4.51"
	tsJPEGLossless   = "1.2.840.10008.1.2.4.57"
	tsJPEGLosslessS1 = "1.2.840.10008.1.2.4.70"
	tsJPEGLSLossless = "1.2.840.10008.1.2.4.80"
	tsJPEGLSLossy    = "1.2.840.10008.1.2.4.81"
	tsJ2KLossless    = "1.2.840.10008.1.2.4.90"
	tsJ2K            = "1.2.840.10008.1.2.4.91"
	tsJ2KP2Lossless  = "1.2.840.10008.1.2.4.92"
	tsJ2KP2          = "1.2.840.10008.1.2.4.93"
	tsRLE            = "1.2.840.10008.1.2.5"
	tsMPEG2MPML      = "1.2.840.10008.1.2.4.100"
	tsMPEG2MPHL      = "1.2.840.10008.1.2.4.101"
	tsMPEG4HP41      = "1.2.840.10008.1.2.4.102"
	tsMPEG4HP41BD    = "1.2.840.10008.1.2.4.103"
)

// CommonTransferSyntaxes returns the seed's transfer syntax sets
// (getCommonTransferSyntaxes) as UIDs, under the keys uncompressed, jpeg,
// jpegLossy, jpegLossless, jpegLs, jpeg2000, jpeg2000Lossy,
// jpeg2000Lossless, rle, mpeg, allCompressed and all. Each call returns
// fresh slices.
func CommonTransferSyntaxes() map[string][]string {
	m := map[string][]string{
		"uncompressed":     {tsImplicit, tsExplicit, tsBig},
		"jpeg":             {tsJPEGBaseline, tsJPEGExtended, tsJPEGLossless, tsJPEGLosslessS1},
		"jpegLossy":        {tsJPEGBaseline, tsJPEGExtended},
		"jpegLossless":     {tsJPEGLossless, tsJPEGLosslessS1},
		"jpegLs":           {tsJPEGLSLossless, tsJPEGLSLossy},
		"jpeg2000":         {tsJ2KLossless, tsJ2K},
		"jpeg2000Lossy":    {tsJ2K, tsJ2KP2},
		"jpeg2000Lossless": {tsJ2KLossless, tsJ2KP2Lossless},
		"rle":              {tsRLE},
		"mpeg":             {tsMPEG2MPML, tsMPEG2MPHL, tsMPEG4HP41, tsMPEG4HP41BD},
	}
	m["allCompressed"] = CombineTags(m["jpeg"], m["jpegLs"], m["jpeg2000"], m["rle"], m["mpeg"])
	m["all"] = CombineTags(m["uncompressed"], m["allCompressed"], []string{tsDeflated})
	return m
}

// AvailableTagNames returns every keyword of the standard data dictionary,
// retired ones included, unique and sorted (the seed's
// getAvailableTagNames, done right).
func AvailableTagNames() []string { return dicom.Keywords() }

// CustomTag names a private or vendor tag to extract (the seed's
// extractCustomTags entries): Tag is 8 hex digits ("00091001"), Name the key
// it gets in the events' tags. New validates both.
type CustomTag struct {
	Tag  string `json:"tag" yaml:"tag"`
	Name string `json:"name" yaml:"name"`
}

// CreateCustomTag returns a CustomTag (the seed's createCustomTag). It is
// validated, with the rest of the configuration, by New.
func CreateCustomTag(tag, name string) CustomTag { return CustomTag{Tag: tag, Name: name} }
