package dicomrecv

import (
	"bytes"
	"io"

	"github.com/dicomrecv/dicomrecv/dicom"
	"github.com/dicomrecv/dicomrecv/internal/dimse"
	"github.com/dicomrecv/dicomrecv/storage"
)

// storeEdited applies the callback's changes to the header, then stores the
// changed header followed by the untouched rest of the data set (pixel data
// streamed as received; a deflated data set is deflated again). The key,
// the file meta, the event and the study grouping follow the changed UIDs;
// the C-STORE response still names the request's.
func (a *association) storeEdited(ts dicom.TransferSyntax, data *dimse.DataReader, in *parsed, ev *FileStoredEvent, changes []dicom.Change) (*FileStoredEvent, error) {
	raw, err := in.decoded().bytes()
	if err != nil {
		return nil, a.storageFailed(err)
	}
	var head bytes.Buffer
	if err := dicom.Edit(&head, raw, in.h, ts.Encoding, changes, dicom.EditOptions{}); err != nil {
		return nil, a.refuseEdit(err.Error(), err)
	}
	h, err := dicom.ReadHeader(bytes.NewReader(head.Bytes()), ts.Encoding, dicom.Limits{MaxDepth: a.srv.s.MaxSequenceDepth})
	if err != nil {
		return nil, &dimse.StatusError{Status: dimse.StatusProcessingFailure, Comment: "changed data set does not parse", Err: err}
	}
	sopClass, _ := h.UID(dicom.TagSOPClassUID)
	if sopClass != ev.SOPClassUID {
		return nil, a.refuseEdit("onBeforeStore may not change the SOP Class UID", nil)
	}
	out := *ev
	out.SOPInstanceUID, _ = h.UID(dicom.TagSOPInstanceUID)
	out.StudyInstanceUID, _ = h.UID(dicom.TagStudyInstanceUID)
	out.SeriesInstanceUID, _ = h.UID(dicom.TagSeriesInstanceUID)
	key := storage.Key{StudyInstanceUID: out.StudyInstanceUID, SeriesInstanceUID: out.SeriesInstanceUID, SOPInstanceUID: out.SOPInstanceUID}
	if err := key.Validate(); err != nil {
		return nil, a.refuseEdit("onBeforeStore set invalid "+badUID(key), err)
	}
	out.Tags = h.Extract(a.srv.s.extract, ts.Encoding)
	hs := &spool{mem: &head} // the changed header, already in memory
	var rest io.Reader = data
	if ts.Deflated {
		rest = in.fr // the inflated stream goes on where the header ended
	}
	if err := a.store(key, &out, ts, data, in, hs, rest, ts.Deflated); err != nil {
		return nil, err
	}
	return &out, nil
}

// refuseEdit counts and answers a change of onBeforeStore that cannot be
// made.
func (a *association) refuseEdit(comment string, err error) *dimse.StatusError {
	a.srv.metrics.BeforeStoreRefused()
	return &dimse.StatusError{Status: dimse.StatusRefusedByCallback, Comment: comment, Err: err}
}
