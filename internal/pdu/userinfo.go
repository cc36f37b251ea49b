package pdu

import (
	"encoding/binary"
	"fmt"
)

// UserInfo is the user information item (50H) of an A-ASSOCIATE-RQ or -AC
// and its sub-items (PS3.8 Annex D, PS3.7 Annex D.3.3).
type UserInfo struct {
	// MaxLength is the maximum length sub-item (51H): the largest
	// P-DATA-TF PDU length the sender accepts, 0 meaning no limit (PS3.8
	// Annex D.1). It is mandatory: nil only in a value being built.
	MaxLength *uint32
	// ImplementationClassUID (52H) and ImplementationVersionName (55H,
	// 1 to 16 characters) identify the peer's software (PS3.7 §D.3.3.2).
	// An empty value is not sent.
	ImplementationClassUID    string
	ImplementationVersionName string
	// AsyncOps is the asynchronous operations window sub-item (53H).
	AsyncOps *AsyncOpsWindow
	// RoleSelections are the SCP/SCU role selection sub-items (54H).
	RoleSelections []RoleSelection
	// ExtendedNegotiations are the SOP class extended negotiation
	// sub-items (56H).
	ExtendedNegotiations []ExtendedNegotiation
	// CommonExtendedNegotiations are the SOP class common extended
	// negotiation sub-items (57H), sent by requesters.
	CommonExtendedNegotiations []CommonExtendedNegotiation
	// UserIdentityRQ is the user identity negotiation sub-item of a
	// request (58H); UserIdentityAC is the server response of an
	// A-ASSOCIATE-AC (59H).
	UserIdentityRQ *UserIdentity
	UserIdentityAC *UserIdentityAC
	// Unknown holds sub-items of types this package does not define, in
	// the order received. They are sent after the defined ones; their type
	// must not be one of the defined types 51H-59H.
	Unknown []RawItem
}

// AsyncOpsWindow is the asynchronous operations window sub-item (PS3.7
// §D.3.3.3). A value of 0 means unlimited.
type AsyncOpsWindow struct {
	Invoked, Performed uint16
}

// RoleSelection is an SCP/SCU role selection sub-item (PS3.7 §D.3.3.4). In
// a request SCU and SCP propose the requester's roles; in an AC they say
// which proposals are accepted.
type RoleSelection struct {
	SOPClassUID string
	SCU, SCP    bool
}

// ExtendedNegotiation is a SOP class extended negotiation sub-item (PS3.7
// §D.3.3.5).
type ExtendedNegotiation struct {
	SOPClassUID string
	// Info is the service-class-application-information field.
	Info []byte
}

// CommonExtendedNegotiation is a SOP class common extended negotiation
// sub-item (PS3.7 §D.3.3.6).
type CommonExtendedNegotiation struct {
	SOPClassUID                string
	ServiceClassUID            string
	RelatedGeneralSOPClassUIDs []string
}

// UserIdentity is the user identity negotiation sub-item of a request
// (PS3.7 §D.3.3.7.1).
type UserIdentity struct {
	// Type is one of the UserIdentity... constants.
	Type                      byte
	PositiveResponseRequested bool
	// Primary is the user name, Kerberos ticket, SAML assertion or JSON
	// web token; Secondary the passcode (type 2 only).
	Primary, Secondary []byte
}

// UserIdentityAC is the user identity negotiation sub-item of an
// A-ASSOCIATE-AC (PS3.7 §D.3.3.7.2).
type UserIdentityAC struct {
	ServerResponse []byte
}

// RawItem is a user information sub-item of an undefined type.
type RawItem struct {
	Type byte
	Data []byte
}

