package assoc

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/dicomrecv/dicomrecv/internal/pdu"
)

const (
	ct       = "1.2.840.10008.5.1.4.1.1.2"
	mr       = "1.2.840.10008.5.1.4.1.1.4"
	find     = "1.2.840.10008.5.1.4.1.2.2.1"
	implicit = "1.2.840.10008.1.2"
	explicit = "1.2.840.10008.1.2.1"
	jpeg     = "1.2.840.10008.1.2.4.50"
)

func set(uids ...string) func(string) bool {
	m := map[string]bool{}
	for _, u := range uids {
		m[u] = true
	}
	return func(s string) bool { return m[s] }
}

func policy() *Policy {
	return &Policy{
		AETitle:                "STORE-SCP",
		AbstractSyntax:         set(ct, mr),
		TransferSyntax:         set(implicit, explicit),
		MaxPDULength:           16384,
		ImplementationClassUID: "2.25.1",
	}
}

func request(pcs ...pdu.PresentationContextRQ) *pdu.AssociateRQ {
	ml := uint32(32768)
	return &pdu.AssociateRQ{
		ProtocolVersion:      1,
		CalledAE:             pdu.PadAE("STORE-SCP"),
		CallingAE:            pdu.PadAE("STORESCU"),
		ApplicationContext:   pdu.ApplicationContextName,
		PresentationContexts: pcs,
		UserInfo:             pdu.UserInfo{MaxLength: &ml},
	}
}

func pc(id byte, as string, ts ...string) pdu.PresentationContextRQ {
	return pdu.PresentationContextRQ{ID: id, AbstractSyntax: as, TransferSyntaxes: ts}
}

func TestNegotiateContexts(t *testing.T) {
	for _, tc := range []struct {
		name   string
		pc     pdu.PresentationContextRQ
		result byte
		ts     string
	}{
		{"accepted, first acceptable in sender's order", pc(1, ct, jpeg, explicit, implicit), pdu.ResultAcceptance, explicit},
		{"accepted, only one", pc(3, mr, implicit), pdu.ResultAcceptance, implicit},
		{"abstract syntax not supported", pc(5, find, implicit), pdu.ResultAbstractSyntaxNotSupported, ""},
		{"transfer syntaxes not supported", pc(7, ct, jpeg), pdu.ResultTransferSyntaxesNotSupported, ""},
		{"verification always accepted", pc(9, VerificationSOPClass, implicit), pdu.ResultAcceptance, implicit},
		{"verification still needs a transfer syntax", pc(11, VerificationSOPClass, jpeg), pdu.ResultTransferSyntaxesNotSupported, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := Negotiate(request(tc.pc), policy(), netip.Addr{})
			if err != nil {
				t.Fatal(err)
			}
			got := n.AC.PresentationContexts
			if len(got) != 1 || got[0].ID != tc.pc.ID || got[0].Result != tc.result || got[0].TransferSyntax != tc.ts {
				t.Fatalf("AC context %+v, want id %d result %d ts %q", got, tc.pc.ID, tc.result, tc.ts)
			}
			if accepted := len(n.Contexts) == 1; accepted != (tc.result == pdu.ResultAcceptance) {
				t.Fatalf("accepted contexts %+v", n.Contexts)
			}
		})
	}
}

// Senders often propose one context per transfer syntax for the same SOP
// class: each gets its own answer.
func TestNegotiateEveryContextAnswered(t *testing.T) {
	rq := request(pc(1, ct, jpeg), pc(3, ct, explicit), pc(5, ct, implicit), pc(7, find, implicit))
	rq.Reserved[0], rq.Reserved[31] = 0xFF, 0x01
	n, err := Negotiate(rq, policy(), netip.Addr{})
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{pdu.ResultTransferSyntaxesNotSupported, pdu.ResultAcceptance, pdu.ResultAcceptance, pdu.ResultAbstractSyntaxNotSupported}
	for i, r := range n.AC.PresentationContexts {
		if r.ID != rq.PresentationContexts[i].ID || r.Result != want[i] {
			t.Errorf("context %d: %+v, want result %d", i, r, want[i])
		}
	}
	if len(n.Contexts) != 2 || n.PeerMaxPDU != 32768 {
		t.Errorf("contexts %+v, peer max %d", n.Contexts, n.PeerMaxPDU)
	}
	if n.AC.CalledAE != rq.CalledAE || n.AC.CallingAE != rq.CallingAE || n.AC.Reserved != rq.Reserved {
		t.Error("the AC does not repeat the request's AE title fields")
	}
	if *n.AC.UserInfo.MaxLength != 16384 || n.AC.UserInfo.ImplementationClassUID != "2.25.1" {
		t.Errorf("AC user info %+v", n.AC.UserInfo)
	}
}

