package assoc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dicomrecv/dicomrecv/internal/dimse"
	"github.com/dicomrecv/dicomrecv/internal/pdu"
	"github.com/dicomrecv/dicomrecv/internal/testutil"
)

var updateAcceptCorpus = flag.Bool("update-accept-corpus", false, "rewrite testdata/fuzz/FuzzAccept from the golden transcripts and hand-made cases")

// Timeouts of the associations under FuzzAccept. The fuzzer's connection
// keeps virtual time (a read that would block returns the deadline error
// at once); TestAcceptPipe runs the seeds over net.Pipe with these real
// durations.
const (
	fzARTIM   = 150 * time.Millisecond
	fzIdle    = 250 * time.Millisecond
	fzDIMSE   = 200 * time.Millisecond
	fzPDURead = 200 * time.Millisecond
	// fzMaxWait is the longest any read may block: the longest timeout, or
	// the wait for the peer's close in Sta13.
	fzMaxWait = max(fzARTIM, fzIdle, fzDIMSE, fzPDURead, closeDrainTimeout)
	// fzMessages is how many DIMSE messages are read (and answered) after
	// an accepted association before the driver aborts it.
	fzMessages = 8
)

// fzDeflate is Deflated Explicit VR Little Endian; ct, mr, implicit and
// explicit are negotiate_test.go's.
const fzDeflate = "1.2.840.10008.1.2.1.99"

// fzMode is the fuzzer's choice of configuration and peer behaviour.
type fzMode byte

const (
	fzRequireCalled fzMode = 1 << iota // RequireCalledAETitle
	fzAllowList                        // AllowedCallingAETitles
	fzStrict                           // Strict
	fzRejectAll                        // RejectFunc refuses (limits)
	fzStall                            // at the end of its bytes the peer goes quiet instead of closing
	fzSmallBuffer                      // a small read buffer after the association
	fzSmallPDU                         // MaxPDULength 4096
	fzStorageOnly                      // only CT and MR (and Verification) are accepted
)

func fzPolicy(m fzMode) *Policy {
	p := &Policy{
		AETitle:                   "STORE-SCP",
		AbstractSyntax:            func(string) bool { return true },
		TransferSyntax:            set(implicit, explicit, fzDeflate),
		MaxPDULength:              16384,
		ImplementationClassUID:    "2.25.1",
		ImplementationVersionName: "FUZZ",
	}
	if m&fzRequireCalled != 0 {
		p.RequireCalledAETitle = true
	}
	if m&fzAllowList != 0 {
		p.AllowedCallingAETitles = []string{"STORESCU", "ECHOSCU", "SCU"}
	}
	if m&fzSmallPDU != 0 {
		p.MaxPDULength = 4096
	}
	if m&fzStorageOnly != 0 {
		p.AbstractSyntax = set(ct, mr)
	}
	return p
}

func fzConfig(m fzMode) *Config {
	cfg := &Config{
		Policy:         fzPolicy(m),
		Strict:         m&fzStrict != 0,
		ReadBufferSize: 64 << 10,
		ARTIMTimeout:   fzARTIM,
		IdleTimeout:    fzIdle,
		DIMSETimeout:   fzDIMSE,
		PDUReadTimeout: fzPDURead,
	}
	if m&fzSmallBuffer != 0 {
		cfg.ReadBufferSize = 4096
	}
	if m&fzRejectAll != 0 {
		cfg.RejectFunc = func() *RejectError { return ErrLimitExceeded }
	}
	return cfg
}

// fuzzConn is a net.Conn whose peer sends the fuzzer's bytes in chunks of
// the fuzzer's sizes, then closes or goes quiet, and which records what
// the Conn writes. It keeps virtual time: a read that would block returns
// the deadline error at once, after checking that a deadline within the
// configured timeouts is set (a read without one would hang forever on a
// silent peer).
type fuzzConn struct {
	t          *testing.T
	in         []byte
	sizes      *rand.Rand
	stall      bool
	out        bytes.Buffer
	rdl, wdl   time.Time
	closed     bool
	halfClosed bool
	stalls     int
}

