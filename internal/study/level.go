package study

import "fmt"

// Level is the level of the study tree at which a tag appears in a
// StudyEvent: study (patient and study attributes), series, or instance.
//
// The zero Level is LevelInstance, so a name that nobody classified lands on
// the instance, where no value is ever hidden by de-duplication.
type Level uint8

// The levels of a StudyEvent, from the leaves up.
const (
	// LevelInstance tags appear on every instance (Series.Instances[i].Tags).
	LevelInstance Level = iota
	// LevelSeries tags appear once per series (Series.Tags), taken from the
	// first instance received for that series.
	LevelSeries
	// LevelStudy tags (patient and study attributes) appear once per study
	// (StudyEvent.Tags), taken from the first instance received for that study.
	LevelStudy
)

// String returns "study", "series" or "instance".
func (l Level) String() string {
	switch l {
	case LevelStudy:
		return "study"
	case LevelSeries:
		return "series"
	case LevelInstance:
		return "instance"
	}
	return fmt.Sprintf("Level(%d)", uint8(l))
}

// LevelOfTag returns the level at which the attribute (group,element) appears
// in a StudyEvent. It follows the reference implementation's get_tag_scope,
// first match wins:
//
//  1. group 0010 (patient) -> study;
//  2. Study Date/Time, Accession Number, Referring Physician's Name, Study
//     Description, Physician(s) of Record, Study Instance UID, Study ID and
//     group 0032 -> study;
//  3. Series Date/Time, Modality, Institution Address, Series Description,
//     Performing Physician's Name, Operators' Name, Body Part Examined,
//     Protocol Name, Series Instance UID, Series Number, Laterality and
//     Images in Acquisition -> series;
//  4. everything else -> instance, including group 0018 elements 1000-1FFF
//     (the reference's "equipment" scope, which it also puts on instances).
//
// One documented exception: the reference puts Manufacturer (0008,0070),
// Institution Name (0008,0080) and Station Name (0008,1010) at series level,
// but its own documentation shows the "equipment" tag set (those three plus
// Manufacturer's Model Name, Device Serial Number and Software Versions) on
// the instance. We follow the documentation, so the whole equipment set sits
// on the instance. The remaining series rules are the reference's, even where
// PS3.3 places the attribute elsewhere (Images in Acquisition (0020,1002)
// belongs to the General Image module; Institution Address (0008,0081) to
// General Equipment).
func LevelOfTag(group, element uint16) Level {
	switch group {
	case 0x0010, 0x0032:
		return LevelStudy
	case 0x0008:
		switch element {
		case 0x0020, // Study Date
			0x0030, // Study Time
			0x0050, // Accession Number
			0x0090, // Referring Physician's Name
			0x1030, // Study Description
			0x1048: // Physician(s) of Record
			return LevelStudy
		case 0x0021, // Series Date
			0x0031, // Series Time
			0x0060, // Modality
			0x0081, // Institution Address
			0x103E, // Series Description
			0x1050, // Performing Physician's Name
			0x1070: // Operators' Name
			return LevelSeries
		}
		// (0008,0070) Manufacturer, (0008,0080) Institution Name and
		// (0008,1010) Station Name: instance, see the exception above.
	case 0x0018:
		switch element {
		case 0x0015, // Body Part Examined
			0x1030: // Protocol Name (before the 1000-1FFF equipment rule)
			return LevelSeries
		}
	case 0x0020:
		switch element {
		case 0x000D, // Study Instance UID
			0x0010: // Study ID
			return LevelStudy
		case 0x000E, // Series Instance UID
			0x0011, // Series Number
			0x0060, // Laterality
			0x1002: // Images in Acquisition
			return LevelSeries
		}
	}
	return LevelInstance
}
