package study_test

import (
	"testing"

	"github.com/dicomrecv/dicomrecv/internal/study"
)

// Every rule of LevelOfTag and its boundaries.
func TestLevelOfTag(t *testing.T) {
	tests := []struct {
		name           string
		group, element uint16
		want           study.Level
	}{
		// Rule 1: group 0010, any element.
		{"group length 0010", 0x0010, 0x0000, study.LevelStudy},
		{"PatientName", 0x0010, 0x0010, study.LevelStudy},
		{"PatientComments", 0x0010, 0x4000, study.LevelStudy},
		{"last of 0010", 0x0010, 0xFFFF, study.LevelStudy},
		{"private group 0011", 0x0011, 0x0010, study.LevelInstance},
		// Rule 2.
		{"StudyDate", 0x0008, 0x0020, study.LevelStudy},
		{"StudyTime", 0x0008, 0x0030, study.LevelStudy},
		{"AccessionNumber", 0x0008, 0x0050, study.LevelStudy},
		{"ReferringPhysicianName", 0x0008, 0x0090, study.LevelStudy},
		{"StudyDescription", 0x0008, 0x1030, study.LevelStudy},
		{"PhysiciansOfRecord", 0x0008, 0x1048, study.LevelStudy},
		{"StudyInstanceUID", 0x0020, 0x000D, study.LevelStudy},
		{"StudyID", 0x0020, 0x0010, study.LevelStudy},
		{"group 0032 start", 0x0032, 0x0000, study.LevelStudy},
		{"RequestingPhysician", 0x0032, 0x1032, study.LevelStudy},
		{"StudyComments", 0x0032, 0x4000, study.LevelStudy},
		// Rule 3.
		{"SeriesDate", 0x0008, 0x0021, study.LevelSeries},
		{"SeriesTime", 0x0008, 0x0031, study.LevelSeries},
		{"Modality", 0x0008, 0x0060, study.LevelSeries},
		{"InstitutionAddress", 0x0008, 0x0081, study.LevelSeries},
		{"SeriesDescription", 0x0008, 0x103E, study.LevelSeries},
		{"PerformingPhysicianName", 0x0008, 0x1050, study.LevelSeries},
		{"OperatorsName", 0x0008, 0x1070, study.LevelSeries},
		{"BodyPartExamined", 0x0018, 0x0015, study.LevelSeries},
		{"ProtocolName (rule 3 before rule 4)", 0x0018, 0x1030, study.LevelSeries},
		{"SeriesInstanceUID", 0x0020, 0x000E, study.LevelSeries},
		{"SeriesNumber", 0x0020, 0x0011, study.LevelSeries},
		{"Laterality", 0x0020, 0x0060, study.LevelSeries},
		{"ImagesInAcquisition", 0x0020, 0x1002, study.LevelSeries},
		// The documented exception: the equipment set is instance level.
		{"Manufacturer", 0x0008, 0x0070, study.LevelInstance},
		{"InstitutionName", 0x0008, 0x0080, study.LevelInstance},
		{"StationName", 0x0008, 0x1010, study.LevelInstance},
		{"ManufacturerModelName", 0x0008, 0x1090, study.LevelInstance},
		{"DeviceSerialNumber", 0x0018, 0x1000, study.LevelInstance},
		{"SoftwareVersions", 0x0018, 0x1020, study.LevelInstance},
		// Rule 4 (equipment scope) and its edges, rule 5.
		{"SliceThickness (0018 below 1000)", 0x0018, 0x0050, study.LevelInstance},
		{"0018,0FFF", 0x0018, 0x0FFF, study.LevelInstance},
		{"last equipment element", 0x0018, 0x1FFF, study.LevelInstance},
		{"PatientPosition", 0x0018, 0x5100, study.LevelInstance},
		{"SOPInstanceUID", 0x0008, 0x0018, study.LevelInstance},
		{"InstanceNumber", 0x0020, 0x0013, study.LevelInstance},
		{"Rows", 0x0028, 0x0010, study.LevelInstance},
		{"AdmissionID", 0x0038, 0x0010, study.LevelInstance},
		{"RequestedProcedureID", 0x0040, 0x1001, study.LevelInstance},
		{"private 0009,1001", 0x0009, 0x1001, study.LevelInstance},
		{"PixelData", 0x7FE0, 0x0010, study.LevelInstance},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := study.LevelOfTag(tt.group, tt.element); got != tt.want {
				t.Errorf("LevelOfTag(%04X,%04X) = %v, want %v", tt.group, tt.element, got, tt.want)
			}
		})
	}
}

func TestLevelString(t *testing.T) {
	tests := []struct {
		l    study.Level
		want string
	}{
		{study.LevelStudy, "study"},
		{study.LevelSeries, "series"},
		{study.LevelInstance, "instance"},
		{study.Level(9), "Level(9)"},
	}
	for _, tt := range tests {
		if got := tt.l.String(); got != tt.want {
			t.Errorf("Level(%d).String() = %q, want %q", uint8(tt.l), got, tt.want)
		}
	}
	var zero study.Level
	if zero != study.LevelInstance {
		t.Errorf("the zero Level is %v, want instance", zero)
	}
}
