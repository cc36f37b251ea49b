package dicom

// Entry is one attribute of the standard data dictionary (PS3.6 §6).
//
// PLACEHOLDER: this file is replaced by the generated dictionary. Only the
// exported API below is fixed.
type Entry struct {
	Tag     Tag    // for repeating groups (50xx, 60xx, 7Fxx) the tag of the xx=00 group
	VR      VR     // the VR, or the first one where PS3.6 lists several ("US or SS")
	AltVR   VR     // the second VR where PS3.6 lists several, else 0
	VM      string // value multiplicity as PS3.6 writes it: "1", "1-n", "2-2n"
	Keyword string // e.g. "PatientName"
	Name    string // e.g. "Patient's Name"
	Retired bool
}

var placeholderDict = map[Tag]Entry{
	TagSOPClassUID:       {Tag: TagSOPClassUID, VR: UI, VM: "1", Keyword: "SOPClassUID", Name: "SOP Class UID"},
	TagSOPInstanceUID:    {Tag: TagSOPInstanceUID, VR: UI, VM: "1", Keyword: "SOPInstanceUID", Name: "SOP Instance UID"},
	TagStudyInstanceUID:  {Tag: TagStudyInstanceUID, VR: UI, VM: "1", Keyword: "StudyInstanceUID", Name: "Study Instance UID"},
	TagSeriesInstanceUID: {Tag: TagSeriesInstanceUID, VR: UI, VM: "1", Keyword: "SeriesInstanceUID", Name: "Series Instance UID"},
	TagPixelData:         {Tag: TagPixelData, VR: OB, AltVR: OW, VM: "1", Keyword: "PixelData", Name: "Pixel Data"},
}

// LookupTag returns the dictionary entry of t. Tags of the repeating groups
// 50xx, 60xx and 7Fxx find their xx=00 entry; (gggg,0000) finds a generic
// group length (UL).
func LookupTag(t Tag) (Entry, bool) {
	e, ok := placeholderDict[t]
	return e, ok
}

// LookupKeyword returns the dictionary entry whose keyword is kw (case
// sensitive, as PS3.6 spells it).
func LookupKeyword(kw string) (Entry, bool) {
	for _, e := range placeholderDict {
		if e.Keyword == kw {
			return e, true
		}
	}
	return Entry{}, false
}
