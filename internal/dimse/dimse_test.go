package dimse

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dicomrecv/dicomrecv/internal/pdu"
)

func TestCommandRoundTrip(t *testing.T) {
	for _, c := range []*Command{
		{Field: CEchoRQ, MessageID: 7, AffectedSOPClassUID: "1.2.840.10008.1.1", DataSetType: noDataSet, HasDataSetType: true},
		{Field: CStoreRQ, MessageID: 65535, AffectedSOPClassUID: "1.2.840.10008.5.1.4.1.1.2",
			AffectedSOPInstanceUID: "1.2.3.4.5.6789", Priority: 2, DataSetType: dataSetPresent, HasDataSetType: true},
		{Field: CStoreRSP, MessageIDBeingRespondedTo: 3, AffectedSOPClassUID: "1.2.840.10008.5.1.4.1.1.4",
			AffectedSOPInstanceUID: "1.2.3", Status: StatusOutOfResources, ErrorComment: "storage failed",
			DataSetType: noDataSet, HasDataSetType: true},
		{Field: CStoreRQ, MessageID: 1, AffectedSOPClassUID: "1.2", AffectedSOPInstanceUID: "1.3",
			DataSetType: 1, HasDataSetType: true, MoveOriginatorAETitle: "MOVER", MoveOriginatorMessageID: 9,
			HasMoveOriginatorMessageID: true},
	} {
		b := AppendCommand(nil, c)
		if got := binary.LittleEndian.Uint32(b[8:]); int(got) != len(b)-12 {
			t.Errorf("group length %d, want %d", got, len(b)-12)
		}
		got, err := ParseCommand(b)
		if err != nil {
			t.Fatalf("%s: %v", CommandName(c.Field), err)
		}
		want := *c
		want.HasField, want.HasMessageID, want.HasMessageIDBeingRespondedTo = true, !c.IsResponse(), c.IsResponse()
		if diff := cmp.Diff(&want, got); diff != "" {
			t.Errorf("%s round trip (-want +got):\n%s", CommandName(c.Field), diff)
		}
		if len(b)%2 != 0 {
			t.Errorf("odd command length %d", len(b))
		}
	}
}

func el(tag uint32, v []byte) []byte {
	b := binary.LittleEndian.AppendUint16(nil, uint16(tag>>16))
	b = binary.LittleEndian.AppendUint16(b, uint16(tag))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(v)))
	return append(b, v...)
}

func u16(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }

func TestParseCommandErrors(t *testing.T) {
	valid := append(el(tagCommandField, u16(CEchoRQ)), el(tagMessageID, u16(1))...)
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"truncated header", valid[:5], "truncated element header"},
		{"length overruns", append(el(tagCommandField, u16(1))[:8], 1), "overruns"},
		{"other group", el(0x00080016, []byte("1.2")), "outside group 0000"},
		{"out of order", append(el(tagMessageID, u16(1)), el(tagCommandField, u16(1))...), "out of order"},
		{"US of wrong length", el(tagCommandField, []byte{1, 2, 3, 4}), "want 2"},
		{"too long", make([]byte, MaxCommandLength+1), "limit"},
	} {
		_, err := ParseCommand(tc.b)
		if !errors.Is(err, ErrCommand) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want ErrCommand mentioning %q", tc.name, err, tc.want)
		}
	}
	c, err := ParseCommand(valid)
	if err != nil || c.HasDataSet() || c.HasDataSetType {
		t.Fatalf("valid command without data set type: %+v, %v", c, err)
	}
}

func TestTruncateComment(t *testing.T) {
	long := strings.Repeat("x", 100)
	if got := TruncateComment(long); len(got) != 64 {
		t.Errorf("len %d, want 64", len(got))
	}
	if got := TruncateComment("a\\b\nc\x00d é"); got != "a b c d" {
		t.Errorf("got %q", got)
	}
}

// fakeSource serves PDVs from a list.
type fakeSource struct {
	pdvs []fakePDV
	cur  *bytes.Reader
	err  error // returned after the list
}

type fakePDV struct {
	h    pdu.PDVHeader
	data []byte
}

func (f *fakeSource) NextPDV() (pdu.PDVHeader, error) {
	if len(f.pdvs) == 0 {
		if f.err != nil {
			return pdu.PDVHeader{}, f.err
		}
		return pdu.PDVHeader{}, io.EOF
	}
	p := f.pdvs[0]
	f.pdvs = f.pdvs[1:]
	p.h.Length = uint32(len(p.data))
	f.cur = bytes.NewReader(p.data)
	return p.h, nil
}

func (f *fakeSource) Read(p []byte) (int, error) { return f.cur.Read(p) }

func (f *fakeSource) Next(n int) ([]byte, error) {
	if f.cur.Len() == 0 {
		return nil, io.EOF
	}
	b := make([]byte, min(n, f.cur.Len()))
	f.cur.Read(b)
	return b, nil
}

func pdv(ctx byte, cmd, last bool, data []byte) fakePDV {
	return fakePDV{h: pdu.PDVHeader{ContextID: ctx, Command: cmd, Last: last}, data: data}
}

