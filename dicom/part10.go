package dicom

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ErrNoMeta is returned (in a *ParseError) by ReadFileMeta and SplitFile for
// a stream that does not start with the 128-byte preamble and "DICM" of a
// Part-10 file (PS3.10 §7.1).
var ErrNoMeta = errors.New("no file meta information (128-byte preamble and DICM prefix)")

// MaxFileMetaLength bounds the File Meta Information group that
// ReadFileMeta accepts (preamble and prefix excluded); real ones are a few
// hundred bytes.
const MaxFileMetaLength = 64 << 10

// FileMeta is the File Meta Information of a Part-10 file: group 0002, in
// explicit VR little endian after the preamble and "DICM" (PS3.10 §7.1).
type FileMeta struct {
	// The values of the usual elements: UIDs without their trailing NUL or
	// space padding, AE titles and the version name without spaces.
	TransferSyntaxUID          string
	MediaStorageSOPClassUID    string
	MediaStorageSOPInstanceUID string
	ImplementationClassUID     string
	ImplementationVersionName  string
	SourceAET                  string // (0002,0016)
	SendingAET                 string // (0002,0017)
	ReceivingAET               string // (0002,0018)
	// Elements are all group 0002 elements in stream order, values held.
	Elements []Element
	// Length is the number of bytes from the start of the file through the
	// end of group 0002: the offset of the data set.
	Length int64

	pending []byte // bytes read past group 0002; see DataSet
}

// DataSet returns the reader of the data set that follows the meta in r (the
// reader given to ReadFileMeta): r itself, preceded by any bytes ReadFileMeta
// had to read past group 0002.
func (m *FileMeta) DataSet(r io.Reader) io.Reader {
	if len(m.pending) == 0 {
		return r
	}
	return io.MultiReader(bytes.NewReader(m.pending), r)
}

// peeker is what ReadFileMeta needs to look at the next tag without
// consuming it; *bufio.Reader has it.
type peeker interface {
	Peek(n int) ([]byte, error)
}

// ReadFileMeta reads the preamble, "DICM" and the group 0002 elements of a
// Part-10 file from r, and no further when it can help it:
//
//   - When r has a Peek method (*bufio.Reader with a buffer of at least 132
//     bytes), it reads element by element and stops before the first tag
//     outside group 0002, whatever (0002,0000) says; on ErrNoMeta it has
//     consumed nothing.
//   - Otherwise it relies on the File Meta Information Group Length
//     (0002,0000) to stop exactly at the end of the group. Without one, it
//     stops at the first tag outside group 0002 after reading its first
//     bytes; FileMeta.DataSet gives them back. On ErrNoMeta the bytes read
//     are lost.
//
// In every case the data set is read from m.DataSet(r).
func ReadFileMeta(r io.Reader) (*FileMeta, error) {
	s := &metaSource{r: r}
	if pk, ok := r.(peeker); ok {
		// A reader too small to peek the prefix is read like any other.
		if _, err := pk.Peek(PreambleLength + 4); !errors.Is(err, bufio.ErrBufferFull) {
			s.pk = pk
		}
	}
	return readFileMeta(s)
}

// SplitFile splits a whole Part-10 file into its meta and its data set.
func SplitFile(b []byte) (meta *FileMeta, dataset []byte, err error) {
	sp := &slicePeeker{b: b}
	m, err := readFileMeta(&metaSource{r: sp, pk: sp})
	if err != nil {
		return nil, nil, err
	}
	return m, b[m.Length:], nil
}

// slicePeeker serves SplitFile: Peek and Read over a byte slice.
type slicePeeker struct {
	b   []byte
	off int
}

func (s *slicePeeker) Peek(n int) ([]byte, error) {
	rest := s.b[s.off:]
	if len(rest) < n {
		return rest, io.EOF
	}
	return rest[:n], nil
}

func (s *slicePeeker) Read(p []byte) (int, error) {
	if s.off >= len(s.b) {
		return 0, io.EOF
	}
	n := copy(p, s.b[s.off:])
	s.off += n
	return n, nil
}

// metaSource reads the meta with look-ahead: through pk when the reader can
// peek, else by keeping read-ahead bytes in pending.
type metaSource struct {
	r       io.Reader
	pk      peeker
	pending []byte
	pos     int64
}

// peek returns the next n bytes without consuming them; fewer at the end of
// the stream.
func (s *metaSource) peek(n int) ([]byte, error) {
	if s.pk != nil {
		b, err := s.pk.Peek(n)
		if len(b) < n && err == nil {
			err = io.ErrUnexpectedEOF
		}
		return b, err
	}
	if len(s.pending) < n {
		more := make([]byte, n-len(s.pending))
		k, err := io.ReadFull(s.r, more)
		s.pending = append(s.pending, more[:k]...)
		if err != nil {
			return s.pending, err
		}
	}
	return s.pending[:n], nil
}

