// Package scutest is a minimal DICOM storage SCU for tests: it opens
// associations, sends C-ECHO and C-STORE requests (well-formed or not), and
// reads what the receiver answers. It also lets a test write raw bytes, to
// play a hostile or broken peer.
package scutest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/dicomrecv/dicomrecv/internal/dimse"
	"github.com/dicomrecv/dicomrecv/internal/pdu"
)

// Context is a proposed presentation context.
type Context struct {
	ID               byte
	AbstractSyntax   string
	TransferSyntaxes []string
}

// Options of an association request.
type Options struct {
	CallingAE, CalledAE string
	Contexts            []Context
	MaxPDU              uint32 // announced to the receiver; 0 = 16384
	Timeout             time.Duration
}

// Conn is an SCU association.
type Conn struct {
	NC       net.Conn
	R        *pdu.Reader
	W        *pdu.Writer
	AC       *pdu.AssociateAC
	accepted map[byte]string // context ID -> transfer syntax
	msgID    uint16
	PeerMax  uint32
}

// Dial opens a TCP connection without associating.
func Dial(addr string, timeout time.Duration) (*Conn, error) {
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	nc, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	_ = nc.SetDeadline(time.Now().Add(timeout))
	return &Conn{NC: nc, R: pdu.NewReader(nc, 0), W: pdu.NewWriter(nc), accepted: map[byte]string{}}, nil
}

// Request builds the A-ASSOCIATE-RQ of o.
func Request(o Options) *pdu.AssociateRQ {
	if o.CallingAE == "" {
		o.CallingAE = "SCUTEST"
	}
	if o.CalledAE == "" {
		o.CalledAE = "STORE-SCP"
	}
	ml := o.MaxPDU
	if ml == 0 {
		ml = 16384
	}
	rq := &pdu.AssociateRQ{
		ProtocolVersion:    pdu.ProtocolVersion1,
		CalledAE:           pdu.PadAE(o.CalledAE),
		CallingAE:          pdu.PadAE(o.CallingAE),
		ApplicationContext: pdu.ApplicationContextName,
		UserInfo:           pdu.UserInfo{MaxLength: &ml, ImplementationClassUID: "1.2.3.4", ImplementationVersionName: "SCUTEST"},
	}
	for _, c := range o.Contexts {
		rq.PresentationContexts = append(rq.PresentationContexts, pdu.PresentationContextRQ{
			ID: c.ID, AbstractSyntax: c.AbstractSyntax, TransferSyntaxes: c.TransferSyntaxes,
		})
	}
	return rq
}

// RejectedError is returned by Associate when the receiver answers
// A-ASSOCIATE-RJ.
type RejectedError struct{ RJ *pdu.AssociateRJ }

func (e *RejectedError) Error() string {
	return fmt.Sprintf("association rejected: result %d source %d reason %d", e.RJ.Result, e.RJ.Source, e.RJ.Reason)
}

// AbortedError is returned when the receiver answers A-ABORT.
type AbortedError struct{ Abort *pdu.Abort }

func (e *AbortedError) Error() string {
	return fmt.Sprintf("association aborted: source %d reason %d", e.Abort.Source, e.Abort.Reason)
}

// Associate dials addr and negotiates o.
func Associate(addr string, o Options) (*Conn, error) {
	c, err := Dial(addr, o.Timeout)
	if err != nil {
		return nil, err
	}
	if err := c.W.WriteAssociateRQ(Request(o)); err != nil {
		c.NC.Close()
		return nil, err
	}
	m, err := c.ReadPDU()
	if err != nil {
		c.NC.Close()
		return nil, err
	}
	switch p := m.(type) {
	case *pdu.AssociateAC:
		c.AC = p
		for _, pc := range p.PresentationContexts {
			if pc.Result == pdu.ResultAcceptance {
				c.accepted[pc.ID] = pc.TransferSyntax
			}
		}
		if p.UserInfo.MaxLength != nil {
			c.PeerMax = *p.UserInfo.MaxLength
		}
		return c, nil
	case *pdu.AssociateRJ:
		c.NC.Close()
		return nil, &RejectedError{p}
	case *pdu.Abort:
		c.NC.Close()
		return nil, &AbortedError{p}
	}
	c.NC.Close()
	return nil, fmt.Errorf("unexpected %T", m)
}

// Accepted returns the transfer syntax of an accepted context, or "".
func (c *Conn) Accepted(id byte) string { return c.accepted[id] }

// ReadPDU reads one whole PDU (P-DATA-TF included) and decodes it.
func (c *Conn) ReadPDU() (pdu.Message, error) {
	h, err := c.R.ReadHeader()
	if err != nil {
		return nil, err
	}
	if h.Type == pdu.TypePDataTF {
		var pd pdu.PDataTF
		for {
			ph, err := c.R.NextPDV()
			if err == io.EOF {
				return &pd, nil
			}
			if err != nil {
				return nil, err
			}
			data, err := io.ReadAll(c.R)
			if err != nil {
				return nil, err
			}
			pd.PDVs = append(pd.PDVs, pdu.PDV{ContextID: ph.ContextID, Command: ph.Command, Last: ph.Last, Data: data})
		}
	}
	body, err := c.R.ReadBody(h, 1<<20)
	if err != nil {
		return nil, err
	}
	return pdu.ParseBody(h.Type, body)
}

// Response is a DIMSE response as read.
type Response struct {
	Command *dimse.Command
}

