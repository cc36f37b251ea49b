package dicom

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/dicomrecv/dicomrecv/dicom/charset"
)

// Change sets (Value) or deletes (Delete) the attribute Tag at the top level
// of a data set. See Edit.
type Change struct {
	Tag Tag
	// Value is the user's text, encoded by the attribute's VR (see
	// AppendValue): "DOE^JOHN", "512" (US), `1.5\2.5` (two DS values),
	// "base64:AAEC" (bytes of OB, UN, O*). "" sets an empty value.
	Value string
	// Delete removes the element; Value is then ignored.
	Delete bool
}

// EditOptions adjusts Edit.
type EditOptions struct {
	// Charset encodes the new values of SH, LO, ST, LT, UC, UT and PN (and
	// new text values of private elements). Nil: the encoder of the data
	// set's own Specific Character Set (0008,0005), or of the default
	// repertoire when it has none; set it only to encode otherwise.
	Charset *charset.Encoder
}

// Errors of Edit, wrapped in an *EditError that names the tag (except
// ErrHeaderMismatch). Values the VR cannot hold are *ValueError
// (ErrBadValue).
var (
	// ErrNotEditable: the attribute cannot be changed here (file meta,
	// command, item and group length elements, Specific Character Set,
	// pixel data and what follows it, a tag whose VR is unknown, a
	// private creator still in use).
	ErrNotEditable = errors.New("cannot be changed")
	// ErrNoPrivateCreator: a new private element's block has no Private
	// Creator (PS3.5 §7.8.1).
	ErrNoPrivateCreator = errors.New("no private creator for its block")
	// ErrHeaderMismatch: the Header does not describe raw (element offsets
	// out of order or out of range).
	ErrHeaderMismatch = errors.New("dicom: header does not match its bytes")
)

// EditError reports a change that Edit refused. Its message is the tag
// followed by the reason, e.g. "(0028,0010) US value 1: out of range
// 0..65535", at most 64 characters for the reasons of this package, so
// that it can be the Error Comment of a DIMSE failure status as it is. It
// never quotes the value.
type EditError struct {
	Tag Tag
	Err error
}

// maxComment is the longest Error Comment (0000,0902) a DIMSE response
// carries: its VR is LO (PS3.7 Annex E, Table E.1-1).
const maxComment = 64

// Error returns the tag and the reason, cut to 64 bytes if it is longer
// (the reasons of this package are ASCII).
func (e *EditError) Error() string {
	msg := e.Tag.String() + " " + e.Err.Error()
	if len(msg) > maxComment {
		msg = msg[:maxComment]
	}
	return msg
}

// Unwrap returns Err.
func (e *EditError) Unwrap() error { return e.Err }

