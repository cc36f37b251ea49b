package dicomrecv

import (
	"io"
	"net"
	"os"
	"syscall"
)

// quickAckConn acknowledges received data at once whenever it runs out of
// data to read, instead of letting the kernel delay the ACK by up to 40 ms.
// A sender with Nagle's algorithm on (DCMTK as Debian ships it, many
// modalities) holds the small last segment of each message until its
// earlier segments are acknowledged; with delayed ACKs every message would
// stall. Setting TCP_QUICKACK sends a pending delayed ACK immediately
// (tcp(7); Linux clears the option again by itself).
//
// The option is set only when a read finds the socket empty, just before
// the goroutine waits for data: that is the only moment a withheld ACK can
// stall the sender, and while data keeps arriving no system call is added.
type quickAckConn struct {
	*net.TCPConn
	raw syscall.RawConn
}

func withQuickAck(tc *net.TCPConn) net.Conn {
	raw, err := tc.SyscallConn()
	if err != nil {
		return tc
	}
	return &quickAckConn{TCPConn: tc, raw: raw}
}

func (c *quickAckConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var (
		n    int
		rerr error
	)
	err := c.raw.Read(func(fd uintptr) bool {
		for {
			n, rerr = syscall.Read(int(fd), p)
			if rerr != syscall.EINTR {
				break
			}
		}
		if rerr == syscall.EAGAIN {
			_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
			return false // wait for data, then call again
		}
		return true
	})
	if err != nil {
		// Closed, or the read deadline passed (os.ErrDeadlineExceeded
		// stays visible through errors.Is).
		return 0, err
	}
	if rerr != nil {
		if n < 0 {
			n = 0
		}
		return n, &net.OpError{Op: "read", Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: os.NewSyscallError("read", rerr)}
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}
