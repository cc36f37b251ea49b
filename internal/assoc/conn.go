package assoc

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/dicomrecv/dicomrecv/internal/pdu"
)

// Limits and defaults of the association layer. Each has a Config field.
const (
	// MaxAssociateRQLength caps the A-ASSOCIATE-RQ PDU. A request with the
	// 128 presentation contexts PS3.8 allows, each with a dozen transfer
	// syntaxes, stays below it.
	MaxAssociateRQLength = 64 << 10
	// MaxControlPDULength caps the other non-data PDUs we read (they are
	// 4 bytes long, or unexpected and only read to be refused).
	MaxControlPDULength = 64 << 10
	// RelaxedPDUFactor and MinRelaxedPDULength bound what strict=false
	// tolerates: a P-DATA-TF PDU up to max(4 × maxPduLength, 1 MiB).
	RelaxedPDUFactor    = 4
	MinRelaxedPDULength = 1 << 20
	// closeDrainTimeout bounds the wait for the peer to close after we sent
	// an A-ABORT, A-ASSOCIATE-RJ or A-RELEASE-RP (state Sta13).
	closeDrainTimeout = 2 * time.Second
	// handshakeBufSize is the read buffer before the association is
	// accepted: idle or hostile connections cost little memory.
	handshakeBufSize = 4 << 10
)

// Config configures an association.
type Config struct {
	Policy *Policy
	// Strict aborts on a P-DATA-TF PDU longer than Policy.MaxPDULength;
	// otherwise up to max(RelaxedPDUFactor×MaxPDULength, MinRelaxedPDULength).
	Strict bool
	// ReadBufferSize is the read buffer of an accepted association.
	ReadBufferSize int
	// ARTIMTimeout bounds the wait for the A-ASSOCIATE-RQ and, after we
	// answered a release, for the peer's close (PS3.8 §9.1.5).
	ARTIMTimeout time.Duration
	// IdleTimeout bounds the wait for the next message (0 = none).
	IdleTimeout time.Duration
	// DIMSETimeout bounds the wait for each further PDU of a message in
	// progress, and each write (0 = none).
	DIMSETimeout time.Duration
	// PDUReadTimeout bounds the time from a PDU's first byte to its last
	// (0 = none).
	PDUReadTimeout time.Duration
	// Deadline, when not zero, ends the association at that time
	// (maxAssociationLifetime).
	Deadline time.Time
	// MaxRequestLength caps the A-ASSOCIATE-RQ PDU (0: MaxAssociateRQLength).
	MaxRequestLength uint32
	// MaxContexts caps the presentation contexts of a request (0: the 128
	// that PS3.8 §9.3.2.2 allows).
	MaxContexts int
	// Reject, when not nil, refuses the association after reading its
	// request (limits): the request is answered with this A-ASSOCIATE-RJ.
	Reject *RejectError
	// RejectFunc, when not nil, is asked after the request was read (e.g.
	// whether the server is shutting down); a non-nil result is answered
	// as A-ASSOCIATE-RJ.
	RejectFunc func() *RejectError
}

// Errors returned by Conn methods. An *AbortError means we aborted; the
// others describe how the peer ended the association.
var (
	// ErrReleased: the peer released the association (A-RELEASE-RQ), and
	// we answered A-RELEASE-RP.
	ErrReleased = errors.New("association released")
	// ErrPeerAborted: the peer sent an A-ABORT.
	ErrPeerAborted = errors.New("association aborted by peer")
	// ErrPeerClosed: the peer closed the connection without release or
	// abort.
	ErrPeerClosed = errors.New("connection closed by peer")
)

// AbortError is an association-level failure that we answered with an
// A-ABORT PDU.
type AbortError struct {
	Source, Reason byte
	Msg            string
	Err            error
}

func (e *AbortError) Error() string {
	s := fmt.Sprintf("association aborted (source %d, reason %d): %s", e.Source, e.Reason, e.Msg)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *AbortError) Unwrap() error { return e.Err }

// state is a state of PS3.8 Table 9-10 that the acceptor can be in.
type state int

const (
	sta2  state = 2  // transport open, awaiting A-ASSOCIATE-RQ
	sta6  state = 6  // association established, ready for data transfer
	sta13 state = 13 // awaiting transport close
)

// Conn is one association on one connection, acceptor side.
type Conn struct {
	nc     net.Conn
	cfg    *Config
	r      *pdu.Reader
	w      *pdu.Writer
	state  state
	remote netip.Addr

	// Negotiated.
	Negotiation *Negotiation
	RQ          *pdu.AssociateRQ
	contexts    [256]*Context
	pduLimit    uint32

	// P-DATA reading.
	inPData bool // a P-DATA-TF PDU is being read
	idle    bool // between messages: the next PDU header waits IdleTimeout
}