// Edit writes to w the data set header raw[:h.Length] (the decoded bytes
// that ReadHeader parsed into h, in encoding enc) with changes applied.
// Every byte it does not change is copied from raw: untouched elements,
// sequences and private blocks are byte-identical, and so is the pixel data
// element header at the end, after which the caller writes the rest of the
// data set. When several changes name one tag, the last one counts.
//
// Every change is checked and encoded before anything is written: when one
// is refused, w gets nothing and the error is an *EditError (or wraps
// ErrHeaderMismatch when h does not describe raw). An error of w is
// returned as it is.
//
// The rules:
//
//   - A value is encoded by the attribute's VR in the dictionary
//     (LookupTag), with AppendValue, and checked against the dictionary's
//     VM. Where an explicit VR data set holds the element with another VR
//     (UN, or a wrong one), the element is rewritten with the dictionary's
//     VR. Where the dictionary lists two VRs, the element's own VR is kept
//     in an explicit VR data set; otherwise "US or SS" is SS when Pixel
//     Representation (0028,0103) is 1 (its new value if it is changed too),
//     "OB or OW" is OW and "US or OW" is US, as ReadHeader reads them.
//   - "" sets an empty value (length 0); a sequence can only be set to ""
//     (an empty sequence). Delete removes the element (every copy, if the
//     data set repeats the tag); deleting an absent tag does nothing. A tag
//     not in the data set is added where ascending tag order puts it (PS3.5
//     §7.1), before the first element with a greater tag.
//   - Private elements: an existing one keeps its VR in an explicit VR data
//     set; its value is encoded by that VR (UN: as AppendValue encodes UN:
//     base64 bytes or text); in an implicit VR data set it is encoded as UN.
//     A new private element (gggg,xxyy) needs the Private Creator
//     (gggg,00xx) of its block in the data set, or set by the same changes,
//     and xx from 10 to FF (PS3.5 §7.8.1); it gets VR LO when its value is a
//     valid LO, UN when the value is given as base64, and UT otherwise.
//     A Private Creator cannot be deleted while elements of its block
//     remain.
//   - Refused: file meta (0002,xxxx), command (0000,xxxx), item and
//     delimiter (FFFE,xxxx) and group length (gggg,0000) elements; Specific
//     Character Set (0008,0005) (changing it would mean re-encoding every
//     text value, nested ones included); pixel data and any tag at or after
//     the data set's pixel data (Edit writes only the header); a tag of an
//     even group that the dictionary does not know, when it is not in the
//     data set (its VR is unknown).
//   - Group lengths (gggg,0000) of the groups a change touches are
//     recomputed (retired, PS3.5 §7.2, but still common); they are dropped
//     when the group has nothing else left, or when the group continues
//     past the header (the pixel data's group, whose rest Edit does not
//     see). Sequences of undefined length do not prevent recomputing: their
//     encoded size is known from raw. Untouched groups keep theirs.
//   - Text is encoded for the data set's Specific Character Set (or
//     opts.Charset), see charset.Encoder; a character it cannot represent
//     is refused.
//
// Explicit VR little and big endian (tags, lengths and values in the data
// set's byte order) and implicit VR little endian are supported; for
// deflated transfer syntaxes raw is the inflated stream and the caller
// deflates the result; encapsulated transfer syntaxes have an explicit VR
// little endian header like any other.
func Edit(w io.Writer, raw []byte, h *Header, enc Encoding, changes []Change, opts EditOptions) error {
	p, err := planEdit(raw, h, enc, changes, opts)
	if err != nil {
		return err
	}
	return p.write(w)
}

// editOp is one change after deduplication, located in the header.
type editOp struct {
	Change
	at     int // index in h.Elements of the first element with the tag, or -1
	before int // for an insertion: index of the element it goes before
	start  int // the new element's bytes: plan.buf[start:end]
	end    int //
}

// editHit is one element of the header that the output changes.
type editHit struct {
	elem int    // index in h.Elements
	op   int    // index in plan.ops (replace), or -1
	kind uint8  // hitReplace, hitDelete, hitGroupLength
	gl   uint32 // new group length value (hitGroupLength)
}

const (
	hitReplace = iota
	hitDelete
	hitGroupLength
)

// editPlan is everything Edit writes, decided before anything is written.
type editPlan struct {
	raw    []byte
	h      *Header
	enc    Encoding
	order  dsOrder
	opts   EditOptions
	sorted bool // h.Elements in ascending tag order
	ops    []editOp
	hits   []editHit
	buf    []byte
	cs     *charset.Encoder
	csDone bool
}

func planEdit(raw []byte, h *Header, enc Encoding, changes []Change, opts EditOptions) (*editPlan, error) {
	if err := checkHeader(raw, h); err != nil {
		return nil, err
	}
	p := &editPlan{raw: raw, h: h, enc: enc, order: byteOrder(enc), opts: opts, sorted: sortedByTag(h.Elements)}
	// The last change of each tag counts.
	p.ops = make([]editOp, len(changes))
	for i, c := range changes {
		p.ops[i] = editOp{Change: c, at: -1}
	}
	slices.SortStableFunc(p.ops, func(a, b editOp) int { return cmp.Compare(a.Tag, b.Tag) })
	kept := p.ops[:0]
	for i := range p.ops {
		if i+1 < len(p.ops) && p.ops[i+1].Tag == p.ops[i].Tag {
			continue // a later change of the same tag counts
		}
		kept = append(kept, p.ops[i])
	}
	p.ops = kept
	for i := range p.ops {
		if err := p.editable(p.ops[i].Tag); err != nil {
			return nil, &EditError{Tag: p.ops[i].Tag, Err: err}
		}
	}
	p.locate()
	for i := range p.ops {
		if err := p.encode(i); err != nil {
			return nil, &EditError{Tag: p.ops[i].Tag, Err: err}
		}
	}
	if err := p.checkPrivate(); err != nil {
		return nil, err
	}
	p.groupLengths()
	slices.SortStableFunc(p.hits, func(a, b editHit) int { return cmp.Compare(a.elem, b.elem) })
	return p, nil
}