// ReadResponse reads PDUs until a whole command set arrives and decodes it.
// An A-ABORT or A-RELEASE-RQ is an error.
func (c *Conn) ReadResponse() (*dimse.Command, error) {
	var cmd []byte
	for {
		m, err := c.ReadPDU()
		if err != nil {
			return nil, err
		}
		switch p := m.(type) {
		case *pdu.PDataTF:
			for _, v := range p.PDVs {
				if !v.Command {
					continue
				}
				cmd = append(cmd, v.Data...)
				if v.Last {
					return dimse.ParseCommand(cmd)
				}
			}
		case *pdu.Abort:
			return nil, &AbortedError{p}
		default:
			return nil, fmt.Errorf("unexpected %T while waiting for a response", m)
		}
	}
}

func (c *Conn) nextID() uint16 {
	c.msgID++
	return c.msgID
}

// Echo sends C-ECHO-RQ on ctx and returns the response status.
func (c *Conn) Echo(ctx byte) (uint16, error) {
	cmd := dimse.AppendCommand(nil, &dimse.Command{Field: dimse.CEchoRQ, MessageID: c.nextID(),
		AffectedSOPClassUID: "1.2.840.10008.1.1"})
	if err := c.W.WriteMessage(ctx, true, cmd, c.PeerMax); err != nil {
		return 0, err
	}
	rsp, err := c.ReadResponse()
	if err != nil {
		return 0, err
	}
	return rsp.Status, nil
}

// Store sends a C-STORE-RQ with the data set on ctx and returns the
// response.
func (c *Conn) Store(ctx byte, sopClass, sopInstance string, dataset []byte) (*dimse.Command, error) {
	if err := c.SendStore(ctx, sopClass, sopInstance, dataset); err != nil {
		return nil, err
	}
	return c.ReadResponse()
}

// SendStore sends a C-STORE-RQ and its data set without reading the
// response.
func (c *Conn) SendStore(ctx byte, sopClass, sopInstance string, dataset []byte) error {
	cmd := dimse.AppendCommand(nil, &dimse.Command{Field: dimse.CStoreRQ, MessageID: c.nextID(),
		AffectedSOPClassUID: sopClass, AffectedSOPInstanceUID: sopInstance, HasDataSetType: true, DataSetType: 0})
	if err := c.W.WriteMessage(ctx, true, cmd, c.PeerMax); err != nil {
		return err
	}
	return c.W.WriteMessage(ctx, false, dataset, c.PeerMax)
}

// Release sends A-RELEASE-RQ and waits for A-RELEASE-RP.
func (c *Conn) Release() error {
	defer c.NC.Close()
	if err := c.W.WriteReleaseRQ(); err != nil {
		return err
	}
	m, err := c.ReadPDU()
	if err != nil {
		return err
	}
	if _, ok := m.(*pdu.ReleaseRP); !ok {
		return fmt.Errorf("got %T, want A-RELEASE-RP", m)
	}
	return nil
}

// Close closes the connection.
func (c *Conn) Close() error { return c.NC.Close() }

// WriteRaw writes bytes as they are.
func (c *Conn) WriteRaw(b []byte) error {
	_, err := c.NC.Write(b)
	return err
}

// ExpectAbort reads until an A-ABORT arrives (returned) or the connection
// ends (error).
func (c *Conn) ExpectAbort() (*pdu.Abort, error) {
	for {
		m, err := c.ReadPDU()
		if err != nil {
			return nil, err
		}
		if a, ok := m.(*pdu.Abort); ok {
			return a, nil
		}
	}
}

// ErrNoPDU is returned by ExpectClosed when the peer sent a PDU.
var ErrNoPDU = errors.New("connection closed without a PDU")

// ExpectClosed reads until the receiver closes the connection and returns
// what it got.
func (c *Conn) ExpectClosed() ([]byte, error) {
	var buf bytes.Buffer
	_, err := io.Copy(&buf, c.NC)
	return buf.Bytes(), err
}

// StoreStream sends a C-STORE-RQ whose data set is read from r (n bytes),
// fragmented to the receiver's maximum PDU length without holding the data
// set in memory, and returns the response.
func (c *Conn) StoreStream(ctx byte, sopClass, sopInstance string, r io.Reader, n int64) (*dimse.Command, error) {
	cmd := dimse.AppendCommand(nil, &dimse.Command{Field: dimse.CStoreRQ, MessageID: c.nextID(),
		AffectedSOPClassUID: sopClass, AffectedSOPInstanceUID: sopInstance, HasDataSetType: true, DataSetType: 0})
	if err := c.W.WriteMessage(ctx, true, cmd, c.PeerMax); err != nil {
		return nil, err
	}
	max := int64(c.PeerMax)
	if max == 0 || max > 1<<20 {
		max = 1 << 20
	}
	buf := make([]byte, max-pdu.PDVHeaderLength)
	for sent := int64(0); ; {
		k := min(int64(len(buf)), n-sent)
		if _, err := io.ReadFull(r, buf[:k]); err != nil {
			return nil, err
		}
		sent += k
		last := sent == n
		if err := c.W.WritePDataTF(&pdu.PDataTF{PDVs: []pdu.PDV{{ContextID: ctx, Last: last, Data: buf[:k]}}}); err != nil {
			return nil, err
		}
		if last {
			break
		}
	}
	return c.ReadResponse()
}