// NewConn wraps an accepted transport connection (PS3.8 AE-5: the ARTIM
// timer starts now).
func NewConn(nc net.Conn, cfg *Config) *Conn {
	c := &Conn{nc: nc, cfg: cfg, state: sta2}
	if ap, err := netip.ParseAddrPort(nc.RemoteAddr().String()); err == nil {
		c.remote = ap.Addr()
	}
	c.r = pdu.NewReader(nc, handshakeBufSize)
	c.w = pdu.NewWriter(nc)
	return c
}

// RemoteAddr returns the peer's address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// Context returns the accepted presentation context id, or nil.
func (c *Conn) Context(id byte) *Context { return c.contexts[id] }

// Accept runs the association establishment (Sta2): it reads the
// A-ASSOCIATE-RQ within ARTIMTimeout, negotiates, and answers
// A-ASSOCIATE-AC (returning nil, state Sta6) or A-ASSOCIATE-RJ (returning a
// *RejectError). Protocol errors are answered with A-ABORT (*AbortError).
// On any error the connection is closed when Accept returns.
func (c *Conn) Accept() error {
	// PS3.8 §9.1.2 (AE-5, AE-6): the ARTIM timer runs from the transport
	// connection until the whole A-ASSOCIATE-RQ has arrived; it is not
	// restarted by the request's first bytes.
	artim := deadlineIn(c.cfg.ARTIMTimeout)
	c.setReadDeadlineAt(artim)
	h, err := c.r.ReadHeader()
	if err != nil {
		c.closeNow()
		return c.transportError(err)
	}
	if h.Type != pdu.TypeAssociateRQ {
		// Sta2 + Evt3/4/10/12/13/19: AA-1; Evt16 (A-ABORT): AA-2.
		if h.Type == pdu.TypeAbort {
			c.closeNow()
			return ErrPeerAborted
		}
		reason := pdu.AbortReasonUnexpectedPDU
		if !knownType(h.Type) {
			reason = pdu.AbortReasonUnrecognizedPDU
		}
		return c.abortAA1(reason, fmt.Sprintf("%s PDU before A-ASSOCIATE-RQ", h.Type))
	}
	maxRQ := c.cfg.MaxRequestLength
	if maxRQ == 0 {
		maxRQ = MaxAssociateRQLength
	}
	if h.Length > maxRQ {
		return c.abortAA1(pdu.AbortReasonInvalidPDUParameterValue, fmt.Sprintf("A-ASSOCIATE-RQ of %d bytes (limit %d)", h.Length, maxRQ))
	}
	c.setReadDeadlineAt(earliest(artim, deadlineIn(c.cfg.PDUReadTimeout)))
	body, err := c.r.ReadBody(h, maxRQ)
	if err != nil {
		c.closeNow()
		return c.transportError(err)
	}
	rq, err := pdu.ParseAssociateRQ(body)
	if err != nil {
		var pe *pdu.ParseError
		reason := pdu.AbortReasonInvalidPDUParameterValue
		if errors.As(err, &pe) {
			reason = pe.Reason
		}
		return c.abortAA1(reason, "malformed A-ASSOCIATE-RQ: "+err.Error())
	}
	c.RQ = rq
	if max := c.cfg.MaxContexts; max > 0 && len(rq.PresentationContexts) > max {
		return c.reject(&RejectError{Result: pdu.RejectedPermanent, Source: pdu.RejectSourceServiceUser, Reason: pdu.RejectReasonNoReason,
			Msg: fmt.Sprintf("%d presentation contexts (limit %d)", len(rq.PresentationContexts), max)})
	}
	if c.cfg.Reject != nil {
		return c.reject(c.cfg.Reject)
	}
	if c.cfg.RejectFunc != nil {
		if rj := c.cfg.RejectFunc(); rj != nil {
			return c.reject(rj)
		}
	}
	n, err := Negotiate(rq, c.cfg.Policy, c.remote)
	if err != nil {
		var rj *RejectError
		if errors.As(err, &rj) {
			return c.reject(rj)
		}
		return c.abortAA1(pdu.AbortReasonNotSpecified, err.Error())
	}
	c.Negotiation = n
	for i := range n.Contexts {
		ctx := n.Contexts[i]
		c.contexts[ctx.ID] = &ctx
	}
	c.pduLimit = c.cfg.Policy.MaxPDULength
	if !c.cfg.Strict {
		c.pduLimit = max(c.pduLimit*RelaxedPDUFactor, MinRelaxedPDULength)
	}
	c.setWriteDeadline()
	if err := c.w.WriteAssociateAC(n.AC); err != nil {
		c.closeNow()
		return c.transportError(err)
	}
	// Association established (AE-7, Sta6): switch to the large buffer,
	// keeping whatever the peer already sent.
	c.state = sta6
	size := c.cfg.ReadBufferSize
	if size <= 0 {
		size = 64 << 10
	}
	c.r = pdu.NewReader(c.r.Remaining(c.nc), size)
	c.idle = true
	return nil
}