func (c *fuzzConn) Read(p []byte) (int, error) {
	if c.closed {
		return 0, net.ErrClosed
	}
	if len(p) == 0 {
		return 0, nil
	}
	if len(c.in) == 0 {
		if !c.stall {
			return 0, io.EOF
		}
		if c.rdl.IsZero() {
			c.t.Fatal("a read without deadline: a silent peer would hold the connection forever")
		}
		if w := time.Until(c.rdl); w > fzMaxWait+time.Second {
			c.t.Fatalf("a read with its deadline %v away, longer than any timeout (%v)", w, fzMaxWait)
		}
		if c.stalls++; c.stalls > 16 {
			c.t.Fatal("more than 16 reads past the deadline: the Conn keeps retrying a silent peer")
		}
		return 0, &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}
	}
	// Chunks from 1 byte to everything that fits, biased to small ones.
	n := min(len(p), len(c.in), 1+c.sizes.IntN(1+c.sizes.IntN(4)*c.sizes.IntN(2000)))
	copy(p, c.in[:n])
	c.in = c.in[n:]
	return n, nil
}

func (c *fuzzConn) Write(p []byte) (int, error) {
	switch {
	case c.closed:
		return 0, net.ErrClosed
	case c.halfClosed:
		c.t.Fatalf("a write of %d bytes after CloseWrite (Sta13 sends nothing more)", len(p))
	case c.wdl.IsZero():
		c.t.Fatal("a write without deadline: a peer that does not read would hold the connection forever")
	}
	return c.out.Write(p)
}

func (c *fuzzConn) Close() error        { c.closed = true; return nil }
func (c *fuzzConn) CloseWrite() error   { c.halfClosed = true; return nil }
func (c *fuzzConn) LocalAddr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 104} }
func (c *fuzzConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
}
func (c *fuzzConn) SetDeadline(t time.Time) error      { c.rdl, c.wdl = t, t; return nil }
func (c *fuzzConn) SetReadDeadline(t time.Time) error  { c.rdl = t; return nil }
func (c *fuzzConn) SetWriteDeadline(t time.Time) error { c.wdl = t; return nil }

// fzOutcome is how an association driven by fzDrive ended.
type fzOutcome struct {
	conn      *Conn
	acceptErr error
	driveErr  error // after an accepted association
	messages  int   // DIMSE messages read and answered
}

// fzDrive runs Accept on nc and, when the association is accepted, reads
// DIMSE messages through a dimse.Reader and answers each, as the server
// does, until the association ends or fzMessages were answered (then it
// aborts).
func fzDrive(nc net.Conn, cfg *Config) fzOutcome {
	c := NewConn(nc, cfg)
	o := fzOutcome{conn: c}
	if o.acceptErr = c.Accept(); o.acceptErr != nil {
		return o
	}
	mr := dimse.NewReader(c)
	for o.messages < fzMessages {
		c.AwaitMessage()
		ctx, cmd, err := mr.ReadCommand()
		if err == nil && cmd.HasDataSet() {
			err = mr.DataSet(ctx).Drain()
		}
		if err != nil {
			var pe *dimse.ProtocolError
			switch {
			case errors.As(err, &pe):
				err = c.Abort(pe.Reason, pe.Msg)
			case errors.Is(err, dimse.ErrCommand):
				err = c.Abort(pdu.AbortReasonInvalidPDUParameterValue, err.Error())
			}
			o.driveErr = err
			return o
		}
		o.messages++
		rsp := dimse.AppendCommand(nil, &dimse.Command{Field: cmd.Field | 0x8000, MessageIDBeingRespondedTo: cmd.MessageID,
			AffectedSOPClassUID: c.Context(ctx).AbstractSyntax, Status: dimse.StatusSuccess})
		if err := c.WriteMessage(ctx, true, rsp); err != nil {
			o.driveErr = err
			return o
		}
	}
	o.driveErr = c.AbortUser("enough messages")
	return o
}

