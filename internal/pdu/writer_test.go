package pdu

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"testing"
)

// writeRecorder keeps each Write call separately.
type writeRecorder struct{ writes [][]byte }

func (w *writeRecorder) Write(p []byte) (int, error) {
	w.writes = append(w.writes, bytes.Clone(p))
	return len(p), nil
}

func TestWriteMessageFragments(t *testing.T) {
	sizes := []int{0, 1, 2, 7, 8, 100, 1001, 65536, 300_001}
	maxPDUs := []uint32{0, 8, 9, 10, 11, 12, 13, 100, 4096, 16384, 65536, 300_013, 1 << 31, 0xFFFFFFFF}
	for _, size := range sizes {
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(i * 13)
		}
		for _, maxPDU := range maxPDUs {
			if maxPDU != 0 && maxPDU < 64 && size > 2000 {
				continue // tens of thousands of PDUs: slow, adds nothing
			}
			for _, command := range []bool{false, true} {
				t.Run(fmt.Sprintf("size%d/max%d/command=%v", size, maxPDU, command), func(t *testing.T) {
					rec := &writeRecorder{}
					if err := NewWriter(rec).WriteMessage(7, command, data, maxPDU); err != nil {
						t.Fatal(err)
					}
					limit := uint64(maxPDU)
					if limit == 0 || limit > MaxSendPDULength {
						limit = MaxSendPDULength
					}
					frag := (limit - PDVHeaderLength) &^ 1
					if wantPDUs := max(1, (uint64(size)+frag-1)/frag); uint64(len(rec.writes)) != wantPDUs {
						t.Errorf("%d PDUs, want %d", len(rec.writes), wantPDUs)
					}
					var got []byte
					for i, w := range rec.writes {
						// Each Write is one whole P-DATA-TF PDU with one PDV.
						n := binary.BigEndian.Uint32(w[2:6])
						if w[0] != byte(TypePDataTF) || int(n) != len(w)-HeaderLength {
							t.Fatalf("write %d: header % x for %d bytes", i, w[:6], len(w))
						}
						if maxPDU != 0 && n > maxPDU {
							t.Fatalf("write %d: PDU length %d exceeds the maximum %d", i, n, maxPDU)
						}
						if n > MaxSendPDULength {
							t.Fatalf("write %d: PDU length %d exceeds MaxSendPDULength", i, n)
						}
						p, err := ParsePDataTF(w[HeaderLength:])
						if err != nil {
							t.Fatalf("write %d: %v", i, err)
						}
						last := i == len(rec.writes)-1
						if len(p.PDVs) != 1 {
							t.Fatalf("write %d: %d PDVs", i, len(p.PDVs))
						}
						v := p.PDVs[0]
						if v.ContextID != 7 || v.Command != command || v.Last != last {
							t.Fatalf("write %d: PDV %d command=%v last=%v", i, v.ContextID, v.Command, v.Last)
						}
						if !last && len(v.Data)%2 != 0 {
							t.Fatalf("write %d: fragment of odd length %d before the last", i, len(v.Data))
						}
						got = append(got, v.Data...)
					}
					if !bytes.Equal(got, data) {
						t.Fatalf("reassembled %d bytes differ from the %d sent", len(got), len(data))
					}
				})
			}
		}
	}
}

// TestWriteMessageReadBack sends a message through Writer and Reader.
func TestWriteMessageReadBack(t *testing.T) {
	data := make([]byte, 200_000)
	for i := range data {
		data[i] = byte(i)
	}
	var stream bytes.Buffer
	w := NewWriter(&stream)
	if err := w.WriteMessage(1, true, data[:100], 16384); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteMessage(1, false, data, 16384); err != nil {
		t.Fatal(err)
	}
	recs, err := readAll(NewReader(&stream, 0), readModes[2])
	if err != nil {
		t.Fatal(err)
	}
	var cmd, ds []byte
	var lasts int
	for _, rec := range recs {
		if rec.H.Type != TypePDataTF || rec.H.Length > 16384 {
			t.Fatalf("header %+v", rec.H)
		}
		for _, p := range rec.PDVs {
			if p.H.Command {
				cmd = append(cmd, p.Data...)
			} else {
				ds = append(ds, p.Data...)
			}
			if p.H.Last {
				lasts++
			}
		}
	}
	if !bytes.Equal(cmd, data[:100]) || !bytes.Equal(ds, data) || lasts != 2 {
		t.Errorf("read back %d command and %d data bytes, %d last flags", len(cmd), len(ds), lasts)
	}
}

