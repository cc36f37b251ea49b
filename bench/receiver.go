package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// receiverAETitle is the AE title the receivers answer to.
const receiverAETitle = "BENCH-SCP"

// receiver is a running receiver process.
type receiver struct {
	spec   receiverSpec
	fork   bool
	cmd    *exec.Cmd
	pid    int
	port   int
	outDir string

	stored  atomic.Int64  // dicomrecv: FileStored events read from stdout
	exited  chan struct{} // closed when the process has exited (made by start)
	waitErr error
}

// dicomrecvConfig is the configuration file given to dicomrecv (the keys of
// cmd/dicomrecv; see docs/configuration.md).
type dicomrecvConfig struct {
	Port           int    `json:"port"`
	OutDir         string `json:"outDir"`
	Fsync          bool   `json:"fsync"`
	MaxPDULength   int    `json:"maxPduLength"`
	CallingAETitle string `json:"callingAeTitle"`
}

// startReceiver starts the receiver of spec for scenario sc in runDir and
// returns once it listens. dicomrecvCmd is the command that runs dicomrecv
// (the binary, or the profiling wrapper with its flags); the configuration
// file path is appended as "--config FILE".
func startReceiver(ctx context.Context, spec receiverSpec, sc scenario, runDir string, t tools, dicomrecvCmd []string) (*receiver, error) {
	r := &receiver{spec: spec, fork: sc.Assocs > 1 && spec.Kind != kindDicomrecv, outDir: filepath.Join(runDir, "out")}
	if err := os.MkdirAll(r.outDir, 0o755); err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(runDir, "receiver.log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close() // the child has its own descriptor
	switch spec.Kind {
	case kindDicomrecv:
		return r, r.startDicomrecv(ctx, sc, runDir, logf, dicomrecvCmd)
	case kindStorescpB, kindIgnore:
		var err error
		for attempt := 0; attempt < 3; attempt++ {
			// A free port chosen here could be taken before storescp binds
			// it; then storescp exits and another port is tried.
			if err = r.startStorescp(ctx, sc, logf, t); err == nil || ctx.Err() != nil {
				return r, err
			}
		}
		return r, err
	}
	return nil, fmt.Errorf("unknown receiver %q", spec.Kind)
}

func (r *receiver) startDicomrecv(ctx context.Context, sc scenario, runDir string, logf *os.File, command []string) error {
	cfgPath := filepath.Join(runDir, "dicomrecv.json")
	cfg, _ := json.Marshal(dicomrecvConfig{Port: 0, OutDir: r.outDir, Fsync: r.spec.Fsync, MaxPDULength: sc.PDU, CallingAETitle: receiverAETitle})
	if err := os.WriteFile(cfgPath, cfg, 0o644); err != nil {
		return err
	}
	args := append(append([]string{}, command[1:]...), "--config", cfgPath)
	r.cmd = exec.Command(command[0], args...)
	r.cmd.Stderr = logf
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stdout, err := r.cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := r.start(); err != nil {
		return err
	}
	first := make(chan string, 1)
	go r.drainEvents(stdout, first)
	select {
	case line, ok := <-first:
		if !ok {
			r.stop()
			return fmt.Errorf("dicomrecv exited before listening: %w (see %s)", r.waitErr, logf.Name())
		}
		port, err := parseServerStarted([]byte(line))
		if err != nil {
			r.stop()
			return err
		}
		r.port = port
		return nil
	case <-time.After(30 * time.Second):
		r.stop()
		return fmt.Errorf("dicomrecv: no ServerStarted line within 30 s")
	case <-ctx.Done():
		r.stop()
		return ctx.Err()
	}
}

// drainEvents reads dicomrecv's JSON Lines: the first line goes to first,
// then FileStored lines are counted. stdout must be drained or dicomrecv
// would block on a full pipe.
func (r *receiver) drainEvents(stdout io.Reader, first chan<- string) {
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	if !sc.Scan() {
		close(first)
		io.Copy(io.Discard, stdout)
		return
	}
	first <- sc.Text()
	for sc.Scan() {
		if bytes.HasPrefix(sc.Bytes(), []byte(`{"event":"FileStored"`)) {
			r.stored.Add(1)
		}
	}
	io.Copy(io.Discard, stdout) // a line over 1 MiB: keep the pipe flowing
}

// parseServerStarted returns the port of dicomrecv's first event line,
// {"event":"ServerStarted","time":...,"data":{"port":N,...}}.
func parseServerStarted(line []byte) (int, error) {
	var ev struct {
		Event string `json:"event"`
		Data  struct {
			Port int `json:"port"`
		} `json:"data"`
	}
	if err := json.Unmarshal(line, &ev); err != nil {
		return 0, fmt.Errorf("dicomrecv's first line %q: %w", clip(line), err)
	}
	if ev.Event != "ServerStarted" || ev.Data.Port <= 0 || ev.Data.Port > 65535 {
		return 0, fmt.Errorf("dicomrecv's first line %q is not a ServerStarted event with a port", clip(line))
	}
	return ev.Data.Port, nil
}

func (r *receiver) startStorescp(ctx context.Context, sc scenario, logf *os.File, t tools) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	args := []string{"-dhl", "-aet", receiverAETitle, "-pdu", strconv.Itoa(sc.PDU)}
	if r.spec.Kind == kindIgnore {
		args = append(args, "--ignore")
	} else {
		args = append(args, "+B", "-od", r.outDir)
	}
	if r.fork {
		args = append(args, "--fork")
	}
	args = append(args, strconv.Itoa(port))
	r.cmd = exec.Command(t.Storescp, args...)
	// DCMTK at its best: Nagle off (Debian's DCMTK reads TCP_NODELAY).
	r.cmd.Env = append(envWithout(os.Environ(), "TCP_NODELAY"), "TCP_NODELAY=1")
	r.cmd.Stdout, r.cmd.Stderr = logf, logf
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := r.start(); err != nil {
		return err
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if listening(port) {
			r.port = port
			return nil
		}
		select {
		case <-r.exited:
			return fmt.Errorf("storescp exited before listening on %d: %v", port, r.waitErr)
		case <-ctx.Done():
			r.stop()
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			r.stop()
			return fmt.Errorf("storescp not listening on %d after 10 s", port)
		}
	}
}

