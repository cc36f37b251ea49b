package pdu

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dicomrecv/dicomrecv/internal/testutil"
)

const (
	ctImageStorage         = "1.2.840.10008.5.1.4.1.1.2"
	explicitVRLittleEndian = "1.2.840.10008.1.2.1"
)

// TestStorescuInterop runs a C-STORE from DCMTK storescu against an
// acceptor built from this package alone: it reads the A-ASSOCIATE-RQ,
// answers an A-ASSOCIATE-AC with a small maximum PDU length, receives the
// command and data set through NextPDV/Next, answers with a C-STORE-RSP
// written by WriteMessage, and answers the release. The data set must
// arrive byte for byte, in P-DATA-TF PDUs within our limit, and storescu
// must report success.
func TestStorescuInterop(t *testing.T) {
	storescu := testutil.RequireTool(t, "storescu")
	file := filepath.Join(testutil.PydicomTestFiles, "CT_small.dcm")
	testutil.RequireFile(t, file)
	fileBytes, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	wantDataSet := dataSetOf(t, fileBytes)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	var out bytes.Buffer
	cmd := exec.Command(storescu, "-v", "-aec", "PDU-TEST", "-aet", "STORESCU", "127.0.0.1", port, file)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-done
		}
	}()
	_ = ln.(*net.TCPListener).SetDeadline(time.Now().Add(30 * time.Second))
	conn, err := ln.Accept()
	if err != nil {
		t.Fatalf("accept: %v\nstorescu: %s", err, &out)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	r, w := NewReader(conn, 0), NewWriter(conn)

	h, err := r.ReadHeader()
	if err != nil || h.Type != TypeAssociateRQ {
		t.Fatalf("first PDU %+v, %v", h, err)
	}
	body, err := r.ReadBody(h, 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	rq, err := ParseAssociateRQ(body)
	if err != nil {
		t.Fatal(err)
	}
	if TrimAE(rq.CalledAE) != "PDU-TEST" || TrimAE(rq.CallingAE) != "STORESCU" {
		t.Errorf("AE titles %q %q", rq.CalledAE, rq.CallingAE)
	}
	const ourMax = 4096
	ml := uint32(ourMax)
	ac := &AssociateAC{ProtocolVersion: ProtocolVersion1, CalledAE: rq.CalledAE, CallingAE: rq.CallingAE,
		Reserved: rq.Reserved, ApplicationContext: ApplicationContextName,
		UserInfo: UserInfo{MaxLength: &ml, ImplementationClassUID: "2.25.1", ImplementationVersionName: "PDU-TEST"}}
	var ctxID byte
	for _, pc := range rq.PresentationContexts {
		res := PresentationContextAC{ID: pc.ID, Result: ResultAbstractSyntaxNotSupported}
		if pc.AbstractSyntax == ctImageStorage && ctxID == 0 {
			for _, ts := range pc.TransferSyntaxes {
				if ts == explicitVRLittleEndian {
					res = PresentationContextAC{ID: pc.ID, Result: ResultAcceptance, TransferSyntax: ts}
					ctxID = pc.ID
				}
			}
		}
		ac.PresentationContexts = append(ac.PresentationContexts, res)
	}
	if ctxID == 0 {
		t.Fatal("storescu proposed no CT Image Storage context with Explicit VR Little Endian")
	}
	if err := w.WriteAssociateAC(ac); err != nil {
		t.Fatal(err)
	}

	var command, dataSet []byte
	pdus := 0
	for done := false; !done; {
		h, err := r.ReadHeader()
		if err != nil {
			t.Fatalf("reading P-DATA: %v\nstorescu: %s", err, &out)
		}
		if h.Type != TypePDataTF || h.Length > ourMax {
			t.Fatalf("PDU %+v: want P-DATA-TF within our maximum of %d", h, ourMax)
		}
		pdus++
		for {
			ph, err := r.NextPDV()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if ph.ContextID != ctxID {
				t.Fatalf("PDV on context %d", ph.ContextID)
			}
			for {
				p, err := r.Next(1 << 20)
				if ph.Command {
					command = append(command, p...)
				} else {
					dataSet = append(dataSet, p...)
				}
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			done = ph.Last && !ph.Command
		}
	}
	// DCMTK leaves out Data Set Trailing Padding (FFFC,FFFC) when it sends;
	// CT_small.dcm ends with one.
	if i := len(dataSet); i+12 <= len(wantDataSet) &&
		bytes.HasPrefix(wantDataSet[i:], []byte{0xFC, 0xFF, 0xFC, 0xFF, 'O', 'B', 0, 0}) &&
		12+int(binary.LittleEndian.Uint32(wantDataSet[i+8:])) == len(wantDataSet)-i {
		wantDataSet = wantDataSet[:i]
	}
	if !bytes.Equal(dataSet, wantDataSet) {
		t.Fatalf("received a %d-byte data set, the file holds %d bytes", len(dataSet), len(wantDataSet))
	}
	if pdus < len(wantDataSet)/ourMax {
		t.Errorf("data set came in %d PDUs; our maximum of %d needs more", pdus, ourMax)
	}

	elems := commandElements(t, command)
	if got := binary.LittleEndian.Uint16(elems[0x0100]); got != 0x0001 {
		t.Fatalf("command field 0x%04X, want C-STORE-RQ", got)
	}
	rsp := storeResponse(elems[0x0002], elems[0x0110], elems[0x1000])
	if err := w.WriteMessage(ctxID, true, rsp, *rq.UserInfo.MaxLength); err != nil {
		t.Fatal(err)
	}

	h, err = r.ReadHeader()
	if err != nil || h.Type != TypeReleaseRQ {
		t.Fatalf("after the store: %+v, %v", h, err)
	}
	if _, err := r.ReadBody(h, 4); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteReleaseRP(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("storescu: %v\n%s", err, &out)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("storescu did not exit\n%s", &out)
	}
	if !strings.Contains(out.String(), "Received Store Response (Success)") {
		t.Errorf("storescu did not report success:\n%s", &out)
	}
}

// dataSetOf returns the data set of a DICOM file, after its file meta
// information (PS3.10 §7.1: 128-byte preamble, "DICM", then group 0002 in
// explicit VR little endian, led by its group length).
func dataSetOf(t *testing.T, f []byte) []byte {
	t.Helper()
	if len(f) < 144 || string(f[128:132]) != "DICM" || binary.LittleEndian.Uint32(f[132:136]) != 0x00000002 {
		t.Fatal("not a DICOM file with a group length first")
	}
	return f[144+int(binary.LittleEndian.Uint32(f[140:144])):]
}

// commandElements splits a command set (implicit VR little endian, group
// 0000, PS3.7 §6.3.1) into element values by element number.
func commandElements(t *testing.T, b []byte) map[uint16][]byte {
	t.Helper()
	m := map[uint16][]byte{}
	for len(b) > 0 {
		if len(b) < 8 || binary.LittleEndian.Uint16(b) != 0 {
			t.Fatalf("bad command set at % x", b[:min(len(b), 8)])
		}
		n := int(binary.LittleEndian.Uint32(b[4:]))
		m[binary.LittleEndian.Uint16(b[2:])] = b[8 : 8+n]
		b = b[8+n:]
	}
	return m
}

// storeResponse builds a C-STORE-RSP command set with status Success
// (PS3.7 §9.3.1.2).
func storeResponse(sopClass, msgID, sopInstance []byte) []byte {
	var e []byte
	add := func(elem uint16, v []byte) {
		e = binary.LittleEndian.AppendUint16(e, 0)
		e = binary.LittleEndian.AppendUint16(e, elem)
		e = binary.LittleEndian.AppendUint32(e, uint32(len(v)))
		e = append(e, v...)
	}
	us := func(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }
	add(0x0002, sopClass)
	add(0x0100, us(0x8001))
	add(0x0120, msgID)
	add(0x0800, us(0x0101))
	add(0x0900, us(0x0000))
	add(0x1000, sopInstance)
	var group []byte
	group = binary.LittleEndian.AppendUint32(group, 0x00000000) // (0000,0000)
	group = binary.LittleEndian.AppendUint32(group, 4)
	group = binary.LittleEndian.AppendUint32(group, uint32(len(e)))
	return append(group, e...)
}
