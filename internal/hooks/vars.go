package hooks

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/dicomrecv/dicomrecv/storage"
)

// fileStoredData holds the members of a FileStored event's data that
// placeholders use (the root package's FileStoredEvent).
type fileStoredData struct {
	File              string `json:"file"`
	SOPInstanceUID    string `json:"sopInstanceUid"`
	SOPClassUID       string `json:"sopClassUid"`
	TransferSyntaxUID string `json:"transferSyntaxUid"`
	StudyInstanceUID  string `json:"studyInstanceUid"`
	SeriesInstanceUID string `json:"seriesInstanceUid"`
	CallingAETitle    string `json:"callingAeTitle"`
	CalledAETitle     string `json:"calledAeTitle"`
	RemoteAddr        string `json:"remoteAddr"`
	Bytes             int64  `json:"bytes"`
}

// studyCompletedData holds the members of a StudyCompleted event's data
// that placeholders use ({"study": internal/study.StudyEvent}).
type studyCompletedData struct {
	Study *struct {
		StudyInstanceUID string `json:"studyInstanceUid"`
		Series           []struct {
			SeriesInstanceUID string `json:"seriesInstanceUid"`
			Instances         []struct {
				File string `json:"file"`
			} `json:"instances"`
		} `json:"series"`
		CallingAETitles []string `json:"callingAeTitles"`
		InstanceCount   int      `json:"instanceCount"`
		Bytes           int64    `json:"bytes"`
	} `json:"study"`
}

// valuesOf returns the placeholder values of an event's JSON (as Encode
// writes it).
func valuesOf(event string, payload []byte) (*values, error) {
	var v values
	switch event {
	case EventFileStored:
		var ev struct {
			Data *fileStoredData `json:"data"`
		}
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, fmt.Errorf("event JSON: %w", err)
		}
		d := ev.Data
		if d == nil {
			return nil, errors.New("event JSON has no data")
		}
		v[phFile] = d.File
		v[phSOPInstanceUID] = d.SOPInstanceUID
		v[phSOPClassUID] = d.SOPClassUID
		v[phStudyInstanceUID] = d.StudyInstanceUID
		v[phSeriesInstanceUID] = d.SeriesInstanceUID
		v[phTransferSyntaxUID] = d.TransferSyntaxUID
		v[phCallingAETitle] = d.CallingAETitle
		v[phCalledAETitle] = d.CalledAETitle
		v[phRemoteAddr] = d.RemoteAddr
		v[phBytes] = strconv.FormatInt(d.Bytes, 10)
		v[phStudyDir], v[phSeriesDir] = dirsOf(d.File, d.StudyInstanceUID, d.SeriesInstanceUID)
	case EventStudyCompleted:
		var ev struct {
			Data *studyCompletedData `json:"data"`
		}
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, fmt.Errorf("event JSON: %w", err)
		}
		if ev.Data == nil || ev.Data.Study == nil {
			return nil, errors.New("event JSON has no data.study")
		}
		st := ev.Data.Study
		v[phStudyInstanceUID] = st.StudyInstanceUID
		v[phInstanceCount] = strconv.Itoa(st.InstanceCount)
		v[phSeriesCount] = strconv.Itoa(len(st.Series))
		v[phBytes] = strconv.FormatInt(st.Bytes, 10)
		v[phCallingAETitles] = strings.Join(st.CallingAETitles, ",")
		for _, se := range st.Series {
			if len(se.Instances) > 0 {
				v[phStudyDir], _ = dirsOf(se.Instances[0].File, st.StudyInstanceUID, se.SeriesInstanceUID)
				break
			}
		}
	default:
		return nil, fmt.Errorf("no placeholders for %s events", event)
	}
	return &v, nil
}

// dirsOf returns the study and series directories of a stored file, laid
// out as {outDir}/{study}/{series}/{sop}.dcm (storage.Key.Path). Both are
// empty unless file is a filesystem path (not s3://...) whose directories
// are named after the study and the series, both valid UIDs: a command
// never gets "/", "." or ".." for a directory it may act on.
func dirsOf(file, study, series string) (studyDir, seriesDir string) {
	if file == "" || !storage.ValidUID(study) || !storage.ValidUID(series) || strings.Contains(file, "://") {
		return "", ""
	}
	seriesDir = filepath.Dir(file)
	studyDir = filepath.Dir(seriesDir)
	if filepath.Base(seriesDir) != series || filepath.Base(studyDir) != study {
		return "", ""
	}
	return studyDir, seriesDir
}
