package study

import "time"

// Instance is what the receiver reports to Tracker.Add after it has stored
// an instance successfully. Refused or failed stores are never reported.
type Instance struct {
	StudyInstanceUID  string
	SeriesInstanceUID string
	SOPInstanceUID    string
	SOPClassUID       string
	TransferSyntaxUID string
	// File is where the instance was stored: a path or an s3:// URL, as in
	// the FileStored event.
	File string
	// CallingAETitle is the AE title of the peer that sent the instance.
	CallingAETitle string
	// Bytes is the number of data set bytes received.
	Bytes int64
	// Tags are the extracted tags of the instance, flat, keyed by name. The
	// tracker splits them by level (Config.LevelOf) and does not keep the map.
	Tags map[string]string
}

// StudyEvent describes a completed study: every instance of the study that
// was stored since the study's previous event (or since the start), arranged
// as study -> series -> instances. The JSON field names are those the
// reference's OnStudyCompleted handlers read (event.data.study); the fields
// after Series are our additions.
type StudyEvent struct {
	StudyInstanceUID string `json:"studyInstanceUid"`
	// Tags holds the patient- and study-level tags, taken from the first
	// instance received for the study. Never nil.
	Tags map[string]string `json:"tags"`
	// Series lists the series in the order their first instance arrived.
	Series []Series `json:"series"`
	// CallingAETitles lists the distinct AE titles that sent instances of
	// the study, in the order they were first seen.
	CallingAETitles []string `json:"callingAeTitles"`
	// InstanceCount is the number of distinct SOP Instance UIDs in Series.
	InstanceCount int `json:"instanceCount"`
	// Bytes is the sum of Instance.Bytes over the instances in Series.
	Bytes int64 `json:"bytes"`
	// FirstReceived and LastReceived are the times the first and the last
	// instance of the study were added.
	FirstReceived time.Time `json:"firstReceived"`
	LastReceived  time.Time `json:"lastReceived"`
}

// Series is one series of a StudyEvent.
type Series struct {
	SeriesInstanceUID string `json:"seriesInstanceUid"`
	// Tags holds the series-level tags, taken from the first instance
	// received for the series. Never nil.
	Tags map[string]string `json:"tags"`
	// Instances lists the instances in the order they arrived. An instance
	// sent again while its study was pending keeps its place and shows the
	// values of the last copy.
	Instances []EventInstance `json:"instances"`
}

// EventInstance is one instance of a Series.
type EventInstance struct {
	SOPInstanceUID    string `json:"sopInstanceUid"`
	SOPClassUID       string `json:"sopClassUid"`
	TransferSyntaxUID string `json:"transferSyntaxUid"`
	File              string `json:"file"`
	// Tags holds the instance-level tags (including the equipment tags and
	// all custom tags). Never nil.
	Tags map[string]string `json:"tags"`
}
