package dicom

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// metaFile builds a Part-10 file: preamble, DICM, the given group 0002
// elements (with a group length first when withGL), then the data set.
func metaFile(withGL bool, elems *dsBuilder, dataset []byte) []byte {
	b := append(make([]byte, PreambleLength), "DICM"...)
	if withGL {
		b = newDS(ExplicitLittle).with(&dsBuilder{b: b}).el(TagFileMetaInformationGroupLength, UL,
			binary.LittleEndian.AppendUint32(nil, uint32(len(elems.b)))).bytes()
	}
	b = append(b, elems.b...)
	return append(b, dataset...)
}

func sampleMeta() *dsBuilder {
	return newDS(ExplicitLittle).
		el(TagFileMetaInformationVersion, OB, []byte{0, 1}).
		str(TagMediaStorageSOPClassUID, UI, "1.2.840.10008.5.1.4.1.1.2\x00").
		str(TagMediaStorageSOPInstanceUID, UI, "1.2.3.4 ").
		str(TagTransferSyntaxUID, UI, "1.2.840.10008.1.2.1\x00").
		str(TagImplementationClassUID, UI, "1.2.999\x00").
		str(TagImplementationVersionName, SH, "TEST 1.0").
		str(TagSourceApplicationEntityTitle, AE, " SRC").
		str(TagSendingApplicationEntityTitle, AE, "SEND  ").
		str(TagReceivingApplicationEntityTitle, AE, "RECV")
}