// fzAllocs returns the bytes allocated on the heap so far.
func fzAllocs() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// FuzzAccept writes arbitrary bytes, in reads split where the fuzzer
// chooses, to the acceptor side of an association configured by mode, and
// drives what follows an accepted request through dimse.Reader. It checks
// that Accept never panics, never blocks without a deadline within the
// timeouts, allocates in proportion to what arrived (not to what lengths
// claim), ends in an accepted association or a typed error that agrees
// with an independent reading of the request, closes the connection on
// every error, and writes only well-formed PDUs in the order PS3.8 Table
// 9-10 allows: nothing, one A-ASSOCIATE-RJ or one A-ABORT; or an
// A-ASSOCIATE-AC answering the request, responses, and at most one final
// A-RELEASE-RP or A-ABORT.
func FuzzAccept(f *testing.F) {
	f.Fuzz(func(t *testing.T, in []byte, split uint64, mode byte) {
		if len(in) > 1<<20 {
			return
		}
		m := fzMode(mode)
		cfg := fzConfig(m)
		fc := &fuzzConn{t: t, in: in, sizes: rand.New(rand.NewPCG(split, split>>32|1)), stall: m&fzStall != 0}
		before := fzAllocs()
		o := fzDrive(fc, cfg)
		allocated := fzAllocs() - before
		// Buffers: the handshake and association read buffers, the request
		// (grown by doubling), the command set, the writer's; everything
		// else is in proportion to the input.
		if limit := uint64(1<<20 + 32*len(in)); allocated > limit {
			t.Errorf("allocated %d bytes for %d bytes of input (limit %d)", allocated, len(in), limit)
		}
		if !fc.closed {
			t.Errorf("connection left open (accept: %v, then: %v)", o.acceptErr, o.driveErr)
		}
		msgs := fzParseOutput(t, fc.out.Bytes())
		fzCheckAccept(t, in, cfg, o, msgs)
		if o.acceptErr == nil {
			fzCheckAssociation(t, o, msgs)
		}
	})
}

// fzParseOutput splits what the Conn wrote into PDUs and decodes each.
func fzParseOutput(t *testing.T, out []byte) []pdu.Message {
	t.Helper()
	var msgs []pdu.Message
	for len(out) > 0 {
		if len(out) < pdu.HeaderLength {
			t.Fatalf("the Conn wrote %d bytes that are not a PDU header", len(out))
		}
		n := pdu.HeaderLength + int(binary.BigEndian.Uint32(out[2:6]))
		if n > len(out) {
			t.Fatalf("the Conn wrote a truncated %v PDU (%d of %d bytes)", pdu.Type(out[0]), len(out), n)
		}
		m, err := pdu.Parse(out[:n])
		if err != nil {
			t.Fatalf("the Conn wrote a malformed PDU: %v", err)
		}
		msgs = append(msgs, m)
		out = out[n:]
	}
	return msgs
}

// fzCheckAccept compares Accept's result with what the first PDU of in
// calls for, read independently with the PDU codec and Negotiate.
func fzCheckAccept(t *testing.T, in []byte, cfg *Config, o fzOutcome, msgs []pdu.Message) {
	t.Helper()
	var (
		rj *RejectError
		ab *AbortError
	)
	want := "transport" // the stream ends (or stalls) before a whole request
	var wantRJ *RejectError
	if len(in) >= pdu.HeaderLength {
		typ, length := pdu.Type(in[0]), binary.BigEndian.Uint32(in[2:6])
		switch {
		case typ == pdu.TypeAbort:
			want = "peer-abort"
		case typ != pdu.TypeAssociateRQ || length > MaxAssociateRQLength:
			want = "abort"
		case uint64(len(in)-pdu.HeaderLength) < uint64(length):
		default:
			rq, err := pdu.ParseAssociateRQ(in[pdu.HeaderLength : pdu.HeaderLength+int(length)])
			switch {
			case err != nil:
				want = "abort"
			case cfg.RejectFunc != nil:
				want, wantRJ = "reject", cfg.RejectFunc()
			default:
				_, nerr := Negotiate(rq, cfg.Policy, netip.MustParseAddr("127.0.0.1"))
				switch {
				case nerr == nil:
					want = "accept"
				case errors.As(nerr, &wantRJ):
					want = "reject"
				default:
					want = "abort"
				}
			}
		}
	}
	got := "transport"
	switch err := o.acceptErr; {
	case err == nil:
		got = "accept"
	case errors.As(err, &rj):
		got = "reject"
	case errors.As(err, &ab):
		got = "abort"
	case errors.Is(err, ErrPeerAborted):
		got = "peer-abort"
	case errors.Is(err, ErrPeerClosed), errors.Is(err, os.ErrDeadlineExceeded):
	default:
		t.Fatalf("Accept returned an error of no known kind: %v", err)
	}
	if got != want {
		t.Fatalf("Accept: %v (%s), want %s", o.acceptErr, got, want)
	}
	if got == "accept" {
		return
	}
	// Sta2 answers: AE-8 (A-ASSOCIATE-RJ), AA-1 (A-ABORT, service-user
	// source, reason 0), or nothing (AA-2, AA-5).
	switch got {
	case "reject":
		if *rj.PDU() != *wantRJ.PDU() {
			t.Fatalf("rejected with %v, want %v", rj, wantRJ)
		}
		fzCheckRJ(t, rj)
		if len(msgs) != 1 || !fzSameRJ(msgs[0], rj) {
			t.Fatalf("wrote %v for %v", msgs, rj)
		}
	case "abort":
		if len(msgs) != 1 || !fzSameAbort(msgs[0], pdu.AbortSourceServiceUser, 0) || ab.Source != pdu.AbortSourceServiceUser {
			t.Fatalf("wrote %v for %v; want one A-ABORT (0, 0)", msgs, ab)
		}
	default:
		if len(msgs) != 0 {
			t.Fatalf("wrote %v after %v", msgs, o.acceptErr)
		}
	}
}