// checkHeader verifies that h describes raw: elements one after the other
// from offset 0, within h.Length, within raw.
func checkHeader(raw []byte, h *Header) error {
	if h == nil || h.Length < 0 || h.Length > int64(len(raw)) {
		return fmt.Errorf("%w: header length out of range", ErrHeaderMismatch)
	}
	var end int64
	for i := range h.Elements {
		e := &h.Elements[i]
		if e.Offset != end || e.HeaderLen != 8 && e.HeaderLen != 12 || e.End < e.Offset+int64(e.HeaderLen) || e.End > h.Length {
			return fmt.Errorf("%w: element %s at offset %d", ErrHeaderMismatch, e.Tag, e.Offset)
		}
		end = e.End
	}
	if pd := h.PixelData; pd != nil {
		if pd.Offset != end || pd.Offset+int64(pd.HeaderLen) != h.Length {
			return fmt.Errorf("%w: pixel data header at offset %d", ErrHeaderMismatch, pd.Offset)
		}
	} else if end != h.Length {
		return fmt.Errorf("%w: elements end at %d, header at %d", ErrHeaderMismatch, end, h.Length)
	}
	return nil
}

// editable refuses the tags Edit cannot change (see Edit).
func (p *editPlan) editable(t Tag) error {
	var why string
	switch g := t.Group(); {
	case g == 0x0000:
		why = "command element"
	case g == 0x0002:
		why = "file meta element"
	case g == itemGroup:
		why = "item or delimiter"
	case t.IsGroupLength():
		why = "group lengths are computed"
	case t == TagSpecificCharacterSet:
		why = "Specific Character Set is fixed"
	case t.IsPixelData() || p.h.PixelData != nil && t >= p.h.PixelData.Tag:
		why = "pixel data or after it"
	default:
		return nil
	}
	return fmt.Errorf("%w: %s", ErrNotEditable, why)
}

// find returns the index of the first element with tag t, or -1.
func (p *editPlan) find(t Tag) int { return indexTag(p.h.Elements, p.sorted, t) }

// opFor returns the index of the op of tag t, or -1.
func (p *editPlan) opFor(t Tag) int {
	i, ok := slices.BinarySearchFunc(p.ops, t, func(o editOp, t Tag) int { return cmp.Compare(o.Tag, t) })
	if !ok {
		return -1
	}
	return i
}

// locate finds each op's element (and records later copies of the tag as
// deletions) and where each insertion goes.
func (p *editPlan) locate() {
	es := p.h.Elements
	if len(p.ops) == 0 {
		return
	}
	if p.sorted {
		for j := range p.ops {
			i := searchTag(es, p.ops[j].Tag)
			p.ops[j].before = i
			for ; i < len(es) && es[i].Tag == p.ops[j].Tag; i++ {
				p.hitAt(i, j)
			}
		}
		return
	}
	first, last := p.ops[0].Tag, p.ops[len(p.ops)-1].Tag
	for i := range es {
		if t := es[i].Tag; t >= first && t <= last {
			if j := p.opFor(t); j >= 0 {
				p.hitAt(i, j)
			}
		}
	}
	for j := range p.ops {
		op := &p.ops[j]
		if op.at >= 0 || op.Delete {
			continue
		}
		op.before = len(es)
		for i := range es {
			if es[i].Tag > op.Tag {
				op.before = i
				break
			}
		}
	}
}

