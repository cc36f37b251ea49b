package dicom

// Encoding says how a data set's elements are encoded: implicit or explicit
// VR, little or big endian (PS3.5 §7.1, §10). Deflate is a property of the
// transfer syntax applied around an explicit VR little endian stream.
type Encoding struct {
	ImplicitVR bool
	BigEndian  bool
}

// The three encodings of the standard transfer syntaxes.
var (
	ImplicitLittle = Encoding{ImplicitVR: true}
	ExplicitLittle = Encoding{}
	ExplicitBig    = Encoding{BigEndian: true}
)

// Element is one data element as read from a stream.
type Element struct {
	Tag Tag
	// VR is the VR from the stream (explicit VR) or from the dictionary
	// (implicit VR; UN when the tag is not in the dictionary, SQ when an
	// unknown tag has undefined length).
	VR VR
	// Length is the value length as encoded; UndefinedLength for undefined.
	Length uint32
	// Offset is the offset of the element's first header byte in the
	// (decoded) data set stream; HeaderLen is 8 or 12.
	Offset    int64
	HeaderLen int
	// End is the offset just after the element, delimiters included.
	End int64
	// Value holds the raw value bytes in the data set's byte order, for
	// elements that are not sequences and not longer than the reader's
	// MaxValueLength. Nil otherwise.
	Value []byte
	// Skipped is true when the value was longer than MaxValueLength and was
	// read past, not held.
	Skipped bool
	// Items holds the items of a sequence (VR SQ, or an undefined-length UN
	// read as a sequence). Encapsulated pixel data fragments inside a
	// sequence are read past, not held.
	Items []Item
	// ItemCount is the number of items of a sequence (or fragments of
	// encapsulated pixel data read past), including items that were parsed
	// but not retained (see Limits.KeepItems).
	ItemCount int
}

// isSequence reports whether e holds a sequence (SQ, or UN of undefined
// length, or a UN value parsed as a sequence), or has an undefined length
// for another reason: no value to render or rewrite as such.
func isSequence(e *Element) bool {
	return e.VR == SQ || e.Length == UndefinedLength || e.Items != nil
}

// Item is one item of a sequence.
type Item struct {
	Elements []Element
	// Offset of the item tag and End just after the item (delimiter
	// included), in the decoded stream.
	Offset, End int64
}

// Header is the part of a data set that precedes its pixel data.
type Header struct {
	// Elements are the top-level elements before the first top-level pixel
	// data element (see Tag.IsPixelData), in stream order.
	Elements []Element
	// PixelData is the header of the top-level pixel data element (Value
	// nil, End unknown and zero), or nil when the data set ended without one.
	PixelData *Element
	// Length is the number of bytes of the decoded stream that the header
	// covers: the offset of the pixel data element's value when PixelData
	// is set, else the length of the whole data set.
	Length int64
}