// fzCheckRJ checks the values against PS3.8 Table 9-21.
func fzCheckRJ(t *testing.T, rj *RejectError) {
	t.Helper()
	reasons := map[byte][]byte{
		pdu.RejectSourceServiceUser:  {1, 2, 3, 7},
		pdu.RejectSourceACSE:         {1, 2},
		pdu.RejectSourcePresentation: {1, 2},
	}
	ok := rj.Result == pdu.RejectedPermanent || rj.Result == pdu.RejectedTransient
	ok = ok && bytes.IndexByte(reasons[rj.Source], rj.Reason) >= 0
	if !ok {
		t.Fatalf("A-ASSOCIATE-RJ %v is not in PS3.8 Table 9-21", rj)
	}
}

func fzSameRJ(m pdu.Message, rj *RejectError) bool {
	got, ok := m.(*pdu.AssociateRJ)
	return ok && *got == *rj.PDU()
}

func fzSameAbort(m pdu.Message, source, reason byte) bool {
	got, ok := m.(*pdu.Abort)
	return ok && got.Source == source && got.Reason == reason
}

// fzCheckAssociation checks what an accepted association wrote: the
// A-ASSOCIATE-AC answering every proposed context, one response per
// message read, and the final PDU that matches how it ended.
func fzCheckAssociation(t *testing.T, o fzOutcome, msgs []pdu.Message) {
	t.Helper()
	c := o.conn
	if len(msgs) == 0 {
		t.Fatal("accepted without an A-ASSOCIATE-AC")
	}
	ac, ok := msgs[0].(*pdu.AssociateAC)
	if !ok {
		t.Fatalf("accepted, first wrote %T", msgs[0])
	}
	rq := c.RQ
	if len(ac.PresentationContexts) != len(rq.PresentationContexts) || ac.CalledAE != rq.CalledAE || ac.CallingAE != rq.CallingAE {
		t.Fatalf("A-ASSOCIATE-AC does not answer the request: %d contexts for %d, AE titles %q %q for %q %q",
			len(ac.PresentationContexts), len(rq.PresentationContexts), ac.CalledAE, ac.CallingAE, rq.CalledAE, rq.CallingAE)
	}
	for i, pc := range ac.PresentationContexts {
		prq := rq.PresentationContexts[i]
		if pc.ID != prq.ID {
			t.Fatalf("context %d answered as %d", prq.ID, pc.ID)
		}
		if pc.Result != pdu.ResultAcceptance {
			if c.Context(pc.ID) != nil {
				t.Fatalf("context %d refused in the AC but usable", pc.ID)
			}
			continue
		}
		ctx := c.Context(pc.ID)
		if ctx == nil || ctx.TransferSyntax != pc.TransferSyntax || !slices.Contains(prq.TransferSyntaxes, pc.TransferSyntax) {
			t.Fatalf("context %d accepted with %q, proposed %q", pc.ID, pc.TransferSyntax, prq.TransferSyntaxes)
		}
	}
	var (
		responses int
		final     pdu.Message
	)
	peerMax := c.Negotiation.PeerMaxPDU
	for i, m := range msgs[1:] {
		if final != nil {
			t.Fatalf("wrote %T after the final %T", m, final)
		}
		switch m := m.(type) {
		case *pdu.PDataTF:
			enc, _ := m.AppendBinary(nil)
			if peerMax != 0 && uint32(len(enc)-pdu.HeaderLength) > peerMax {
				t.Fatalf("P-DATA-TF of %d bytes, the peer's maximum is %d", len(enc)-pdu.HeaderLength, peerMax)
			}
			for _, v := range m.PDVs {
				if !v.Command || c.Context(v.ContextID) == nil {
					t.Fatalf("response PDV on context %d (command %v)", v.ContextID, v.Command)
				}
				if v.Last {
					responses++
				}
			}
		case *pdu.ReleaseRP, *pdu.Abort:
			final = m
		default:
			t.Fatalf("wrote %T (PDU %d) on an established association", m, i+1)
		}
	}
	if responses != o.messages {
		t.Fatalf("%d responses for %d messages", responses, o.messages)
	}
	var ab *AbortError
	switch err := o.driveErr; {
	case errors.Is(err, ErrReleased):
		if _, ok := final.(*pdu.ReleaseRP); !ok {
			t.Fatalf("released, but the last PDU is %T", final)
		}
	case errors.As(err, &ab):
		if !fzSameAbort(final, ab.Source, ab.Reason) && ab.Err == nil {
			t.Fatalf("aborted with %v, but the last PDU is %v", ab, final)
		}
		if ab.Source == pdu.AbortSourceServiceProvider && bytes.IndexByte([]byte{0, 1, 2, 4, 5, 6}, ab.Reason) < 0 {
			t.Fatalf("A-ABORT reason %d is not in PS3.8 Table 9-26", ab.Reason)
		}
	case errors.Is(err, ErrPeerAborted), errors.Is(err, ErrPeerClosed), errors.Is(err, os.ErrDeadlineExceeded):
		if final != nil {
			t.Fatalf("%v, yet wrote %T", err, final)
		}
	default:
		t.Fatalf("association ended with an error of no known kind: %v", err)
	}
}

