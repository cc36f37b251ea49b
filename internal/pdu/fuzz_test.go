package pdu

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dicomrecv/dicomrecv/internal/testutil"
)

var updateCorpus = flag.Bool("update-corpus", false, "rewrite the seed corpus files in testdata/fuzz")

// splitReader returns its bytes in chunks whose sizes come from seed, so
// that the fuzzer chooses where reads are split.
type splitReader struct {
	b []byte
	r *rand.Rand
}

func newSplitReader(b []byte, seed uint64) *splitReader {
	return &splitReader{b: b, r: rand.New(rand.NewPCG(seed, seed>>32|1))}
}

func (s *splitReader) Read(p []byte) (int, error) {
	if len(s.b) == 0 {
		return 0, io.EOF
	}
	n := 1 + s.r.IntN(min(len(p), len(s.b), 1+s.r.IntN(4)*s.r.IntN(600)))
	copy(p, s.b[:n])
	s.b = s.b[n:]
	return n, nil
}

// checkParseError checks that err is a *ParseError that makes sense for a
// body of n bytes.
func checkParseError(t *testing.T, err error, typ Type, n int) {
	t.Helper()
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v is not a *ParseError", err)
	}
	switch pe.Reason {
	case AbortReasonUnrecognizedPDUParameter, AbortReasonUnexpectedPDUParameter, AbortReasonInvalidPDUParameterValue:
	case AbortReasonUnrecognizedPDU:
		if typ >= TypeAssociateRQ && typ <= TypeAbort {
			t.Fatalf("unrecognized-PDU for %v", typ)
		}
	default:
		t.Fatalf("reason %d", pe.Reason)
	}
	if pe.PDU != typ || pe.Offset < 0 || pe.Offset > n {
		t.Fatalf("%v at offset %d of a %d-byte %v body", pe, pe.Offset, n, typ)
	}
}

// fuzzAssociate is the body of FuzzParseAssociateRQ and FuzzParseAssociateAC.
// The body must decode the same whole and read through a Reader in chunks
// the fuzzer chooses; what decodes must encode, and decode again to the
// same message.
func fuzzAssociate(t *testing.T, typ Type, body []byte, seed uint64) {
	if len(body) > 1<<16 {
		return
	}
	m, err := ParseBody(typ, body)
	pdu := append([]byte{byte(typ), 0, 0, 0, 0, 0}, body...)
	pdu[2], pdu[3], pdu[4], pdu[5] = byte(len(body)>>24), byte(len(body)>>16), byte(len(body)>>8), byte(len(body))
	r := NewReader(newSplitReader(pdu, seed), 16+int(seed%4096))
	h, herr := r.ReadHeader()
	if herr != nil {
		t.Fatal(herr)
	}
	read, rerr := r.ReadBody(h, 1<<16)
	if rerr != nil || !bytes.Equal(read, body) {
		t.Fatalf("ReadBody in chunks = %d bytes, %v; want the %d-byte body", len(read), rerr, len(body))
	}
	m2, err2 := ParseBody(typ, read)
	if !reflect.DeepEqual(err, err2) || !reflect.DeepEqual(m, m2) {
		t.Fatalf("whole and chunked differ: %v / %v", err, err2)
	}
	if err != nil {
		checkParseError(t, err, typ, len(body))
		return
	}
	enc, err := encode(m)
	if err != nil {
		t.Fatalf("parsed but does not encode: %v\n%#v", err, m)
	}
	again, err := Parse(enc)
	if err != nil {
		t.Fatalf("re-encoded does not parse: %v", err)
	}
	sameMessage(t, m, again)
}

