// Package assoc runs the acceptor side of a DICOM association: the upper
// layer state machine of PS3.8 §9.2 with its ARTIM timer, the checks on the
// A-ASSOCIATE-RQ (AE titles, application context, protocol version) and the
// presentation context negotiation.
package assoc

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/dicomrecv/dicomrecv/internal/pdu"
)

// DICOMApplicationContext is the only application context name of the
// standard (PS3.7 Annex A.2.1).
const DICOMApplicationContext = pdu.ApplicationContextName

// VerificationSOPClass is accepted in every abstract syntax mode.
const VerificationSOPClass = "1.2.840.10008.1.1"

// ValidateAETitle checks an AE title as PS3.5 Table 6.2-1 defines the AE VR:
// at most 16 characters of the default repertoire without backslash or
// control characters; leading and trailing spaces are not significant, and
// a title of spaces only is empty. It returns the trimmed title.
func ValidateAETitle(s string) (string, error) {
	t := strings.Trim(s, " ")
	if t == "" {
		return "", fmt.Errorf("AE title is empty")
	}
	if len(s) > 16 && len(t) > 16 {
		return "", fmt.Errorf("AE title %q is longer than 16 characters", t)
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if c < 0x20 || c > 0x7E {
			return "", fmt.Errorf("AE title %q has a control or non-ASCII character (0x%02X)", t, c)
		}
		if c == '\\' {
			return "", fmt.Errorf("AE title %q has a backslash", t)
		}
	}
	return t, nil
}

// Peer ties a calling AE title to the addresses it may connect from.
type Peer struct {
	AETitle string
	Hosts   []netip.Prefix // a single address is a /32 or /128 prefix
}

// Policy is what the acceptor accepts.
type Policy struct {
	// AETitle is our own AE title (trimmed, valid).
	AETitle string
	// RequireCalledAETitle rejects (reason 7) a request whose called AE
	// title is not AETitle.
	RequireCalledAETitle bool
	// AllowedCallingAETitles, when not empty, is the list of calling AE
	// titles accepted (reason 3 otherwise).
	AllowedCallingAETitles []string
	// Peers, when not empty, ties calling AE titles to addresses: a calling
	// AE title listed there is accepted only from its addresses (reason 3).
	Peers []Peer
	// AbstractSyntax reports whether a SOP class is accepted.
	// Verification is accepted whatever it says.
	AbstractSyntax func(uid string) bool
	// TransferSyntax reports whether a transfer syntax is accepted.
	TransferSyntax func(uid string) bool
	// MaxPDULength is announced in the A-ASSOCIATE-AC.
	MaxPDULength uint32
	// ImplementationClassUID and ImplementationVersionName are ours.
	ImplementationClassUID    string
	ImplementationVersionName string
}

// Context is an accepted presentation context.
type Context struct {
	ID             byte
	AbstractSyntax string
	TransferSyntax string
}

// ContextResult is the outcome of one proposed presentation context, for
// logs.
type ContextResult struct {
	ID             byte
	AbstractSyntax string
	Result         byte   // pdu result code: 0 accepted, 3 or 4 rejected
	TransferSyntax string // the chosen one when accepted
}

// RejectError is an association-level refusal: it becomes an
// A-ASSOCIATE-RJ with these fields (PS3.8 §9.3.4).
type RejectError struct {
	Result, Source, Reason byte
	Msg                    string
}

func (e *RejectError) Error() string {
	return fmt.Sprintf("association rejected (result %d, source %d, reason %d): %s", e.Result, e.Source, e.Reason, e.Msg)
}

// PDU returns the A-ASSOCIATE-RJ of e.
func (e *RejectError) PDU() *pdu.AssociateRJ {
	return &pdu.AssociateRJ{Result: e.Result, Source: e.Source, Reason: e.Reason}
}

// Reject errors used by the server for limits.
var (
	// ErrLimitExceeded rejects an association over the configured limit:
	// transient, source 3, reason 2 (local-limit-exceeded).
	ErrLimitExceeded = &RejectError{Result: pdu.RejectedTransient, Source: pdu.RejectSourcePresentation, Reason: pdu.RejectReasonLocalLimitExceeded, Msg: "too many associations"}
	// ErrShuttingDown rejects an association while the server shuts down:
	// transient, source 3, reason 1 (temporary-congestion).
	ErrShuttingDown = &RejectError{Result: pdu.RejectedTransient, Source: pdu.RejectSourcePresentation, Reason: pdu.RejectReasonTemporaryCongestion, Msg: "server shutting down"}
)

// Negotiation is the outcome of an accepted A-ASSOCIATE-RQ.
type Negotiation struct {
	AC             *pdu.AssociateAC
	Contexts       []Context // accepted ones, in request order
	Results        []ContextResult
	CallingAETitle string // trimmed
	CalledAETitle  string // trimmed
	PeerMaxPDU     uint32 // 0 = no limit
}

