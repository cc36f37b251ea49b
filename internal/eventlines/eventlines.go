// Package eventlines writes a Server's events as JSON Lines, the output of
// cmd/dicomrecv (docs/events.md), and hands each line to the event hooks.
// The benchmark's profiling server uses it too, so that its profiles
// measure the encoding the shipped binary does.
package eventlines

import (
	"io"
	"slices"
	"sync"
	"time"

	"github.com/dicomrecv/dicomrecv"
	"github.com/dicomrecv/dicomrecv/internal/hooks"
)

// Writer writes events as JSON Lines to w and hands them to sinks
// (webhook, commands), which never block it.
type Writer struct {
	mu    sync.Mutex
	w     io.Writer
	sinks []hooks.Sink
	buf   []byte // FileStored lines, reused
}

// New returns a Writer to w and sinks.
func New(w io.Writer, sinks []hooks.Sink) *Writer {
	return &Writer{w: w, sinks: sinks}
}

// Register makes the Writer a handler of every event of srv.
func (e *Writer) Register(srv *dicomrecv.Server) {
	srv.OnServerStarted(func(ev dicomrecv.ServerStartedEvent) { e.Write("ServerStarted", ev) })
	srv.OnFileStored(e.FileStored)
	srv.OnStudyCompleted(func(ev dicomrecv.StudyCompletedEvent) { e.Write("StudyCompleted", ev) })
	srv.OnError(func(ev dicomrecv.ErrorEvent) { e.Write("Error", ev) })
}

// FileStored writes a FileStored event, encoded without reflection into a
// reused buffer.
func (e *Writer) FileStored(ev dicomrecv.FileStoredEvent) {
	e.mu.Lock()
	e.buf = appendFileStored(e.buf[:0], time.Now(), &ev)
	e.buf = append(e.buf, '\n')
	_, _ = e.w.Write(e.buf)
	var line []byte
	if len(e.sinks) > 0 {
		line = slices.Clone(e.buf[:len(e.buf)-1]) // the sinks keep it
	}
	e.mu.Unlock()
	for _, s := range e.sinks {
		s.Enqueue(hooks.EventFileStored, line)
	}
}

// Write writes the event name with its data, encoded by hooks.Encode.
func (e *Writer) Write(name string, data any) {
	line, err := hooks.Encode(name, time.Now(), data)
	if err != nil {
		return
	}
	e.mu.Lock()
	_, _ = e.w.Write(append(line, '\n'))
	e.mu.Unlock()
	for _, s := range e.sinks {
		s.Enqueue(name, line)
	}
}
