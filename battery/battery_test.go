package battery

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dicomrecv/dicomrecv"
	"github.com/dicomrecv/dicomrecv/dicom"
	"github.com/dicomrecv/dicomrecv/internal/dimse"
	"github.com/dicomrecv/dicomrecv/internal/pdu"
	"github.com/dicomrecv/dicomrecv/internal/scutest"
	"github.com/dicomrecv/dicomrecv/internal/testutil/testds"
)

// A hostile case: what the peer does and what the server must answer.
// Every case then also checks that nothing is stored (beyond stored
// objects the case sends legitimately), that storescu still stores
// CT_small.dcm on the same server, and that the server shuts down with no
// association left.
type hostile struct {
	name   string
	config func(*dicomrecv.Config)
	stored int
	run    func(t *testing.T, e *env)
}

// The A-ABORT and A-ASSOCIATE-RJ field values (PS3.8 Tables 9-21, 9-26).
const (
	srcUser     = pdu.AbortSourceServiceUser     // 0
	srcProvider = pdu.AbortSourceServiceProvider // 2

	reasonNotSpecified  = pdu.AbortReasonNotSpecified             // 0
	reasonUnrecognized  = pdu.AbortReasonUnrecognizedPDU          // 1
	reasonUnexpected    = pdu.AbortReasonUnexpectedPDU            // 2
	reasonUnexpectedPar = pdu.AbortReasonUnexpectedPDUParameter   // 5
	reasonInvalidPar    = pdu.AbortReasonInvalidPDUParameterValue // 6

	permanent = pdu.RejectedPermanent // 1
	transient = pdu.RejectedTransient // 2
)

func TestBattery(t *testing.T) {
	var all []hostile
	for _, group := range [][]hostile{sta2Cases, rejectCases, sta6Cases, pdvCases, commandCases, dataSetCases, timerCases, limitCases, endingCases} {
		all = append(all, group...)
	}
	seen := map[string]bool{}
	for _, h := range all {
		if seen[h.name] {
			t.Fatalf("two cases named %q", h.name)
		}
		seen[h.name] = true
		t.Run(h.name, func(t *testing.T) {
			t.Parallel()
			runCase(t, h)
		})
	}
}

func runCase(t *testing.T, h hostile) {
	cfg := baseConfig(t)
	if h.config != nil {
		h.config(&cfg)
	}
	e := startEnv(t, cfg)
	// Registered first, so it runs after the cleanups of the case's own
	// connections; a no-op once shutdown ran below.
	t.Cleanup(func() { e.shutdown(t) })
	h.run(t, e)
	e.checkStored(t, h.stored)
	e.storescuCT(t)
	e.shutdown(t)
	e.checkFinalEvents(t, h.stored)
}

// send writes b and returns the time it was written: the trigger.
func send(t *testing.T, c *scutest.Conn, b []byte) time.Time {
	t.Helper()
	write(t, c, b)
	return time.Now()
}

// sendAsync writes b from another goroutine (for writes larger than the
// socket buffers, which the server may refuse before reading them all);
// the returned function waits for the write to end.
func sendAsync(c *scutest.Conn, b []byte) (wait func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = c.WriteRaw(b) // the server may close first
	}()
	return func() { <-done }
}

// trickle writes b one byte every interval from another goroutine until
// it is written or stop is called; stop waits for the goroutine.
func trickle(c *scutest.Conn, b []byte, every time.Duration) (stop func()) {
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(every)
		defer tick.Stop()
		for i := range b {
			if c.WriteRaw(b[i:i+1]) != nil {
				return
			}
			select {
			case <-quit:
				return
			case <-tick.C:
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(quit); c.Close(); wg.Wait() }) }
}

// sta2Abort sends b on a new connection and expects the AA-1 answer of
// PS3.8 Table 9-10 (Sta2 + Evt3/4/10/12/13/19): an A-ABORT whose source is
// the service-user and whose reason is not significant (0, Table 9-26).
func sta2Abort(b []byte) func(t *testing.T, e *env) {
	return func(t *testing.T, e *env) {
		e.abortOn(t, e.dial(t), b, srcUser, 0)
	}
}

// abortOn sends b on c and expects an A-ABORT with source and reason at
// once, then an ErrorEvent about the connection.
func (e *env) abortOn(t *testing.T, c *scutest.Conn, b []byte, source, reason byte) {
	t.Helper()
	local := localAddr(c)
	wait := sendAsync(c, b)
	readAnswer(t, c, time.Now()).wantAbort(t, source, reason, 0, prompt)
	wait()
	e.waitErrorEvent(t, local)
}

// sta2Close sends b on a new connection and expects a plain close within
// [lo, hi] of the connection.
func sta2Close(b []byte, lo, hi time.Duration) func(t *testing.T, e *env) {
	return func(t *testing.T, e *env) {
		c := e.dial(t)
		since := time.Now()
		write(t, c, b)
		readAnswer(t, c, since).wantClose(t, lo, hi)
	}
}

// sta6Abort sends b on an established association and expects the AA-8
// answer (Sta6 + Evt3/4/6/13/19): an A-ABORT from the service-provider
// with reason, at once.
func sta6Abort(b []byte, reason byte) func(t *testing.T, e *env) {
	return func(t *testing.T, e *env) {
		e.abortOn(t, e.associate(t), b, srcProvider, reason)
	}
}

// rejected sends the request b and expects an A-ASSOCIATE-RJ.
func rejected(b []byte, result, source, reason byte) func(t *testing.T, e *env) {
	return func(t *testing.T, e *env) {
		c := e.dial(t)
		local := localAddr(c)
		readAnswer(t, c, send(t, c, b)).wantReject(t, result, source, reason)
		e.waitErrorEvent(t, local)
	}
}

// withRQ returns goodRQ's fields changed by f, encoded.
func withRQ(f func(rq *pdu.AssociateRQ)) []byte {
	rq := scutest.Request(scutest.Options{CallingAE: "BATTERY", CalledAE: "STORE-SCP", Contexts: []scutest.Context{ctContext(1)}})
	f(rq)
	b, err := rq.AppendBinary(nil)
	if err != nil {
		panic(err)
	}
	return b
}