// TestAcceptPipe runs the FuzzAccept seed corpus over net.Pipe with real
// timers: each association must end within its timeouts, and the Conn
// must write exactly what it writes with the fuzzer's virtual-time
// connection.
func TestAcceptPipe(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzAccept", "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no seed corpus (%v): run with -update-accept-corpus", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			in, split, mode := fzReadSeed(t, file)
			m := fzMode(mode) | fzStall // net.Pipe cannot half-close: the peer goes quiet
			virtual := &fuzzConn{t: t, in: in, sizes: rand.New(rand.NewPCG(split, split>>32|1)), stall: true}
			vo := fzDrive(virtual, fzConfig(m))

			server, client := net.Pipe()
			done := make(chan []byte)
			go func() {
				var out bytes.Buffer
				_, _ = io.Copy(&out, client)
				done <- out.Bytes()
			}()
			written := make(chan struct{})
			go func() {
				defer close(written)
				_, _ = client.Write(in) // ends when the server closes, if not before
			}()
			start := time.Now()
			ro := fzDrive(server, fzConfig(m))
			elapsed := time.Since(start)
			out := <-done
			client.Close()
			<-written
			// Each state waits at most one timeout, then at most the
			// close wait of Sta13; fzMessages messages may each wait one.
			if bound := (fzMessages+3)*fzMaxWait + time.Second; elapsed > bound {
				t.Errorf("association took %v, more than its timeouts allow (%v)", elapsed, bound)
			}
			if !bytes.Equal(out, virtual.out.Bytes()) {
				t.Errorf("over net.Pipe the Conn wrote %d bytes, with virtual time %d (accept %v / %v, then %v / %v)",
					len(out), virtual.out.Len(), ro.acceptErr, vo.acceptErr, ro.driveErr, vo.driveErr)
			}
			if fmt.Sprint(ro.acceptErr == nil, ro.messages) != fmt.Sprint(vo.acceptErr == nil, vo.messages) {
				t.Errorf("over net.Pipe: accepted %v, %d messages; virtual: %v, %d", ro.acceptErr == nil, ro.messages, vo.acceptErr == nil, vo.messages)
			}
		})
	}
}

// fzReadSeed reads a corpus file of FuzzAccept.
func fzReadSeed(t *testing.T, file string) (in []byte, split uint64, mode byte) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 4 || lines[0] != "go test fuzz v1" {
		t.Fatalf("%s: not a FuzzAccept corpus file", file)
	}
	arg := func(line, typ string) string {
		v, ok := strings.CutPrefix(line, typ+"(")
		v, ok2 := strings.CutSuffix(v, ")")
		if !ok || !ok2 {
			t.Fatalf("%s: %q is not a %s", file, line, typ)
		}
		return v
	}
	s, err := strconv.Unquote(arg(lines[1], "[]byte"))
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if split, err = strconv.ParseUint(arg(lines[2], "uint64"), 10, 64); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	r, err := strconv.Unquote(arg(lines[3], "byte"))
	if err != nil || len([]rune(r)) != 1 || []rune(r)[0] > 0xFF {
		t.Fatalf("%s: bad byte %q (%v)", file, lines[3], err)
	}
	return []byte(s), split, byte([]rune(r)[0])
}

