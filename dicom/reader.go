package dicom

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"unsafe"
)

// Defaults of Limits; a zero field of Limits selects its default.
const (
	// DefaultMaxDepth is the deepest sequence nesting ReadHeader accepts: a
	// top-level sequence is at depth 1.
	DefaultMaxDepth = 64
	// DefaultMaxValueLength is the longest value ReadHeader holds; longer
	// values are read past and marked Element.Skipped.
	DefaultMaxValueLength = 1 << 20
	// DefaultMaxElements is the most data elements and items, all nesting
	// levels together, that ReadHeader parses.
	DefaultMaxElements = 1 << 20
	// DefaultKeepItems is how many items of each sequence keep their
	// elements. Tag extraction looks into first items only.
	DefaultKeepItems = 1
	// DefaultMaxHeldBytes bounds the memory a Header holds (see
	// Header.HeldBytes).
	DefaultMaxHeldBytes = 64 << 20
)

// Limits bounds the work ReadHeader does and the memory its Header holds,
// whatever the lengths in the stream claim. The zero value of each field
// selects its default.
type Limits struct {
	// MaxDepth is the deepest sequence nesting allowed (a top-level
	// sequence is at depth 1); deeper nesting fails with ErrTooDeep.
	MaxDepth int
	// MaxValueLength: values longer than this are read past, not held
	// (Element.Skipped). Negative: no value is held.
	MaxValueLength int
	// MaxElements is the most data elements plus items (sequence items and
	// encapsulated fragments), all levels together; more fail with
	// ErrTooManyElements.
	MaxElements int
	// KeepItems is how many items of each sequence keep their elements; the
	// others are parsed and validated, counted in Element.ItemCount, and
	// dropped. Negative: all items are kept.
	KeepItems int
	// MaxHeldBytes bounds the memory the Header holds: held value bytes
	// plus a fixed cost per retained element and item (Header.HeldBytes).
	// A value that would exceed it is read past (Element.Skipped); an
	// element or item that would exceed it fails with ErrTooLarge.
	MaxHeldBytes int64
}

func (l Limits) withDefaults() Limits {
	if l.MaxDepth == 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxValueLength == 0 {
		l.MaxValueLength = DefaultMaxValueLength
	}
	if l.MaxElements == 0 {
		l.MaxElements = DefaultMaxElements
	}
	if l.KeepItems == 0 {
		l.KeepItems = DefaultKeepItems
	}
	if l.MaxHeldBytes == 0 {
		l.MaxHeldBytes = DefaultMaxHeldBytes
	}
	return l
}

// Errors of ReadHeader and ReadFileMeta, wrapped in a *ParseError.
var (
	// ErrTruncated: the stream ended inside an element, an item or a
	// sequence.
	ErrTruncated = errors.New("data set truncated")
	// ErrMalformed: the stream is not a well-formed data set: a length that
	// overruns its enclosing item or sequence, a wrong tag where an item or
	// delimiter must be, an undefined length where none is allowed.
	ErrMalformed = errors.New("malformed data set")
	// ErrBadVR: an explicit VR whose two bytes are not two upper-case
	// letters.
	ErrBadVR = errors.New("not a value representation")
	// ErrTooDeep: sequences nested deeper than Limits.MaxDepth.
	ErrTooDeep = errors.New("sequences nested too deep")
	// ErrTooManyElements: more than Limits.MaxElements elements and items.
	ErrTooManyElements = errors.New("too many elements")
	// ErrTooLarge: the retained elements would exceed Limits.MaxHeldBytes.
	ErrTooLarge = errors.New("header too large to hold")
)

// ParseError reports where a data set failed to parse. Err wraps one of
// ErrTruncated, ErrMalformed, ErrBadVR, ErrTooDeep, ErrTooManyElements,
// ErrTooLarge (ReadHeader) or ErrNoMeta (ReadFileMeta).
//
// A failure of the underlying reader other than end of stream is returned
// as is (wrapped with %w), never as a *ParseError, so that a caller can tell
// bad data from a broken connection.
type ParseError struct {
	// Offset is where the offending element, item or delimiter starts in
	// the decoded stream.
	Offset int64
	// Tag is the offending element's or item's tag; where the stream ends
	// before an element of an item, the sequence's tag; zero when unknown.
	Tag Tag
	Err error
}