func TestReaderReassemblesFragments(t *testing.T) {
	cmd := AppendCommand(nil, &Command{Field: CStoreRQ, MessageID: 5, AffectedSOPClassUID: "1.2",
		AffectedSOPInstanceUID: "1.2.3", DataSetType: 0, HasDataSetType: true})
	data := bytes.Repeat([]byte("0123456789"), 100)
	src := &fakeSource{pdvs: []fakePDV{
		pdv(3, true, false, cmd[:10]), pdv(3, true, false, cmd[10:11]), pdv(3, true, true, cmd[11:]),
		pdv(3, false, false, data[:1]), pdv(3, false, false, nil), pdv(3, false, false, data[1:500]),
		pdv(3, false, true, data[500:]),
		pdv(3, true, true, cmd), // the next message
	}}
	r := NewReader(src)
	ctx, c, err := r.ReadCommand()
	if err != nil || ctx != 3 || c.Field != CStoreRQ || c.MessageID != 5 || !c.HasDataSet() {
		t.Fatalf("ReadCommand = %d, %+v, %v", ctx, c, err)
	}
	d := r.DataSet(ctx)
	got, err := io.ReadAll(io.MultiReader(iotestHalf{d}))
	if err != nil || !bytes.Equal(got, data) || d.Count() != int64(len(data)) || !d.Done() {
		t.Fatalf("data set: %d bytes (%v), count %d, done %v", len(got), err, d.Count(), d.Done())
	}
	if _, c2, err := r.ReadCommand(); err != nil || c2.MessageID != 5 {
		t.Fatalf("next command: %v", err)
	}
}

// iotestHalf reads in small pieces, to exercise Read across PDVs.
type iotestHalf struct{ r io.Reader }

func (h iotestHalf) Read(p []byte) (int, error) { return h.r.Read(p[:min(len(p), 3)]) }

func TestReaderProtocolErrors(t *testing.T) {
	cmd := AppendCommand(nil, &Command{Field: CStoreRQ, MessageID: 5, AffectedSOPClassUID: "1.2",
		AffectedSOPInstanceUID: "1.2.3", HasDataSetType: true})
	for _, tc := range []struct {
		name string
		pdvs []fakePDV
		data bool // read the data set
	}{
		{"data PDV first", []fakePDV{pdv(1, false, true, []byte{1})}, false},
		{"command fragments on two contexts", []fakePDV{pdv(1, true, false, cmd[:4]), pdv(3, true, true, cmd[4:])}, false},
		{"data on another context", []fakePDV{pdv(1, true, true, cmd), pdv(3, false, true, []byte{1})}, true},
		{"command inside data", []fakePDV{pdv(1, true, true, cmd), pdv(1, false, false, []byte{1}), pdv(1, true, true, cmd)}, true},
	} {
		r := NewReader(&fakeSource{pdvs: tc.pdvs})
		ctx, _, err := r.ReadCommand()
		if tc.data {
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			err = r.DataSet(ctx).Drain()
		}
		var pe *ProtocolError
		if !errors.As(err, &pe) {
			t.Errorf("%s: err %v, want *ProtocolError", tc.name, err)
		}
	}
	// An oversized command set is refused before it is collected.
	big := make([]fakePDV, 0, 20)
	for i := 0; i < 20; i++ {
		big = append(big, pdv(1, true, false, make([]byte, 4096)))
	}
	if _, _, err := NewReader(&fakeSource{pdvs: big}).ReadCommand(); err == nil {
		t.Error("command set of 80 KiB accepted")
	}
	// The stream ending inside a data set is an unexpected EOF.
	r := NewReader(&fakeSource{pdvs: []fakePDV{pdv(1, true, true, cmd), pdv(1, false, false, []byte{1})}})
	ctx, _, _ := r.ReadCommand()
	if err := r.DataSet(ctx).Drain(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated data set: %v", err)
	}
}

func FuzzParseCommand(f *testing.F) {
	f.Add(AppendCommand(nil, &Command{Field: CEchoRQ, MessageID: 1, AffectedSOPClassUID: "1.2.840.10008.1.1"}))
	f.Add(AppendCommand(nil, &Command{Field: CStoreRQ, MessageID: 1, AffectedSOPClassUID: "1.2",
		AffectedSOPInstanceUID: "1.2.3", HasDataSetType: true}))
	f.Add(AppendCommand(nil, &Command{Field: CStoreRSP, MessageIDBeingRespondedTo: 1, Status: 0xA700, ErrorComment: "x"}))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCommand(b)
		if err != nil {
			return
		}
		// A decoded command re-encodes and decodes to the same fields.
		c2, err := ParseCommand(AppendCommand(nil, c))
		if err != nil {
			t.Fatalf("re-encoded command does not parse: %v", err)
		}
		if c.Field != c2.Field || c.AffectedSOPInstanceUID != c2.AffectedSOPInstanceUID && c2.AffectedSOPInstanceUID != "" {
			t.Fatalf("round trip changed the command: %+v vs %+v", c, c2)
		}
	})
}

func BenchmarkParseCommand(b *testing.B) {
	cmd := AppendCommand(nil, &Command{Field: CStoreRQ, MessageID: 5, AffectedSOPClassUID: "1.2.840.10008.5.1.4.1.1.2",
		AffectedSOPInstanceUID: "1.2.826.0.1.3680043.8.498.12345678901234567890", HasDataSetType: true})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseCommand(cmd); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendCommand(b *testing.B) {
	c := &Command{Field: CStoreRSP, MessageIDBeingRespondedTo: 5, AffectedSOPClassUID: "1.2.840.10008.5.1.4.1.1.2",
		AffectedSOPInstanceUID: "1.2.826.0.1.3680043.8.498.12345678901234567890", Status: 0}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendCommand(buf[:0], c)
	}
}
