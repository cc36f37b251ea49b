package dicomrecv

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/dicomrecv/dicomrecv/internal/testutil"
)

// A panicking handler is logged with the name of the event it was given,
// also for study events, which travel in an envelope; the handlers after it
// still run.
func TestHandlerPanicNamesTheEvent(t *testing.T) {
	logs := &testutil.SyncBuffer{}
	srv, err := New(Config{OutDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ran := 0
	srv.OnStudyCompleted(func(StudyCompletedEvent) { panic("boom") })
	srv.OnStudyCompleted(func(StudyCompletedEvent) { ran++ })
	srv.OnFileStored(func(FileStoredEvent) { panic("bang") })
	go srv.dispatch()
	srv.emitWait(StudyCompletedEvent{})
	srv.emit(FileStoredEvent{})
	close(srv.events)
	<-srv.dispatchDone
	out := logs.String()
	for _, want := range []string{"event=dicomrecv.StudyCompletedEvent panic=boom", "event=dicomrecv.FileStoredEvent panic=bang"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if ran != 1 {
		t.Errorf("the handler after the panicking one ran %d times, want 1", ran)
	}
}
