package dicomrecv

import (
	"errors"

	"github.com/dicomrecv/dicomrecv/dicom"
	"github.com/dicomrecv/dicomrecv/internal/dimse"
)

// storeEdited applies the callback's changes to the header and stores the
// result. (Waiting for the data set editor.)
func (a *association) storeEdited(ts dicom.TransferSyntax, data *dimse.DataReader, in *parsed, ev *FileStoredEvent, changes []fieldChange) (*FileStoredEvent, error) {
	return nil, &dimse.StatusError{Status: dimse.StatusProcessingFailure, Comment: "editing not available", Err: errors.New("todo")}
}
