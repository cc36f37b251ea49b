package pdu

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// AssociateRQ is an A-ASSOCIATE-RQ PDU (PS3.8 §9.3.2).
type AssociateRQ struct {
	// ProtocolVersion is a bit field; bit 0 is version 1, the only one
	// defined (ProtocolVersion1).
	ProtocolVersion uint16
	// CalledAE and CallingAE are the AE title fields exactly as on the wire
	// (space padded; see PadAE and TrimAE).
	CalledAE, CallingAE [16]byte
	// Reserved holds PDU bytes 43-74, which the A-ASSOCIATE-AC repeats
	// (PS3.8 §9.3.3); normally zero.
	Reserved [32]byte
	// ApplicationContext is the application context name, a UID
	// (ApplicationContextName for DICOM).
	ApplicationContext   string
	PresentationContexts []PresentationContextRQ
	UserInfo             UserInfo
}

// AssociateAC is an A-ASSOCIATE-AC PDU (PS3.8 §9.3.3).
type AssociateAC struct {
	ProtocolVersion uint16
	// CalledAE, CallingAE and Reserved repeat the request's fields byte for
	// byte (PS3.8 §9.3.3); a receiver does not test them.
	CalledAE, CallingAE  [16]byte
	Reserved             [32]byte
	ApplicationContext   string
	PresentationContexts []PresentationContextAC
	UserInfo             UserInfo
}

// PresentationContextRQ is a presentation context item of an
// A-ASSOCIATE-RQ (PS3.8 §9.3.2.2).
type PresentationContextRQ struct {
	// ID is an odd number from 1 to 255, unique within the request.
	ID               byte
	AbstractSyntax   string
	TransferSyntaxes []string
}

// PresentationContextAC is a presentation context item of an
// A-ASSOCIATE-AC (PS3.8 §9.3.3.2).
type PresentationContextAC struct {
	ID byte
	// Result is one of ResultAcceptance, ResultUserRejection,
	// ResultNoReason, ResultAbstractSyntaxNotSupported and
	// ResultTransferSyntaxesNotSupported.
	Result byte
	// TransferSyntax is the accepted transfer syntax. For a context that is
	// not accepted its value is not significant; AppendBinary sends
	// ImplicitVRLittleEndian when it is empty.
	TransferSyntax string
}

// Type returns TypeAssociateRQ.
func (*AssociateRQ) Type() Type { return TypeAssociateRQ }

// Type returns TypeAssociateAC.
func (*AssociateAC) Type() Type { return TypeAssociateAC }

// AppendBinary appends the PDU, header included, to b. It fails when a
// field does not fit its length field, when the request has no presentation
// context or more than MaxPresentationContexts, when a context ID is even
// or repeated, when a context has no transfer syntax, or when
// UserInfo.MaxLength is nil: what ParseAssociateRQ would refuse.
func (rq *AssociateRQ) AppendBinary(b []byte) ([]byte, error) {
	orig := len(b)
	if err := checkContextCount(len(rq.PresentationContexts)); err != nil {
		return b, err
	}
	var seen idSet
	b, start := appendHeader(b, TypeAssociateRQ)
	b = appendAssociateFixed(b, rq.ProtocolVersion, &rq.CalledAE, &rq.CallingAE, &rq.Reserved)
	b, err := appendUIDItem(b, itemApplicationContext, rq.ApplicationContext)
	if err != nil {
		return b[:orig], err
	}
	for i := range rq.PresentationContexts {
		pc := &rq.PresentationContexts[i]
		if msg := seen.add(pc.ID); msg != "" {
			return b[:orig], errors.New("pdu: " + msg)
		}
		if len(pc.TransferSyntaxes) == 0 {
			return b[:orig], fmt.Errorf("pdu: presentation context %d has no transfer syntax", pc.ID)
		}
		b = append(b, itemPresentationContextRQ, 0, 0, 0, pc.ID, 0, 0, 0)
		ctxStart := len(b) - 4
		if b, err = appendUIDItem(b, itemAbstractSyntax, pc.AbstractSyntax); err != nil {
			return b[:orig], err
		}
		for _, ts := range pc.TransferSyntaxes {
			if b, err = appendUIDItem(b, itemTransferSyntax, ts); err != nil {
				return b[:orig], err
			}
		}
		if b, err = finishItem(b, ctxStart); err != nil {
			return b[:orig], err
		}
	}
	if b, err = rq.UserInfo.appendItem(b); err != nil {
		return b[:orig], err
	}
	if b, err = finishPDU(b, start); err != nil {
		return b[:orig], err
	}
	return b, nil
}