var (
	echoCmd = dimse.AppendCommand(nil, &dimse.Command{Field: dimse.CEchoRQ, MessageID: 1, AffectedSOPClassUID: verification})
	// manyContexts is an A-ASSOCIATE-RQ with 1,000 presentation context
	// items (IDs necessarily repeat: at most 128 odd IDs exist), under the
	// 64 KiB cap.
	manyContexts = func() []byte {
		items := [][]byte{item(0x10, []byte(pdu.ApplicationContextName))}
		for i := 0; i < 1000; i++ {
			items = append(items, pcItem(byte(2*i+1), ctImage, dicom.ExplicitVRLittleEndian))
		}
		return rawRQ(1, "STORE-SCP", "BATTERY", append(items, userInfoItem(16384))...)
	}()
	// hugeRQ is a complete A-ASSOCIATE-RQ of more than 64 KiB: a valid
	// request padded with two items of a type PS3.8 does not define.
	hugeRQ = rawRQ(1, "STORE-SCP", "BATTERY", item(0x10, []byte(pdu.ApplicationContextName)),
		pcItem(1, ctImage, dicom.ExplicitVRLittleEndian), item(0x77, make([]byte, 40000)), item(0x78, make([]byte, 40000)),
		userInfoItem(16384))
)

// Before the association: PS3.8 Table 9-10, state Sta2.
var sta2Cases = []hostile{
	{name: "sta2/garbage: an HTTP request", run: sta2Abort([]byte("GET / HTTP/1.1\r\nHost: pacs\r\n\r\n"))},
	{name: "sta2/garbage: zero bytes", run: sta2Abort(make([]byte, 64))},
	{name: "sta2/garbage: random bytes", run: sta2Abort([]byte("\xf3\x9a\x11\x00\x7e\x01\x02\xff\xfe\x80\x00\x00\x13\x37"))},
	{name: "sta2/unknown PDU type 0x08", run: sta2Abort(rawPDU(0x08, []byte{0, 0, 0, 0}))},
	{name: "sta2/A-ASSOCIATE-RQ of length 0xFFFFFFFF", run: sta2Abort(pduHeader(0x01, 0xFFFFFFFF))},
	{name: "sta2/A-ASSOCIATE-RQ over the 64 KiB cap", run: sta2Abort(hugeRQ)},
	{name: "sta2/P-DATA-TF before the association", run: sta2Abort(pdata(pdv(1, mchLastCommand, echoCmd)))},
	{name: "sta2/A-RELEASE-RQ before the association", run: sta2Abort(rawPDU(0x05, []byte{0, 0, 0, 0}))},
	{name: "sta2/A-RELEASE-RP before the association", run: sta2Abort(rawPDU(0x06, []byte{0, 0, 0, 0}))},
	{name: "sta2/A-ASSOCIATE-AC sent to the acceptor", run: sta2Abort(append([]byte{0x02}, goodRQ()[1:]...))},
	{name: "sta2/A-ASSOCIATE-RJ sent to the acceptor", run: sta2Abort(rawPDU(0x03, []byte{0, 1, 1, 1}))},
	// Sta2 + Evt16 (A-ABORT): AA-2, close without answering.
	{name: "sta2/A-ABORT before the association", run: sta2Close(rawPDU(0x07, []byte{0, 0, 0, 0}), 0, prompt)},

	// Truncated PDUs of every type. The server must not wait for the rest
	// of a PDU it refuses on its header; a request it would accept is
	// awaited until ARTIM expires (Sta2 + Evt18: AA-2, plain close).
	{name: "sta2/truncated: PDU header of 3 bytes", run: sta2Close([]byte{0x01, 0, 0}, artim-early, artim+late)},
	{name: "sta2/truncated: A-ASSOCIATE-RQ body", run: sta2Close(goodRQ()[:60], artim-early, artim+late)},
	{name: "sta2/truncated: A-ASSOCIATE-RQ body, then the peer closes", run: func(t *testing.T, e *env) {
		c := e.dial(t)
		write(t, c, goodRQ()[:60])
		mustf(t, c.NC.(interface{ CloseWrite() error }).CloseWrite(), "half-close")
		// Sta2 + Evt17: AA-5, nothing to send.
		readAnswer(t, c, time.Now()).wantClose(t, 0, prompt)
	}},
	{name: "sta2/truncated: A-ASSOCIATE-RQ item runs past the PDU", run: sta2Abort(rawRQ(1, "STORE-SCP", "BATTERY",
		item(0x10, []byte(pdu.ApplicationContextName)), []byte{0x20, 0, 0, 50, 1, 0, 0, 0}))},
	{name: "sta2/truncated: A-ASSOCIATE-AC", run: sta2Abort(append(pduHeader(0x02, 200), 0, 1, 0, 0))},
	{name: "sta2/truncated: A-ASSOCIATE-RJ", run: sta2Abort(append(pduHeader(0x03, 4), 0, 1))},
	{name: "sta2/truncated: P-DATA-TF", run: sta2Abort(append(pduHeader(0x04, 100), 0, 0, 0, 20, 1, 3))},
	{name: "sta2/truncated: A-RELEASE-RQ", run: sta2Abort(append(pduHeader(0x05, 4), 0))},
	{name: "sta2/truncated: A-RELEASE-RP", run: sta2Abort(append(pduHeader(0x06, 4), 0))},
	{name: "sta2/truncated: A-ABORT", run: sta2Close(append(pduHeader(0x07, 4), 0), 0, prompt)},
}

// badCallingAE and badCalledAE: a request with that calling (called) AE
// title is rejected, permanent, by the service user, reason 3 (7).
func badCallingAE(ae [16]byte) func(*testing.T, *env) {
	return rejected(withRQ(func(rq *pdu.AssociateRQ) { rq.CallingAE = ae }),
		permanent, pdu.RejectSourceServiceUser, pdu.RejectReasonCallingAENotRecognized)
}