func knownType(t pdu.Type) bool { return t >= pdu.TypeAssociateRQ && t <= pdu.TypeAbort }

// AwaitMessage marks the association as between messages: the next PDU may
// take IdleTimeout to arrive (instead of DIMSETimeout).
func (c *Conn) AwaitMessage() { c.idle = true }

// NextPDV implements dimse.PDVSource: it returns the next PDV, reading
// P-DATA-TF PDUs as they come, and handles every other PDU as the state
// table says for Sta6 (PS3.8 Table 9-10).
func (c *Conn) NextPDV() (pdu.PDVHeader, error) {
	for {
		if c.inPData {
			h, err := c.r.NextPDV()
			if err == nil {
				if c.contexts[h.ContextID] == nil {
					return h, c.abortAA8(pdu.AbortReasonInvalidPDUParameterValue, fmt.Sprintf("PDV on presentation context %d, which was not accepted", h.ContextID))
				}
				c.idle = false
				return h, nil
			}
			if err != io.EOF {
				return pdu.PDVHeader{}, c.readError(err)
			}
			c.inPData = false
		}
		if err := c.readPDUHeader(); err != nil {
			return pdu.PDVHeader{}, err
		}
	}
}

// readPDUHeader reads the next PDU in Sta6 and deals with anything that is
// not a P-DATA-TF.
func (c *Conn) readPDUHeader() error {
	if c.idle {
		c.setReadDeadline(c.cfg.IdleTimeout)
	} else {
		c.setReadDeadline(c.cfg.DIMSETimeout)
	}
	h, err := c.r.ReadHeader()
	if err != nil {
		return c.readError(err)
	}
	c.setReadDeadline(c.cfg.PDUReadTimeout)
	switch h.Type {
	case pdu.TypePDataTF:
		if h.Length > c.pduLimit {
			return c.abortAA8(pdu.AbortReasonInvalidPDUParameterValue, fmt.Sprintf("P-DATA-TF PDU of %d bytes exceeds the limit of %d", h.Length, c.pduLimit))
		}
		c.inPData = true
		return nil
	case pdu.TypeReleaseRQ:
		if _, err := c.r.ReadBody(h, MaxControlPDULength); err != nil {
			return c.readError(err)
		}
		if !c.idle {
			// A release in the middle of a message: the message can never
			// complete. PS3.8 allows the release only when the user has
			// nothing outstanding; treat it as an unexpected PDU.
			return c.abortAA8(pdu.AbortReasonUnexpectedPDU, "A-RELEASE-RQ in the middle of a DIMSE message")
		}
		// AR-2 then, as we always accept release, AR-4: send A-RELEASE-RP
		// and wait in Sta13 for the peer to close.
		c.setWriteDeadline()
		werr := c.w.WriteReleaseRP()
		c.state = sta13
		c.closeGracefully()
		if werr != nil {
			return c.transportError(werr)
		}
		return ErrReleased
	case pdu.TypeAbort:
		c.closeNow() // AA-3
		return ErrPeerAborted
	case pdu.TypeAssociateRQ, pdu.TypeAssociateAC, pdu.TypeAssociateRJ, pdu.TypeReleaseRP:
		return c.abortAA8(pdu.AbortReasonUnexpectedPDU, fmt.Sprintf("unexpected %s PDU on an established association", h.Type))
	default:
		return c.abortAA8(pdu.AbortReasonUnrecognizedPDU, fmt.Sprintf("unrecognized PDU type 0x%02X", byte(h.Type)))
	}
}

// Read implements dimse.PDVSource.
func (c *Conn) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err != nil && err != io.EOF {
		return n, c.readError(err)
	}
	return n, err
}

// Next implements dimse.PDVSource.
func (c *Conn) Next(n int) ([]byte, error) {
	p, err := c.r.Next(n)
	if err != nil && err != io.EOF {
		return p, c.readError(err)
	}
	return p, err
}

// WriteMessage sends a command or data set on presentation context ctx,
// fragmented to the peer's maximum PDU length.
func (c *Conn) WriteMessage(ctx byte, command bool, data []byte) error {
	c.setWriteDeadline()
	if err := c.w.WriteMessage(ctx, command, data, c.Negotiation.PeerMaxPDU); err != nil {
		c.closeNow()
		return c.transportError(err)
	}
	return nil
}