// hitAt records that element i has the tag of op j: the first copy is
// replaced (set) or deleted, later copies are deleted.
func (p *editPlan) hitAt(i, j int) {
	op := &p.ops[j]
	kind, opIdx := uint8(hitDelete), -1
	if op.at < 0 && !op.Delete {
		kind, opIdx = hitReplace, j
	}
	if op.at < 0 {
		op.at = i
	}
	p.hits = append(p.hits, editHit{elem: i, op: opIdx, kind: kind})
}

// charset returns the encoder for new text values.
func (p *editPlan) charset() *charset.Encoder {
	if !p.csDone {
		p.csDone = true
		p.cs = p.opts.Charset
		if p.cs == nil {
			if i := p.find(TagSpecificCharacterSet); i >= 0 {
				// Unknown terms leave an encoder of the default repertoire.
				p.cs, _ = charset.NewEncoder(string(p.h.Elements[i].Value))
			}
		}
	}
	return p.cs
}

// signed reports whether Pixel Representation, as it will be written, is
// non-zero.
func (p *editPlan) signed() bool {
	if j := p.opFor(TagPixelRepresentation); j >= 0 {
		op := p.ops[j]
		if op.Delete {
			return false
		}
		n, err := strconv.ParseUint(strings.TrimSpace(op.Value), 10, 16)
		return err == nil && n != 0
	}
	if i := p.find(TagPixelRepresentation); i >= 0 {
		v := p.h.Elements[i].Value
		return len(v) >= 2 && p.order.Uint16(v) != 0
	}
	return false
}

// vrOf decides the VR of op's new element: the VR its value is encoded by
// and, in explicit VR, written with.
func (p *editPlan) vrOf(op *editOp) (VR, error) {
	var e *Element
	if op.at >= 0 {
		e = &p.h.Elements[op.at]
	}
	explicit := !p.enc.ImplicitVR
	if ent, ok := LookupTag(op.Tag); ok && ent.VR != 0 && ent.VR != UN {
		if ent.AltVR == 0 {
			return ent.VR, nil
		}
		if e != nil && explicit && (e.VR == ent.VR || e.VR == ent.AltVR) {
			return e.VR, nil
		}
		switch {
		case ent.AltVR == OW && ent.VR == OB:
			return OW, nil
		case ent.VR == US && ent.AltVR == SS && p.signed():
			return SS, nil
		}
		return ent.VR, nil
	}
	if e != nil {
		switch {
		case !explicit:
			return UN, nil
		case isSequence(e):
			return SQ, nil
		}
		return e.VR, nil
	}
	g := op.Tag.Group()
	switch {
	case g&1 == 0:
		return 0, fmt.Errorf("%w: not in the dictionary, VR unknown", ErrNotEditable)
	case !isPrivateGroup(g):
		return 0, fmt.Errorf("%w: not a private group", ErrNotEditable)
	case op.Tag.Element() < 0x1000:
		return 0, fmt.Errorf("%w: outside private blocks", ErrNotEditable)
	case strings.HasPrefix(op.Value, Base64Prefix):
		return UN, nil
	}
	if _, err := AppendValue(nil, LO, op.Value, false, p.charset()); err == nil {
		return LO, nil
	}
	return UT, nil
}

