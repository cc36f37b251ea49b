package battery

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dicomrecv/dicomrecv/internal/testutil"
)

// idleHelperEnv, when set to "host:port count", makes the test binary the
// helper process of TestIdleConnections (see runIdleHelper).
const idleHelperEnv = "DICOMRECV_BATTERY_IDLE_HELPER"

// Parameters of TestIdleConnections.
const (
	idleConnections = 10000
	// idleARTIM leaves the time to open every connection and to run
	// storescu while all of them are open.
	idleARTIM = 10 * time.Second
	// maxBytesPerIdleConn bounds the server memory (heap and goroutine
	// stacks) one connection that has not sent its request may cost. The
	// design keeps it small: a 4 KiB handshake buffer and one goroutine.
	maxBytesPerIdleConn = 48 << 10
	// fdReserve is kept free for everything but the idle connections.
	fdReserve = 512
)

// TestIdleConnections opens 10,000 connections that never send a request.
// The server must keep serving storescu while they are open, spend bounded
// memory on them, and close every one of them when its ARTIM timer expires
// (PS3.8 Sta2 + Evt18: AA-2, a plain close), after which their goroutines
// are gone. The connections are opened by a helper process, so that the
// memory measured (runtime.MemStats of this process) is the server's, and
// so that the server and the clients each stay within the file descriptor
// limit.
func TestIdleConnections(t *testing.T) {
	testutil.RequireTool(t, "storescu")
	n := idleConnections
	if testing.Short() {
		n = 1000
	}
	var rl syscall.Rlimit
	mustf(t, syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl), "getrlimit")
	if rl.Cur < rl.Max {
		raised := rl
		raised.Cur = rl.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err == nil {
			rl = raised
		}
	}
	if limit := int(min(rl.Cur, 1<<30)) - fdReserve; limit < n {
		t.Logf("file descriptor limit %d (hard %d): %d connections instead of %d", rl.Cur, rl.Max, limit, n)
		n = limit
	}

	cfg := baseConfig(t)
	cfg.ARTIMTimeout = idleARTIM
	// 10,000 expiries are 10,000 warnings: not for the test log.
	cfg.Logger = slog.New(slog.DiscardHandler)
	e := startEnv(t, cfg)
	t.Cleanup(func() { e.shutdown(t) })

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	goroutines := runtime.NumGoroutine()

	exe, err := os.Executable()
	mustf(t, err, "test executable")
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %d", idleHelperEnv, e.addr, n))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	mustf(t, err, "helper stdout")
	start := time.Now()
	mustf(t, cmd.Start(), "starting the helper")
	lines := make(chan string, 2)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	defer func() {
		_ = cmd.Process.Kill() // a no-op once it exited
		_ = cmd.Wait()
		for range lines {
		}
	}()
	next := func(within time.Duration) []int64 {
		t.Helper()
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("helper ended early: %s", stderr.String())
			}
			var v []int64
			for _, f := range strings.Fields(line)[1:] {
				x, err := strconv.ParseInt(f, 10, 64)
				mustf(t, err, "helper line %q", line)
				v = append(v, x)
			}
			return v
		case <-time.After(within):
			t.Fatalf("no word from the helper within %v: %s", within, stderr.String())
		}
		return nil
	}

	// "open <opened> <failed> <ms>"
	open := next(idleARTIM)
	opened, failed := int(open[0]), open[1]
	if failed != 0 {
		t.Errorf("%d of %d connections could not be opened", failed, n)
	}
	if opened == 0 {
		t.Fatalf("the helper opened no connections (%d failed)", failed)
	}
	dialTime := time.Duration(open[2]) * time.Millisecond
	// Every connection is served by one goroutine of the server; wait
	// until all are accepted.
	deadline := time.Now().Add(idleARTIM)
	for runtime.NumGoroutine() < goroutines+opened {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines for %d connections", runtime.NumGoroutine()-goroutines, opened)
		}
		time.Sleep(10 * time.Millisecond)
	}
	allOpen := time.Since(start)
	runtime.GC()
	var during runtime.MemStats
	runtime.ReadMemStats(&during)
	heap := int64(during.HeapAlloc) - int64(before.HeapAlloc)
	stack := int64(during.StackInuse) - int64(before.StackInuse)
	t.Logf("%d idle connections opened in %v, all accepted after %v: server heap +%d bytes (%d per connection), "+
		"goroutine stacks +%d bytes (%d per connection), %d goroutines",
		opened, dialTime.Round(time.Millisecond), allOpen.Round(time.Millisecond), heap, heap/int64(opened),
		stack, stack/int64(opened), runtime.NumGoroutine())
	if per := (heap + stack) / int64(opened); per > maxBytesPerIdleConn {
		t.Errorf("%d bytes of heap and stack per idle connection, want at most %d", per, maxBytesPerIdleConn)
	}

	// A normal association while they are all open.
	e.storescuCT(t)
	stored := time.Since(start)
	if d := stored; d >= idleARTIM {
		t.Errorf("storescu finished %v after the first idle connection, when ARTIM (%v) may have closed some", d, idleARTIM)
	} else {
		t.Logf("storescu stored CT_small.dcm %v after the first idle connection, with all %d open", d.Round(time.Millisecond), opened)
	}

	// "closed <closed> <min ms> <max ms> <bytes> <not closed>"
	res := next(idleARTIM + dialTime + time.Minute)
	closed, minLife, maxLife := int(res[0]), time.Duration(res[1])*time.Millisecond, time.Duration(res[2])*time.Millisecond
	t.Logf("%d connections closed by the server %v to %v after they opened; %d bytes received",
		closed, minLife, maxLife, res[3])
	if closed != opened || res[4] != 0 {
		t.Errorf("%d of %d connections closed by the server, %d still open", closed, opened, res[4])
	}
	// The helper stamps a connection when its dial returns, which may be
	// after the server accepted it and started the timer.
	if minLife < idleARTIM-time.Second || maxLife > idleARTIM+late+allOpen {
		t.Errorf("connections closed %v to %v after they opened, want ARTIM (%v) after the server accepted them", minLife, maxLife, idleARTIM)
	}
	// Every connection opened after start, so none was closed before
	// start+minLife: storescu was served with all of them open.
	if stored >= minLife {
		t.Errorf("storescu finished %v after the first connection opened, some connections closed %v after they opened", stored, minLife)
	}
	if res[3] != 0 {
		t.Errorf("the server sent %d bytes to connections it closed on ARTIM; PS3.8 AA-2 sends nothing", res[3])
	}
	mustf(t, cmd.Wait(), "helper: %s", stderr.String())

	deadline = time.Now().Add(giveUp)
	for runtime.NumGoroutine() > goroutines+2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines left after the idle connections closed (%d before)", runtime.NumGoroutine(), goroutines)
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.checkStored(t, 1)
	e.shutdown(t)
	e.checkFinalEvents(t, 0)
}

