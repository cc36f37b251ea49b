package hooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"strings"
	"time"
)

// Runner defaults, used where RunnerConfig leaves a field zero.
const (
	// DefaultConcurrency is how many commands run at once.
	DefaultConcurrency = 4
	// DefaultCommandTimeout is how long a command may run before it is
	// killed.
	DefaultCommandTimeout = 60 * time.Second
)

const (
	// maxStderr is how much of a command's standard error is kept for the
	// log; the rest is read and discarded.
	maxStderr = 4 << 10
	// stderrLines is how many lines of it are logged.
	stderrLines = 5
	// waitDelay bounds the wait for a command's standard error to close
	// after the command exited or was killed (a background child may hold
	// it open).
	waitDelay = 2 * time.Second
)

// RunnerConfig configures a Runner: the command of each event, as an argv
// template, and how commands run.
//
// A template is a program and its arguments, run directly, never through a
// shell: no word splitting, globbing, quoting or redirection happens, so a
// value containing spaces, quotes, semicolons or $(...) stays inert text in
// one argument. The program (the first element) is literal text; the
// arguments may contain placeholders, {name}, replaced by the event's
// values, as a whole argument ("{file}") or inside one
// ("--study={studyInstanceUid}"); write {{ and }} for literal braces.
// Unknown placeholders are errors at NewRunner.
//
// FileStored offers {file}, {sopInstanceUid}, {sopClassUid},
// {studyInstanceUid}, {seriesInstanceUid}, {transferSyntaxUid},
// {callingAeTitle}, {calledAeTitle}, {remoteAddr}, {bytes}, {studyDir} and
// {seriesDir}. StudyCompleted offers {studyInstanceUid}, {studyDir},
// {instanceCount}, {seriesCount}, {bytes} and {callingAeTitles} (comma
// separated; the JSON on standard input has the exact list). {studyDir} and
// {seriesDir} are the directories of a file stored on the filesystem
// ({outDir}/{study}/{series}/); they are empty for other storage.
//
// The values come from the network. The receiver validates UIDs before they
// reach a command (digits and dots only). AE titles may contain spaces and
// punctuation (PS3.5 Table 6.2-1: any default-repertoire character but
// backslash); without a shell they are inert, but a command that passes
// them to a shell itself must quote them. The command also gets the event's
// JSON, one line, on its standard input.
type RunnerConfig struct {
	// OnFileStored is the command run for each FileStored event
	// (onFileStoredCommand); nil for none.
	OnFileStored []string
	// OnStudyCompleted is the command run for each StudyCompleted event
	// (onStudyCompletedCommand); nil for none.
	OnStudyCompleted []string
	// Concurrency is how many commands may run at once (default
	// DefaultConcurrency). With 1, commands run one at a time in event
	// order.
	Concurrency int
	// Timeout bounds a command's run (default DefaultCommandTimeout). A
	// command still running then is killed with its process group (on Unix
	// each command leads a group of its own), children included.
	Timeout time.Duration
	// QueueSize bounds the events waiting for a free slot (default
	// DefaultQueueSize). When it is full, events are dropped: receiving
	// never waits for commands.
	QueueSize int
	// Env is the commands' environment; nil means the receiver's own.
	Env []string
	// Logger receives failures and drops (nil discards them).
	Logger *slog.Logger
	// OnDelivered, when set, is called for each command that exited 0.
	// It must be quick and safe for concurrent use.
	OnDelivered func(event string)
	// OnDrop, when set, is called for each event whose command did not run
	// or did not succeed, with the reason (DropQueueFull, DropFailed,
	// DropTimeout, DropShutdown). It must be quick and safe for concurrent
	// use.
	OnDrop func(event, reason string)
}

// Runner runs a command per event from a bounded queue.
type Runner struct {
	cfg   RunnerConfig
	cmds  map[string]*command
	p     *pipeline
	start func(*exec.Cmd) // platform set-up (process group)
}

// command is a parsed template and its program's path.
type command struct {
	tmpl template
	path string
}