func TestWriteMessageMaxTooSmall(t *testing.T) {
	for maxPDU := uint32(1); maxPDU < MinPDataPDULength; maxPDU++ {
		rec := &writeRecorder{}
		err := NewWriter(rec).WriteMessage(1, false, []byte("abcd"), maxPDU)
		if !errors.Is(err, ErrMaxPDUTooSmall) || len(rec.writes) != 0 {
			t.Errorf("maxPDU %d: %v after %d writes", maxPDU, err, len(rec.writes))
		}
	}
}

func TestWriteMessageAllocs(t *testing.T) {
	data := make([]byte, 512<<10)
	for _, maxPDU := range []uint32{0, 16384, MinPDataPDULength} {
		w := NewWriter(io.Discard)
		if err := w.WriteMessage(1, false, data, maxPDU); err != nil {
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(20, func() {
			if err := w.WriteMessage(1, false, data[:64<<10], maxPDU); err != nil {
				t.Fatal(err)
			}
			if err := w.WriteMessage(1, true, nil, maxPDU); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("maxPDU %d: WriteMessage allocates %.1f times once warm", maxPDU, allocs)
		}
	}
}

func TestWriterControlPDUs(t *testing.T) {
	ml := uint32(16384)
	rq := &AssociateRQ{ProtocolVersion: 1, CalledAE: PadAE("SCP"), CallingAE: PadAE("SCU"),
		ApplicationContext: ApplicationContextName, UserInfo: UserInfo{MaxLength: &ml},
		PresentationContexts: []PresentationContextRQ{{ID: 1, AbstractSyntax: "1.2.840.10008.1.1", TransferSyntaxes: []string{ImplicitVRLittleEndian}}}}
	ac := &AssociateAC{ProtocolVersion: 1, CalledAE: rq.CalledAE, CallingAE: rq.CallingAE,
		ApplicationContext: ApplicationContextName, UserInfo: UserInfo{MaxLength: &ml},
		PresentationContexts: []PresentationContextAC{{ID: 1, Result: ResultAcceptance, TransferSyntax: ImplicitVRLittleEndian}}}
	rj := &AssociateRJ{Result: RejectedTransient, Source: RejectSourcePresentation, Reason: RejectReasonLocalLimitExceeded}
	ab := &Abort{Source: AbortSourceServiceProvider, Reason: AbortReasonUnexpectedPDU}
	pd := &PDataTF{PDVs: []PDV{{ContextID: 1, Last: true, Data: []byte("xy")}, {ContextID: 1, Command: true}}}
	rec := &writeRecorder{}
	w := NewWriter(rec)
	steps := []struct {
		write func() error
		want  Message
	}{
		{func() error { return w.WriteAssociateRQ(rq) }, rq},
		{func() error { return w.WriteAssociateAC(ac) }, ac},
		{func() error { return w.WriteAssociateRJ(rj) }, rj},
		{w.WriteReleaseRQ, &ReleaseRQ{}},
		{w.WriteReleaseRP, &ReleaseRP{}},
		{func() error { return w.WriteAbort(ab) }, ab},
		{func() error { return w.WritePDataTF(pd) }, pd},
	}
	for i, s := range steps {
		if err := s.write(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if len(rec.writes) != i+1 {
			t.Fatalf("step %d: %d Write calls in all", i, len(rec.writes))
		}
		want, _ := encode(s.want)
		if !bytes.Equal(rec.writes[i], want) {
			t.Errorf("step %d: wrote % x\nwant % x", i, rec.writes[i], want)
		}
	}
	// Encoding errors are returned before anything is written.
	if err := w.WriteAssociateRQ(&AssociateRQ{}); err == nil || len(rec.writes) != len(steps) {
		t.Errorf("invalid request: %v, %d writes", err, len(rec.writes))
	}
}

type failWriter struct{ err error }

func (f failWriter) Write(p []byte) (int, error) { return 0, f.err }

func TestWriterErrors(t *testing.T) {
	errBroken := errors.New("broken pipe")
	w := NewWriter(failWriter{errBroken})
	for i, err := range []error{
		w.WriteReleaseRP(),
		w.WriteAbort(&Abort{}),
		w.WriteMessage(1, false, make([]byte, 100), 16),
	} {
		if !errors.Is(err, errBroken) {
			t.Errorf("#%d: %v does not wrap the write error", i, err)
		}
	}
}