// readFull consumes len(b) bytes into b.
func (s *metaSource) readFull(b []byte) error {
	k := 0
	if s.pk == nil {
		k = copy(b, s.pending)
		s.pending = s.pending[k:]
	}
	var err error
	if k < len(b) {
		var m int
		m, err = io.ReadFull(s.r, b[k:])
		k += m
	}
	s.pos += int64(k)
	return err
}

func readFileMeta(s *metaSource) (*FileMeta, error) {
	const prefix = PreambleLength + 4
	b, _ := s.peek(prefix)
	if len(b) < prefix || string(b[PreambleLength:prefix]) != "DICM" {
		return nil, &ParseError{Offset: 0, Err: ErrNoMeta}
	}
	if err := s.readFull(make([]byte, prefix)); err != nil {
		return nil, &ParseError{Offset: 0, Err: ErrNoMeta}
	}
	m := &FileMeta{}
	groupEnd := int64(-1) // from (0002,0000), trusted only without Peek
	for {
		if s.pk == nil && groupEnd >= 0 && s.pos >= groupEnd {
			if s.pos > groupEnd {
				return nil, &ParseError{Offset: s.pos, Tag: m.Elements[len(m.Elements)-1].Tag,
					Err: fmt.Errorf("%w: element crosses the end of group 0002 at %d", ErrMalformed, groupEnd)}
			}
			break
		}
		start := s.pos
		h, err := s.peek(8)
		if len(h) < 2 || binary.LittleEndian.Uint16(h[0:2]) != 0x0002 {
			break // end of the group (or of the file)
		}
		if err != nil {
			return nil, &ParseError{Offset: start, Err: fmt.Errorf("%w (%w)", ErrTruncated, io.ErrUnexpectedEOF)}
		}
		tag := NewTag(0x0002, binary.LittleEndian.Uint16(h[2:4]))
		vr := VR(h[4])<<8 | VR(h[5])
		hlen, length := 8, uint32(binary.LittleEndian.Uint16(h[6:8]))
		switch {
		case vr.Known() && !vr.LongLength():
		case vr.Known() || isUpperASCII(h[4]) && isUpperASCII(h[5]):
			h, err = s.peek(12)
			if err != nil {
				return nil, &ParseError{Offset: start, Tag: tag, Err: fmt.Errorf("%w (%w)", ErrTruncated, io.ErrUnexpectedEOF)}
			}
			hlen, length = 12, binary.LittleEndian.Uint32(h[8:12])
		default:
			return nil, &ParseError{Offset: start, Tag: tag, Err: fmt.Errorf("%w: VR bytes %#02x %#02x", ErrBadVR, h[4], h[5])}
		}
		if length == UndefinedLength || start+int64(hlen)+int64(length)-prefix > MaxFileMetaLength {
			return nil, &ParseError{Offset: start, Tag: tag, Err: fmt.Errorf("%w: group 0002 longer than %d bytes", ErrMalformed, MaxFileMetaLength)}
		}
		if err := s.readFull(make([]byte, hlen)); err != nil {
			return nil, &ParseError{Offset: start, Tag: tag, Err: fmt.Errorf("%w (%w)", ErrTruncated, io.ErrUnexpectedEOF)}
		}
		v := make([]byte, length)
		if err := s.readFull(v); err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, fmt.Errorf("dicom: reading file meta at offset %d: %w", s.pos, err)
			}
			return nil, &ParseError{Offset: start, Tag: tag, Err: fmt.Errorf("%w (%w)", ErrTruncated, io.ErrUnexpectedEOF)}
		}
		m.Elements = append(m.Elements, Element{Tag: tag, VR: vr, Length: length, Offset: start,
			HeaderLen: hlen, End: s.pos, Value: v})
		if tag == TagFileMetaInformationGroupLength && length == 4 && len(m.Elements) == 1 {
			groupEnd = s.pos + int64(binary.LittleEndian.Uint32(v))
		}
	}
	m.Length = s.pos
	m.pending = s.pending
	for i := range m.Elements {
		e := &m.Elements[i]
		switch e.Tag {
		case TagTransferSyntaxUID:
			m.TransferSyntaxUID = trimUID(e.Value)
		case TagMediaStorageSOPClassUID:
			m.MediaStorageSOPClassUID = trimUID(e.Value)
		case TagMediaStorageSOPInstanceUID:
			m.MediaStorageSOPInstanceUID = trimUID(e.Value)
		case TagImplementationClassUID:
			m.ImplementationClassUID = trimUID(e.Value)
		case TagImplementationVersionName:
			m.ImplementationVersionName = string(bytes.Trim(e.Value, " \x00"))
		case TagSourceApplicationEntityTitle:
			m.SourceAET = string(bytes.Trim(e.Value, " \x00"))
		case TagSendingApplicationEntityTitle:
			m.SendingAET = string(bytes.Trim(e.Value, " \x00"))
		case TagReceivingApplicationEntityTitle:
			m.ReceivingAET = string(bytes.Trim(e.Value, " \x00"))
		}
	}
	return m, nil
}

// trimUID returns a UI value without its trailing NUL or space padding
// (PS3.5 §9.1).
func trimUID(b []byte) string { return string(bytes.TrimRight(b, "\x00 ")) }
