package pdu

import (
	"encoding/binary"
	"math/rand/v2"
)

// Random messages for the round-trip and fuzz seeds, in the style of
// crypto/tls handshake_messages_test.go: every field and every optional
// sub-item takes random values within what the encoding allows.

func randUID(r *rand.Rand) string {
	n := r.IntN(65)
	b := make([]byte, n)
	for i := range b {
		if r.IntN(5) == 0 {
			b[i] = '.'
		} else {
			b[i] = byte('0' + r.IntN(10))
		}
	}
	return string(b)
}

func randBytes(r *rand.Rand, maxLen int) []byte {
	n := r.IntN(maxLen + 1)
	if n == 0 {
		return nil
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func randString(r *rand.Rand, maxLen int) string {
	b := make([]byte, r.IntN(maxLen+1))
	for i := range b {
		b[i] = byte(' ' + r.IntN(95))
	}
	return string(b)
}

// randIDs returns n distinct odd presentation context IDs.
func randIDs(r *rand.Rand, n int) []byte {
	ids := make([]byte, n)
	for i, k := range r.Perm(MaxPresentationContexts)[:n] {
		ids[i] = byte(2*k + 1)
	}
	return ids
}

func randContextCount(r *rand.Rand) int {
	if r.IntN(10) == 0 {
		return MaxPresentationContexts
	}
	return 1 + r.IntN(12)
}

func randUserInfo(r *rand.Rand) UserInfo {
	ml := r.Uint32()
	ui := UserInfo{MaxLength: &ml}
	if r.IntN(2) == 0 {
		ui.ImplementationClassUID = randUID(r)
	}
	if r.IntN(2) == 0 {
		ui.ImplementationVersionName = randString(r, 16)
	}
	if r.IntN(2) == 0 {
		ui.AsyncOps = &AsyncOpsWindow{Invoked: uint16(r.Uint32()), Performed: uint16(r.Uint32())}
	}
	for range r.IntN(4) {
		ui.RoleSelections = append(ui.RoleSelections, RoleSelection{SOPClassUID: randUID(r), SCU: r.IntN(2) == 0, SCP: r.IntN(2) == 0})
	}
	for range r.IntN(4) {
		ui.ExtendedNegotiations = append(ui.ExtendedNegotiations, ExtendedNegotiation{SOPClassUID: randUID(r), Info: randBytes(r, 20)})
	}
	for range r.IntN(3) {
		cn := CommonExtendedNegotiation{SOPClassUID: randUID(r), ServiceClassUID: randUID(r)}
		for range r.IntN(4) {
			cn.RelatedGeneralSOPClassUIDs = append(cn.RelatedGeneralSOPClassUIDs, randUID(r))
		}
		ui.CommonExtendedNegotiations = append(ui.CommonExtendedNegotiations, cn)
	}
	if r.IntN(2) == 0 {
		ui.UserIdentityRQ = &UserIdentity{Type: byte(r.Uint32()), PositiveResponseRequested: r.IntN(2) == 0,
			Primary: randBytes(r, 30), Secondary: randBytes(r, 30)}
	}
	if r.IntN(3) == 0 {
		ui.UserIdentityAC = &UserIdentityAC{ServerResponse: randBytes(r, 30)}
	}
	for range r.IntN(3) {
		t := byte(r.Uint32())
		for t >= itemMaxLength && t <= itemUserIdentityAC {
			t = byte(r.Uint32())
		}
		ui.Unknown = append(ui.Unknown, RawItem{Type: t, Data: randBytes(r, 20)})
	}
	return ui
}

func randAE(r *rand.Rand) (b [16]byte) {
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func randReserved(r *rand.Rand) (b [32]byte) {
	if r.IntN(2) == 0 {
		for i := range b {
			b[i] = byte(r.Uint32())
		}
	}
	return b
}

func randAssociateRQ(r *rand.Rand) *AssociateRQ {
	rq := &AssociateRQ{
		ProtocolVersion:    uint16(r.Uint32()),
		CalledAE:           randAE(r),
		CallingAE:          randAE(r),
		Reserved:           randReserved(r),
		ApplicationContext: randUID(r),
		UserInfo:           randUserInfo(r),
	}
	for _, id := range randIDs(r, randContextCount(r)) {
		pc := PresentationContextRQ{ID: id, AbstractSyntax: randUID(r)}
		for range 1 + r.IntN(5) {
			pc.TransferSyntaxes = append(pc.TransferSyntaxes, randUID(r))
		}
		rq.PresentationContexts = append(rq.PresentationContexts, pc)
	}
	return rq
}

func randAssociateAC(r *rand.Rand) *AssociateAC {
	ac := &AssociateAC{
		ProtocolVersion:    uint16(r.Uint32()),
		CalledAE:           randAE(r),
		CallingAE:          randAE(r),
		Reserved:           randReserved(r),
		ApplicationContext: randUID(r),
		UserInfo:           randUserInfo(r),
	}
	for _, id := range randIDs(r, randContextCount(r)) {
		pc := PresentationContextAC{ID: id, Result: byte(r.IntN(5)), TransferSyntax: randUID(r)}
		if pc.TransferSyntax == "" {
			// An empty transfer syntax is sent as Implicit VR Little Endian
			// for a rejected context, and refused for an accepted one.
			pc.TransferSyntax = ImplicitVRLittleEndian
		}
		ac.PresentationContexts = append(ac.PresentationContexts, pc)
	}
	return ac
}

func randPDataTF(r *rand.Rand) *PDataTF {
	p := &PDataTF{}
	for range 1 + r.IntN(5) {
		p.PDVs = append(p.PDVs, PDV{ContextID: byte(r.Uint32()), Command: r.IntN(2) == 0, Last: r.IntN(2) == 0,
			Data: randBytes(r, 300)})
	}
	return p
}

// randMessage returns a random message of type t.
func randMessage(r *rand.Rand, t Type) Message {
	switch t {
	case TypeAssociateRQ:
		return randAssociateRQ(r)
	case TypeAssociateAC:
		return randAssociateAC(r)
	case TypeAssociateRJ:
		return &AssociateRJ{Result: byte(r.Uint32()), Source: byte(r.Uint32()), Reason: byte(r.Uint32())}
	case TypePDataTF:
		return randPDataTF(r)
	case TypeReleaseRQ:
		return &ReleaseRQ{}
	case TypeReleaseRP:
		return &ReleaseRP{}
	case TypeAbort:
		return &Abort{Source: byte(r.Uint32()), Reason: byte(r.Uint32())}
	}
	panic("bad type")
}

var allTypes = []Type{TypeAssociateRQ, TypeAssociateAC, TypeAssociateRJ, TypePDataTF, TypeReleaseRQ, TypeReleaseRP, TypeAbort}

// encode returns the complete PDU of m.
func encode(m Message) ([]byte, error) {
	switch m := m.(type) {
	case interface{ AppendBinary([]byte) ([]byte, error) }:
		return m.AppendBinary(nil)
	case interface{ Append([]byte) []byte }:
		return m.Append(nil), nil
	}
	panic("no encoder")
}

// Builders of hand-made PDU bodies for the malformed-input tests.

// item returns an item with a 2-byte length holding the concatenated parts.
func item(t byte, parts ...[]byte) []byte {
	var v []byte
	for _, p := range parts {
		v = append(v, p...)
	}
	b := []byte{t, 0, 0, 0}
	binary.BigEndian.PutUint16(b[2:], uint16(len(v)))
	return append(b, v...)
}

func str(s string) []byte { return []byte(s) }

func u16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }

func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// lenStr is a 2-byte length followed by s.
func lenStr(s string) []byte { return append(u16(uint16(len(s))), s...) }

// associateBody returns the fixed fields of an A-ASSOCIATE body followed by
// the items.
func associateBody(items ...[]byte) []byte {
	b := make([]byte, fixedAssociateLength)
	b[1] = 1
	copy(b[4:20], "CALLED          ")
	copy(b[20:36], "CALLING         ")
	for _, it := range items {
		b = append(b, it...)
	}
	return b
}

func appCtx() []byte { return item(itemApplicationContext, str(ApplicationContextName)) }

func pcRQ(id byte, subs ...[]byte) []byte {
	return item(itemPresentationContextRQ, append([][]byte{{id, 0, 0, 0}}, subs...)...)
}

func pcAC(id, result byte, subs ...[]byte) []byte {
	return item(itemPresentationContextAC, append([][]byte{{id, 0, result, 0}}, subs...)...)
}

func abstract(uid string) []byte { return item(itemAbstractSyntax, str(uid)) }

func transfer(uid string) []byte { return item(itemTransferSyntax, str(uid)) }

func userInfo(subs ...[]byte) []byte { return item(itemUserInfo, subs...) }

func maxLength(n uint32) []byte { return item(itemMaxLength, u32(n)) }

// goodPC is a well-formed request presentation context.
func goodPC(id byte) []byte { return pcRQ(id, abstract("1.2.3"), transfer(ImplicitVRLittleEndian)) }

// goodUI is a well-formed user information item.
func goodUI(extra ...[]byte) []byte { return userInfo(append([][]byte{maxLength(16384)}, extra...)...) }