// encode decides op's VR and appends its new element to p.buf.
func (p *editPlan) encode(j int) error {
	op := &p.ops[j]
	if op.Delete {
		return nil
	}
	vr, err := p.vrOf(op)
	if err != nil {
		return err
	}
	if ent, ok := LookupTag(op.Tag); ok && op.Value != "" && !vr.IsBulk() && vr != SQ && !op.Tag.IsPrivate() {
		n := 1
		if numSize(vr) > 0 || vr.IsText() && textRuleOf(vr).multi {
			n = strings.Count(op.Value, `\`) + 1
		}
		if !vmAllows(ent.VM, n) {
			return &ValueError{VR: vr, Reason: fmt.Sprintf("%d values where VM is %s", n, ent.VM)}
		}
	}
	op.start = len(p.buf)
	p.buf = appendElementHeader(p.buf, p.enc, op.Tag, vr, 0) // length patched below
	valueAt := len(p.buf)
	if p.buf, err = AppendValue(p.buf, vr, op.Value, p.enc.BigEndian, p.charset()); err != nil {
		p.buf = p.buf[:op.start]
		return err
	}
	n := len(p.buf) - valueAt
	short := !p.enc.ImplicitVR && vr.Known() && !vr.LongLength()
	if short && n > 0xFFFF {
		p.buf = p.buf[:op.start]
		return &ValueError{VR: vr, Reason: "longer than 65535 bytes"}
	}
	if short {
		p.order.PutUint16(p.buf[valueAt-2:], uint16(n))
	} else {
		p.order.PutUint32(p.buf[valueAt-4:], uint32(n))
	}
	op.end = len(p.buf)
	return nil
}

// appendElementHeader appends the header of an element: tag, then VR and a
// 16- or 32-bit length (explicit VR, PS3.5 §7.1.2), or a 32-bit length
// (implicit VR, §7.1.3).
func appendElementHeader(b []byte, enc Encoding, t Tag, vr VR, n uint32) []byte {
	order := byteOrder(enc)
	b = order.AppendUint16(b, t.Group())
	b = order.AppendUint16(b, t.Element())
	if enc.ImplicitVR {
		return order.AppendUint32(b, n)
	}
	b = append(b, byte(vr>>8), byte(vr))
	if vr.Known() && !vr.LongLength() {
		return order.AppendUint16(b, uint16(n))
	}
	b = append(b, 0, 0)
	return order.AppendUint32(b, n)
}

// vmAllows reports whether n values satisfy the dictionary VM ("1",
// "1-n", "2-2n", "1-3", "1-n or 1", ...). A VM it cannot read allows
// anything.
func vmAllows(vm string, n int) bool {
	known := false
	for alt := range strings.SplitSeq(vm, " or ") {
		lo, hi, ranged := strings.Cut(alt, "-")
		least, err := strconv.Atoi(lo)
		if err != nil {
			continue
		}
		known = true
		switch {
		case !ranged:
			if n == least {
				return true
			}
		case strings.HasSuffix(hi, "n"):
			// "k-kn": at least k values, a multiple of k ("1-n": any number).
			step := 1
			if k := strings.TrimSuffix(hi, "n"); k != "" {
				if step, err = strconv.Atoi(k); err != nil || step < 1 {
					return true
				}
			}
			if n >= least && n%step == 0 {
				return true
			}
		default:
			most, err := strconv.Atoi(hi)
			if err != nil {
				return true
			}
			if least <= n && n <= most {
				return true
			}
		}
	}
	return !known
}

// inBlock reports whether t is a data element of the private block whose
// creator is c (PS3.5 §7.8.1: creator (gggg,00xx) reserves (gggg,xx00-xxFF)).
func inBlock(t, c Tag) bool {
	return t.Group() == c.Group() && t.Element()>>8 == c.Element() && t.Element() >= 0x1000
}

// checkPrivate refuses new private elements without a creator, and the
// deletion of creators still in use.
func (p *editPlan) checkPrivate() error {
	present := func(c Tag) bool { // the creator c will be in the output
		if j := p.opFor(c); j >= 0 {
			return !p.ops[j].Delete
		}
		return p.find(c) >= 0
	}
	for j := range p.ops {
		op := &p.ops[j]
		t := op.Tag
		if !isPrivateGroup(t.Group()) {
			continue
		}
		switch el := t.Element(); {
		case !op.Delete && op.at < 0 && el >= 0x1000:
			if !present(NewTag(t.Group(), el>>8)) {
				return &EditError{Tag: t, Err: ErrNoPrivateCreator}
			}
		case op.Delete && op.at >= 0 && isPrivateCreator(t):
			for i := range p.h.Elements {
				et := p.h.Elements[i].Tag
				if inBlock(et, t) {
					if k := p.opFor(et); k < 0 || !p.ops[k].Delete {
						return &EditError{Tag: t, Err: fmt.Errorf("%w: private creator still in use", ErrNotEditable)}
					}
				}
			}
			for k := range p.ops {
				if inBlock(p.ops[k].Tag, t) && !p.ops[k].Delete {
					return &EditError{Tag: t, Err: fmt.Errorf("%w: private creator still in use", ErrNotEditable)}
				}
			}
		}
	}
	return nil
}

// groupLengths recomputes or drops the group length elements of the
// groups the changes touch.
func (p *editPlan) groupLengths() {
	var groups []uint16 // touched groups, ascending (ops are sorted)
	for _, op := range p.ops {
		if op.at >= 0 || !op.Delete {
			if g := op.Tag.Group(); len(groups) == 0 || groups[len(groups)-1] != g {
				groups = append(groups, g)
			}
		}
	}
	if len(groups) == 0 {
		return
	}
	es := p.h.Elements
	for _, g := range groups {
		gl := p.find(NewTag(g, 0))
		if gl < 0 {
			continue
		}
		var total int64
		for i := range es {
			if es[i].Tag.Group() != g || i == gl {
				continue
			}
			total += es[i].End - es[i].Offset
		}
		for _, hit := range p.hits {
			e := &es[hit.elem]
			if e.Tag.Group() != g {
				continue
			}
			total -= e.End - e.Offset
			if hit.kind == hitReplace {
				total += int64(p.ops[hit.op].end - p.ops[hit.op].start)
			}
		}
		for _, op := range p.ops {
			if op.Tag.Group() == g && op.at < 0 && !op.Delete {
				total += int64(op.end - op.start)
			}
		}
		e := &es[gl]
		hit := editHit{elem: gl, op: -1, kind: hitGroupLength, gl: uint32(total)}
		if total == 0 || total > 0xFFFFFFFF || e.Length != 4 || len(e.Value) != 4 ||
			p.h.PixelData != nil && p.h.PixelData.Tag.Group() == g {
			hit.kind = hitDelete
		}
		p.hits = append(p.hits, hit)
	}
}

// errWriter keeps the first error of a series of writes.
type errWriter struct {
	w   io.Writer
	err error
}

func (w *errWriter) write(b []byte) {
	if w.err == nil && len(b) > 0 {
		_, w.err = w.w.Write(b)
	}
}

// write writes the header with the planned changes.
func (p *editPlan) write(w io.Writer) error {
	ew := errWriter{w: w}
	es := p.h.Elements
	var pos int64 // raw bytes before pos are written (or dropped)
	flush := func(to int64) {
		ew.write(p.raw[pos:to])
		pos = to
	}
	// Insertions in ascending tag order, by position.
	var ins []int
	for j := range p.ops {
		if p.ops[j].at < 0 && !p.ops[j].Delete {
			ins = append(ins, j)
		}
	}
	slices.SortStableFunc(ins, func(a, b int) int { return cmp.Compare(p.ops[a].before, p.ops[b].before) })
	// Visit only the elements where something happens, in stream order;
	// insertions go before the hits of the same element.
	for hi, ii := 0, 0; hi < len(p.hits) || ii < len(ins); {
		if ii < len(ins) && (hi == len(p.hits) || p.ops[ins[ii]].before <= p.hits[hi].elem) {
			op := &p.ops[ins[ii]]
			at := p.h.Length
			switch {
			case op.before < len(es):
				at = es[op.before].Offset
			case p.h.PixelData != nil:
				at = p.h.PixelData.Offset
			}
			flush(at)
			ew.write(p.buf[op.start:op.end])
			ii++
			continue
		}
		hit := p.hits[hi]
		e := &es[hit.elem]
		switch hit.kind {
		case hitReplace:
			flush(e.Offset)
			op := &p.ops[hit.op]
			ew.write(p.buf[op.start:op.end])
		case hitDelete:
			flush(e.Offset)
		case hitGroupLength:
			flush(e.Offset + int64(e.HeaderLen))
			var v [4]byte
			p.order.PutUint32(v[:], hit.gl)
			ew.write(v[:])
		}
		pos = e.End
		hi++
	}
	flush(p.h.Length)
	return ew.err
}
