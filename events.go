package dicomrecv

import (
	"fmt"
	"runtime/debug"

	"github.com/dicomrecv/dicomrecv/internal/study"
)

// ServerStartedEvent is delivered once, when the server listens.
type ServerStartedEvent struct {
	Message string `json:"message"`
	// Port is the bound TCP port (useful with Port 0).
	Port    int    `json:"port"`
	AETitle string `json:"aeTitle"`
}

// FileStoredEvent is delivered after each object is stored and before its
// C-STORE response is sent.
type FileStoredEvent struct {
	// File is where the object is: a filesystem path or s3://bucket/key.
	File              string `json:"file"`
	SOPInstanceUID    string `json:"sopInstanceUid"`
	SOPClassUID       string `json:"sopClassUid"`
	TransferSyntaxUID string `json:"transferSyntaxUid"`
	StudyInstanceUID  string `json:"studyInstanceUid"`
	SeriesInstanceUID string `json:"seriesInstanceUid"`
	// Tags are the extracted attributes (ExtractTags, ExtractCustomTags),
	// keyed by keyword or custom name, rendered as docs/events.md says.
	Tags map[string]string `json:"tags"`
	// CallingAETitle is the peer's AE title; CalledAETitle the AE title it
	// called.
	CallingAETitle string `json:"callingAeTitle"`
	CalledAETitle  string `json:"calledAeTitle"`
	RemoteAddr     string `json:"remoteAddr"`
	// Bytes is the number of data set bytes received.
	Bytes int64 `json:"bytes"`
	// Duplicate is true when the SOP Instance was already stored.
	Duplicate bool `json:"duplicate"`
	// PeerCertificateSubject is the subject of the peer's TLS client
	// certificate, when there is one.
	PeerCertificateSubject string `json:"peerCertificateSubject,omitempty"`
}

// StudyCompletedEvent is delivered when a study went quiet: StudyTimeout
// after its last stored instance. Study holds the study -> series ->
// instances tree with the extracted tags distributed by level (patient and
// study attributes at study level, series attributes at series level,
// everything else, equipment and all custom tags at instance level).
type StudyCompletedEvent struct {
	Study Study `json:"study"`
}

// Study is a completed study (the seed's StudyHierarchyData, plus
// callingAeTitles, instanceCount, bytes, firstReceived and lastReceived).
type Study = study.StudyEvent

// Series is one series of a completed study.
type Series = study.Series

// StudyInstance is one instance of a completed study.
type StudyInstance = study.EventInstance

// ErrorEvent reports an association-level failure: a rejected association,
// an abort, a protocol error, a transport failure.
type ErrorEvent struct {
	Message        string `json:"message"`
	RemoteAddr     string `json:"remoteAddr"`
	CallingAETitle string `json:"callingAeTitle"`
}

// OnServerStarted registers a handler for ServerStartedEvent. Handlers of one
// Server run one at a time, in event order, on the server's own goroutine.
func (s *Server) OnServerStarted(h func(ServerStartedEvent)) {
	s.hmu.Lock()
	s.onStarted = append(s.onStarted, h)
	s.hmu.Unlock()
}

// OnFileStored registers a handler for FileStoredEvent.
func (s *Server) OnFileStored(h func(FileStoredEvent)) {
	s.hmu.Lock()
	s.onStored = append(s.onStored, h)
	s.hmu.Unlock()
}

// OnStudyCompleted registers a handler for StudyCompletedEvent.
func (s *Server) OnStudyCompleted(h func(StudyCompletedEvent)) {
	s.hmu.Lock()
	s.onStudy = append(s.onStudy, h)
	s.hmu.Unlock()
}

// OnError registers a handler for ErrorEvent.
func (s *Server) OnError(h func(ErrorEvent)) {
	s.hmu.Lock()
	s.onError = append(s.onError, h)
	s.hmu.Unlock()
}

// emit queues an event for the dispatcher. It blocks while MaxPendingEvents
// events wait: the caller (an association) then holds its response, which
// slows the sender instead of losing events.
func (s *Server) emit(ev any) {
	s.events <- ev
}

// delivered wraps an event whose sender waits until its handlers ran.
type delivered struct {
	ev   any
	done chan struct{}
}

// emitWait queues an event and waits until its handlers ran. The study
// journal records a study as done only then, so a crash never loses a
// study event (it may, rarely, deliver one twice: at least once).
func (s *Server) emitWait(ev any) {
	d := delivered{ev: ev, done: make(chan struct{})}
	s.events <- d
	<-d.done
}

// dispatch delivers events in order until the channel is closed.
func (s *Server) dispatch() {
	defer close(s.dispatchDone)
	for ev := range s.events {
		s.hmu.Lock()
		var hs []func()
		switch e := ev.(type) {
		case ServerStartedEvent:
			for _, h := range s.onStarted {
				hs = append(hs, func() { h(e) })
			}
		case FileStoredEvent:
			for _, h := range s.onStored {
				hs = append(hs, func() { h(e) })
			}
		case ErrorEvent:
			for _, h := range s.onError {
				hs = append(hs, func() { h(e) })
			}
		case delivered:
			if e, ok := e.ev.(StudyCompletedEvent); ok {
				for _, h := range s.onStudy {
					hs = append(hs, func() { h(e) })
				}
			}
		}
		s.hmu.Unlock()
		for _, h := range hs {
			s.safeCall(h, ev)
		}
		if d, ok := ev.(delivered); ok {
			close(d.done)
		}
	}
}

func (s *Server) safeCall(h func(), ev any) {
	defer func() {
		if r := recover(); r != nil {
			if d, ok := ev.(delivered); ok {
				ev = d.ev // name the event, not its envelope
			}
			s.log.Error("event handler panicked", "event", fmt.Sprintf("%T", ev), "panic", r, "stack", string(debug.Stack()))
		}
	}()
	h()
}