// canon returns a copy of m without what may change when a parsed message
// is encoded and parsed again: trailing NULs of UIDs (the parser strips one
// each time) and the transfer syntax of a context that is not accepted,
// which a receiver does not test (PS3.8 §9.3.3.2). Both messages come from
// the parser, so reflect.DeepEqual then compares them exactly, and much
// faster than cmp (which matters when the fuzzer minimizes large inputs).
func canon(m Message) Message {
	trim := func(s string) string { return strings.TrimRight(s, "\x00") }
	trimAll := func(ss []string) []string {
		if ss == nil {
			return nil
		}
		out := make([]string, len(ss))
		for i, s := range ss {
			out[i] = trim(s)
		}
		return out
	}
	ui := func(u UserInfo) UserInfo {
		u.ImplementationClassUID = trim(u.ImplementationClassUID)
		u.RoleSelections = append([]RoleSelection(nil), u.RoleSelections...)
		for i := range u.RoleSelections {
			u.RoleSelections[i].SOPClassUID = trim(u.RoleSelections[i].SOPClassUID)
		}
		u.ExtendedNegotiations = append([]ExtendedNegotiation(nil), u.ExtendedNegotiations...)
		for i := range u.ExtendedNegotiations {
			u.ExtendedNegotiations[i].SOPClassUID = trim(u.ExtendedNegotiations[i].SOPClassUID)
		}
		u.CommonExtendedNegotiations = append([]CommonExtendedNegotiation(nil), u.CommonExtendedNegotiations...)
		for i := range u.CommonExtendedNegotiations {
			c := &u.CommonExtendedNegotiations[i]
			c.SOPClassUID, c.ServiceClassUID = trim(c.SOPClassUID), trim(c.ServiceClassUID)
			c.RelatedGeneralSOPClassUIDs = trimAll(c.RelatedGeneralSOPClassUIDs)
		}
		return u
	}
	switch m := m.(type) {
	case *AssociateRQ:
		c := *m
		c.ApplicationContext = trim(c.ApplicationContext)
		c.PresentationContexts = append([]PresentationContextRQ(nil), m.PresentationContexts...)
		for i := range c.PresentationContexts {
			pc := &c.PresentationContexts[i]
			pc.AbstractSyntax, pc.TransferSyntaxes = trim(pc.AbstractSyntax), trimAll(pc.TransferSyntaxes)
		}
		c.UserInfo = ui(c.UserInfo)
		return &c
	case *AssociateAC:
		c := *m
		c.ApplicationContext = trim(c.ApplicationContext)
		c.PresentationContexts = append([]PresentationContextAC(nil), m.PresentationContexts...)
		for i := range c.PresentationContexts {
			pc := &c.PresentationContexts[i]
			pc.TransferSyntax = trim(pc.TransferSyntax)
			if pc.Result != ResultAcceptance {
				pc.TransferSyntax = ""
			}
		}
		c.UserInfo = ui(c.UserInfo)
		return &c
	}
	return m
}

// sameMessage reports whether a message parsed, encoded and parsed again
// is still the same.
func sameMessage(t *testing.T, first, again Message) {
	t.Helper()
	if a, b := canon(first), canon(again); !reflect.DeepEqual(a, b) {
		t.Fatalf("re-encoded parses differently:\n%s", cmp.Diff(a, b))
	}
}

func seedBodies(f *testing.F, typ Type) {
	r := rand.New(rand.NewPCG(uint64(typ), 99))
	for i := range 8 {
		b, err := encode(randMessage(r, typ))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b[HeaderLength:], uint64(i))
	}
}

func FuzzParseAssociateRQ(f *testing.F) {
	seedBodies(f, TypeAssociateRQ)
	f.Add(associateBody(appCtx(), goodPC(1), goodUI()), uint64(0))
	f.Fuzz(func(t *testing.T, body []byte, seed uint64) {
		fuzzAssociate(t, TypeAssociateRQ, body, seed)
	})
}

func FuzzParseAssociateAC(f *testing.F) {
	seedBodies(f, TypeAssociateAC)
	f.Add(associateBody(appCtx(), pcAC(1, 0, transfer("1.2")), pcAC(3, 3, transfer("1.2")), goodUI()), uint64(0))
	f.Fuzz(func(t *testing.T, body []byte, seed uint64) {
		fuzzAssociate(t, TypeAssociateAC, body, seed)
	})
}

// FuzzParseBody covers the parsers of every PDU type through ParseBody.
func FuzzParseBody(f *testing.F) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, typ := range allTypes {
		b, err := encode(randMessage(r, typ))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(byte(typ), b[HeaderLength:])
	}
	f.Fuzz(func(t *testing.T, typ byte, body []byte) {
		m, err := ParseBody(Type(typ), body)
		if err != nil {
			checkParseError(t, err, Type(typ), len(body))
			return
		}
		if m.Type() != Type(typ) {
			t.Fatalf("%v body parsed to a %v", Type(typ), m.Type())
		}
		enc, err := encode(m)
		if err != nil {
			t.Fatalf("parsed but does not encode: %v", err)
		}
		again, err := ParseBody(Type(typ), enc[HeaderLength:])
		if err != nil {
			t.Fatal(err)
		}
		sameMessage(t, m, again)
	})
}