// AppendBinary appends the PDU, header included, to b. It fails when a
// field does not fit its length field, when there is no presentation
// context or more than MaxPresentationContexts, when a context ID is even
// or repeated, when a result is not one of PS3.8 Table 9-18, when an
// accepted context has no transfer syntax, or when UserInfo.MaxLength is
// nil.
func (ac *AssociateAC) AppendBinary(b []byte) ([]byte, error) {
	orig := len(b)
	if err := checkContextCount(len(ac.PresentationContexts)); err != nil {
		return b, err
	}
	var seen idSet
	b, start := appendHeader(b, TypeAssociateAC)
	b = appendAssociateFixed(b, ac.ProtocolVersion, &ac.CalledAE, &ac.CallingAE, &ac.Reserved)
	b, err := appendUIDItem(b, itemApplicationContext, ac.ApplicationContext)
	if err != nil {
		return b[:orig], err
	}
	for i := range ac.PresentationContexts {
		pc := &ac.PresentationContexts[i]
		if msg := seen.add(pc.ID); msg != "" {
			return b[:orig], errors.New("pdu: " + msg)
		}
		if pc.Result > ResultTransferSyntaxesNotSupported {
			return b[:orig], fmt.Errorf("pdu: presentation context %d: result %d is not defined", pc.ID, pc.Result)
		}
		ts := pc.TransferSyntax
		if ts == "" {
			if pc.Result == ResultAcceptance {
				return b[:orig], fmt.Errorf("pdu: accepted presentation context %d has no transfer syntax", pc.ID)
			}
			// PS3.8 §9.3.3.2: the sub-item is sent even when the context
			// is not accepted; its value is not tested.
			ts = ImplicitVRLittleEndian
		}
		b = append(b, itemPresentationContextAC, 0, 0, 0, pc.ID, 0, pc.Result, 0)
		ctxStart := len(b) - 4
		if b, err = appendUIDItem(b, itemTransferSyntax, ts); err != nil {
			return b[:orig], err
		}
		if b, err = finishItem(b, ctxStart); err != nil {
			return b[:orig], err
		}
	}
	if b, err = ac.UserInfo.appendItem(b); err != nil {
		return b[:orig], err
	}
	if b, err = finishPDU(b, start); err != nil {
		return b[:orig], err
	}
	return b, nil
}

func checkContextCount(n int) error {
	if n == 0 {
		return fmt.Errorf("pdu: no presentation context")
	}
	if n > MaxPresentationContexts {
		return fmt.Errorf("pdu: %d presentation contexts, more than %d", n, MaxPresentationContexts)
	}
	return nil
}

// idSet records presentation context IDs.
type idSet [256 / 64]uint64

// add records id and returns why it cannot be used, or "" (PS3.8
// §9.3.2.2: "Presentation-context-ID values shall be odd integers between 1
// and 255"; §7.1.1.13: each identifies one context).
func (s *idSet) add(id byte) string {
	if id&1 == 0 {
		return fmt.Sprintf("presentation context ID %d is not odd", id)
	}
	if s[id/64]&(1<<(id%64)) != 0 {
		return fmt.Sprintf("presentation context ID %d is repeated", id)
	}
	s[id/64] |= 1 << (id % 64)
	return ""
}

func appendAssociateFixed(b []byte, version uint16, called, calling *[16]byte, reserved *[32]byte) []byte {
	b = binary.BigEndian.AppendUint16(b, version)
	b = append(b, 0, 0)
	b = append(b, called[:]...)
	b = append(b, calling[:]...)
	return append(b, reserved[:]...)
}