// appendItem appends the user information item.
func (ui *UserInfo) appendItem(b []byte) ([]byte, error) {
	if ui.MaxLength == nil {
		return b, fmt.Errorf("pdu: user information has no maximum length (PS3.7 §D.3.3.1 requires it)")
	}
	var (
		err      error
		start, s int
	)
	b, start = beginItem(b, itemUserInfo)
	b = append(b, itemMaxLength, 0, 0, 4)
	b = binary.BigEndian.AppendUint32(b, *ui.MaxLength)
	if ui.ImplementationClassUID != "" {
		if b, err = appendUIDItem(b, itemImplClassUID, ui.ImplementationClassUID); err != nil {
			return b, err
		}
	}
	if w := ui.AsyncOps; w != nil {
		b = append(b, itemAsyncOps, 0, 0, 4)
		b = binary.BigEndian.AppendUint16(b, w.Invoked)
		b = binary.BigEndian.AppendUint16(b, w.Performed)
	}
	for _, rs := range ui.RoleSelections {
		b, s = beginItem(b, itemRoleSelection)
		if b, err = appendLenString(b, rs.SOPClassUID); err != nil {
			return b, err
		}
		b = append(b, boolByte(rs.SCU), boolByte(rs.SCP))
		if b, err = finishItem(b, s); err != nil {
			return b, err
		}
	}
	if ui.ImplementationVersionName != "" {
		if b, err = appendUIDItem(b, itemImplVersionName, ui.ImplementationVersionName); err != nil {
			return b, err
		}
	}
	for _, en := range ui.ExtendedNegotiations {
		b, s = beginItem(b, itemExtNeg)
		if b, err = appendLenString(b, en.SOPClassUID); err != nil {
			return b, err
		}
		b = append(b, en.Info...)
		if b, err = finishItem(b, s); err != nil {
			return b, err
		}
	}
	for _, cn := range ui.CommonExtendedNegotiations {
		// Byte 2 is the sub-item version, 00H (PS3.7 Table D.3-12).
		b, s = beginItem(b, itemCommonExtNeg)
		if b, err = appendLenString(b, cn.SOPClassUID); err != nil {
			return b, err
		}
		if b, err = appendLenString(b, cn.ServiceClassUID); err != nil {
			return b, err
		}
		b = append(b, 0, 0)
		rel := len(b)
		for _, uid := range cn.RelatedGeneralSOPClassUIDs {
			if b, err = appendLenString(b, uid); err != nil {
				return b, err
			}
		}
		if n := len(b) - rel; n > 0xFFFF {
			return b, fmt.Errorf("pdu: related general SOP classes of %d bytes do not fit their 2-byte length", n)
		}
		binary.BigEndian.PutUint16(b[rel-2:], uint16(len(b)-rel))
		if b, err = finishItem(b, s); err != nil {
			return b, err
		}
	}
	if id := ui.UserIdentityRQ; id != nil {
		b, s = beginItem(b, itemUserIdentityRQ)
		b = append(b, id.Type, boolByte(id.PositiveResponseRequested))
		if b, err = appendLenString(b, string(id.Primary)); err != nil {
			return b, err
		}
		if b, err = appendLenString(b, string(id.Secondary)); err != nil {
			return b, err
		}
		if b, err = finishItem(b, s); err != nil {
			return b, err
		}
	}
	if id := ui.UserIdentityAC; id != nil {
		b, s = beginItem(b, itemUserIdentityAC)
		if b, err = appendLenString(b, string(id.ServerResponse)); err != nil {
			return b, err
		}
		if b, err = finishItem(b, s); err != nil {
			return b, err
		}
	}
	for _, raw := range ui.Unknown {
		if isUserInfoSubItem(raw.Type) {
			return b, fmt.Errorf("pdu: unknown user information sub-item has the defined type 0x%02X", raw.Type)
		}
		if b, err = appendUIDItem(b, raw.Type, string(raw.Data)); err != nil {
			return b, err
		}
	}
	return finishItem(b, start)
}