func badCalledAE(ae [16]byte) func(*testing.T, *env) {
	return rejected(withRQ(func(rq *pdu.AssociateRQ) { rq.CalledAE = ae }),
		permanent, pdu.RejectSourceServiceUser, pdu.RejectReasonCalledAENotRecognized)
}

// The request is read and refused: A-ASSOCIATE-RJ (PS3.8 §9.3.4, Table
// 9-21) or, for a request that breaks the PDU structure, A-ABORT (AA-1).
var rejectCases = []hostile{
	{name: "reject/calling AE title with a control character", run: badCallingAE(pdu.PadAE("EVIL\x07SCU"))},
	{name: "reject/calling AE title with a backslash", run: badCallingAE(pdu.PadAE(`EVIL\SCU`))},
	{name: "reject/calling AE title empty", run: badCallingAE(pdu.PadAE(""))},
	{name: "reject/calling AE title of NUL bytes", run: badCallingAE([16]byte{})},
	{name: "reject/called AE title with a control character", run: badCalledAE(pdu.PadAE("STORE\nSCP"))},
	{name: "reject/called AE title with a backslash", run: badCalledAE(pdu.PadAE(`STORE\SCP`))},
	{name: "reject/called AE title empty", run: badCalledAE(pdu.PadAE(""))},
	// PS3.8 §9.3.2: bit 0 of the protocol version is version 1.
	{name: "reject/protocol version 0", run: rejected(withRQ(func(rq *pdu.AssociateRQ) {
		rq.ProtocolVersion = 0
	}), permanent, pdu.RejectSourceACSE, pdu.RejectReasonProtocolVersionUnsupported)},
	{name: "reject/wrong application context", run: rejected(withRQ(func(rq *pdu.AssociateRQ) {
		rq.ApplicationContext = "1.2.840.10008.3.1.1.2"
	}), permanent, pdu.RejectSourceServiceUser, pdu.RejectReasonAppContextNotSupported)},
	{name: "reject/maximum length too small for any P-DATA-TF", run: rejected(withRQ(func(rq *pdu.AssociateRQ) {
		ml := uint32(4)
		rq.UserInfo.MaxLength = &ml
	}), permanent, pdu.RejectSourceACSE, pdu.RejectReasonACSENoReason)},
	// PS3.8 §9.3.2.2: context IDs are distinct odd integers from 1 to 255;
	// a request that breaks this is an invalid PDU (Evt19: AA-1).
	{name: "reject/1,000 presentation contexts", run: sta2Abort(manyContexts)},
	{name: "reject/even presentation context ID", run: sta2Abort(rawRQ(1, "STORE-SCP", "BATTERY",
		item(0x10, []byte(pdu.ApplicationContextName)), pcItem(2, ctImage, dicom.ExplicitVRLittleEndian), userInfoItem(16384)))},
	{name: "reject/duplicate presentation context IDs", run: sta2Abort(rawRQ(1, "STORE-SCP", "BATTERY",
		item(0x10, []byte(pdu.ApplicationContextName)), pcItem(1, ctImage, dicom.ExplicitVRLittleEndian),
		pcItem(1, mrImage, dicom.ExplicitVRLittleEndian), userInfoItem(16384)))},
}

// On an established association: PS3.8 Table 9-10, state Sta6.
var sta6Cases = []hostile{
	{name: "sta6/unknown PDU type 0x09", run: sta6Abort(rawPDU(0x09, []byte{0, 0, 0, 0}), reasonUnrecognized)},
	{name: "sta6/P-DATA-TF of length 0xFFFFFFFF", run: sta6Abort(pduHeader(0x04, 0xFFFFFFFF), reasonInvalidPar)},
	{name: "sta6/A-RELEASE-RQ of length 0xFFFFFFFF", run: sta6Abort(pduHeader(0x05, 0xFFFFFFFF), reasonInvalidPar)},
	{name: "sta6/A-RELEASE-RQ of length 2", run: sta6Abort(rawPDU(0x05, []byte{0, 0}), reasonInvalidPar)},
	{name: "sta6/second A-ASSOCIATE-RQ", run: sta6Abort(goodRQ(), reasonUnexpected)},
	{name: "sta6/A-ASSOCIATE-AC", run: sta6Abort(append([]byte{0x02}, goodRQ()[1:]...), reasonUnexpected)},
	{name: "sta6/A-ASSOCIATE-RJ", run: sta6Abort(rawPDU(0x03, []byte{0, 1, 1, 1}), reasonUnexpected)},
	{name: "sta6/unsolicited A-RELEASE-RP", run: sta6Abort(rawPDU(0x06, []byte{0, 0, 0, 0}), reasonUnexpected)},
	{name: "sta6/truncated: A-ASSOCIATE-RQ", run: sta6Abort(goodRQ()[:40], reasonUnexpected)},
	{name: "sta6/truncated: A-ASSOCIATE-AC", run: sta6Abort(append(pduHeader(0x02, 200), 0, 1), reasonUnexpected)},
	{name: "sta6/truncated: A-ASSOCIATE-RJ", run: sta6Abort(append(pduHeader(0x03, 4), 0), reasonUnexpected)},
	{name: "sta6/truncated: A-RELEASE-RP", run: sta6Abort(append(pduHeader(0x06, 4), 0), reasonUnexpected)},
	{name: "sta6/truncated: unknown PDU type", run: sta6Abort(append(pduHeader(0x0A, 4), 0), reasonUnrecognized)},
	// Sta6 + Evt16: AA-3, close without answering; the object in transfer
	// is not stored.
	{name: "sta6/truncated: A-ABORT", run: func(t *testing.T, e *env) {
		c := e.associate(t)
		readAnswer(t, c, send(t, c, append(pduHeader(0x07, 4), 0))).wantClose(t, 0, prompt)
	}},
	{name: "sta6/A-ABORT from the peer in the middle of an object", run: func(t *testing.T, e *env) {
		c := e.associate(t)
		startObject(t, e, c, "1.2.999.2.1")
		readAnswer(t, c, send(t, c, rawPDU(0x07, []byte{0, 0, 0, 0}))).wantClose(t, 0, prompt)
	}},
	{name: "sta6/peer closes the connection in the middle of an object", run: func(t *testing.T, e *env) {
		c := e.associate(t)
		startObject(t, e, c, "1.2.999.2.2")
		mustf(t, c.NC.(interface{ CloseWrite() error }).CloseWrite(), "half-close")
		readAnswer(t, c, time.Now()).wantClose(t, 0, prompt)
	}},
	// A release in the middle of a message: the message can never be
	// completed (PS3.7 §A.5 wants no outstanding operation at release);
	// the server treats it as an unexpected PDU.
	{name: "sta6/A-RELEASE-RQ in the middle of a data set", run: func(t *testing.T, e *env) {
		c := e.associate(t)
		startObject(t, e, c, "1.2.999.2.3")
		readAnswer(t, c, send(t, c, rawPDU(0x05, []byte{0, 0, 0, 0}))).wantAbort(t, srcProvider, reasonUnexpected, 0, prompt)
	}},
	{name: "sta6/A-RELEASE-RQ between command fragments", run: func(t *testing.T, e *env) {
		c := e.associate(t)
		cmd := storeCommand(1, ctImage, "1.2.999.2.4")
		write(t, c, pdata(pdv(1, mchCommand, cmd[:20])))
		readAnswer(t, c, send(t, c, rawPDU(0x05, []byte{0, 0, 0, 0}))).wantAbort(t, srcProvider, reasonUnexpected, 0, prompt)
	}},
}

