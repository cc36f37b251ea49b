package dimse

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"hash/crc64"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dicomrecv/dicomrecv/internal/pdu"
	"github.com/dicomrecv/dicomrecv/internal/testutil"
)

var updateReaderCorpus = flag.Bool("update-reader-corpus", false, "rewrite testdata/fuzz/FuzzReaderSplit")

// A script is the fuzzer's description of a PDV stream. Its first byte
// selects the mode: with bit 7 set, the rest is the stream itself (raw
// PDUs); otherwise the rest is a list of PDV records, each a flags byte
// and a length and data as the flags say, which buildStream turns into
// well-formed P-DATA-TF PDUs. The flags byte:
//
//	bit 0     command (message control header bit 0)
//	bit 1     last fragment (bit 1)
//	bits 2-3  presentation context: 1, 3, 5 or 255
//	bit 4     start a new P-DATA-TF PDU before this PDV
//	bits 5-6  0: a length byte and that many data bytes from the script;
//	          1: a 2-byte length and a fill byte (data not in the script);
//	          2: a 3-byte length, capped at 100 KiB, and a fill byte;
//	          3: a command byte: a well-formed command set (C-ECHO-RQ,
//	          C-STORE-RQ with a data set, C-FIND-RQ with a data set, or a
//	          C-STORE-RQ with data set type 0101H, no data set)
//	bit 7     set the message control header's reserved bits (2-7), which
//	          a receiver does not check (PS3.8 Annex E.2)
const (
	rawScript     = 0x80
	maxScriptPDVs = 512
	maxStream     = 256 << 10
	maxFill       = 100 << 10
)

var contextIDs = [4]byte{1, 3, 5, 255}

// scriptPDV is one PDV of a script.
type scriptPDV struct {
	ctx        byte
	cmd, last  bool
	data       []byte
	newPDU     bool
	reservedMC bool
}

// parseScript decodes the records of a structured script.
func parseScript(s []byte) []scriptPDV {
	var pdvs []scriptPDV
	total := 0
	take := func(n int) []byte {
		n = min(n, len(s))
		b := s[:n]
		s = s[n:]
		return b
	}
	num := func(n int) int {
		v := 0
		for _, c := range take(n) {
			v = v<<8 | int(c)
		}
		return v
	}
	for len(s) > 0 && len(pdvs) < maxScriptPDVs {
		fl := take(1)[0]
		p := scriptPDV{ctx: contextIDs[fl>>2&3], cmd: fl&1 != 0, last: fl&2 != 0, newPDU: fl&0x10 != 0 || len(pdvs) == 0, reservedMC: fl&0x80 != 0}
		switch fl >> 5 & 3 {
		case 0:
			p.data = take(num(1))
		case 1:
			n := num(2)
			p.data = bytes.Repeat([]byte{byte(num(1))}, n)
		case 2:
			n := min(num(3), maxFill)
			p.data = bytes.Repeat([]byte{byte(num(1))}, n)
		case 3:
			p.data = scriptCommand(byte(num(1)))
		}
		if total += len(p.data) + pdu.PDVHeaderLength; total > maxStream {
			break
		}
		pdvs = append(pdvs, p)
	}
	return pdvs
}

// scriptCommand is a well-formed command set chosen by k.
func scriptCommand(k byte) []byte {
	c := &Command{MessageID: uint16(k), AffectedSOPClassUID: "1.2.840.10008.5.1.4.1.1.2", AffectedSOPInstanceUID: "1.2.3." + strconv.Itoa(int(k)), HasDataSetType: true}
	switch k % 4 {
	case 0:
		c.Field, c.AffectedSOPClassUID, c.AffectedSOPInstanceUID, c.HasDataSetType = CEchoRQ, "1.2.840.10008.1.1", "", false
	case 1:
		c.Field = CStoreRQ
	case 2:
		c.Field = CFindRQ
	case 3:
		c.Field, c.DataSetType = CStoreRQ, noDataSet
	}
	return AppendCommand(nil, c)
}