// runIdleHelper is the helper process: it opens the connections, reports
// "open <opened> <failed> <ms>", waits for the server to close each, and
// reports "closed <closed> <min ms> <max ms> <bytes received> <not closed>",
// the times measured from each connection's opening.
func runIdleHelper() int {
	f := strings.Fields(os.Getenv(idleHelperEnv))
	if len(f) != 2 {
		fmt.Fprintln(os.Stderr, "bad", idleHelperEnv)
		return 2
	}
	addr := f[0]
	n, err := strconv.Atoi(f[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	type conn struct {
		nc     net.Conn
		opened time.Time
	}
	conns := make([]conn, n)
	start := time.Now()
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		failed int
		next   int
	)
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= n {
					return
				}
				nc, err := net.DialTimeout("tcp", addr, 30*time.Second)
				if err != nil {
					mu.Lock()
					failed++
					mu.Unlock()
					fmt.Fprintln(os.Stderr, err)
					continue
				}
				conns[i] = conn{nc, time.Now()}
			}
		}()
	}
	wg.Wait()
	fmt.Printf("open %d %d %d\n", n-failed, failed, time.Since(start).Milliseconds())

	var (
		closed, open, received int64
		minLife, maxLife       time.Duration = 1 << 62, 0
	)
	for _, c := range conns {
		if c.nc == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.nc.Close()
			_ = c.nc.SetReadDeadline(c.opened.Add(idleARTIM + 2*time.Minute))
			var buf [64]byte
			total := 0
			for {
				k, err := c.nc.Read(buf[:])
				total += k
				if err == nil {
					continue
				}
				life := time.Since(c.opened)
				mu.Lock()
				received += int64(total)
				if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
					closed++
					minLife, maxLife = min(minLife, life), max(maxLife, life)
				} else {
					open++
				}
				mu.Unlock()
				return
			}
		}()
	}
	wg.Wait()
	if closed == 0 {
		minLife = 0
	}
	fmt.Printf("closed %d %d %d %d %d\n", closed, minLife.Milliseconds(), maxLife.Milliseconds(), received, open)
	return 0
}
