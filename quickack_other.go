//go:build !linux

package dicomrecv

import "net"

// withQuickAck is a no-op where TCP_QUICKACK does not exist.
func withQuickAck(tc *net.TCPConn) net.Conn { return tc }