func TestNegotiateRejections(t *testing.T) {
	type mod func(*pdu.AssociateRQ, *Policy)
	for _, tc := range []struct {
		name                   string
		mod                    mod
		remote                 string
		result, source, reason byte
	}{
		{"protocol version", func(rq *pdu.AssociateRQ, p *Policy) { rq.ProtocolVersion = 2 }, "",
			pdu.RejectedPermanent, pdu.RejectSourceACSE, pdu.RejectReasonProtocolVersionUnsupported},
		{"application context", func(rq *pdu.AssociateRQ, p *Policy) { rq.ApplicationContext = "1.2.3" }, "",
			pdu.RejectedPermanent, pdu.RejectSourceServiceUser, pdu.RejectReasonAppContextNotSupported},
		{"called AE required", func(rq *pdu.AssociateRQ, p *Policy) {
			rq.CalledAE = pdu.PadAE("OTHER")
			p.RequireCalledAETitle = true
		}, "", pdu.RejectedPermanent, pdu.RejectSourceServiceUser, pdu.RejectReasonCalledAENotRecognized},
		{"calling AE not allowed", func(rq *pdu.AssociateRQ, p *Policy) { p.AllowedCallingAETitles = []string{"MODALITY"} }, "",
			pdu.RejectedPermanent, pdu.RejectSourceServiceUser, pdu.RejectReasonCallingAENotRecognized},
		{"calling AE from wrong host", func(rq *pdu.AssociateRQ, p *Policy) {
			p.Peers = []Peer{{AETitle: "STORESCU", Hosts: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}}
		}, "192.168.1.5", pdu.RejectedPermanent, pdu.RejectSourceServiceUser, pdu.RejectReasonCallingAENotRecognized},
		{"calling AE with control character", func(rq *pdu.AssociateRQ, p *Policy) { rq.CallingAE = pdu.PadAE("BAD\x01AE") }, "",
			pdu.RejectedPermanent, pdu.RejectSourceServiceUser, pdu.RejectReasonCallingAENotRecognized},
		{"empty calling AE", func(rq *pdu.AssociateRQ, p *Policy) { rq.CallingAE = pdu.PadAE("") }, "",
			pdu.RejectedPermanent, pdu.RejectSourceServiceUser, pdu.RejectReasonCallingAENotRecognized},
		{"peer maximum length too small", func(rq *pdu.AssociateRQ, p *Policy) {
			ml := uint32(7)
			rq.UserInfo.MaxLength = &ml
		}, "", pdu.RejectedPermanent, pdu.RejectSourceACSE, pdu.RejectReasonACSENoReason},
		{"called AE with backslash", func(rq *pdu.AssociateRQ, p *Policy) { rq.CalledAE = pdu.PadAE(`A\B`) }, "",
			pdu.RejectedPermanent, pdu.RejectSourceServiceUser, pdu.RejectReasonCalledAENotRecognized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rq, p := request(pc(1, ct, implicit)), policy()
			tc.mod(rq, p)
			var remote netip.Addr
			if tc.remote != "" {
				remote = netip.MustParseAddr(tc.remote)
			}
			_, err := Negotiate(rq, p, remote)
			var rj *RejectError
			if !errors.As(err, &rj) {
				t.Fatalf("err %v, want *RejectError", err)
			}
			if rj.Result != tc.result || rj.Source != tc.source || rj.Reason != tc.reason {
				t.Fatalf("rejected with %d/%d/%d, want %d/%d/%d", rj.Result, rj.Source, rj.Reason, tc.result, tc.source, tc.reason)
			}
		})
	}
}

func TestNegotiateAccessAllowed(t *testing.T) {
	p := policy()
	p.RequireCalledAETitle = true
	p.AllowedCallingAETitles = []string{"STORESCU"}
	p.Peers = []Peer{{AETitle: "STORESCU", Hosts: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}}
	rq := request(pc(1, ct, implicit))
	rq.CalledAE = pdu.PadAE("  STORE-SCP") // leading spaces are not significant
	if _, err := Negotiate(rq, p, netip.MustParseAddr("::ffff:127.0.0.1")); err != nil {
		t.Fatal(err)
	}
}

func TestNegotiateRoleSelectionAndAsyncOps(t *testing.T) {
	rq := request(pc(1, ct, implicit), pc(3, find, implicit))
	rq.UserInfo.RoleSelections = []pdu.RoleSelection{{SOPClassUID: ct, SCU: true, SCP: true}, {SOPClassUID: find, SCU: true}}
	rq.UserInfo.AsyncOps = &pdu.AsyncOpsWindow{Invoked: 5, Performed: 5}
	n, err := Negotiate(rq, policy(), netip.Addr{})
	if err != nil {
		t.Fatal(err)
	}
	rs := n.AC.UserInfo.RoleSelections
	if len(rs) != 1 || rs[0].SOPClassUID != ct || !rs[0].SCU || rs[0].SCP {
		t.Errorf("role selections %+v: want only CT, SCU accepted, SCP refused", rs)
	}
	if a := n.AC.UserInfo.AsyncOps; a == nil || a.Invoked != 1 || a.Performed != 1 {
		t.Errorf("async ops %+v, want 1/1", a)
	}
}

func TestValidateAETitle(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"STORE-SCP", "STORE-SCP", true},
		{"  PADDED  ", "PADDED", true},
		{"SIXTEEN-CHARS-XX", "SIXTEEN-CHARS-XX", true},
		{"SEVENTEEN-CHARS-X", "", false},
		{"", "", false},
		{"    ", "", false},
		{"A\\B", "", false},
		{"A\tB", "", false},
		{"ÄRZTE", "", false},
	} {
		got, err := ValidateAETitle(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ValidateAETitle(%q) = %q, %v; want %q ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}
