package dicomrecv

import (
	"net"
	"syscall"
)

// quickAckConn re-arms TCP_QUICKACK after every read, so that the kernel
// acknowledges received data at once instead of delaying the ACK by up to
// 40 ms. A sender with Nagle's algorithm on (DCMTK as Debian ships it, many
// modalities) holds the small last segment of each message until its
// earlier segments are acknowledged; with delayed ACKs every message would
// stall. Linux clears TCP_QUICKACK by itself, hence the re-arming (tcp(7)).
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
	n, err := c.TCPConn.Read(p)
	if n > 0 {
		_ = c.raw.Control(func(fd uintptr) {
			_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
		})
	}
	return n, err
}
