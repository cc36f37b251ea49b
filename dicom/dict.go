package dicom

import "slices"

// Entry is one attribute of the standard data dictionary (PS3.6 §6).
type Entry struct {
	Tag   Tag // for repeating groups (50xx, 60xx, 7Fxx) the tag of the xx=00 group, for other "x" tags the x=0 one
	VR    VR  // the VR, or the first one where PS3.6 lists several ("US or SS"); 0 for items and delimiters
	AltVR VR  // the second VR where PS3.6 lists several, else 0
	// VM is the value multiplicity as PS3.6 writes it: "1", "1-n", "2-2n",
	// "1-n or 1".
	VM      string
	Keyword string // e.g. "PatientName"
	Name    string // e.g. "Patient's Name"
	Retired bool
}

// GenericGroupLengthKeyword is the keyword of the entry that LookupTag
// returns for a group length element (gggg,0000) of an even group that the
// dictionary does not list (PS3.5 §7.2). It is not a PS3.6 keyword:
// Keywords and LookupKeyword do not know it.
const GenericGroupLengthKeyword = "GenericGroupLength"

// Repeating groups of PS3.5 §7.6: curves (50xx), overlays (60xx) and
// variable pixel data (7Fxx, retired). Their PS3.6 entries are kept under
// xx=00.
const (
	curveGroup         = 0x5000
	overlayGroup       = 0x6000
	variablePixelGroup = 0x7F00
	pixelDataGroup     = 0x7FE0 // a group of its own, not an instance of 7Fxx
	itemGroup          = 0xFFFE // items and delimiters (PS3.5 §7.5), no group length
)

// LookupTag returns the dictionary entry of t, trying in turn:
//
//  1. the entry of exactly t;
//  2. the PS3.6 entries written with "x" digits: (0020,31xx), (0028,04x0)-(0028,04x3),
//     (0028,08x0)-(0028,08x8), (1000,xxx0)-(1000,xxx5), (1010,xxxx);
//  3. the repeating groups of PS3.5 §7.6: a tag of group 50xx or 60xx
//     (xx even, 00-1E) or 7Fxx (xx even, but not 7FE0) finds its entry in
//     group 5000, 6000 or 7F00, whose Tag it returns;
//  4. (gggg,0000) of an even group other than FFFE: a generic group length, VR UL, VM "1",
//     keyword GenericGroupLengthKeyword (PS3.5 §7.2);
//  5. a private creator element (gggg,0010)-(gggg,00FF) of a private group:
//     VR LO (PS3.5 §7.8.1), VM "1", Name "Private Creator", empty keyword.
//
// Any other private tag, and any standard tag PS3.6 does not list, gives
// false; so do the command elements of group 0000 (PS3.7 Annex E, not part
// of PS3.6) other than its group length. The groups 0001, 0003, 0005, 0007 and FFFF are not private groups
// (PS3.5 §7.8.1), so they have no private creators either.
func LookupTag(t Tag) (Entry, bool) {
	if i, ok := dictIndex(t); ok {
		return dictEntries[i], true
	}
	if e, ok := lookupMasked(t); ok {
		return e, true
	}
	g := t.Group()
	if base, ok := repeatingBase(g); ok {
		if i, ok := dictIndex(NewTag(base, t.Element())); ok {
			return dictEntries[i], true
		}
	}
	if g&1 == 0 {
		if t.Element() == 0 && g != itemGroup {
			return Entry{Tag: t, VR: UL, VM: "1", Keyword: GenericGroupLengthKeyword, Name: "Generic Group Length"}, true
		}
		return Entry{}, false
	}
	if isPrivateCreator(t) {
		return Entry{Tag: t, VR: LO, VM: "1", Name: "Private Creator"}, true
	}
	return Entry{}, false
}

// dictIndex returns the index in dictEntries of the first entry of tag t
// (slices.BinarySearch returns the earliest position), the exact one where
// a masked entry shares its tag.
func dictIndex(t Tag) (int, bool) {
	return slices.BinarySearch(dictTags[:], t)
}

func lookupMasked(t Tag) (Entry, bool) {
	switch t.Group() {
	case 0x0020, 0x0028, 0x1000, 0x1010:
	default:
		return Entry{}, false
	}
	for _, m := range dictMasked {
		if t&m.mask == m.value {
			return dictEntries[m.index], true
		}
	}
	return Entry{}, false
}

// repeatingBase returns the group that holds the entries of repeating group
// g (PS3.5 §7.6).
func repeatingBase(g uint16) (uint16, bool) {
	if g&1 != 0 || g == pixelDataGroup {
		return 0, false
	}
	switch g & 0xFF00 {
	case curveGroup, overlayGroup:
		if g&0x00FF <= 0x1E {
			return g & 0xFF00, true
		}
	case variablePixelGroup:
		return variablePixelGroup, true
	}
	return 0, false
}

// isPrivateGroup reports whether odd group g may hold private data elements
// (PS3.5 §7.8.1: not 0001, 0003, 0005, 0007 or FFFF).
func isPrivateGroup(g uint16) bool {
	return g&1 == 1 && g > 0x0007 && g != 0xFFFF
}

// isPrivateCreator reports whether t is a Private Creator element,
// (gggg,0010-00FF) of a private group (PS3.5 §7.8.1).
func isPrivateCreator(t Tag) bool {
	return isPrivateGroup(t.Group()) && t.Element() >= 0x0010 && t.Element() <= 0x00FF
}

// LookupKeyword returns the dictionary entry whose keyword is kw (case
// sensitive, as PS3.6 spells it). Retired entries are included. For the
// entries of repeating groups and masked tags the Entry's Tag is the xx=00
// instance.
func LookupKeyword(kw string) (Entry, bool) {
	i, ok := slices.BinarySearch(dictKeywords[:], kw)
	if !ok {
		return Entry{}, false
	}
	return dictEntries[dictByKeyword[i]], true
}

// Keywords returns every keyword of the data dictionary, retired ones
// included, each once, sorted in byte order. The slice is a fresh copy the
// caller may keep or change.
func Keywords() []string {
	return slices.Clone(dictKeywords[:])
}
