package dimse

import "fmt"

// DIMSE status codes the receiver answers with (PS3.7 Annex C, PS3.4 §B.2.3).
const (
	StatusSuccess uint16 = 0x0000

	// StatusCoercion is the C-STORE warning "Coercion of Data Elements"
	// (PS3.4 Table B.2-1): the receiver changed the object before storing it.
	StatusCoercion uint16 = 0xB000

	// StatusOutOfResources is the C-STORE failure "Refused: Out of Resources"
	// (A7xx); the receiver answers it when storage fails.
	StatusOutOfResources uint16 = 0xA700
	// StatusDataSetMismatch is "Error: Data Set does not match SOP Class" (A9xx).
	StatusDataSetMismatch uint16 = 0xA900
	// StatusCannotUnderstand is "Error: Cannot understand" (Cxxx). The
	// receiver uses the codes below in that range to say what it could not
	// understand; each response also carries an Error Comment.
	StatusCannotUnderstand uint16 = 0xC000
	// StatusUnparsable: the data set does not parse in the negotiated
	// transfer syntax up to its pixel data.
	StatusUnparsable uint16 = 0xC001
	// StatusBadUID: a Study, Series or SOP Instance UID is missing or not a
	// valid UID.
	StatusBadUID uint16 = 0xC002
	// StatusInstanceMismatch: the data set's SOP Instance UID differs from the
	// command's Affected SOP Instance UID.
	StatusInstanceMismatch uint16 = 0xC003
	// StatusFileMetaInDataSet: the data set carries group 0002 elements,
	// which belong to the file meta information, never to a data set on the
	// wire (PS3.10 §7.1).
	StatusFileMetaInDataSet uint16 = 0xC004
	// StatusBadCommand: the C-STORE-RQ lacks a required element (Affected
	// SOP Class UID or Affected SOP Instance UID).
	StatusBadCommand uint16 = 0xC005
	// StatusRefusedByCallback: the onBeforeStore callback refused the object
	// and chose no status of its own.
	StatusRefusedByCallback uint16 = 0xC006
	// StatusTooLarge: the object is larger than the configured maximum.
	StatusTooLarge uint16 = 0xC007

	// StatusDuplicate is "Duplicate SOP Instance" (0111H, PS3.7 §C.5): the
	// receiver answers it under duplicatePolicy "reject".
	StatusDuplicate uint16 = 0x0111
	// StatusSOPClassNotSupported is "Refused: SOP Class not supported" (0122H).
	StatusSOPClassNotSupported uint16 = 0x0122
	// StatusNotAuthorized is "Refused: Not Authorized" (0124H).
	StatusNotAuthorized uint16 = 0x0124
	// StatusUnrecognizedOperation is "Unrecognized Operation" (0211H), the
	// answer to any command the receiver does not provide.
	StatusUnrecognizedOperation uint16 = 0x0211
	// StatusProcessingFailure is "Processing Failure" (0110H).
	StatusProcessingFailure uint16 = 0x0110
)

// StatusCategory classifies a status as PS3.7 Annex C does.
func StatusCategory(s uint16) string {
	switch {
	case s == 0x0000:
		return "success"
	case s == 0x0001 || s&0xF000 == 0xB000 || s == 0x0107 || s == 0x0116:
		return "warning"
	case s == 0xFE00:
		return "cancel"
	case s == 0xFF00 || s == 0xFF01:
		return "pending"
	}
	return "failure"
}

// StatusText returns a short English name of a status, for logs.
func StatusText(s uint16) string {
	switch {
	case s == StatusSuccess:
		return "Success"
	case s == StatusCoercion:
		return "Warning: Coercion of Data Elements"
	case s&0xFF00 == 0xA700:
		return "Refused: Out of Resources"
	case s&0xFF00 == 0xA900:
		return "Error: Data Set does not match SOP Class"
	case s&0xF000 == 0xC000:
		return "Error: Cannot understand"
	case s == StatusDuplicate:
		return "Duplicate SOP Instance"
	case s == StatusSOPClassNotSupported:
		return "Refused: SOP Class not supported"
	case s == StatusNotAuthorized:
		return "Refused: Not Authorized"
	case s == StatusUnrecognizedOperation:
		return "Unrecognized Operation"
	case s == StatusProcessingFailure:
		return "Processing Failure"
	}
	return fmt.Sprintf("Status 0x%04X", s)
}

// StatusError is an operation-level failure: it becomes a DIMSE response
// status with an Error Comment, and the association lives on.
type StatusError struct {
	Status  uint16
	Comment string // sent as Error Comment, truncated to 64 characters
	Err     error  // the cause, for logs; may be nil
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("status 0x%04X (%s): %s", e.Status, StatusText(e.Status), e.Comment)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *StatusError) Unwrap() error { return e.Err }

// Errorf returns a *StatusError with a formatted comment.
func Errorf(status uint16, format string, args ...any) *StatusError {
	return &StatusError{Status: status, Comment: fmt.Sprintf(format, args...)}
}