// start starts r.cmd. Its SysProcAttr puts the receiver in a process group
// of its own (stop signals the group, storescp --fork children included)
// and sets Pdeathsig, so that a receiver does not outlive a harness that
// dies without stopping it. (Pdeathsig fires when the starting OS thread
// exits; the Go runtime does not end its threads while the program runs.)
func (r *receiver) start() error {
	if err := r.cmd.Start(); err != nil {
		return err
	}
	r.pid = r.cmd.Process.Pid
	exited := make(chan struct{})
	r.exited = exited
	go func() {
		r.waitErr = r.cmd.Wait()
		close(exited)
	}()
	return nil
}

// stop ends the receiver: SIGTERM to its process group (storescp --fork
// children included), then SIGKILL if it has not exited within 30 s
// (dicomrecv's shutdown first delivers its pending study events).
func (r *receiver) stop() error {
	if r.cmd == nil || r.cmd.Process == nil {
		return nil
	}
	select {
	case <-r.exited:
		return nil
	default:
	}
	_ = syscall.Kill(-r.pid, syscall.SIGTERM)
	select {
	case <-r.exited:
		return nil
	case <-time.After(30 * time.Second):
		_ = syscall.Kill(-r.pid, syscall.SIGKILL)
		<-r.exited
		return fmt.Errorf("%s did not stop within 30 s of SIGTERM", r.spec.Kind)
	}
}

// alive reports whether the receiver process is still running.
func (r *receiver) alive() bool {
	select {
	case <-r.exited:
		return false
	default:
		return true
	}
}

// freePort returns a TCP port that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// listening reports whether some socket listens on TCP port, from
// /proc/net/tcp and /proc/net/tcp6 (no connection is made: a connection
// would be an association attempt that storescp logs and, with --fork,
// forks for).
func listening(port int) bool {
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err == nil && listenPorts(b)[port] {
			return true
		}
	}
	return false
}

// listenPorts parses /proc/net/tcp or /proc/net/tcp6 (proc(5)) and returns
// the local ports of the sockets in state LISTEN (0A).
func listenPorts(b []byte) map[int]bool {
	ports := map[int]bool{}
	lines := bytes.Split(b, []byte("\n"))
	for i, line := range lines {
		if i == 0 {
			continue // header
		}
		f := bytes.Fields(line)
		if len(f) < 4 || string(f[3]) != "0A" {
			continue
		}
		local := f[1]
		c := bytes.LastIndexByte(local, ':')
		if c < 0 {
			continue
		}
		p, err := strconv.ParseUint(string(local[c+1:]), 16, 16)
		if err == nil {
			ports[int(p)] = true
		}
	}
	return ports
}

// envWithout returns env without the variable name.
func envWithout(env []string, name string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k != name {
			out = append(out, kv)
		}
	}
	return out
}

// countFiles counts the regular files under dir, skipping names that start
// with "." (dicomrecv's temporary files and its state directory).
func countFiles(dir string) (int, error) {
	n := 0
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), ".") && p != dir {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			n++
		}
		return nil
	})
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	return n, err
}