// startObject sends a C-STORE-RQ and the first fragment of its data set
// (the elements before the pixel data and part of the pixel data), then
// waits until the server has created the object's temporary file, so that
// what follows interrupts a transfer in progress. It returns when the
// fragment was sent.
func startObject(t *testing.T, e *env, c *scutest.Conn, sop string) (sent time.Time) {
	t.Helper()
	ds := ctDataSet(sop, 8192)
	write(t, c, pdata(pdv(1, mchLastCommand, storeCommand(1, ctImage, sop))))
	sent = send(t, c, pdata(pdv(1, mchData, ds[:len(ds)-4096])))
	deadline := time.Now().Add(giveUp)
	for {
		if _, temps := e.files(t); len(temps) > 0 {
			return sent
		}
		if time.Now().After(deadline) {
			t.Fatal("no temporary file appeared for the object in transfer")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// PDV items that break PS3.8 §9.3.5 and Annex E.
var pdvCases = []hostile{
	{name: "pdv/context that was not accepted", run: sta6Abort(pdata(pdv(3, mchLastCommand, echoCmd)), reasonInvalidPar)},
	{name: "pdv/context 0", run: sta6Abort(pdata(pdv(0, mchLastCommand, echoCmd)), reasonInvalidPar)},
	{name: "pdv/item length beyond the PDU", run: sta6Abort(rawPDU(0x04, append(binary.BigEndian.AppendUint32(nil, 500), append([]byte{1, 3}, echoCmd...)...)), reasonInvalidPar)},
	{name: "pdv/item length 0xFFFFFFFF", run: sta6Abort(rawPDU(0x04, append(binary.BigEndian.AppendUint32(nil, 0xFFFFFFFF), append([]byte{1, 3}, echoCmd...)...)), reasonInvalidPar)},
	{name: "pdv/item length 0", run: sta6Abort(rawPDU(0x04, []byte{0, 0, 0, 0, 1, 3}), reasonInvalidPar)},
	{name: "pdv/item length 1", run: sta6Abort(rawPDU(0x04, []byte{0, 0, 0, 1, 1, 3}), reasonInvalidPar)},
	{name: "pdv/P-DATA-TF without PDV", run: sta6Abort(rawPDU(0x04, nil), reasonInvalidPar)},
	{name: "pdv/P-DATA-TF ending inside a PDV header", run: sta6Abort(rawPDU(0x04, append(pdv(1, mchCommand, echoCmd[:10]), 0, 0, 0)), reasonInvalidPar)},
	// PS3.8 Annex E.2: the fragments of a message are on one presentation
	// context, command before data.
	{name: "pdv/command fragments on two contexts", run: func(t *testing.T, e *env) {
		c := e.associate(t, ctContext(1), mrContext(3))
		readAnswer(t, c, send(t, c, pdata(pdv(1, mchCommand, echoCmd[:12]), pdv(3, mchLastCommand, echoCmd[12:])))).
			wantAbort(t, srcProvider, reasonUnexpectedPar, 0, prompt)
	}},
	{name: "pdv/data fragments on two contexts", run: func(t *testing.T, e *env) {
		c := e.associate(t, ctContext(1), mrContext(3))
		ds := ctDataSet("1.2.999.3.1", 64)
		write(t, c, pdata(pdv(1, mchLastCommand, storeCommand(1, ctImage, "1.2.999.3.1"))))
		readAnswer(t, c, send(t, c, pdata(pdv(1, mchData, ds[:40]), pdv(3, mchLastData, ds[40:])))).
			wantAbort(t, srcProvider, reasonUnexpectedPar, 0, prompt)
	}},
	{name: "pdv/data PDV where a command is expected", run: sta6Abort(pdata(pdv(1, mchLastData, ctDataSet("1.2.999.3.2", 16))), reasonUnexpectedPar)},
	{name: "pdv/command PDV inside a data set", run: func(t *testing.T, e *env) {
		c := e.associate(t)
		ds := ctDataSet("1.2.999.3.3", 64)
		write(t, c, pdata(pdv(1, mchLastCommand, storeCommand(1, ctImage, "1.2.999.3.3")), pdv(1, mchData, ds[:40])))
		readAnswer(t, c, send(t, c, pdata(pdv(1, mchLastCommand, echoCmd)))).
			wantAbort(t, srcProvider, reasonUnexpectedPar, 0, prompt)
	}},
}

// Command sets (PS3.7 §9.3, Annex E). One that cannot be answered (no
// Command Field or Message ID, or undecodable) ends the association with
// an A-ABORT; one that can is answered with a failure status.
var commandCases = []hostile{
	{name: "command/no Command Field", run: commandThenData(rawCommand(
		cmdElem(0x00000002, uid(ctImage)), cmdElem(0x00000110, us(1)), cmdElem(0x00000800, us(0)),
		cmdElem(0x00001000, uid("1.2.999.4.1"))), ctDataSet("1.2.999.4.1", 16))},
	{name: "command/no Message ID", run: commandThenData(rawCommand(
		cmdElem(0x00000002, uid(ctImage)), cmdElem(0x00000100, us(dimse.CStoreRQ)), cmdElem(0x00000800, us(0)),
		cmdElem(0x00001000, uid("1.2.999.4.2"))), ctDataSet("1.2.999.4.2", 16))},
	{name: "command/undecodable: element outside group 0000", run: sta6Abort(pdata(pdv(1, mchLastCommand,
		append(append([]byte(nil), echoCmd...), cmdElem(0x00080016, uid(ctImage))...))), reasonInvalidPar)},
	{name: "command/undecodable: element length beyond the command", run: sta6Abort(pdata(pdv(1, mchLastCommand,
		append(append([]byte(nil), echoCmd...), 0, 0, 0x02, 0x09, 0xFF, 0, 0, 0, 'x', 'x'))), reasonInvalidPar)},
	{name: "command/undecodable: Command Field of 4 bytes", run: sta6Abort(pdata(pdv(1, mchLastCommand,
		rawCommand(cmdElem(0x00000100, []byte{0x30, 0, 0, 0}), cmdElem(0x00000110, us(1))))), reasonInvalidPar)},
	{name: "command/longer than 64 KiB", run: func(t *testing.T, e *env) {
		c := e.associate(t)
		frag := make([]byte, 16000)
		for i := 0; i < 4; i++ {
			write(t, c, pdata(pdv(1, mchCommand, frag)))
		}
		readAnswer(t, c, send(t, c, pdata(pdv(1, mchCommand, frag)))).wantAbort(t, srcProvider, reasonInvalidPar, 0, prompt)
	}},
	{name: "command/C-STORE-RQ without Affected SOP Instance UID", run: storeStatus(rawCommand(
		cmdElem(0x00000002, uid(ctImage)), cmdElem(0x00000100, us(dimse.CStoreRQ)), cmdElem(0x00000110, us(7)),
		cmdElem(0x00000700, us(0)), cmdElem(0x00000800, us(0))), ctDataSet("1.2.999.4.3", 16),
		dimse.StatusBadCommand, "C-STORE-RQ lacks Affected SOP Class/Instance UID")},
	{name: "command/C-STORE-RQ without Affected SOP Class UID", run: storeStatus(rawCommand(
		cmdElem(0x00000100, us(dimse.CStoreRQ)), cmdElem(0x00000110, us(8)),
		cmdElem(0x00000700, us(0)), cmdElem(0x00000800, us(0)), cmdElem(0x00001000, uid("1.2.999.4.4"))), ctDataSet("1.2.999.4.4", 16),
		dimse.StatusBadCommand, "C-STORE-RQ lacks Affected SOP Class/Instance UID")},
	{name: "command/C-STORE-RQ on the Verification context", run: func(t *testing.T, e *env) {
		c := e.associate(t, echoContext(1))
		write(t, c, pdata(pdv(1, mchLastCommand, storeCommand(4, verification, "1.2.999.4.6"))))
		write(t, c, pdata(pdv(1, mchLastData, ctDataSet("1.2.999.4.6", 16))))
		response(t, c, dimse.CStoreRSP, dimse.StatusSOPClassNotSupported, "SOP class*")
		release(t, c)
	}},
	// PS3.7 §C.4.2: a command the receiver does not provide is answered
	// with 0211H (unrecognized operation), its data set read and dropped.
	{name: "command/C-FIND-RQ to a storage receiver", run: func(t *testing.T, e *env) {
		c := e.associate(t)
		write(t, c, pdata(pdv(1, mchLastCommand, dimse.AppendCommand(nil, &dimse.Command{Field: dimse.CFindRQ, MessageID: 5,
			AffectedSOPClassUID: ctImage, HasDataSetType: true}))))
		write(t, c, pdata(pdv(1, mchLastData, testds.ExplicitLE(testds.Str(dicom.NewTag(0x0008, 0x0052), dicom.CS, "STUDY")))))
		response(t, c, dimse.CFindRQ|0x8000, dimse.StatusUnrecognizedOperation, "C-FIND-RQ is not supported")
		release(t, c)
	}},
	// A C-CANCEL-RQ carries Message ID Being Responded To, not a Message
	// ID (PS3.7 §9.3.2.3); it has no response, and there is nothing to
	// cancel in a storage receiver.
	{name: "command/C-CANCEL-RQ", run: func(t *testing.T, e *env) {
		c := e.associate(t)
		write(t, c, pdata(pdv(1, mchLastCommand, rawCommand(cmdElem(0x00000100, us(dimse.CCancelRQ)),
			cmdElem(0x00000120, us(5)), cmdElem(0x00000800, us(0x0101))))))
		release(t, c)
	}},
	// A response (Message ID Being Responded To, no Message ID: PS3.7
	// §9.3.1.2) the receiver never asked for is ignored.
	{name: "command/unsolicited C-STORE-RSP", run: func(t *testing.T, e *env) {
		c := e.associate(t)
		write(t, c, pdata(pdv(1, mchLastCommand, dimse.AppendCommand(nil, &dimse.Command{Field: dimse.CStoreRSP,
			MessageIDBeingRespondedTo: 77, AffectedSOPClassUID: ctImage, Status: dimse.StatusSuccess}))))
		release(t, c)
	}},
	{name: "command/C-STORE-RQ for a SOP class other than the context's", run: func(t *testing.T, e *env) {
		c := e.associate(t, ctContext(1), mrContext(3))
		write(t, c, pdata(pdv(3, mchLastCommand, storeCommand(9, ctImage, "1.2.999.4.5"))))
		write(t, c, pdata(pdv(3, mchLastData, ctDataSet("1.2.999.4.5", 16))))
		response(t, c, dimse.CStoreRSP, dimse.StatusSOPClassNotSupported, "SOP class "+ctImage+" not negotiated on context 3")
		release(t, c)
	}},
}

// commandThenData sends a command without Command Field or Message ID and
// its data set: the server cannot answer it and aborts (invalid PDU
// parameter value).
func commandThenData(cmd, ds []byte) func(t *testing.T, e *env) {
	return func(t *testing.T, e *env) {
		c := e.associate(t)
		write(t, c, pdata(pdv(1, mchLastCommand, cmd)))
		readAnswer(t, c, send(t, c, pdata(pdv(1, mchLastData, ds)))).wantAbort(t, srcProvider, reasonInvalidPar, 0, prompt)
	}
}

// storeStatus sends cmd and ds on context 1 and expects a C-STORE-RSP with
// status and comment; the association then still releases normally.
func storeStatus(cmd, ds []byte, status uint16, comment string) func(t *testing.T, e *env) {
	return func(t *testing.T, e *env) {
		c := e.associate(t)
		write(t, c, pdata(pdv(1, mchLastCommand, cmd)))
		write(t, c, pdata(pdv(1, mchLastData, ds)))
		response(t, c, dimse.CStoreRSP, status, comment)
		release(t, c)
	}
}

// storeDataSet stores ds under the SOP instance sop and expects status.
func storeDataSet(sop string, ds []byte, status uint16, comment string) func(t *testing.T, e *env) {
	return storeStatus(storeCommand(3, ctImage, sop), ds, status, comment)
}

// withNesting is a CT data set with depth nested sequences after its SOP
// Instance UID (tag order kept).
func withNesting(sop string, depth int) []byte {
	es := testds.Instance(ctImage, sop, "1.2.999.5", "1.2.999.5.1", make([]byte, 16))
	b := testds.ExplicitLE(es[:2]...)
	b = append(b, testds.Nested(depth)...)
	return append(b, testds.ExplicitLE(es[2:]...)...)
}

const uid65 = "1.22222222222222222222222222222222222222222222222222222222222222222"

// Data sets that must not be stored: each is answered with a failure
// status and an Error Comment, and the association goes on.
var dataSetCases = []hostile{
	{name: "dataset/element length beyond the data", run: storeDataSet("1.2.999.5.1",
		append(testds.ExplicitLE(testds.Str(dicom.TagSOPClassUID, dicom.UI, ctImage)), testds.AppendHeader(nil, dicom.TagSOPInstanceUID, dicom.UI, 0x7FFF)...),
		dimse.StatusUnparsable, "data set truncated at (0008,0018), offset *")},
	{name: "dataset/pixel data length beyond the data", run: func(t *testing.T, e *env) {
		ds := ctDataSet("1.2.999.5.2", 64)
		ds = ds[:len(ds)-32]
		storeDataSet("1.2.999.5.2", ds, dimse.StatusUnparsable, "pixel data truncated:*")(t, e)
	}},
	{name: "dataset/sequences nested deeper than 64", run: storeDataSet("1.2.999.5.3", withNesting("1.2.999.5.3", dicom.DefaultMaxDepth+1),
		dimse.StatusUnparsable, "sequences nested too deep at *")},
	{name: "dataset/sequences nested 64 deep are stored", stored: 1, run: storeDataSet("1.2.999.5.4", withNesting("1.2.999.5.4", dicom.DefaultMaxDepth),
		dimse.StatusSuccess, "")},
	{name: "dataset/UIDs with .., / or 65 characters", run: func(t *testing.T, e *env) {
		c := e.associate(t)
		for i, bad := range []string{"..", "1.2/../..", "/etc/passwd", "1.2/3", uid65, "1.2.3.", ".1.2"} {
			for _, field := range []string{"Study", "Series", "SOP"} {
				study, series, sop := "1.2.999.6", "1.2.999.6.1", "1.2.999.6.1."+itoa(i)
				switch field {
				case "Study":
					study = bad
				case "Series":
					series = bad
				case "SOP":
					sop = bad
				}
				write(t, c, pdata(pdv(1, mchLastCommand, storeCommand(uint16(i+1), ctImage, sop))))
				write(t, c, pdata(pdv(1, mchLastData, testds.ExplicitLE(testds.Instance(ctImage, sop, study, series, make([]byte, 16))...))))
				response(t, c, dimse.CStoreRSP, dimse.StatusBadUID, "missing or invalid "+field+" Instance UID")
			}
		}
		release(t, c)
	}},
	{name: "dataset/group 0002 in the data set", run: storeDataSet("1.2.999.5.5",
		testds.ExplicitLE(append([]testds.Elem{testds.Str(dicom.TagTransferSyntaxUID, dicom.UI, dicom.ExplicitVRLittleEndian)},
			testds.Instance(ctImage, "1.2.999.5.5", "1.2.999.5", "1.2.999.5.1", make([]byte, 16))...)...),
		dimse.StatusFileMetaInDataSet, "data set carries file meta element*")},
	{name: "dataset/SOP Class UID differs from the command's", run: storeDataSet("1.2.999.5.6",
		testds.ExplicitLE(testds.Instance(mrImage, "1.2.999.5.6", "1.2.999.5", "1.2.999.5.1", make([]byte, 16))...),
		dimse.StatusDataSetMismatch, "data set's SOP Class UID differs from the command's")},
	{name: "dataset/SOP Instance UID differs from the command's", run: storeDataSet("1.2.999.5.7",
		ctDataSet("1.2.999.5.8", 16), dimse.StatusInstanceMismatch, "SOP Instance UID differs from the command's")},
	{name: "dataset/no SOP Class UID", run: storeDataSet("1.2.999.5.9",
		testds.ExplicitLE(testds.Instance(ctImage, "1.2.999.5.9", "1.2.999.5", "1.2.999.5.1", make([]byte, 16))[1:]...),
		dimse.StatusDataSetMismatch, "data set has no SOP Class UID")},
	// The deflated data set is not a deflate stream: the data set cannot be
	// understood, which is a failure status like any unparsable data set
	// (PS3.4 §B.2.3 Cxxx), not the end of the association.
	{name: "dataset/deflated data set that is not deflate", run: func(t *testing.T, e *env) {
		c := e.associate(t, scutest.Context{ID: 1, AbstractSyntax: ctImage, TransferSyntaxes: []string{dicom.DeflatedExplicitVRLittleEndian}})
		write(t, c, pdata(pdv(1, mchLastCommand, storeCommand(1, ctImage, "1.2.999.5.10"))))
		write(t, c, pdata(pdv(1, mchLastData, bytes.Repeat([]byte{0xFF}, 64))))
		response(t, c, dimse.CStoreRSP, dimse.StatusUnparsable, "*")
		release(t, c)
	}},
	{name: "dataset/deflated data set cut short", run: func(t *testing.T, e *env) {
		c := e.associate(t, scutest.Context{ID: 1, AbstractSyntax: ctImage, TransferSyntaxes: []string{dicom.DeflatedExplicitVRLittleEndian}})
		write(t, c, pdata(pdv(1, mchLastCommand, storeCommand(1, ctImage, "1.2.999.5.11"))))
		// A stored (uncompressed) deflate block announcing 1,000 bytes,
		// with 10 of them.
		write(t, c, pdata(pdv(1, mchLastData, append([]byte{0x01, 0xE8, 0x03, 0x17, 0xFC}, make([]byte, 10)...))))
		response(t, c, dimse.CStoreRSP, dimse.StatusUnparsable, "*")
		release(t, c)
	}},
}

// Timers: each fires within its window and is answered as PS3.8 says for
// the state (A-ABORT from the provider in Sta6; plain close in Sta2).
var timerCases = []hostile{
	// Sta2 + Evt18 (ARTIM expired): AA-2, close. ARTIM runs from the
	// connection to the complete A-ASSOCIATE-RQ (PS3.8 §9.1.5, AE-5/AE-6),
	// however slowly the bytes come.
	{name: "timer/A-ASSOCIATE-RQ one byte a second", run: func(t *testing.T, e *env) {
		c := e.dial(t)
		since := time.Now()
		stop := trickle(c, goodRQ(), time.Second)
		defer stop()
		readAnswer(t, c, since).wantClose(t, artim-early, artim+late)
	}},
	{name: "timer/A-ASSOCIATE-RQ header just before ARTIM expires, body one byte a second",
		config: func(c *dicomrecv.Config) { c.ARTIMTimeout = 4 * time.Second; c.PDUReadTimeout = 4 * time.Second },
		run: func(t *testing.T, e *env) {
			c := e.dial(t)
			since := time.Now()
			time.Sleep(3500 * time.Millisecond)
			rq := goodRQ()
			write(t, c, rq[:pdu.HeaderLength])
			stop := trickle(c, rq[pdu.HeaderLength:], 200*time.Millisecond)
			defer stop()
			lo, hi := timer(4 * time.Second)
			readAnswer(t, c, since).wantClose(t, lo, hi)
		}},
	{name: "timer/connection left idle before the request", run: func(t *testing.T, e *env) {
		c := e.dial(t)
		readAnswer(t, c, time.Now()).wantClose(t, artim-early, artim+late)
	}},
	// In Sta6 the timers are the receiver's own (PS3.8 leaves them to the
	// implementation): each ends the association with an A-ABORT from the
	// service-provider, reason not specified.
	{name: "timer/association left idle",
		config: idleFirst,
		run: func(t *testing.T, e *env) {
			c := e.associate(t)
			lo, hi := timer(idle)
			readAnswer(t, c, time.Now()).wantAbort(t, srcProvider, reasonNotSpecified, lo, hi)
		}},
	{name: "timer/PDU header cut short",
		config: idleFirst,
		run: func(t *testing.T, e *env) {
			c := e.associate(t)
			lo, hi := timer(idle)
			readAnswer(t, c, send(t, c, []byte{0x04, 0, 0})).wantAbort(t, srcProvider, reasonNotSpecified, lo, hi)
		}},
	{name: "timer/P-DATA-TF one byte a second",
		config: pduReadFirst,
		run: func(t *testing.T, e *env) {
			c := e.associate(t)
			p := pdata(pdv(1, mchLastCommand, echoCmd))
			since := send(t, c, p[:pdu.HeaderLength])
			stop := trickle(c, p[pdu.HeaderLength:], time.Second)
			defer stop()
			lo, hi := timer(pduRead)
			readAnswer(t, c, since).wantAbort(t, srcProvider, reasonNotSpecified, lo, hi)
		}},
	{name: "timer/truncated P-DATA-TF",
		config: pduReadFirst,
		run: func(t *testing.T, e *env) {
			c := e.associate(t)
			p := pdata(pdv(1, mchLastCommand, echoCmd))
			lo, hi := timer(pduRead)
			readAnswer(t, c, send(t, c, p[:len(p)-10])).wantAbort(t, srcProvider, reasonNotSpecified, lo, hi)
		}},
	{name: "timer/truncated A-RELEASE-RQ",
		config: pduReadFirst,
		run: func(t *testing.T, e *env) {
			c := e.associate(t)
			lo, hi := timer(pduRead)
			readAnswer(t, c, send(t, c, append(pduHeader(0x05, 4), 0, 0))).wantAbort(t, srcProvider, reasonNotSpecified, lo, hi)
		}},
	{name: "timer/sender stops in the middle of an object",
		config: dimseFirst,
		run: func(t *testing.T, e *env) {
			c := e.associate(t)
			// The DIMSE timer starts when the server has consumed the
			// fragment and waits for the next PDU: after it was sent.
			sent := startObject(t, e, c, "1.2.999.7.1")
			lo, hi := timer(dimseTO)
			readAnswer(t, c, sent).wantAbort(t, srcProvider, reasonNotSpecified, lo, hi)
		}},
	{name: "timer/sender stops after the command",
		config: dimseFirst,
		run: func(t *testing.T, e *env) {
			c := e.associate(t)
			lo, hi := timer(dimseTO)
			readAnswer(t, c, send(t, c, pdata(pdv(1, mchLastCommand, storeCommand(1, ctImage, "1.2.999.7.2"))))).
				wantAbort(t, srcProvider, reasonNotSpecified, lo, hi)
		}},
}

// idleFirst, pduReadFirst and dimseFirst lengthen the other two of the
// idle, PDU-read and DIMSE timers to 5 s, so that the one a case tests
// fires first.
func idleFirst(c *dicomrecv.Config) { c.DIMSETimeout, c.PDUReadTimeout = 5*time.Second, 5*time.Second }

func pduReadFirst(c *dicomrecv.Config) { c.IdleTimeout, c.DIMSETimeout = 5*time.Second, 5*time.Second }

func dimseFirst(c *dicomrecv.Config) { c.IdleTimeout, c.PDUReadTimeout = 5*time.Second, 5*time.Second }

// Limits: PDU length (strict and relaxed) and association counts.
var limitCases = []hostile{
	// strict: a P-DATA-TF longer than maxPduLength (the PDU-length field,
	// PS3.8 Annex D.1) is refused on its header.
	{name: "limit/P-DATA-TF over maxPduLength, strict", config: func(c *dicomrecv.Config) { c.Strict = true },
		run: func(t *testing.T, e *env) {
			c := e.associate(t)
			write(t, c, pdata(pdv(1, mchLastCommand, storeCommand(1, ctImage, "1.2.999.8.1"))))
			p := exactPData("1.2.999.8.1", dicomrecv.DefaultMaxPDULength+2)
			wait := sendAsync(c, p)
			readAnswer(t, c, time.Now()).wantAbort(t, srcProvider, reasonInvalidPar, 0, prompt)
			wait()
		}},
	{name: "limit/P-DATA-TF of exactly maxPduLength, strict", stored: 1, config: func(c *dicomrecv.Config) { c.Strict = true },
		run: func(t *testing.T, e *env) {
			c := e.associate(t)
			write(t, c, pdata(pdv(1, mchLastCommand, storeCommand(1, ctImage, "1.2.999.8.2"))))
			write(t, c, exactPData("1.2.999.8.2", dicomrecv.DefaultMaxPDULength))
			response(t, c, dimse.CStoreRSP, dimse.StatusSuccess, "")
			release(t, c)
		}},
	{name: "limit/P-DATA-TF over maxPduLength within the relaxed bound, not strict", stored: 1,
		run: func(t *testing.T, e *env) {
			c := e.associate(t)
			write(t, c, pdata(pdv(1, mchLastCommand, storeCommand(1, ctImage, "1.2.999.8.3"))))
			wait := sendAsync(c, exactPData("1.2.999.8.3", 1<<20))
			response(t, c, dimse.CStoreRSP, dimse.StatusSuccess, "")
			wait()
			release(t, c)
		}},
	{name: "limit/P-DATA-TF over the relaxed bound, not strict", run: func(t *testing.T, e *env) {
		c := e.associate(t)
		write(t, c, pdata(pdv(1, mchLastCommand, storeCommand(1, ctImage, "1.2.999.8.4"))))
		p := exactPData("1.2.999.8.4", 1<<20+2)
		readAnswer(t, c, send(t, c, p[:4096])).wantAbort(t, srcProvider, reasonInvalidPar, 0, prompt)
	}},
	// Over maxAssociations: A-ASSOCIATE-RJ transient, service-provider
	// (presentation), local-limit-exceeded (PS3.8 Table 9-21).
	{name: "limit/flood of associations over maxAssociations", config: func(c *dicomrecv.Config) { c.MaxAssociations = 3 },
		run: func(t *testing.T, e *env) {
			var held []*scutest.Conn
			for i := 0; i < 3; i++ {
				held = append(held, e.associate(t))
			}
			// The rejections come from goroutines, which must not call
			// t.Fatal: they report here.
			type result struct {
				err error
				d   time.Duration
			}
			const flood = 20
			results := make(chan result, flood)
			for i := 0; i < flood; i++ {
				go func() {
					start := time.Now()
					c, err := scutest.Associate(e.addr, scutest.Options{CallingAE: "FLOOD", CalledAE: "STORE-SCP",
						Contexts: []scutest.Context{ctContext(1)}, Timeout: giveUp})
					if c != nil {
						c.Close()
					}
					results <- result{err, time.Since(start)}
				}()
			}
			want := pdu.AssociateRJ{Result: transient, Source: pdu.RejectSourcePresentation, Reason: pdu.RejectReasonLocalLimitExceeded}
			for i := 0; i < flood; i++ {
				r := <-results
				var rj *scutest.RejectedError
				if !errors.As(r.err, &rj) || *rj.RJ != want {
					t.Errorf("association over the limit: %v, want %s", r.err, &want)
				}
				if r.d > prompt {
					t.Errorf("rejection after %v, want it within %v", r.d, prompt)
				}
			}
			for _, c := range held {
				release(t, c)
			}
		}},
	{name: "limit/associations over maxAssociationsPerPeer", config: func(c *dicomrecv.Config) { c.MaxAssociationsPerPeer = 1 },
		run: func(t *testing.T, e *env) {
			held := e.associate(t)
			rejected(goodRQ(), transient, pdu.RejectSourcePresentation, pdu.RejectReasonLocalLimitExceeded)(t, e)
			release(t, held)
		}},
}

// exactPData is a P-DATA-TF PDU whose PDU-length field is length, holding
// the whole data set of a CT image (length must be even).
func exactPData(sop string, length int) []byte {
	overhead := len(ctDataSet(sop, 0))
	ds := ctDataSet(sop, length-pdu.PDVHeaderLength-overhead)
	p := pdata(pdv(1, mchLastData, ds))
	if len(p) != length+pdu.HeaderLength || !strings.HasPrefix(string(ds[8:]), ctImage) {
		panic("exactPData: wrong length")
	}
	return p
}