// Error formats the error with its tag and offset.
func (e *ParseError) Error() string {
	return fmt.Sprintf("dicom: %s at offset %d: %v", e.Tag, e.Offset, e.Err)
}

// Unwrap returns Err, so that errors.Is finds the sentinel errors.
func (e *ParseError) Unwrap() error { return e.Err }

// Retained-memory costs used by Limits.MaxHeldBytes and Header.HeldBytes.
const (
	elementCost = int64(unsafe.Sizeof(Element{}))
	itemCost    = int64(unsafe.Sizeof(Item{}))
)

// Value storage: small values share arena chunks; a value larger than
// valueGrowStep is read into a buffer that grows as its bytes arrive, so a
// claimed length never allocates more than valueGrowStep ahead of the data.
const (
	arenaChunk    = 8 << 10
	arenaMaxShare = arenaChunk / 4
	valueGrowStep = 256 << 10
	skipBufSize   = 8 << 10
	elemChunk     = 1024 // see elemList
)

// elemList collects the elements of one data set or item: a slice that
// doubles up to elemChunk elements, then chunks of elemChunk assembled
// once at the end. (append grows large slices by 1.25x, which allocates
// about five times the final size for a flat header of 20,000 elements.)
type elemList struct {
	cur    []Element
	chunks [][]Element
	n      int
}

func (l *elemList) add(e Element, first int) {
	if len(l.cur) == cap(l.cur) {
		switch {
		case l.cur == nil:
			l.cur = make([]Element, 0, first)
		case cap(l.cur) < elemChunk:
			grown := make([]Element, len(l.cur), min(2*cap(l.cur), elemChunk))
			copy(grown, l.cur)
			l.cur = grown
		default:
			l.chunks = append(l.chunks, l.cur)
			l.cur = make([]Element, 0, elemChunk)
		}
	}
	l.cur = append(l.cur, e)
	l.n++
}

func (l *elemList) elements() []Element {
	if len(l.chunks) == 0 {
		return l.cur
	}
	out := make([]Element, 0, l.n)
	for _, c := range l.chunks {
		out = append(out, c...)
	}
	return append(out, l.cur...)
}

// ReadHeader reads a data set encoded as enc from r up to and including the
// header (tag, VR, length) of its first top-level pixel data element (see
// Tag.IsPixelData), or to the end of r. It never reads from r beyond that
// element header: the caller reads the pixel data from r next. It reads
// exactly the bytes it needs, so r should be buffered.
//
// It handles explicit VR little and big endian and implicit VR little
// endian; sequences and items of defined and undefined length; explicit UN
// of undefined length, whose content is implicit VR little endian (PS3.5
// §6.2.2); a standard sequence that arrives as explicit UN with a defined
// length is parsed as one (implicit VR little endian, PS3.5 §6.2.2) when
// its value is held and parses, else kept as bytes; in implicit VR, an
// undefined length on a tag the dictionary does not know as OB/OW means a
// sequence (PS3.5 §7.5); encapsulated pixel data inside sequences
// (fragments as items, PS3.5 §A.4) is validated and read past.
//
// An explicit VR of two upper-case letters that is not a VR of PS3.5 is
// read as a VR added by a later edition of the standard: 12-byte header
// with a 32-bit length, like OB and UN (PS3.5 §7.1.2; DCMTK does the same;
// pydicom assumes the 8-byte header and fails when the value is used); the
// element keeps those letters as its VR and its value as bytes, rendered
// like UN. Other VR bytes fail with ErrBadVR.
//
// Values are held in the data set's byte order, up to lim.MaxValueLength
// each (UN content: little endian). Errors in the data are *ParseError.
func ReadHeader(r io.Reader, enc Encoding, lim Limits) (*Header, error) {
	p := &hdrParser{r: r, lim: lim.withDefaults()}
	top := hdrFrame{enc: enc, end: -1, limit: -1, keep: true, top: true}
	elems, err := p.readElements(&top)
	if err != nil {
		return nil, err
	}
	return &Header{Elements: elems, PixelData: p.pixel, Length: p.pos}, nil
}

// A HeaderReader reads headers as ReadHeader does, but reuses its buffers
// from one call to the next: the top-level element slice and the first
// chunk of value storage. A receiver that parses one object after another
// on a connection allocates far less. The Header a call returns, and every
// value in it, is valid only until the next call. The zero value is ready
// to use; a HeaderReader is not safe for concurrent use.
type HeaderReader struct {
	top   []Element
	arena []byte
	hdr   Header
}