// beginItem appends an item header with a zero length, to be set by
// finishItem, and returns the offset of its value.
func beginItem(b []byte, t byte) ([]byte, int) {
	b = append(b, t, 0, 0, 0)
	return b, len(b)
}

// finishItem sets the 2-byte length of the item whose value starts at start.
func finishItem(b []byte, start int) ([]byte, error) {
	n := len(b) - start
	if n > maxItemLength {
		return b, fmt.Errorf("pdu: item 0x%02X of %d bytes does not fit its 2-byte length field", b[start-4], n)
	}
	binary.BigEndian.PutUint16(b[start-2:start], uint16(n))
	return b, nil
}

// appendUIDItem appends an item whose value is a UID or other string, sent
// without padding (PS3.8 Annex F.1).
func appendUIDItem(b []byte, t byte, s string) ([]byte, error) {
	if len(s) > maxItemLength {
		return b, fmt.Errorf("pdu: item 0x%02X of %d bytes does not fit its 2-byte length field", t, len(s))
	}
	b = append(b, t, 0)
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...), nil
}

// appendLenString appends a 2-byte length and s.
func appendLenString(b []byte, s string) ([]byte, error) {
	if len(s) > 0xFFFF {
		return b, fmt.Errorf("pdu: field of %d bytes does not fit its 2-byte length", len(s))
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...), nil
}

// parser holds the body of the PDU being parsed, for error reports.
type parser struct {
	t Type
	b []byte
}

func (p *parser) errf(off int, reason byte, format string, args ...any) *ParseError {
	return &ParseError{PDU: p.t, Offset: off, Reason: reason, Msg: fmt.Sprintf(format, args...)}
}

// subItem is an item or sub-item with a 2-byte length (PS3.8 §9.3.1).
type subItem struct {
	typ byte
	off int // offset of the item header in the body
	val []byte
}

// valOff returns the offset of the item's value in the body.
func (it subItem) valOff() int { return it.off + 4 }

// items calls f for each item in p.b[start:end], which must be filled
// exactly by well-formed items.
func (p *parser) items(start, end int, where string, f func(subItem) error) error {
	off := start
	for off < end {
		if end-off < 4 {
			return p.errf(off, AbortReasonInvalidPDUParameterValue,
				"%s: %d bytes left, too few for an item header", where, end-off)
		}
		n := int(binary.BigEndian.Uint16(p.b[off+2:]))
		if n > end-off-4 {
			return p.errf(off, AbortReasonInvalidPDUParameterValue,
				"%s: item 0x%02X of length %d runs past its container (%d bytes left)", where, p.b[off], n, end-off-4)
		}
		if err := f(subItem{typ: p.b[off], off: off, val: p.b[off+4 : off+4+n]}); err != nil {
			return err
		}
		off += 4 + n
	}
	return nil
}

// associate is what A-ASSOCIATE-RQ and -AC have in common.
type associate struct {
	version         uint16
	called, calling [16]byte
	reserved        [32]byte
	appContext      string
	rq              []PresentationContextRQ
	ac              []PresentationContextAC
	userInfo        UserInfo
}

// ParseAssociateRQ decodes the body of an A-ASSOCIATE-RQ PDU. Errors are
// *ParseError. The result does not refer to body.
func ParseAssociateRQ(body []byte) (*AssociateRQ, error) {
	a, err := parseAssociate(TypeAssociateRQ, body)
	if err != nil {
		return nil, err
	}
	return &AssociateRQ{
		ProtocolVersion:      a.version,
		CalledAE:             a.called,
		CallingAE:            a.calling,
		Reserved:             a.reserved,
		ApplicationContext:   a.appContext,
		PresentationContexts: a.rq,
		UserInfo:             a.userInfo,
	}, nil
}

// ParseAssociateAC decodes the body of an A-ASSOCIATE-AC PDU. Errors are
// *ParseError. The result does not refer to body.
func ParseAssociateAC(body []byte) (*AssociateAC, error) {
	a, err := parseAssociate(TypeAssociateAC, body)
	if err != nil {
		return nil, err
	}
	return &AssociateAC{
		ProtocolVersion:      a.version,
		CalledAE:             a.called,
		CallingAE:            a.calling,
		Reserved:             a.reserved,
		ApplicationContext:   a.appContext,
		PresentationContexts: a.ac,
		UserInfo:             a.userInfo,
	}, nil
}

