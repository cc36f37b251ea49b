package dicom

import (
	"sort"

	"github.com/dicomrecv/dicomrecv/dicom/charset"
)

// TagPixelRepresentation is Pixel Representation (0028,0103): 0 unsigned,
// 1 two's complement pixel values.
const TagPixelRepresentation Tag = 0x00280103

// ExtractSpec names one attribute to extract.
type ExtractSpec struct {
	// Name is the key in the result: the keyword of a standard attribute,
	// or the user's name for a custom tag.
	Name string
	Tag  Tag
	// Custom marks a user's custom tag (extractCustomTags), rendered
	// whatever its VR (see Element.Render).
	Custom bool
}

// Extract renders the attributes of specs found in h (enc is the data set's
// encoding) and returns them by Name; absent or unrenderable ones are left
// out, and when several specs share a Name the first one present wins.
//
// Each attribute is looked for among the top-level elements first; when it
// is not there, in the first item of each top-level sequence, in stream
// order, and so on depth-first through first items (a data set's own
// elements before those of its sequences' first items): so
// RadiopharmaceuticalStartTime is found in the first item of
// RadiopharmaceuticalInformationSequence. The content of a UN sequence is
// read as implicit VR little endian (PS3.5 §6.2.2).
//
// Values are rendered by Element.Render's rules with the Specific Character
// Set (0008,0005) of the item holding the element when the item has its
// own, else of the nearest enclosing item or data set that has one (PS3.5
// §6.1.2.5.3); implicit VR "US or SS" attributes are resolved by the Pixel
// Representation found the same way.
func (h *Header) Extract(specs []ExtractSpec, enc Encoding) map[string]string {
	out := make(map[string]string, len(specs))
	if len(specs) == 0 {
		return out
	}
	x := extractor{decoders: map[string]*charset.Decoder{}}
	top := &extractScope{elems: h.Elements, enc: enc, sorted: sortedByTag(h.Elements)}
	for _, s := range specs {
		if _, dup := out[s.Name]; dup {
			continue
		}
		e, sc := x.search(top, s.Tag)
		if e == nil {
			continue
		}
		if v, ok := e.render(sc.enc, x.decoder(sc), s.Custom, x.signed(sc)); ok {
			out[s.Name] = v
		}
	}
	return out
}

// Lookup returns the top-level element with tag t, or nil.
func (h *Header) Lookup(t Tag) *Element {
	for i := range h.Elements {
		if h.Elements[i].Tag == t {
			return &h.Elements[i]
		}
	}
	return nil
}

// UID returns the value of the top-level element t without its trailing
// NUL or space padding, with no character set applied, and whether a value
// is held. The VR is not checked (an implicit VR data set may carry it as
// UN); the caller validates the UID.
func (h *Header) UID(t Tag) (string, bool) {
	e := h.Lookup(t)
	if e == nil || e.Skipped || isSequence(e) {
		return "", false
	}
	return trimUID(e.Value), true
}

// extractScope is a data set (the top level or one item) being searched.
type extractScope struct {
	elems  []Element
	enc    Encoding
	parent *extractScope
	sorted bool
	dec    *charset.Decoder // resolved lazily
	pixRep int8             // 0 not resolved, 1 unsigned, 2 signed
}

// extractor holds the state of one Extract call.
type extractor struct {
	decoders map[string]*charset.Decoder // by Specific Character Set value
}

func sortedByTag(es []Element) bool {
	for i := 1; i < len(es); i++ {
		if es[i].Tag < es[i-1].Tag {
			return false
		}
	}
	return true
}

// indexTag returns the index of the first element of es with tag t, or -1.
// sorted says es is in ascending tag order (sortedByTag): a binary search
// then finds it.
func indexTag(es []Element, sorted bool, t Tag) int {
	if sorted {
		if i := searchTag(es, t); i < len(es) && es[i].Tag == t {
			return i
		}
		return -1
	}
	for i := range es {
		if es[i].Tag == t {
			return i
		}
	}
	return -1
}

// searchTag returns the index of the first element of es, in ascending tag
// order, whose tag is t or greater (len(es) if none is).
func searchTag(es []Element, t Tag) int {
	return sort.Search(len(es), func(i int) bool { return es[i].Tag >= t })
}

// find returns the element of sc with tag t (the first one, if repeated).
func (sc *extractScope) find(t Tag) *Element {
	if i := indexTag(sc.elems, sc.sorted, t); i >= 0 {
		return &sc.elems[i]
	}
	return nil
}

// search looks for t in sc, then depth-first in the first items of its
// sequences.
func (x *extractor) search(sc *extractScope, t Tag) (*Element, *extractScope) {
	if e := sc.find(t); e != nil {
		return e, sc
	}
	for i := range sc.elems {
		el := &sc.elems[i]
		if len(el.Items) == 0 {
			continue
		}
		enc := sc.enc
		if el.VR != SQ {
			enc = ImplicitLittle // a UN sequence (PS3.5 §6.2.2)
		}
		child := &extractScope{elems: el.Items[0].Elements, enc: enc, parent: sc}
		child.sorted = sortedByTag(child.elems)
		if e, s := x.search(child, t); e != nil {
			return e, s
		}
	}
	return nil, nil
}

// decoder returns the character set decoder in effect in sc.
func (x *extractor) decoder(sc *extractScope) *charset.Decoder {
	if sc.dec != nil {
		return sc.dec
	}
	var key string
	s := sc
	for ; s != nil; s = s.parent {
		if e := s.find(TagSpecificCharacterSet); e != nil && !e.Skipped {
			key = string(e.Value)
			break
		}
	}
	d, ok := x.decoders[key]
	if !ok {
		d, _ = charset.New(key) // unknown terms fall back to the default repertoire
		x.decoders[key] = d
	}
	sc.dec = d
	return d
}

// signed reports whether the Pixel Representation in effect in sc is
// non-zero (pydicom looks in the item, then its parents).
func (x *extractor) signed(sc *extractScope) bool {
	if sc.pixRep == 0 {
		sc.pixRep = 1
		for s := sc; s != nil; s = s.parent {
			if e := s.find(TagPixelRepresentation); e != nil {
				if len(e.Value) >= 2 && byteOrder(s.enc).Uint16(e.Value) != 0 {
					sc.pixRep = 2
				}
				break
			}
		}
	}
	return sc.pixRep == 2
}