// Negotiate checks rq against p and builds the A-ASSOCIATE-AC, or returns a
// *RejectError. remote is the peer's address (for Peers); it may be invalid
// when unknown.
func Negotiate(rq *pdu.AssociateRQ, p *Policy, remote netip.Addr) (*Negotiation, error) {
	// PS3.8 §9.3.2: bit 0 of the protocol version is version 1; a request
	// without it is rejected permanently by the service-provider (ACSE).
	if rq.ProtocolVersion&1 == 0 {
		return nil, &RejectError{Result: pdu.RejectedPermanent, Source: pdu.RejectSourceACSE, Reason: pdu.RejectReasonProtocolVersionUnsupported,
			Msg: fmt.Sprintf("protocol version 0x%04X not supported", rq.ProtocolVersion)}
	}
	calling, err := ValidateAETitle(string(rq.CallingAE[:]))
	if err != nil {
		return nil, &RejectError{Result: pdu.RejectedPermanent, Source: pdu.RejectSourceServiceUser, Reason: pdu.RejectReasonCallingAENotRecognized, Msg: "calling " + err.Error()}
	}
	called, err := ValidateAETitle(string(rq.CalledAE[:]))
	if err != nil {
		return nil, &RejectError{Result: pdu.RejectedPermanent, Source: pdu.RejectSourceServiceUser, Reason: pdu.RejectReasonCalledAENotRecognized, Msg: "called " + err.Error()}
	}
	if rq.ApplicationContext != DICOMApplicationContext {
		return nil, &RejectError{Result: pdu.RejectedPermanent, Source: pdu.RejectSourceServiceUser, Reason: pdu.RejectReasonAppContextNotSupported,
			Msg: fmt.Sprintf("application context %q not supported", rq.ApplicationContext)}
	}
	if p.RequireCalledAETitle && called != p.AETitle {
		return nil, &RejectError{Result: pdu.RejectedPermanent, Source: pdu.RejectSourceServiceUser, Reason: pdu.RejectReasonCalledAENotRecognized,
			Msg: fmt.Sprintf("called AE title %q is not ours (%q)", called, p.AETitle)}
	}
	if len(p.AllowedCallingAETitles) > 0 && !contains(p.AllowedCallingAETitles, calling) {
		return nil, &RejectError{Result: pdu.RejectedPermanent, Source: pdu.RejectSourceServiceUser, Reason: pdu.RejectReasonCallingAENotRecognized,
			Msg: fmt.Sprintf("calling AE title %q is not allowed", calling)}
	}
	if err := checkPeer(p.Peers, calling, remote); err != nil {
		return nil, err
	}

	n := &Negotiation{CallingAETitle: calling, CalledAETitle: called}
	if ml := rq.UserInfo.MaxLength; ml != nil {
		n.PeerMaxPDU = *ml
	}
	if n.PeerMaxPDU != 0 && n.PeerMaxPDU < pdu.MinPDataPDULength {
		// No P-DATA-TF PDU could carry a fragment (PS3.8 Annex E.1).
		return nil, &RejectError{Result: pdu.RejectedPermanent, Source: pdu.RejectSourceACSE, Reason: pdu.RejectReasonACSENoReason,
			Msg: fmt.Sprintf("maximum length %d is too small for any P-DATA-TF PDU", n.PeerMaxPDU)}
	}
	ac := &pdu.AssociateAC{
		ProtocolVersion:    1,
		CalledAE:           rq.CalledAE, // PS3.8 §9.3.3: sent identical to the RQ's fields
		CallingAE:          rq.CallingAE,
		Reserved:           rq.Reserved,
		ApplicationContext: DICOMApplicationContext,
	}
	max := p.MaxPDULength
	ac.UserInfo.MaxLength = &max
	ac.UserInfo.ImplementationClassUID = p.ImplementationClassUID
	ac.UserInfo.ImplementationVersionName = p.ImplementationVersionName

	accepted := map[string]bool{}
	for _, pc := range rq.PresentationContexts {
		res := ContextResult{ID: pc.ID, AbstractSyntax: pc.AbstractSyntax}
		switch {
		case pc.AbstractSyntax != VerificationSOPClass && (p.AbstractSyntax == nil || !p.AbstractSyntax(pc.AbstractSyntax)):
			res.Result = pdu.ResultAbstractSyntaxNotSupported
		default:
			res.Result = pdu.ResultTransferSyntaxesNotSupported
			for _, ts := range pc.TransferSyntaxes {
				if p.TransferSyntax != nil && p.TransferSyntax(ts) {
					res.Result = pdu.ResultAcceptance
					res.TransferSyntax = ts
					break
				}
			}
		}
		if res.Result == pdu.ResultAcceptance {
			n.Contexts = append(n.Contexts, Context{ID: pc.ID, AbstractSyntax: pc.AbstractSyntax, TransferSyntax: res.TransferSyntax})
			accepted[pc.AbstractSyntax] = true
		}
		n.Results = append(n.Results, res)
		ac.PresentationContexts = append(ac.PresentationContexts, pdu.PresentationContextAC{
			ID: pc.ID, Result: res.Result, TransferSyntax: res.TransferSyntax,
		})
	}
	// SCP/SCU role selection (PS3.7 §D.3.3.4): we accept the requester as SCU
	// of the classes we accepted, and never take the SCU role ourselves.
	for _, rs := range rq.UserInfo.RoleSelections {
		if accepted[rs.SOPClassUID] {
			ac.UserInfo.RoleSelections = append(ac.UserInfo.RoleSelections,
				pdu.RoleSelection{SOPClassUID: rs.SOPClassUID, SCU: rs.SCU, SCP: false})
		}
	}
	// Asynchronous operations window (PS3.7 §D.3.3.3): we perform one
	// operation at a time.
	if rq.UserInfo.AsyncOps != nil {
		ac.UserInfo.AsyncOps = &pdu.AsyncOpsWindow{Invoked: 1, Performed: 1}
	}
	n.AC = ac
	return n, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func checkPeer(peers []Peer, calling string, remote netip.Addr) error {
	listed := false
	for _, p := range peers {
		if p.AETitle != calling {
			continue
		}
		listed = true
		for _, h := range p.Hosts {
			if remote.IsValid() && h.Contains(remote.Unmap()) {
				return nil
			}
		}
	}
	if listed {
		return &RejectError{Result: pdu.RejectedPermanent, Source: pdu.RejectSourceServiceUser, Reason: pdu.RejectReasonCallingAENotRecognized,
			Msg: fmt.Sprintf("calling AE title %q is not allowed from %s", calling, remote)}
	}
	return nil
}