// NewRunner validates the templates (an empty argv, an unknown placeholder,
// a placeholder in the program, a program not found are errors naming the
// configuration key), applies the defaults and starts the workers.
func NewRunner(cfg RunnerConfig) (*Runner, error) {
	if cfg.Concurrency < 0 || cfg.Timeout < 0 || cfg.QueueSize < 0 {
		return nil, errors.New("hooks: Concurrency, Timeout and QueueSize must not be negative")
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultCommandTimeout
	}
	r := &Runner{cfg: cfg, cmds: map[string]*command{}, start: setProcessGroup}
	for _, c := range []struct {
		key, event string
		argv       []string
		allowed    []placeholder
	}{
		{"onFileStoredCommand", EventFileStored, cfg.OnFileStored, fileStoredPlaceholders},
		{"onStudyCompletedCommand", EventStudyCompleted, cfg.OnStudyCompleted, studyCompletedPlaceholders},
	} {
		if c.argv == nil {
			continue
		}
		t, err := parseTemplate(c.argv, c.allowed)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.key, err)
		}
		path, err := exec.LookPath(c.argv[0])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.key, err)
		}
		r.cmds[c.event] = &command{tmpl: t, path: path}
	}
	r.p = newPipeline("command", cfg.QueueSize, cfg.Logger, cfg.OnDelivered, cfg.OnDrop)
	r.p.start(cfg.Concurrency, r.run)
	return r, nil
}

// Enqueue queues the event for its command and reports whether it was
// queued. Events without a command (ServerStarted, Error, or an event whose
// command is not configured) are ignored and reported as true, so the CLI
// may hand every event to the Runner. It never blocks: when the queue is
// full, or after Close, the event is dropped (and reported to OnDrop).
// Runner keeps payload.
func (r *Runner) Enqueue(event string, payload []byte) bool {
	if r.cmds[event] == nil {
		return true
	}
	return r.p.enqueue(item{event, payload})
}

// Close stops taking events and runs what is queued until ctx ends; then
// it kills the commands still running, drops the rest (reason
// DropShutdown) and returns ctx's error. It returns once every command has
// ended. Close may be called more than once.
func (r *Runner) Close(ctx context.Context) error {
	return r.p.close(ctx)
}

// Stats returns what the Runner did so far.
func (r *Runner) Stats() Stats { return r.p.stats() }

// run runs the command of one event.
func (r *Runner) run(it item) {
	c := r.cmds[it.event]
	v, err := valuesOf(it.event, it.payload)
	if err != nil {
		r.p.drop(it.event, DropFailed, err)
		return
	}
	argv := c.tmpl.expand(v)
	ctx, cancel := context.WithTimeout(r.p.ctx, r.cfg.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.path, argv[1:]...)
	cmd.Args[0] = argv[0]
	cmd.Env = r.cfg.Env
	cmd.Stdin = io.MultiReader(bytes.NewReader(it.payload), strings.NewReader("\n"))
	stderr := &head{max: maxStderr}
	cmd.Stderr = stderr // Stdout nil: the null device
	cmd.WaitDelay = waitDelay
	r.start(cmd)
	begin := time.Now()
	err = cmd.Run()
	elapsed := time.Since(begin)
	if err != nil && errors.Is(err, exec.ErrWaitDelay) && cmd.ProcessState != nil && cmd.ProcessState.Success() {
		err = nil // exited 0; a child of its kept standard error open
	}
	switch {
	case r.p.ctx.Err() != nil:
		r.p.drop(it.event, DropShutdown, err)
	case ctx.Err() != nil:
		r.p.drop(it.event, DropTimeout, fmt.Errorf("killed after %v", r.cfg.Timeout), "program", argv[0], "stderr", stderr.lines(stderrLines))
	case err != nil:
		attrs := []any{"program", argv[0], "elapsed", elapsed, "stderr", stderr.lines(stderrLines)}
		if cmd.ProcessState != nil {
			attrs = append(attrs, "exitCode", cmd.ProcessState.ExitCode())
		}
		r.p.drop(it.event, DropFailed, err, attrs...)
	default:
		r.p.log.Debug("command hook: done", "event", it.event, "argv", argv, "elapsed", elapsed)
		r.p.ok(it.event)
	}
}

// head keeps the first max bytes written to it and discards the rest.
type head struct {
	buf []byte
	max int
}

func (h *head) Write(p []byte) (int, error) {
	if room := h.max - len(h.buf); room > 0 {
		h.buf = append(h.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// lines returns the first n non-empty lines kept, joined by " | ".
func (h *head) lines(n int) string {
	var out []string
	for l := range strings.SplitSeq(string(h.buf), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
			if len(out) == n {
				break
			}
		}
	}
	return strings.Join(out, " | ")
}