// encodeScript frames the PDVs into P-DATA-TF PDUs.
func encodeScript(pdvs []scriptPDV) []byte {
	var stream []byte
	start := -1
	finish := func() {
		if start >= 0 {
			binary.BigEndian.PutUint32(stream[start+2:], uint32(len(stream)-start-pdu.HeaderLength))
		}
	}
	for _, p := range pdvs {
		if p.newPDU {
			finish()
			start = len(stream)
			stream = append(stream, byte(pdu.TypePDataTF), 0, 0, 0, 0, 0)
		}
		mch := byte(0)
		if p.cmd {
			mch |= 1
		}
		if p.last {
			mch |= 2
		}
		if p.reservedMC {
			mch |= 0xFC
		}
		stream = binary.BigEndian.AppendUint32(stream, uint32(len(p.data)+2))
		stream = append(stream, p.ctx, mch)
		stream = append(stream, p.data...)
	}
	finish()
	return stream
}

// expected is what a Reader must make of the PDVs, following PS3.8 Annex
// E and PS3.7 §6.3.1 directly: each message is a command set (command
// fragments on one context, up to the one flagged last, at most
// MaxCommandLength bytes) and, when the command announces one, a data set
// (data fragments on the command's context, up to the one flagged last).
func expected(pdvs []scriptPDV) []string {
	var out []string
	i := 0
	for {
		var buf []byte
		var ctx byte
		for first := true; ; first = false {
			if i == len(pdvs) {
				return append(out, "error eof")
			}
			p := pdvs[i]
			i++
			switch {
			case !p.cmd:
				return append(out, fmt.Sprintf("error protocol %d", abortUnexpectedParameter))
			case !first && p.ctx != ctx:
				return append(out, fmt.Sprintf("error protocol %d", abortUnexpectedParameter))
			case len(buf)+len(p.data) > MaxCommandLength:
				return append(out, fmt.Sprintf("error protocol %d", abortInvalidParameter))
			}
			ctx = p.ctx
			buf = append(buf, p.data...)
			if p.last {
				break
			}
		}
		c, err := ParseCommand(buf)
		if err != nil {
			return append(out, "error command")
		}
		out = append(out, event("command", ctx, buf))
		if !c.HasDataSet() {
			continue
		}
		var data []byte
		for {
			if i == len(pdvs) {
				return append(out, "error unexpected-eof")
			}
			p := pdvs[i]
			i++
			if p.cmd || p.ctx != ctx {
				return append(out, fmt.Sprintf("error protocol %d", abortUnexpectedParameter))
			}
			data = append(data, p.data...)
			if p.last {
				break
			}
		}
		out = append(out, event("data", 0, data))
	}
}

// event describes a command set or data set compactly: its length and
// checksum stand for its bytes.
func event(kind string, ctx byte, b []byte) string {
	return fmt.Sprintf("%s ctx %d len %d crc %016x", kind, ctx, len(b), crc64.Checksum(b, crcTable))
}

var crcTable = crc64.MakeTable(crc64.ECMA)

// errOtherPDU ends the PDV stream at a PDU that is not a P-DATA-TF, as the
// association does (it handles the PDU itself).
var errOtherPDU = errors.New("not a P-DATA-TF PDU")

// pduSource is a PDVSource over a PDU stream, counting the bytes of PDV
// data it hands out.
type pduSource struct {
	r      *pdu.Reader
	inData bool
	given  int
}

func (s *pduSource) NextPDV() (pdu.PDVHeader, error) {
	for {
		if s.inData {
			h, err := s.r.NextPDV()
			if err != io.EOF {
				return h, err
			}
			s.inData = false
		}
		h, err := s.r.ReadHeader()
		if err != nil {
			return pdu.PDVHeader{}, err
		}
		if h.Type != pdu.TypePDataTF {
			return pdu.PDVHeader{}, errOtherPDU
		}
		s.inData = true
	}
}

func (s *pduSource) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.given += n
	return n, err
}

func (s *pduSource) Next(n int) ([]byte, error) {
	p, err := s.r.Next(n)
	s.given += len(p)
	return p, err
}

// splitReader returns its bytes in chunks of sizes drawn from r.
type splitReader struct {
	b []byte
	r *rand.Rand
}

func (s *splitReader) Read(p []byte) (int, error) {
	if len(s.b) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), len(s.b), 1+s.r.IntN(1+s.r.IntN(4)*s.r.IntN(3000)))
	copy(p, s.b[:n])
	s.b = s.b[n:]
	return n, nil
}