// fuzzBodyLimit is the ReadBody limit in FuzzReader.
const fuzzBodyLimit = 4096

// transcript reads a whole stream the way the association layer does and
// records what it sees, ending with the error that stopped it. Next and
// Read sizes come from seed.
func transcript(t *testing.T, r *Reader, seed uint64) []string {
	var out []string
	rnd := rand.New(rand.NewPCG(seed, 7))
	buf := make([]byte, 1000)
	var npdv uint64
	end := func(err error) []string {
		var pe *ParseError
		var tl *TooLongError
		switch {
		case errors.As(err, &pe):
			return append(out, fmt.Sprintf("parse error %v reason %d offset %d", pe.PDU, pe.Reason, pe.Offset))
		case errors.As(err, &tl):
			return append(out, fmt.Sprintf("too long %+v", *tl))
		case err == io.EOF, err == io.ErrUnexpectedEOF:
			return append(out, err.Error())
		}
		t.Fatalf("unexpected error %v", err)
		return nil
	}
	for range 100 {
		h, err := r.ReadHeader()
		if err != nil {
			return end(err)
		}
		out = append(out, fmt.Sprintf("header %+v", h))
		if h.Type != TypePDataTF {
			body, err := r.ReadBody(h, fuzzBodyLimit)
			if err != nil {
				if !errors.Is(err, ErrTooLong) {
					return end(err)
				}
				out = end(err)
				if err := r.Skip(); err != nil {
					return end(err)
				}
				continue
			}
			if cap(r.body) > fuzzBodyLimit {
				t.Fatalf("body buffer of %d bytes for a limit of %d", cap(r.body), fuzzBodyLimit)
			}
			m, err := ParseBody(h.Type, body)
			if err != nil {
				checkParseError(t, err, h.Type, len(body))
			}
			out = append(out, fmt.Sprintf("body %x -> %v", body, err == nil && m.Type() == h.Type))
			continue
		}
		for {
			ph, err := r.NextPDV()
			if err == io.EOF {
				break
			}
			if err != nil {
				return end(err)
			}
			// How much of the PDV to read before leaving the rest to
			// NextPDV depends only on the seed and the PDV's place, so that
			// it does not change with the way reads are split; the sizes of
			// the reads themselves may.
			npdv++
			cut := int(ph.Length)
			if c := rand.New(rand.NewPCG(seed, npdv)); c.IntN(4) == 0 {
				cut = c.IntN(cut + 1)
			}
			var data []byte
			for len(data) < cut || cut == 0 {
				var p []byte
				k := max(1, min(cut-len(data), 1+rnd.IntN(3000)))
				if rnd.IntN(2) == 0 {
					p, err = r.Next(k)
				} else {
					var n int
					n, err = r.Read(buf[:min(k, len(buf))])
					p = buf[:n]
				}
				data = append(data, p...)
				if err != nil || cut == 0 {
					break
				}
			}
			if err != nil && err != io.EOF {
				return end(err)
			}
			out = append(out, fmt.Sprintf("pdv %+v %x", ph, data))
		}
	}
	return out
}

// FuzzReader reads an arbitrary byte stream with the Reader, split into
// reads at points chosen by the fuzzer, and checks that it sees exactly
// what it sees when the stream arrives in one piece, never panics and never
// holds a body larger than its limit.
func FuzzReader(f *testing.F) {
	r := rand.New(rand.NewPCG(2, 2))
	var stream []byte
	for _, typ := range allTypes {
		b, err := encode(randMessage(r, typ))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint64(typ))
		stream = append(stream, b...)
	}
	f.Add(stream, uint64(0))
	f.Add([]byte{1, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0}, uint64(0))
	f.Add([]byte{4, 0, 0, 0, 0, 8, 0, 0, 0, 9, 1, 3, 0, 0}, uint64(0))
	f.Fuzz(func(t *testing.T, stream []byte, seed uint64) {
		whole := transcript(t, NewReader(bytes.NewReader(stream), max(16, len(stream))), seed)
		split := transcript(t, NewReader(newSplitReader(stream, seed), 16+int(seed%5000)), seed)
		if !slices.Equal(whole, split) {
			t.Fatalf("split stream read differently:\n%s", cmp.Diff(whole, split))
		}
	})
}

