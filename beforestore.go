package dicomrecv

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/dicomrecv/dicomrecv/dicom"
	"github.com/dicomrecv/dicomrecv/internal/dimse"
)

// DefaultBeforeStoreTimeout bounds an OnBeforeStore callback.
const DefaultBeforeStoreTimeout = 10 * time.Second

// BeforeStoreFunc inspects, changes or refuses an object before it is
// stored. It runs for every C-STORE once registered, in parallel across
// associations (a slow callback delays only its own association). ctx
// carries the BeforeStoreTimeout deadline; a callback still running at the
// deadline refuses the object. Returning an error refuses the object:
// nothing is stored and the sender gets a failure status, 0xC006 with the
// error's text as Error Comment, or the status of a *StoreError. A panic
// is recovered and refuses the object.
type BeforeStoreFunc func(ctx context.Context, req *BeforeStoreRequest) error

// OnBeforeStore registers the callback (replacing any earlier one). It may
// be called before or after Start.
func (s *Server) OnBeforeStore(fn BeforeStoreFunc) {
	s.hmu.Lock()
	s.beforeStore = fn
	s.hmu.Unlock()
}

func (s *Server) beforeStoreFunc() BeforeStoreFunc {
	s.hmu.Lock()
	defer s.hmu.Unlock()
	return s.beforeStore
}

// BeforeStoreRequest describes an object about to be stored. Tags is what
// the callback reads; Set and Delete are how it changes the object.
type BeforeStoreRequest struct {
	// Tags holds the extracted tags (ExtractTags, ExtractCustomTags) and,
	// always, SOPClassUID, SOPInstanceUID, StudyInstanceUID and
	// SeriesInstanceUID, rendered as in FileStoredEvent. Changing the map
	// changes nothing: use Set and Delete.
	Tags map[string]string
	// CallingAETitle is the sender's AE title; CalledAETitle the AE title
	// it called; RemoteAddr its address.
	CallingAETitle, CalledAETitle, RemoteAddr string
	// TransferSyntaxUID is the encoding of the data set.
	TransferSyntaxUID string

	resolve func(name string) (dicom.Tag, error)
	mu      sync.Mutex
	closed  bool
	changes []dicom.Change
	errs    []error
}

// Set sets the attribute name (a keyword such as "PatientName", a custom
// tag name of ExtractCustomTags, or a tag written "00100010" or
// "(0010,0010)") to value, given as text: it is encoded by the attribute's
// dictionary VR (numbers in decimal for binary VRs, several values
// separated by a backslash). An empty value sets an empty element; an
// attribute not in the object is added. A value the VR cannot hold refuses
// the object with an error naming it.
func (r *BeforeStoreRequest) Set(name, value string) { r.change(name, value, false) }

// Delete removes the attribute name from the object (nothing happens when
// it is absent).
func (r *BeforeStoreRequest) Delete(name string) { r.change(name, "", true) }

func (r *BeforeStoreRequest) change(name, value string, del bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return // the callback ran past its deadline; the object was refused
	}
	tag, err := r.resolve(name)
	if err != nil {
		r.errs = append(r.errs, err)
		return
	}
	r.changes = append(r.changes, dicom.Change{Tag: tag, Value: value, Delete: del})
}

// StoreError refuses an object with a chosen DIMSE status, e.g.
// &StoreError{Status: 0x0124, Comment: "not authorized"} or 0xA700 for a
// transient problem the sender should retry. Status must be a failure
// status (not 0x0000, not a warning 0xBxxx or 0x0001).
type StoreError struct {
	Status  uint16
	Comment string // sent as Error Comment, at most 64 characters
}

func (e *StoreError) Error() string {
	return fmt.Sprintf("refused with status 0x%04X: %s", e.Status, e.Comment)
}

// Status values a callback may choose (PS3.4 Table B.2-1, PS3.7 Annex C).
const (
	StatusOutOfResources      uint16 = dimse.StatusOutOfResources
	StatusDataSetMismatch     uint16 = dimse.StatusDataSetMismatch
	StatusCannotUnderstand    uint16 = dimse.StatusCannotUnderstand
	StatusNotAuthorized       uint16 = dimse.StatusNotAuthorized
	StatusRefusedByCallback   uint16 = dimse.StatusRefusedByCallback
	StatusSOPClassUnsupported uint16 = dimse.StatusSOPClassNotSupported
)

// deadlineGrace is how long after its deadline a callback may still return
// its own error.
const deadlineGrace = 100 * time.Millisecond

// errBeforeStoreTimeout marks a callback that ran past its deadline.
var errBeforeStoreTimeout = errors.New("onBeforeStore did not return before beforeStoreTimeout")

// runBeforeStore calls the callback with the deadline and turns its outcome
// into changes or a refusal.
func (a *association) runBeforeStore(fn BeforeStoreFunc, req *BeforeStoreRequest) ([]dicom.Change, *dimse.StatusError) {
	ctx, cancel := context.WithTimeout(context.Background(), a.srv.s.BeforeStoreTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				a.log.Error("onBeforeStore panicked", "panic", p, "stack", string(debug.Stack()))
				done <- fmt.Errorf("onBeforeStore panicked: %v", p)
			}
		}()
		done <- fn(ctx, req)
	}()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		// A callback that honours ctx returns at once with its own,
		// usually clearer, error: give it a moment.
		select {
		case err = <-done:
			if err == nil {
				err = errBeforeStoreTimeout
			}
		case <-time.After(deadlineGrace):
			err = errBeforeStoreTimeout
		}
	}
	req.mu.Lock()
	req.closed = true
	changes, errs := req.changes, req.errs
	req.mu.Unlock()
	if err == nil && len(errs) > 0 {
		err = errs[0]
	}
	if err != nil {
		a.srv.metrics.BeforeStoreRefused()
		return nil, refusal(err)
	}
	return changes, nil
}

// refusal maps a callback's error to the response status.
func refusal(err error) *dimse.StatusError {
	var se *StoreError
	if errors.As(err, &se) && dimse.StatusCategory(se.Status) == "failure" {
		c := se.Comment
		if c == "" {
			c = "refused by onBeforeStore"
		}
		return &dimse.StatusError{Status: se.Status, Comment: c, Err: err}
	}
	return &dimse.StatusError{Status: dimse.StatusRefusedByCallback, Comment: firstLine(err.Error()), Err: err}
}

func firstLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	return s
}

// resolveName maps a name given to Set or Delete to a tag: a dictionary
// keyword, a custom tag name, or a written tag.
func (s *settings) resolveName(name string) (dicom.Tag, error) {
	for _, sp := range s.extract {
		if sp.Custom && sp.Name == name {
			return sp.Tag, nil
		}
	}
	tag, _, err := dicom.ResolveTag(name)
	return tag, err
}