// isUserInfoSubItem reports whether t is one of the user information
// sub-item types defined here, 51H to 59H.
func isUserInfoSubItem(t byte) bool { return t >= itemMaxLength && t <= itemUserIdentityAC }

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// userInfo decodes the user information item it into ui.
func (p *parser) userInfo(it subItem, ui *UserInfo) error {
	// Sub-items that may appear only once (PS3.8 Annex D.1, PS3.7 D.3.3).
	var once [itemUserIdentityAC - itemMaxLength + 1]bool
	return p.items(it.valOff(), it.valOff()+len(it.val), "user information", func(sub subItem) error {
		if isUserInfoSubItem(sub.typ) {
			switch sub.typ {
			case itemRoleSelection, itemExtNeg, itemCommonExtNeg:
			default:
				if once[sub.typ-itemMaxLength] {
					return p.errf(sub.off, AbortReasonUnexpectedPDUParameter,
						"second user information sub-item of type 0x%02X", sub.typ)
				}
				once[sub.typ-itemMaxLength] = true
			}
		}
		f := fields{p: p, b: sub.val, off: sub.valOff(), what: sub.typ}
		switch sub.typ {
		case itemMaxLength:
			v := f.u32()
			if err := f.end(); err != nil {
				return err
			}
			ui.MaxLength = &v
		case itemImplClassUID:
			ui.ImplementationClassUID = trimUID(sub.val)
		case itemAsyncOps:
			w := &AsyncOpsWindow{Invoked: f.u16(), Performed: f.u16()}
			if err := f.end(); err != nil {
				return err
			}
			ui.AsyncOps = w
		case itemRoleSelection:
			rs := RoleSelection{SOPClassUID: trimUID(f.lenBytes())}
			rs.SCU = f.flag()
			rs.SCP = f.flag()
			if err := f.end(); err != nil {
				return err
			}
			ui.RoleSelections = append(ui.RoleSelections, rs)
		case itemImplVersionName:
			ui.ImplementationVersionName = string(sub.val)
		case itemExtNeg:
			en := ExtendedNegotiation{SOPClassUID: trimUID(f.lenBytes())}
			en.Info = cloneBytes(f.rest())
			if err := f.end(); err != nil {
				return err
			}
			ui.ExtendedNegotiations = append(ui.ExtendedNegotiations, en)
		case itemCommonExtNeg:
			cn := CommonExtendedNegotiation{
				SOPClassUID:     trimUID(f.lenBytes()),
				ServiceClassUID: trimUID(f.lenBytes()),
			}
			relOff := f.off + f.pos + 2
			rel := fields{p: p, b: f.lenBytes(), off: relOff, what: sub.typ}
			if err := f.end(); err != nil {
				return err
			}
			for rel.pos < len(rel.b) && rel.err == nil {
				cn.RelatedGeneralSOPClassUIDs = append(cn.RelatedGeneralSOPClassUIDs, trimUID(rel.lenBytes()))
			}
			if err := rel.end(); err != nil {
				return err
			}
			ui.CommonExtendedNegotiations = append(ui.CommonExtendedNegotiations, cn)
		case itemUserIdentityRQ:
			id := &UserIdentity{Type: f.byte()}
			id.PositiveResponseRequested = f.flag()
			id.Primary = cloneBytes(f.lenBytes())
			id.Secondary = cloneBytes(f.lenBytes())
			if err := f.end(); err != nil {
				return err
			}
			ui.UserIdentityRQ = id
		case itemUserIdentityAC:
			id := &UserIdentityAC{ServerResponse: cloneBytes(f.lenBytes())}
			if err := f.end(); err != nil {
				return err
			}
			ui.UserIdentityAC = id
		default:
			// PS3.8 Annex D.2 note 2: unrecognized sub-items are ignored;
			// they are kept so that they can be logged or sent on.
			ui.Unknown = append(ui.Unknown, RawItem{Type: sub.typ, Data: cloneBytes(sub.val)})
		}
		return nil
	})
}

// fields reads the fixed and length-prefixed fields of a sub-item's value.
// The first error sticks; end reports it.
type fields struct {
	p    *parser
	b    []byte
	off  int // offset of b in the PDU body
	pos  int
	what byte // sub-item type, for messages
	err  error
}

func (f *fields) take(n int, name string) []byte {
	if f.err != nil {
		return nil
	}
	if n > len(f.b)-f.pos {
		f.err = f.p.errf(f.off+f.pos, AbortReasonInvalidPDUParameterValue,
			"sub-item 0x%02X: %s needs %d bytes, %d left", f.what, name, n, len(f.b)-f.pos)
		return nil
	}
	v := f.b[f.pos : f.pos+n]
	f.pos += n
	return v
}

func (f *fields) byte() byte {
	if v := f.take(1, "a 1-byte field"); v != nil {
		return v[0]
	}
	return 0
}

// flag reads a byte that must be 0 or 1 (PS3.7 Tables D.3-9, D.3-10 and
// D.3-14 define no other values).
func (f *fields) flag() bool {
	pos := f.pos
	v := f.take(1, "a 1-byte flag")
	if v == nil {
		return false
	}
	if v[0] > 1 {
		f.err = f.p.errf(f.off+pos, AbortReasonInvalidPDUParameterValue,
			"sub-item 0x%02X: flag value %d is neither 0 nor 1", f.what, v[0])
	}
	return v[0] == 1
}

func (f *fields) u16() uint16 {
	if v := f.take(2, "a 2-byte field"); v != nil {
		return binary.BigEndian.Uint16(v)
	}
	return 0
}

func (f *fields) u32() uint32 {
	if v := f.take(4, "a 4-byte field"); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}

// lenBytes reads a 2-byte length and that many bytes.
func (f *fields) lenBytes() []byte {
	n := f.u16()
	return f.take(int(n), "a length-prefixed field")
}

func (f *fields) rest() []byte {
	if f.err != nil {
		return nil
	}
	v := f.b[f.pos:]
	f.pos = len(f.b)
	return v
}

// end returns the first error, or one when bytes are left over.
func (f *fields) end() error {
	if f.err != nil {
		return f.err
	}
	if f.pos != len(f.b) {
		return f.p.errf(f.off+f.pos, AbortReasonInvalidPDUParameterValue,
			"sub-item 0x%02X: %d bytes left over after its fields", f.what, len(f.b)-f.pos)
	}
	return nil
}