func parseAssociate(t Type, body []byte) (*associate, error) {
	p := &parser{t: t, b: body}
	if len(body) < fixedAssociateLength {
		return nil, p.errf(len(body), AbortReasonInvalidPDUParameterValue,
			"%d bytes, shorter than the %d bytes of fixed fields", len(body), fixedAssociateLength)
	}
	a := &associate{version: binary.BigEndian.Uint16(body)}
	copy(a.called[:], body[4:20])
	copy(a.calling[:], body[20:36])
	copy(a.reserved[:], body[36:68])

	var (
		haveAppContext, haveUserInfo bool
		ids                          idSet
		nctx                         int
	)
	ownContext, otherContext := byte(itemPresentationContextRQ), byte(itemPresentationContextAC)
	if t == TypeAssociateAC {
		ownContext, otherContext = otherContext, ownContext
	}
	err := p.items(fixedAssociateLength, len(body), "variable items", func(it subItem) error {
		switch it.typ {
		case itemApplicationContext:
			if haveAppContext {
				return p.errf(it.off, AbortReasonUnexpectedPDUParameter, "second application context item")
			}
			haveAppContext = true
			a.appContext = trimUID(it.val)
		case ownContext:
			nctx++
			if nctx > MaxPresentationContexts {
				return p.errf(it.off, AbortReasonInvalidPDUParameterValue,
					"more than %d presentation context items", MaxPresentationContexts)
			}
			if len(it.val) < 4 {
				return p.errf(it.off, AbortReasonInvalidPDUParameterValue,
					"presentation context item of length %d, shorter than its 4 fixed bytes", len(it.val))
			}
			if msg := ids.add(it.val[0]); msg != "" {
				return p.errf(it.valOff(), AbortReasonInvalidPDUParameterValue, "%s", msg)
			}
			if t == TypeAssociateRQ {
				pc, err := p.contextRQ(it)
				if err != nil {
					return err
				}
				a.rq = append(a.rq, pc)
			} else {
				pc, err := p.contextAC(it)
				if err != nil {
					return err
				}
				a.ac = append(a.ac, pc)
			}
		case otherContext:
			return p.errf(it.off, AbortReasonUnexpectedPDUParameter,
				"presentation context item of type 0x%02X in an %v", it.typ, t)
		case itemUserInfo:
			if haveUserInfo {
				return p.errf(it.off, AbortReasonUnexpectedPDUParameter, "second user information item")
			}
			haveUserInfo = true
			return p.userInfo(it, &a.userInfo)
		}
		// Other item types are not defined here: PS3.8 §9.3.1 items carry
		// their length so that they can be skipped.
		return nil
	})
	if err != nil {
		return nil, err
	}
	switch {
	case !haveAppContext:
		return nil, p.errf(len(body), AbortReasonInvalidPDUParameterValue, "no application context item")
	case nctx == 0:
		return nil, p.errf(len(body), AbortReasonInvalidPDUParameterValue, "no presentation context item")
	case !haveUserInfo:
		return nil, p.errf(len(body), AbortReasonInvalidPDUParameterValue, "no user information item")
	}
	// PS3.7 §D.3.3.1 requires the maximum length notification, but a
	// request without it is still understood (DCMTK accepts it too): the
	// peer then states no maximum, which PS3.8 Annex D.1 defines as 0.
	if a.userInfo.MaxLength == nil {
		var unlimited uint32
		a.userInfo.MaxLength = &unlimited
	}
	return a, nil
}