// Abort sends an A-ABORT (AA-8: service-provider source) and closes. It is
// what the server does on a protocol error it detects itself.
func (c *Conn) Abort(reason byte, msg string) error {
	return c.abortAA8(reason, msg)
}

// AbortUser sends an A-ABORT with the service-user source (the receiver's
// own decision, e.g. at the shutdown deadline) and closes.
func (c *Conn) AbortUser(msg string) error {
	return c.sendAbort(pdu.AbortSourceServiceUser, pdu.AbortReasonNotSpecified, msg)
}

// Close closes the transport connection at once.
func (c *Conn) Close() error {
	c.state = sta13
	return c.nc.Close()
}

// abortAA1 is PS3.8 AA-1 (Sta2): send A-ABORT with the service-user source
// (as Table 9-9 specifies for this action), wait for the close.
func (c *Conn) abortAA1(reason byte, msg string) error {
	err := c.sendAbort(pdu.AbortSourceServiceUser, pdu.AbortReasonNotSpecified, msg)
	// Keep the precise reason in the error for logs and events.
	if ae, ok := err.(*AbortError); ok {
		ae.Msg = fmt.Sprintf("%s (diagnostic reason %d)", ae.Msg, reason)
	}
	return err
}

// abortAA8 is PS3.8 AA-8: send A-ABORT with the service-provider source and
// the reason, issue the A-P-ABORT indication (our returned error), wait for
// the close.
func (c *Conn) abortAA8(reason byte, msg string) error {
	return c.sendAbort(pdu.AbortSourceServiceProvider, reason, msg)
}

func (c *Conn) sendAbort(source, reason byte, msg string) error {
	if c.state == sta13 {
		c.closeNow()
		return &AbortError{Source: source, Reason: reason, Msg: msg}
	}
	c.setWriteDeadline()
	werr := c.w.WriteAbort(&pdu.Abort{Source: source, Reason: reason})
	c.state = sta13
	c.closeGracefully()
	return &AbortError{Source: source, Reason: reason, Msg: msg, Err: werr}
}

// reject answers A-ASSOCIATE-RJ (AE-8) and waits for the close.
func (c *Conn) reject(rj *RejectError) error {
	c.setWriteDeadline()
	if err := c.w.WriteAssociateRJ(rj.PDU()); err != nil {
		c.closeNow()
		return fmt.Errorf("%w (sending it failed: %v)", rj, err)
	}
	c.state = sta13
	c.closeGracefully()
	return rj
}

// closeGracefully is Sta13: we half-close so that our last PDU is delivered
// before any reset, then read and discard until the peer closes or the
// timer expires, then close.
func (c *Conn) closeGracefully() {
	if tc, ok := c.nc.(interface{ CloseWrite() error }); ok {
		_ = tc.CloseWrite()
		d := closeDrainTimeout
		if c.cfg.ARTIMTimeout > 0 && c.cfg.ARTIMTimeout < d {
			d = c.cfg.ARTIMTimeout
		}
		_ = c.nc.SetReadDeadline(time.Now().Add(d))
		var buf [512]byte
		for {
			if _, err := c.nc.Read(buf[:]); err != nil {
				break
			}
		}
	}
	_ = c.nc.Close()
}

func (c *Conn) closeNow() {
	c.state = sta13
	_ = c.nc.Close()
}

// readError maps a failure to read in Sta6: a timeout or a malformed PDU is
// answered with A-ABORT; a closed connection is AA-4.
func (c *Conn) readError(err error) error {
	var pe *pdu.ParseError
	if errors.As(err, &pe) {
		return c.abortAA8(pe.Reason, err.Error())
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return c.sendAbort(pdu.AbortSourceServiceProvider, pdu.AbortReasonNotSpecified, "timeout: "+err.Error())
	}
	c.closeNow()
	return c.transportError(err)
}

func (c *Conn) transportError(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: %v", ErrPeerClosed, err)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("timeout: %w", err)
	}
	return err
}

func (c *Conn) setReadDeadline(d time.Duration) {
	c.setReadDeadlineAt(deadlineIn(d))
}

// setReadDeadlineAt sets the read deadline t (zero: none), never later than
// the association's own deadline.
func (c *Conn) setReadDeadlineAt(t time.Time) {
	_ = c.nc.SetReadDeadline(earliest(t, c.cfg.Deadline))
}

func (c *Conn) setWriteDeadline() {
	_ = c.nc.SetWriteDeadline(deadlineIn(c.cfg.DIMSETimeout))
}

// deadlineIn returns the time d from now, or the zero time (no deadline)
// when d <= 0.
func deadlineIn(d time.Duration) time.Time {
	if d <= 0 {
		return time.Time{}
	}
	return time.Now().Add(d)
}

// earliest returns the earlier of two deadlines, the zero time meaning
// none.
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}