// Read is ReadHeader with reused buffers.
func (hr *HeaderReader) Read(r io.Reader, enc Encoding, lim Limits) (*Header, error) {
	if hr.top == nil {
		hr.top = make([]Element, 0, 256)
		hr.arena = make([]byte, 0, arenaChunk)
	}
	p := &hdrParser{r: r, lim: lim.withDefaults(), topBuf: hr.top[:0], spare: hr.arena[:0]}
	top := hdrFrame{enc: enc, end: -1, limit: -1, keep: true, top: true}
	elems, err := p.readElements(&top)
	if cap(p.topBuf) > cap(hr.top) {
		hr.top = p.topBuf[:0]
	}
	if err != nil {
		return nil, err
	}
	hr.hdr = Header{Elements: elems, PixelData: p.pixel, Length: p.pos}
	return &hr.hdr, nil
}

// hdrParser is the state of one ReadHeader call.
type hdrParser struct {
	r     io.Reader
	lim   Limits
	pos   int64 // bytes consumed from r
	count int   // elements and items parsed
	held  int64 // bytes held (values, chunks, retained elements)
	pixel *Element
	hdr   [12]byte
	arena []byte // current chunk: len used, cap available
	spare []byte // a chunk to use before allocating one (HeaderReader)
	skip  []byte // scratch for reading past values
	// topBuf, when not nil, is the storage the top-level elements start in
	// (HeaderReader); it is updated with the grown slice.
	topBuf []Element
}

// hdrFrame describes the data set being read: the top level or one item.
type hdrFrame struct {
	enc   Encoding
	end   int64 // exact end of a defined-length item, or -1
	limit int64 // no read may go past this offset; -1: no limit
	depth int   // sequence nesting depth of the data set's elements
	keep  bool  // retain elements and values
	top   bool  // the top-level data set
	owner Tag   // the sequence holding the item, for errors
}

func (p *hdrParser) fail(off int64, t Tag, err error, format string, args ...any) error {
	if format != "" {
		err = fmt.Errorf("%w: "+format, append([]any{err}, args...)...)
	}
	return &ParseError{Offset: off, Tag: t, Err: err}
}

// ioFail turns a read error into a truncation error or passes a transport
// error through.
func (p *hdrParser) ioFail(off int64, t Tag, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &ParseError{Offset: off, Tag: t, Err: fmt.Errorf("%w (%w)", ErrTruncated, io.ErrUnexpectedEOF)}
	}
	return fmt.Errorf("dicom: reading at offset %d: %w", p.pos, err)
}

// read fills b from r, refusing to cross limit.
func (p *hdrParser) read(b []byte, limit, off int64, t Tag) error {
	if limit >= 0 && p.pos+int64(len(b)) > limit {
		return p.fail(off, t, ErrMalformed, "%d bytes at offset %d overrun the enclosing item or sequence ending at %d", len(b), p.pos, limit)
	}
	n, err := io.ReadFull(p.r, b)
	p.pos += int64(n)
	if err != nil {
		return p.ioFail(off, t, err)
	}
	return nil
}

// dsOrder is the byte order of a data set, to read values and to write
// them (Edit).
type dsOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