// TestWriteAcceptCorpus rewrites testdata/fuzz/FuzzAccept with
// -update-accept-corpus: the client side of the golden transcripts (DCMTK
// echoscu and storescu) under several modes, and hand-made cases.
func TestWriteAcceptCorpus(t *testing.T) {
	if !*updateAcceptCorpus {
		t.Skip("run with -update-accept-corpus to rewrite testdata/fuzz/FuzzAccept")
	}
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "transcripts", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	echo, store := read("echoscu.client.bin"), read("storescu_ct_mr_pdu4096.client.bin")
	rqLen := func(b []byte) int { return pdu.HeaderLength + int(binary.BigEndian.Uint32(b[2:6])) }
	echoRQ := echo[:rqLen(echo)]
	pd := func(items ...[]byte) []byte {
		var body []byte
		for _, it := range items {
			body = append(body, it...)
		}
		return append(binary.BigEndian.AppendUint32([]byte{4, 0}, uint32(len(body))), body...)
	}
	pdv := func(ctx, mch byte, data []byte) []byte {
		return append(append(binary.BigEndian.AppendUint32(nil, uint32(len(data)+2)), ctx, mch), data...)
	}
	echoCmd := dimse.AppendCommand(nil, &dimse.Command{Field: dimse.CEchoRQ, MessageID: 1, AffectedSOPClassUID: VerificationSOPClass})
	release := []byte{5, 0, 0, 0, 0, 4, 0, 0, 0, 0}
	seeds := []struct {
		name  string
		in    []byte
		split uint64
		mode  fzMode
	}{
		{"echoscu", echo, 1, 0},
		{"echoscu-stall", echo, 2, fzStall},
		{"echoscu-calling-not-allowed", echo, 3, fzAllowList | fzRequireCalled},
		{"echoscu-limit", echo, 4, fzRejectAll},
		{"storescu", store, 5, fzSmallBuffer},
		{"storescu-strict-small-pdu", store, 6, fzStrict | fzSmallPDU | fzStall},
		{"storescu-storage-only", store, 7, fzStorageOnly},
		{"storescu-truncated", store[:len(store)/2], 8, fzStall},
		{"rq-only-stall", echoRQ, 9, fzStall},
		{"rq-truncated", echoRQ[:len(echoRQ)-7], 10, 0},
		{"unknown-pdu", []byte{0x0A, 0, 0, 0, 0, 2, 1, 2}, 11, 0},
		{"pdata-first", pd(pdv(1, 3, echoCmd)), 12, 0},
		{"abort-first", []byte{7, 0, 0, 0, 0, 4, 0, 0, 0, 0}, 13, 0},
		{"huge-length", []byte{1, 0, 0xFF, 0xFF, 0xFF, 0xFF}, 14, fzStall},
		{"interleaved", append(append([]byte(nil), echoRQ...), pd(pdv(1, 1, echoCmd[:10]), pdv(3, 3, echoCmd[10:]))...), 15, 0},
		{"pdv-overflow", append(append([]byte(nil), echoRQ...), pd(append(binary.BigEndian.AppendUint32(nil, 9999), 1, 3))...), 16, 0},
		{"release-mid-command", append(append(append([]byte(nil), echoRQ...), pd(pdv(1, 1, echoCmd[:12]))...), release...), 17, 0},
		{"data-first", append(append([]byte(nil), echoRQ...), pd(pdv(1, 2, []byte{8, 0, 0x16, 0}))...), 19, 0},
		{"bad-command", append(append([]byte(nil), echoRQ...), pd(pdv(1, 3, append(append([]byte(nil), echoCmd...), 8, 0, 0, 0, 0, 0, 0, 0)))...), 20, 0},
		{"many-echoes", append(append([]byte(nil), echoRQ...), bytes.Repeat(pd(pdv(1, 3, echoCmd)), 10)...), 18, fzStall},
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzAccept")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, s := range seeds {
		body := testutil.FuzzSeed(s.in, s.split, byte(s.mode))
		if err := os.WriteFile(filepath.Join(dir, s.name), body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