// TestWriteSeedCorpus rewrites the seed corpus files with
// -update-corpus: DCMTK's request, our own encodings and hand-made
// malformed cases.
func TestWriteSeedCorpus(t *testing.T) {
	if !*updateCorpus {
		t.Skip("run with -update-corpus to rewrite testdata/fuzz")
	}
	capture, err := os.ReadFile("testdata/storescu-associate-rq.bin")
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(42, 42))
	enc := func(m Message) []byte {
		b, err := encode(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	small := randAssociateRQ(r)
	small.PresentationContexts = small.PresentationContexts[:1]
	ml := uint32(16384)
	ac := &AssociateAC{ProtocolVersion: 1, CalledAE: PadAE("STORE-SCP"), CallingAE: PadAE("STORESCU"),
		ApplicationContext: ApplicationContextName,
		UserInfo: UserInfo{MaxLength: &ml, ImplementationClassUID: "2.25.1", ImplementationVersionName: "DICOMRECV",
			RoleSelections: []RoleSelection{{SOPClassUID: ctImageStorage, SCU: true}}, AsyncOps: &AsyncOpsWindow{1, 1}},
		PresentationContexts: []PresentationContextAC{{ID: 1, Result: ResultAcceptance, TransferSyntax: explicitVRLittleEndian},
			{ID: 3, Result: ResultAbstractSyntaxNotSupported}}}
	var stream []byte
	stream = append(stream, capture...)
	stream = append(stream, enc(&PDataTF{PDVs: []PDV{{ContextID: 1, Command: true, Last: true, Data: []byte("command set")}}})...)
	stream = append(stream, enc(&PDataTF{PDVs: []PDV{{ContextID: 1, Data: []byte("data ")}, {ContextID: 1, Last: true, Data: []byte("set")}}})...)
	stream = append(stream, enc(&ReleaseRQ{})...)
	corpus := map[string][][]any{
		"FuzzParseAssociateRQ": {
			{capture[HeaderLength:], uint64(1)},
			{enc(small)[HeaderLength:], uint64(2)},
			{associateBody(appCtx(), pcRQ(1, abstract("1"), item(0x99), transfer("1.2")), goodUI()), uint64(3)},
			{associateBody(appCtx(), goodPC(1), goodUI(item(itemCommonExtNeg, lenStr("1.2"), lenStr("1.3"), u16(5), lenStr("1.4")),
				item(itemUserIdentityRQ, []byte{2, 1}, lenStr("user"), lenStr("secret")), item(0x77, str("?")))), uint64(4)},
		},
		"FuzzParseAssociateAC": {
			{enc(ac)[HeaderLength:], uint64(1)},
			{associateBody(appCtx(), pcAC(1, 4, item(0x99)), pcAC(3, 0, transfer("1.2")), goodUI(item(itemUserIdentityAC, lenStr("ok")))), uint64(2)},
		},
		"FuzzParseBody": {
			{byte(TypeAssociateRQ), capture[HeaderLength:]},
			{byte(TypeAssociateAC), enc(ac)[HeaderLength:]},
			{byte(TypeAssociateRJ), []byte{0, 1, 1, 7}},
			{byte(TypePDataTF), []byte{0, 0, 0, 4, 1, 3, 'o', 'k'}},
			{byte(TypeAbort), []byte{0, 0, 2, 6}},
		},
		"FuzzReader": {
			{stream, uint64(1)},
			{stream, uint64(1 << 40)},
			{[]byte{4, 0, 0, 0, 0, 6, 0, 0, 0, 1, 1, 3}, uint64(0)},
			{[]byte{5, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0}, uint64(0)},
		},
	}
	for target, entries := range corpus {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for i, args := range entries {
			name := filepath.Join(dir, fmt.Sprintf("seed-%02d", i))
			if err := os.WriteFile(name, testutil.FuzzSeed(args...), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
