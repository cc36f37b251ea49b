package battery

import (
	"errors"
	"testing"
	"time"

	"github.com/dicomrecv/dicomrecv"
	"github.com/dicomrecv/dicomrecv/internal/dimse"
	"github.com/dicomrecv/dicomrecv/internal/pdu"
	"github.com/dicomrecv/dicomrecv/internal/scutest"
)

// How associations end when the peer does not cooperate: Sta13 (the
// server has answered and waits for the peer to close), the association
// count, and Shutdown.
var endingCases = []hostile{
	// AE-8, AA-8 and AR-4 start ARTIM and wait in Sta13 for the peer to
	// close; Sta13 + Evt18 (ARTIM expired) is AA-2: the server closes.
	{name: "sta13/peer keeps the connection after A-ASSOCIATE-RJ", run: func(t *testing.T, e *env) {
		c := e.dial(t)
		rq := withRQ(func(rq *pdu.AssociateRQ) { rq.ProtocolVersion = 0 })
		a := readAnswerOpen(t, c, send(t, c, rq))
		a.wantReject(t, permanent, pdu.RejectSourceACSE, pdu.RejectReasonProtocolVersionUnsupported)
		lo, hi := timer(artim)
		closedWithin(t, serverClosed(t, c, time.Now()), lo, hi)
	}},
	{name: "sta13/peer keeps the connection after A-ABORT", run: func(t *testing.T, e *env) {
		c := e.associate(t)
		a := readAnswerOpen(t, c, send(t, c, rawPDU(0x06, []byte{0, 0, 0, 0})))
		a.wantAbort(t, srcProvider, reasonUnexpected, 0, prompt)
		lo, hi := timer(artim)
		closedWithin(t, serverClosed(t, c, time.Now()), lo, hi)
	}},
	{name: "sta13/peer keeps the connection after A-RELEASE-RP", run: func(t *testing.T, e *env) {
		c := e.associate(t)
		write(t, c, rawPDU(0x05, []byte{0, 0, 0, 0}))
		a := readAnswerOpen(t, c, time.Now())
		if len(a.msgs) != 1 || a.msgs[0].Type() != pdu.TypeReleaseRP || a.first > prompt {
			t.Fatalf("answer to A-RELEASE-RQ: %s after %v, want A-RELEASE-RP within %v", describe(a.msgs), a.first, prompt)
		}
		lo, hi := timer(artim)
		closedWithin(t, serverClosed(t, c, time.Now()), lo, hi)
	}},
	// Whatever way an association ends, it stops counting against
	// maxAssociations: with a limit of 1, each next association is
	// accepted.
	{name: "limit/association count after every kind of ending", config: func(c *dicomrecv.Config) { c.MaxAssociations = 1 },
		run: func(t *testing.T, e *env) {
			endings := []struct {
				name string
				end  func(t *testing.T, c *scutest.Conn)
			}{
				{"release", func(t *testing.T, c *scutest.Conn) { release(t, c) }},
				{"A-ABORT from the server", func(t *testing.T, c *scutest.Conn) {
					readAnswer(t, c, send(t, c, rawPDU(0x09, []byte{0, 0, 0, 0}))).wantAbort(t, srcProvider, reasonUnrecognized, 0, prompt)
				}},
				{"A-ABORT from the peer in the middle of an object", func(t *testing.T, c *scutest.Conn) {
					write(t, c, pdata(pdv(1, mchLastCommand, storeCommand(1, ctImage, "1.2.999.9.1"))))
					write(t, c, pdata(pdv(1, mchData, ctDataSet("1.2.999.9.1", 100)[:80])))
					readAnswer(t, c, send(t, c, rawPDU(0x07, []byte{0, 0, 0, 0}))).wantClose(t, 0, prompt)
				}},
				{"connection closed by the peer", func(t *testing.T, c *scutest.Conn) {
					mustf(t, c.NC.(interface{ CloseWrite() error }).CloseWrite(), "half-close")
					readAnswer(t, c, time.Now()).wantClose(t, 0, prompt)
				}},
				{"idle timeout", func(t *testing.T, c *scutest.Conn) {
					lo, hi := timer(idle)
					readAnswer(t, c, time.Now()).wantAbort(t, srcProvider, reasonNotSpecified, lo, hi)
				}},
				{"release after a failed C-STORE", func(t *testing.T, c *scutest.Conn) {
					write(t, c, pdata(pdv(1, mchLastCommand, storeCommand(1, ctImage, "1.2.999.9.2"))))
					write(t, c, pdata(pdv(1, mchLastData, ctDataSet("1.2.999.9.3", 16))))
					response(t, c, dimse.CStoreRSP, dimse.StatusInstanceMismatch, "SOP Instance UID differs from the command's")
					release(t, c)
				}},
			}
			for _, end := range endings {
				end.end(t, associateSoon(t, e))
			}
			release(t, associateSoon(t, e))
		}},
	// Shutdown does not wait for connections that have not sent a
	// request: they are not associations yet, and waiting for their ARTIM
	// would let any idle peer hold a graceful shutdown.
	{name: "shutdown/connections without a request do not hold Shutdown",
		config: func(c *dicomrecv.Config) { c.ARTIMTimeout = 4 * giveUp },
		run: func(t *testing.T, e *env) {
			for i := 0; i < 20; i++ {
				e.dial(t)
			}
			c := e.dial(t)
			stop := trickle(c, goodRQ(), 100*time.Millisecond)
			t.Cleanup(stop)
			// runCase's Shutdown must then return at once.
		}},
}

// associateSoon opens an association, allowing the server a moment to
// count out the association that just ended on the client's side.
func associateSoon(t *testing.T, e *env) *scutest.Conn {
	t.Helper()
	deadline := time.Now().Add(prompt)
	for {
		c, err := scutest.Associate(e.addr, scutest.Options{CallingAE: "BATTERY", CalledAE: "STORE-SCP", Contexts: []scutest.Context{ctContext(1)}, Timeout: giveUp})
		var rj *scutest.RejectedError
		if errors.As(err, &rj) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		if err != nil {
			t.Fatalf("association after the previous one ended: %v", err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
}

// serverClosed writes a byte every 50 ms, which a server in Sta13 reads
// and discards, until a write fails because the server closed the
// connection; it returns how long after since that was.
func serverClosed(t *testing.T, c *scutest.Conn, since time.Time) time.Duration {
	t.Helper()
	for time.Since(since) < giveUp {
		_ = c.NC.SetWriteDeadline(time.Now().Add(time.Second))
		if _, err := c.NC.Write([]byte{0}); err != nil {
			return time.Since(since)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the server kept the connection open for %v", giveUp)
	return 0
}

func closedWithin(t *testing.T, d, lo, hi time.Duration) {
	t.Helper()
	if d < lo || d > hi {
		t.Errorf("the server closed the connection after %v, want between %v and %v", d, lo, hi)
	}
}