func classify(err error) string {
	var pe *ProtocolError
	var ppe *pdu.ParseError
	switch {
	case errors.As(err, &pe):
		return fmt.Sprintf("protocol %d", pe.Reason)
	case errors.Is(err, ErrCommand):
		return "command"
	case errors.As(err, &ppe):
		return "pdu"
	case errors.Is(err, errOtherPDU):
		return "other-pdu"
	case err == io.EOF:
		return "eof"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "unexpected-eof"
	}
	return "unknown " + err.Error()
}

// readAll reads the messages of stream with a Reader over a pdu.Reader
// with a buffer of bufSize bytes, fed by src, and reads each data set in
// the way and the pieces rnd chooses. It checks on the way that a command
// set never takes more than MaxCommandLength bytes from the source.
func readAll(t *testing.T, src io.Reader, bufSize int, rnd *rand.Rand) []string {
	t.Helper()
	ps := &pduSource{r: pdu.NewReader(src, bufSize)}
	r := NewReader(ps)
	var out []string
	for len(out) < 2*maxScriptPDVs {
		before := ps.given
		ctx, c, err := r.ReadCommand()
		if took := ps.given - before; took > MaxCommandLength || len(r.cmdBuf) > MaxCommandLength {
			t.Fatalf("a command set took %d bytes from the source and holds %d (limit %d)", took, len(r.cmdBuf), MaxCommandLength)
		}
		if err != nil {
			return append(out, "error "+classify(err))
		}
		out = append(out, event("command", ctx, r.cmdBuf))
		if c2, err := ParseCommand(r.cmdBuf); err != nil || !cmp.Equal(c, c2) {
			t.Fatalf("ReadCommand returned %+v for a command set that parses as %+v, %v", c, c2, err)
		}
		if !c.HasDataSet() {
			continue
		}
		d := r.DataSet(ctx)
		var data []byte
		switch rnd.IntN(3) {
		case 0: // Read in pieces
			for {
				p := make([]byte, 1+rnd.IntN(5000))
				n, err := d.Read(p)
				data = append(data, p[:n]...)
				if err == io.EOF {
					break
				}
				if err != nil {
					return append(out, "error "+classify(err))
				}
			}
		case 1: // Next in pieces
			for {
				p, err := d.Next(1 + rnd.IntN(5000))
				data = append(data, p...)
				if err == io.EOF {
					break
				}
				if err != nil {
					return append(out, "error "+classify(err))
				}
			}
		case 2: // WriteTo
			var b bytes.Buffer
			n, err := d.WriteTo(&b)
			if n != int64(b.Len()) {
				t.Fatalf("WriteTo reported %d bytes, wrote %d", n, b.Len())
			}
			data = b.Bytes()
			if err != nil {
				return append(out, "error "+classify(err))
			}
		}
		if !d.Done() || d.Count() != int64(len(data)) {
			t.Fatalf("data set read to its end: done %v, count %d for %d bytes", d.Done(), d.Count(), len(data))
		}
		if p, err := d.Next(10); len(p) != 0 || err != io.EOF {
			t.Fatalf("Next after the end of the data set: %d bytes, %v", len(p), err)
		}
		out = append(out, event("data", 0, data))
	}
	return out
}

// FuzzReaderSplit feeds a PDV stream built from the fuzzer's script
// through a pdu.Reader, with reads split where the fuzzer chooses, into a
// dimse Reader, and reads every command and data set in pieces of the
// fuzzer's sizes. The Reader must never panic, never take more than
// MaxCommandLength bytes for a command set (an oversized one is refused
// before it is held), read the stream the same however it is split, and,
// for well-formed framing, make exactly the messages and errors that
// PS3.8 Annex E calls for.
func FuzzReaderSplit(f *testing.F) {
	f.Fuzz(func(t *testing.T, script []byte, seed uint64) {
		if len(script) > maxStream {
			return
		}
		var stream []byte
		var want []string
		if len(script) > 0 && script[0]&rawScript != 0 {
			stream = script[1:]
		} else if len(script) > 0 {
			pdvs := parseScript(script[1:])
			stream = encodeScript(pdvs)
			want = expected(pdvs)
		}
		whole := readAll(t, bytes.NewReader(stream), max(16, len(stream)), rand.New(rand.NewPCG(seed, 1)))
		rnd := rand.New(rand.NewPCG(seed, seed>>32|1))
		split := readAll(t, &splitReader{b: stream, r: rnd}, 16+int(seed%5000), rnd)
		if !slices.Equal(whole, split) {
			t.Fatalf("the stream split into reads is read differently:\n%s", cmp.Diff(whole, split))
		}
		if want != nil && !slices.Equal(want, split) {
			t.Fatalf("read differently from PS3.8 Annex E (-want +got):\n%s", cmp.Diff(want, split))
		}
		for _, ev := range split {
			if len(ev) > 14 && ev[:14] == "error unknown " {
				t.Fatalf("an error of no known kind: %s", ev)
			}
		}
	})
}