// contextRQ decodes a presentation context item of an A-ASSOCIATE-RQ: the
// ID, three reserved bytes, one abstract syntax sub-item and one or more
// transfer syntax sub-items (PS3.8 Table 9-13).
func (p *parser) contextRQ(it subItem) (PresentationContextRQ, error) {
	pc := PresentationContextRQ{ID: it.val[0]}
	haveAbstract := false
	start := it.valOff() + 4
	err := p.items(start, it.valOff()+len(it.val), "presentation context", func(sub subItem) error {
		switch sub.typ {
		case itemAbstractSyntax:
			if haveAbstract {
				return p.errf(sub.off, AbortReasonUnexpectedPDUParameter,
					"presentation context %d: second abstract syntax sub-item", pc.ID)
			}
			haveAbstract = true
			pc.AbstractSyntax = trimUID(sub.val)
		case itemTransferSyntax:
			pc.TransferSyntaxes = append(pc.TransferSyntaxes, trimUID(sub.val))
		default:
			return p.unexpectedSubItem(sub, pc.ID)
		}
		return nil
	})
	if err != nil {
		return pc, err
	}
	if !haveAbstract {
		return pc, p.errf(it.off, AbortReasonInvalidPDUParameterValue,
			"presentation context %d has no abstract syntax sub-item", pc.ID)
	}
	if len(pc.TransferSyntaxes) == 0 {
		return pc, p.errf(it.off, AbortReasonInvalidPDUParameterValue,
			"presentation context %d has no transfer syntax sub-item", pc.ID)
	}
	return pc, nil
}

// contextAC decodes a presentation context item of an A-ASSOCIATE-AC: the
// ID, a reserved byte, the result/reason, a reserved byte and one transfer
// syntax sub-item (PS3.8 Table 9-18).
func (p *parser) contextAC(it subItem) (PresentationContextAC, error) {
	pc := PresentationContextAC{ID: it.val[0], Result: it.val[2]}
	if pc.Result > ResultTransferSyntaxesNotSupported {
		return pc, p.errf(it.valOff()+2, AbortReasonInvalidPDUParameterValue,
			"presentation context %d: result/reason %d is not defined", pc.ID, pc.Result)
	}
	start, end := it.valOff()+4, it.valOff()+len(it.val)
	if pc.Result != ResultAcceptance {
		// PS3.8 §9.3.3.2: the transfer syntax sub-item of a context that is
		// not accepted "shall not be tested". Keep its value when it is
		// well formed, for logs; ignore it otherwise.
		if end-start >= 4 && p.b[start] == itemTransferSyntax &&
			int(binary.BigEndian.Uint16(p.b[start+2:])) == end-start-4 {
			pc.TransferSyntax = trimUID(p.b[start+4 : end])
		}
		return pc, nil
	}
	haveTS := false
	err := p.items(start, end, "presentation context", func(sub subItem) error {
		if sub.typ != itemTransferSyntax {
			return p.unexpectedSubItem(sub, pc.ID)
		}
		if haveTS {
			return p.errf(sub.off, AbortReasonUnexpectedPDUParameter,
				"presentation context %d: second transfer syntax sub-item", pc.ID)
		}
		haveTS = true
		pc.TransferSyntax = trimUID(sub.val)
		return nil
	})
	if err != nil {
		return pc, err
	}
	if !haveTS {
		return pc, p.errf(it.off, AbortReasonInvalidPDUParameterValue,
			"accepted presentation context %d has no transfer syntax sub-item", pc.ID)
	}
	return pc, nil
}

// unexpectedSubItem reports a sub-item that does not belong in a
// presentation context item: reason 5 for an item type PS3.8 defines
// elsewhere, reason 4 for an undefined one.
func (p *parser) unexpectedSubItem(sub subItem, id byte) error {
	switch sub.typ {
	case itemApplicationContext, itemPresentationContextRQ, itemPresentationContextAC,
		itemAbstractSyntax, itemTransferSyntax, itemUserInfo:
		return p.errf(sub.off, AbortReasonUnexpectedPDUParameter,
			"presentation context %d: unexpected sub-item of type 0x%02X", id, sub.typ)
	}
	if isUserInfoSubItem(sub.typ) {
		return p.errf(sub.off, AbortReasonUnexpectedPDUParameter,
			"presentation context %d: user information sub-item 0x%02X", id, sub.typ)
	}
	return p.errf(sub.off, AbortReasonUnrecognizedPDUParameter,
		"presentation context %d: undefined sub-item of type 0x%02X", id, sub.typ)
}