func byteOrder(enc Encoding) dsOrder {
	if enc.BigEndian {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

func isUpperASCII(b byte) bool { return b >= 'A' && b <= 'Z' }

// implicitVR is the VR of t in an implicit VR data set: the dictionary's,
// with "OB or OW" read as OW (PS3.5 §A.1, §8.1.2); LO for private creators
// and UL for group lengths the dictionary lacks (PS3.5 §7.8.1, §7.2); UN for
// anything else unknown.
func implicitVR(t Tag) VR {
	if e, ok := LookupTag(t); ok && e.VR != 0 {
		if e.VR == OB && e.AltVR == OW {
			return OW
		}
		return e.VR
	}
	switch {
	case t.IsPrivate() && t.Element() >= 0x0010 && t.Element() <= 0x00FF:
		return LO
	case t.IsGroupLength():
		return UL
	}
	return UN
}

// readElements reads the elements of frame f and returns the retained ones.
// It returns at the end of a defined-length item, after the item delimiter
// of an undefined-length item, and at the top level at a clean end of the
// stream or after the header of the first pixel data element.
func (p *hdrParser) readElements(f *hdrFrame) ([]Element, error) {
	h := p.hdr[:]
	order := byteOrder(f.enc)
	var dst elemList
	first := 8
	if f.top {
		first = 64
		if p.topBuf != nil {
			dst.cur = p.topBuf[:0]
			defer func() {
				if len(dst.chunks) == 0 {
					p.topBuf = dst.cur
				}
			}()
		}
	}
	for {
		if f.end >= 0 && p.pos == f.end {
			return dst.elements(), nil
		}
		start := p.pos
		if f.top {
			// A clean end of the stream at an element boundary ends the data set.
			n, err := io.ReadFull(p.r, h[:8])
			p.pos += int64(n)
			if err != nil {
				if n == 0 && err == io.EOF {
					return dst.elements(), nil
				}
				return nil, p.ioFail(start, 0, err)
			}
		} else if err := p.read(h[:8], f.limit, start, f.owner); err != nil {
			return nil, err
		}
		tag := NewTag(order.Uint16(h[0:2]), order.Uint16(h[2:4]))

		if tag.Group() == 0xFFFE {
			// Item and delimiters have no VR, in either encoding (PS3.5 §7.5).
			switch {
			case tag == TagItemDelimitationItem && !f.top && f.end < 0:
				return dst.elements(), nil // its length should be 0; like DCMTK and pydicom, ignore it
			case tag == TagItemDelimitationItem && !f.top && p.pos == f.end:
				return dst.elements(), nil // tolerated: a delimiter closing a defined-length item
			}
			return nil, p.fail(start, tag, ErrMalformed, "%s where a data element must be", tag)
		}

		var (
			vr     VR
			length uint32
			hlen   = 8
		)
		if f.enc.ImplicitVR {
			vr = implicitVR(tag)
			length = order.Uint32(h[4:8])
		} else {
			vr = VR(h[4])<<8 | VR(h[5])
			switch {
			case vr.Known() && !vr.LongLength():
				length = uint32(order.Uint16(h[6:8]))
			case vr.Known() || isUpperASCII(h[4]) && isUpperASCII(h[5]):
				// The 12-byte form; also for a VR unknown to this edition
				// (PS3.5 §7.1.2: new VRs use the OB/UN header form).
				if err := p.read(h[8:12], f.limit, start, tag); err != nil {
					return nil, err
				}
				length = order.Uint32(h[8:12])
				hlen = 12
			default:
				return nil, p.fail(start, tag, ErrBadVR, "VR bytes %#02x %#02x", h[4], h[5])
			}
		}

		if f.top && tag.IsPixelData() {
			p.pixel = &Element{Tag: tag, VR: vr, Length: length, Offset: start, HeaderLen: hlen}
			return dst.elements(), nil
		}
		if p.count++; p.count > p.lim.MaxElements {
			return nil, p.fail(start, tag, ErrTooManyElements, "more than %d", p.lim.MaxElements)
		}
		el := Element{Tag: tag, VR: vr, Length: length, Offset: start, HeaderLen: hlen}
		if f.keep {
			if p.held+elementCost > p.lim.MaxHeldBytes {
				return nil, p.fail(start, tag, ErrTooLarge, "more than %d bytes", p.lim.MaxHeldBytes)
			}
			p.held += elementCost
		}
		if err := p.readValue(f, &el); err != nil {
			return nil, err
		}
		el.End = p.pos
		if f.keep {
			dst.add(el, first)
		}
	}
}

// readValue reads or reads past the value of el, whose header has been read.
func (p *hdrParser) readValue(f *hdrFrame, el *Element) error {
	vr, length := el.VR, el.Length
	explicit := !f.enc.ImplicitVR
	if length == UndefinedLength {
		switch {
		case vr == SQ:
			return p.readSequence(f, el, f.enc)
		case el.Tag.IsPixelData():
			// Encapsulated pixel data (e.g. an icon image, PS3.5 §A.4),
			// whatever VR it arrives with: pixel data is never a sequence.
			return p.readFragments(f, el)
		case explicit && (vr == UN || !vr.Known()):
			// PS3.5 §6.2.2: UN of undefined length holds a sequence encoded
			// in implicit VR little endian, whatever the transfer syntax.
			return p.readSequence(f, el, ImplicitLittle)
		case vr != UN && vr.IsBulk():
			// Other encapsulated OB/OW values are read the same way.
			return p.readFragments(f, el)
		case !explicit:
			// PS3.5 §7.5: in implicit VR an undefined length means a sequence.
			el.VR = SQ
			return p.readSequence(f, el, f.enc)
		}
		return p.fail(el.Offset, el.Tag, ErrMalformed, "undefined length with VR %s", vr)
	}
	if vr == SQ {
		return p.readSequence(f, el, f.enc)
	}
	if f.limit >= 0 && p.pos+int64(length) > f.limit {
		return p.fail(el.Offset, el.Tag, ErrMalformed, "value length %d overruns the enclosing item or sequence ending at %d", length, f.limit)
	}
	if length == 0 {
		return nil
	}
	if !f.keep {
		return p.skipBytes(int64(length), el)
	}
	if int64(length) > int64(p.lim.MaxValueLength) || p.held+int64(length) > p.lim.MaxHeldBytes {
		el.Skipped = true
		return p.skipBytes(int64(length), el)
	}
	v, err := p.readHeld(int(length), el)
	if err != nil {
		return err
	}
	el.Value = v
	if explicit && (vr == UN || !vr.Known()) && !el.Tag.IsPrivate() {
		if ent, ok := LookupTag(el.Tag); ok && ent.VR == SQ {
			p.unSequence(f, el)
		}
	}
	return nil
}

// unSequence parses the held value of el, a standard sequence that arrived
// as UN with a defined length, as a sequence in implicit VR little endian
// (PS3.5 §6.2.2: an application that knows the VR may read a UN value so;
// pydicom does). When the bytes do not parse, el keeps them as its value.
func (p *hdrParser) unSequence(f *hdrFrame, el *Element) {
	valueStart := el.Offset + int64(el.HeaderLen)
	sub := &hdrParser{r: bytes.NewReader(el.Value), lim: p.lim, pos: valueStart, count: p.count, held: p.held}
	seq := *el
	seq.Value = nil
	if err := sub.readSequence(f, &seq, ImplicitLittle); err != nil || sub.pos != valueStart+int64(el.Length) {
		return
	}
	*el = seq
	p.count, p.held = sub.count, sub.held
}

// readHeld reads n bytes into memory it accounts for in p.held.
func (p *hdrParser) readHeld(n int, el *Element) ([]byte, error) {
	var v []byte
	switch {
	case n <= cap(p.arena)-len(p.arena):
		l := len(p.arena)
		p.arena = p.arena[:l+n]
		v = p.arena[l : l+n : l+n]
	case n <= arenaMaxShare && p.held+arenaChunk <= p.lim.MaxHeldBytes:
		p.held += arenaChunk
		if p.spare != nil { // a HeaderReader's chunk: charged like a new one
			p.arena, p.spare = p.spare[:n], nil
		} else {
			p.arena = make([]byte, n, arenaChunk)
		}
		v = p.arena[:n:n]
	case n <= valueGrowStep:
		p.held += int64(n)
		v = make([]byte, n)
	default:
		// Grow as the bytes arrive: never allocate far ahead of the data.
		v = make([]byte, 0, valueGrowStep)
		for len(v) < n {
			if len(v) == cap(v) {
				grown := make([]byte, len(v), min(2*cap(v), n))
				copy(grown, v)
				v = grown
			}
			k := cap(v) - len(v)
			if err := p.read(v[len(v):cap(v)], -1, el.Offset, el.Tag); err != nil {
				return nil, err
			}
			v = v[:len(v)+k]
		}
		p.held += int64(n)
		return v, nil
	}
	if err := p.read(v, -1, el.Offset, el.Tag); err != nil {
		return nil, err
	}
	return v, nil
}

// skipBytes reads past n bytes of el's value.
func (p *hdrParser) skipBytes(n int64, el *Element) error {
	if int64(len(p.skip)) < n && len(p.skip) < skipBufSize {
		p.skip = make([]byte, min(max(n, 256), skipBufSize))
	}
	for n > 0 {
		k := min(n, int64(len(p.skip)))
		if err := p.read(p.skip[:k], -1, el.Offset, el.Tag); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

// readItemHeader reads an item or delimiter header (tag and 32-bit length).
func (p *hdrParser) readItemHeader(order binary.ByteOrder, limit int64, el *Element) (Tag, uint32, error) {
	h := p.hdr[:8]
	if err := p.read(h, limit, el.Offset, el.Tag); err != nil {
		return 0, 0, err
	}
	return NewTag(order.Uint16(h[0:2]), order.Uint16(h[2:4])), order.Uint32(h[4:8]), nil
}

// readSequence reads the items of the sequence el, encoded as enc.
func (p *hdrParser) readSequence(f *hdrFrame, el *Element, enc Encoding) error {
	depth := f.depth + 1
	if depth > p.lim.MaxDepth {
		return p.fail(el.Offset, el.Tag, ErrTooDeep, "deeper than %d", p.lim.MaxDepth)
	}
	end, limit := int64(-1), f.limit
	if el.Length != UndefinedLength {
		end = p.pos + int64(el.Length)
		if limit >= 0 && end > limit {
			return p.fail(el.Offset, el.Tag, ErrMalformed, "sequence length %d overruns the enclosing item or sequence ending at %d", el.Length, limit)
		}
		limit = end
	}
	order := byteOrder(enc)
	n := 0
	for end < 0 || p.pos != end {
		start := p.pos
		tag, length, err := p.readItemHeader(order, limit, el)
		if err != nil {
			return err
		}
		switch {
		case tag == TagSequenceDelimitationItem && (end < 0 || p.pos == end):
			// Ends an undefined-length sequence; tolerated as the last
			// thing in a defined-length one.
			el.ItemCount = n
			return nil
		case tag != TagItem:
			return p.fail(start, tag, ErrMalformed, "%s in sequence %s where an item or sequence delimiter must be", tag, el.Tag)
		}
		if p.count++; p.count > p.lim.MaxElements {
			return p.fail(start, tag, ErrTooManyElements, "more than %d", p.lim.MaxElements)
		}
		keep := f.keep && (p.lim.KeepItems < 0 || n < p.lim.KeepItems)
		item := hdrFrame{enc: enc, end: -1, limit: limit, depth: depth, keep: keep, owner: el.Tag}
		if length != UndefinedLength {
			item.end = p.pos + int64(length)
			if limit >= 0 && item.end > limit {
				return p.fail(start, tag, ErrMalformed, "item length %d overruns sequence %s ending at %d", length, el.Tag, limit)
			}
			item.limit = item.end
		}
		if keep {
			if p.held+itemCost > p.lim.MaxHeldBytes {
				return p.fail(start, tag, ErrTooLarge, "more than %d bytes", p.lim.MaxHeldBytes)
			}
			p.held += itemCost
		}
		elems, err := p.readElements(&item)
		if err != nil {
			return err
		}
		if keep {
			el.Items = append(el.Items, Item{Elements: elems, Offset: start, End: p.pos})
		}
		n++
	}
	el.ItemCount = n
	return nil
}

// readFragments reads past encapsulated pixel data: items of defined length
// up to a sequence delimiter (PS3.5 §A.4).
func (p *hdrParser) readFragments(f *hdrFrame, el *Element) error {
	order := byteOrder(f.enc)
	el.Skipped = f.keep
	n := 0
	for {
		start := p.pos
		tag, length, err := p.readItemHeader(order, f.limit, el)
		if err != nil {
			return err
		}
		switch {
		case tag == TagSequenceDelimitationItem:
			el.ItemCount = n
			return nil
		case tag != TagItem:
			return p.fail(start, tag, ErrMalformed, "%s in encapsulated %s where a fragment or sequence delimiter must be", tag, el.Tag)
		case length == UndefinedLength:
			return p.fail(start, tag, ErrMalformed, "fragment of undefined length in %s", el.Tag)
		case f.limit >= 0 && p.pos+int64(length) > f.limit:
			return p.fail(start, tag, ErrMalformed, "fragment length %d overruns the enclosing item or sequence ending at %d", length, f.limit)
		}
		if p.count++; p.count > p.lim.MaxElements {
			return p.fail(start, tag, ErrTooManyElements, "more than %d", p.lim.MaxElements)
		}
		if err := p.skipBytes(int64(length), el); err != nil {
			return err
		}
		n++
	}
}

// HeldBytes returns the memory h holds, as Limits.MaxHeldBytes counts it:
// value bytes plus a fixed cost per element and item.
func (h *Header) HeldBytes() int64 {
	var walk func([]Element) int64
	walk = func(es []Element) int64 {
		var n int64
		for i := range es {
			n += elementCost + int64(len(es[i].Value))
			for _, it := range es[i].Items {
				n += itemCost + walk(it.Elements)
			}
		}
		return n
	}
	return walk(h.Elements)
}