// TestWriteReaderSplitCorpus rewrites testdata/fuzz/FuzzReaderSplit with
// -update-reader-corpus.
func TestWriteReaderSplitCorpus(t *testing.T) {
	if !*updateReaderCorpus {
		t.Skip("run with -update-reader-corpus to rewrite testdata/fuzz/FuzzReaderSplit")
	}
	// Record helpers: flags for a PDV carrying data from the script, a
	// fill, or a well-formed command.
	data := func(fl byte, b []byte) []byte { return append([]byte{fl & 0x9F, byte(len(b))}, b...) }
	fill := func(fl byte, n int, v byte) []byte { return []byte{fl&0x9F | 0x20, byte(n >> 8), byte(n), v} }
	command := func(fl byte, k byte) []byte { return []byte{fl | 0x60, k} }
	const cmdLast, dataLast, cmdMore, dataMore, ctx3, newPDU = 3, 2, 1, 0, 1 << 2, 0x10
	cat := func(parts ...[]byte) []byte { return bytes.Join(append([][]byte{{0}}, parts...), nil) }
	store := scriptCommand(1)
	transcript, err := os.ReadFile(filepath.Join("..", "..", "testdata", "transcripts", "storescu_ct_mr_pdu4096.client.bin"))
	if err != nil {
		t.Fatal(err)
	}
	afterRQ := transcript[pdu.HeaderLength+int(binary.BigEndian.Uint32(transcript[2:6])):]
	seeds := map[string][]byte{
		"echo":                    cat(command(cmdLast, 0)),
		"store-fragments":         cat(command(cmdLast, 1), data(dataMore, []byte{8, 0, 0x16, 0}), data(dataMore|newPDU, nil), fill(dataLast, 1000, 7), command(cmdLast|newPDU, 4)),
		"store-command-split":     cat(data(cmdMore, store[:10]), data(cmdMore|newPDU, store[10:11]), data(cmdLast, store[11:]), fill(dataLast|newPDU, 300, 1)),
		"find-then-echo":          cat(command(cmdLast, 2), fill(dataLast, 20, 0), command(cmdLast|0x80, 8)),
		"no-data-set":             cat(command(cmdLast, 3), command(cmdLast, 4)),
		"command-too-long":        cat(fill(cmdMore, 30000, 0), fill(cmdMore|newPDU, 30000, 0), fill(cmdMore|newPDU, 30000, 0)),
		"command-at-limit":        cat(fill(cmdMore, 32768, 0), fill(cmdLast|newPDU, 32768, 0)),
		"data-first":              cat(data(dataLast, []byte{1, 2})),
		"command-two-contexts":    cat(data(cmdMore, store[:6]), data(cmdLast|ctx3, store[6:])),
		"data-other-context":      cat(command(cmdLast, 1), data(dataLast|ctx3, []byte{1, 2})),
		"command-inside-data":     cat(command(cmdLast, 5), data(dataMore, []byte{1, 2}), command(cmdLast, 4)),
		"data-set-cut":            cat(command(cmdLast, 1), fill(dataMore, 5000, 9)),
		"undecodable-command":     cat(data(cmdLast, []byte{0, 0, 1, 0, 4, 0, 0, 0, 1, 2, 3, 4})),
		"big-data-set":            cat(command(cmdLast, 1), []byte{0x40, 0x04, 0x00, 0x00, 0x55}, data(dataLast|newPDU, nil)),
		"raw-storescu-transcript": append([]byte{rawScript}, afterRQ...),
		"raw-pdv-overflow":        {rawScript, 4, 0, 0, 0, 0, 8, 0, 0, 0, 9, 1, 3, 0, 0},
		"raw-release":             {rawScript, 5, 0, 0, 0, 0, 4, 0, 0, 0, 0},
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzReaderSplit")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	names := slices.Sorted(maps.Keys(seeds))
	for i, name := range names {
		s := seeds[name]
		body := testutil.FuzzSeed(s, uint64(i+1)*0x9E3779B97F4A7C15)
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