func TestReadFileMeta(t *testing.T) {
	dataset := newDS(ExplicitLittle).str(tModality, CS, "CT").str(tPatientName, PN, "A^B ").bytes()
	wantFields := FileMeta{
		TransferSyntaxUID: "1.2.840.10008.1.2.1", MediaStorageSOPClassUID: "1.2.840.10008.5.1.4.1.1.2",
		MediaStorageSOPInstanceUID: "1.2.3.4", ImplementationClassUID: "1.2.999", ImplementationVersionName: "TEST 1.0",
		SourceAET: "SRC", SendingAET: "SEND", ReceivingAET: "RECV",
	}
	for _, withGL := range []bool{true, false} {
		file := metaFile(withGL, sampleMeta(), dataset)
		metaLen := int64(len(file) - len(dataset))
		for _, rc := range []struct {
			name string
			// reader returns the reader for ReadFileMeta and the count of
			// bytes it consumed from the file so far (nil: not counted).
			reader func([]byte) (io.Reader, *int64)
			// exact: ReadFileMeta must not read past group 0002.
			exact bool
		}{
			{"bufio", func(b []byte) (io.Reader, *int64) { return bufio.NewReader(bytes.NewReader(b)), nil }, true},
			{"plain", func(b []byte) (io.Reader, *int64) {
				cr := &countingReader{r: &splitReader{data: b, sizes: []int{3}}}
				return cr, &cr.n
			}, withGL},
			// Too small to peek the prefix: read like a plain reader.
			{"bufio-16", func(b []byte) (io.Reader, *int64) {
				return bufio.NewReaderSize(&splitReader{data: b, sizes: []int{1}}, 16), nil
			}, withGL},
		} {
			t.Run(rc.name+map[bool]string{true: "-grouplength", false: "-no-grouplength"}[withGL], func(t *testing.T) {
				r, consumed := rc.reader(file)
				m, err := ReadFileMeta(r)
				if err != nil {
					t.Fatal(err)
				}
				got := *m
				got.Elements, got.Length, got.pending = nil, 0, nil
				if diff := cmp.Diff(wantFields, got, cmp.AllowUnexported(FileMeta{})); diff != "" {
					t.Errorf("fields (-want +got):\n%s", diff)
				}
				if m.Length != metaLen {
					t.Errorf("Length %d, want %d", m.Length, metaLen)
				}
				if n := len(m.Elements); n != 9+btoi(withGL) {
					t.Errorf("%d elements", n)
				}
				if rc.exact && (len(m.pending) != 0 || consumed != nil && *consumed != metaLen) {
					t.Errorf("read past group 0002: %d bytes pending", len(m.pending))
				}
				rest, err := io.ReadAll(m.DataSet(r))
				if err != nil || !bytes.Equal(rest, dataset) {
					t.Errorf("data set after the meta: %q, %v", rest, err)
				}
			})
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestReadFileMetaErrors(t *testing.T) {
	good := metaFile(true, sampleMeta(), nil)
	noDICM := append([]byte(nil), good...)
	copy(noDICM[PreambleLength:], "DICX")
	for _, c := range []struct {
		name string
		file []byte
		want error
	}{
		{"empty", nil, ErrNoMeta},
		{"short", good[:100], ErrNoMeta},
		{"no-DICM", noDICM, ErrNoMeta},
		{"truncated-header", good[:PreambleLength+4+12+5], ErrTruncated},
		{"truncated-value", good[:PreambleLength+4+12+12+1], ErrTruncated},
		{"bad-vr", metaFile(false, newDS(ExplicitLittle).raw(2, 0, 0x10, 0, 'u', 'i', 2, 0, '1', 0), nil), ErrBadVR},
		{"undefined-length", metaFile(false, newDS(ExplicitLittle).hdr(0x00020001, OB, UndefinedLength), nil), ErrMalformed},
		{"too-long", metaFile(false, newDS(ExplicitLittle).hdr(0x00020001, OB, MaxFileMetaLength+1), nil), ErrMalformed},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, r := range []io.Reader{bytes.NewReader(c.file), bufio.NewReader(bytes.NewReader(c.file))} {
				_, err := ReadFileMeta(r)
				var pe *ParseError
				if !errors.Is(err, c.want) || !errors.As(err, &pe) {
					t.Errorf("%T: got %v, want %v", r, err, c.want)
				}
			}
			if _, _, err := SplitFile(c.file); !errors.Is(err, c.want) {
				t.Errorf("SplitFile: got %v, want %v", err, c.want)
			}
		})
	}
	// A group length that cuts an element in two (no Peek: trusted).
	bad := metaFile(false, newDS(ExplicitLittle).el(TagFileMetaInformationGroupLength, UL, []byte{5, 0, 0, 0}).
		str(TagTransferSyntaxUID, UI, "1.2\x00"), nil)
	if _, err := ReadFileMeta(bytes.NewReader(bad)); !errors.Is(err, ErrMalformed) {
		t.Errorf("group length inside an element: %v", err)
	}
	// With Peek the group length is not needed: element by element.
	if m, err := ReadFileMeta(bufio.NewReader(bytes.NewReader(bad))); err != nil || m.TransferSyntaxUID != "1.2" {
		t.Errorf("bufio, wrong group length: %+v, %v", m, err)
	}
}

func TestReadFileMetaNoMetaConsumesNothingWithPeek(t *testing.T) {
	dataset := newDS(ExplicitLittle).str(tModality, CS, "CT").bytes()
	br := bufio.NewReader(bytes.NewReader(dataset))
	if _, err := ReadFileMeta(br); !errors.Is(err, ErrNoMeta) {
		t.Fatalf("got %v", err)
	}
	rest, _ := io.ReadAll(br)
	if !bytes.Equal(rest, dataset) {
		t.Fatalf("bytes consumed: %q left", rest)
	}
}

func TestSplitFile(t *testing.T) {
	dataset := newDS(ExplicitLittle).str(tModality, CS, "CT").bytes()
	for _, withGL := range []bool{true, false} {
		m, ds, err := SplitFile(metaFile(withGL, sampleMeta(), dataset))
		if err != nil || !bytes.Equal(ds, dataset) || m.TransferSyntaxUID != "1.2.840.10008.1.2.1" {
			t.Fatalf("group length %v: %+v, %q, %v", withGL, m, ds, err)
		}
	}
	// Only meta, no data set.
	m, ds, err := SplitFile(metaFile(false, sampleMeta(), nil))
	if err != nil || len(ds) != 0 || m.ReceivingAET != "RECV" {
		t.Fatalf("meta only: %+v, %q, %v", m, ds, err)
	}
	// Round trip with the writer of the package.
	file := AppendFileMeta(nil, &MetaInfo{MediaStorageSOPClassUID: "1.2.3", MediaStorageSOPInstanceUID: "4.5.6",
		TransferSyntaxUID: "1.2.840.10008.1.2", ImplementationClassUID: "2.25.1", ImplementationVersionName: "X",
		SourceAETitle: "A", SendingAETitle: "B", ReceivingAETitle: "C"})
	m, ds, err = SplitFile(append(file, dataset...))
	want := FileMeta{TransferSyntaxUID: "1.2.840.10008.1.2", MediaStorageSOPClassUID: "1.2.3", MediaStorageSOPInstanceUID: "4.5.6",
		ImplementationClassUID: "2.25.1", ImplementationVersionName: "X", SourceAET: "A", SendingAET: "B", ReceivingAET: "C",
		Length: int64(len(file))}
	if err != nil || !bytes.Equal(ds, dataset) {
		t.Fatalf("AppendFileMeta round trip: %v", err)
	}
	m.Elements = nil
	if diff := cmp.Diff(want, *m, cmp.AllowUnexported(FileMeta{})); diff != "" {
		t.Fatalf("AppendFileMeta round trip (-want +got):\n%s", diff)
	}
}
