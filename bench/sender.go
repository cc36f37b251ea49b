package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// storescuLogConfig makes storescu print one line per C-STORE response and
// its warnings and errors, nothing else: the progress dots and the other
// per-file lines that -v prints are filtered out (log4cplus, as bundled
// with DCMTK), so that checking every status costs the sender next to
// nothing.
const storescuLogConfig = `log4cplus.rootLogger = WARN, console
log4cplus.logger.dcmtk.apps.storescu = INFO
log4cplus.logger.dcmtk.apps.storescu.progress = WARN
log4cplus.appender.console = log4cplus::ConsoleAppender
log4cplus.appender.console.layout = log4cplus::PatternLayout
log4cplus.appender.console.layout.ConversionPattern = %p: %m%n
log4cplus.appender.console.filters.1 = log4cplus::spi::StringMatchFilter
log4cplus.appender.console.filters.1.StringToMatch = Received Store Response
log4cplus.appender.console.filters.1.AcceptOnMatch = true
log4cplus.appender.console.filters.2 = log4cplus::spi::LogLevelRangeFilter
log4cplus.appender.console.filters.2.LogLevelMin = WARN
log4cplus.appender.console.filters.2.AcceptOnMatch = true
log4cplus.appender.console.filters.3 = log4cplus::spi::DenyAllFilter
`

// successLine is what storescu prints (through storescuLogConfig) for each
// successful C-STORE.
const successLine = "Received Store Response (Success)"

// maxLine bounds the part of a storescu output line that is looked at.
const maxLine = 4096

// responseTally counts storescu's response lines as its output streams in;
// it is an io.Writer and keeps the last lines for error messages.
type responseTally struct {
	mu        sync.Mutex
	partial   []byte
	success   int
	responses int
	last      []string
}

func (t *responseTally) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			if len(t.partial) < maxLine { // bound a line that never ends
				t.partial = append(t.partial, p[:min(len(p), maxLine-len(t.partial))]...)
			}
			break
		}
		line := p[:i]
		if len(t.partial) > 0 {
			line = append(t.partial, line[:min(len(line), maxLine-len(t.partial))]...)
			t.partial = t.partial[:0]
		}
		// Only the first maxLine bytes of a line count, however the
		// output was split into writes.
		t.line(string(bytes.TrimRight(line[:min(len(line), maxLine)], "\r")))
		p = p[i+1:]
	}
	return n, nil
}

func (t *responseTally) line(s string) {
	switch {
	case strings.Contains(s, successLine):
		t.success++
		t.responses++
		return
	case strings.Contains(s, "Received Store Response"):
		t.responses++
	}
	if len(t.last) == 8 {
		copy(t.last, t.last[1:])
		t.last = t.last[:7]
	}
	t.last = append(t.last, s)
}

// counts returns the successful and all responses seen.
func (t *responseTally) counts() (success, responses int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.success, t.responses
}

// otherLines returns the last lines that were not success responses.
func (t *responseTally) otherLines() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.last, " | ")
}

// sendResult is the outcome of the senders of one run.
type sendResult struct {
	Elapsed time.Duration // first sender start to last sender exit
	Success int           // successful C-STORE responses, all senders
	CPU     time.Duration // user+system time of the senders
	Err     error         // a sender failed to start or exited non-zero
}

// storescuArgs builds one storescu command line; file paths are relative
// to the corpus directory, the sender's working directory.
func storescuArgs(sc scenario, logConfig string, port int, files []corpusFile) []string {
	args := []string{"-lc", logConfig, "-aet", "BENCH-SCU", "-aec", receiverAETitle, "-nh",
		"-pdu", strconv.Itoa(sc.PDU), "127.0.0.1", strconv.Itoa(port)}
	for _, f := range files {
		args = append(args, f.Path)
	}
	return args
}

// senderEnv is the sender's environment: TCP_NODELAY=1 for the nodelay
// sender, and unset for the stock sender (Nagle on, as Debian ships DCMTK).
func senderEnv(sc scenario) []string {
	env := envWithout(os.Environ(), "TCP_NODELAY")
	if sc.Sender == senderNoDelay {
		env = append(env, "TCP_NODELAY=1")
	}
	return env
}

// send runs sc.Assocs storescu processes at once, each with its part of the
// corpus, and waits for all of them.
func send(ctx context.Context, sc scenario, c *corpus, port int, runDir, storescu string) sendResult {
	logConfig := filepath.Join(runDir, "storescu-log.cfg")
	if err := os.WriteFile(logConfig, []byte(storescuLogConfig), 0o644); err != nil {
		return sendResult{Err: err}
	}
	parts := split(c.Files, sc.Assocs)
	cmds := make([]*exec.Cmd, len(parts))
	tallies := make([]*responseTally, len(parts))
	env := senderEnv(sc)
	for i, part := range parts {
		cmd := exec.CommandContext(ctx, storescu, storescuArgs(sc, logConfig, port, part)...)
		cmd.Dir = c.Dir
		cmd.Env = env
		tallies[i] = &responseTally{}
		cmd.Stdout, cmd.Stderr = tallies[i], tallies[i]
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		cmds[i] = cmd
	}
	var res sendResult
	errs := make([]error, len(cmds))
	var wg sync.WaitGroup
	start := time.Now()
	for i, cmd := range cmds {
		if err := cmd.Start(); err != nil {
			errs[i] = err
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = cmd.Wait()
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	for i, err := range errs {
		if ps := cmds[i].ProcessState; ps != nil {
			res.CPU += ps.UserTime() + ps.SystemTime()
		}
		s, _ := tallies[i].counts()
		res.Success += s
		if err != nil && res.Err == nil {
			res.Err = fmt.Errorf("storescu %d/%d: %w: %s", i+1, len(cmds), err, tallies[i].otherLines())
		}
	}
	if res.Err == nil && res.Success != len(c.Files) {
		var other []string
		for _, t := range tallies {
			if l := t.otherLines(); l != "" {
				other = append(other, l)
			}
		}
		res.Err = fmt.Errorf("%d of %d C-STOREs succeeded: %s", res.Success, len(c.Files), strings.Join(other, " | "))
	}
	return res
}
