package pdu

import "fmt"

// AssociateRJ is an A-ASSOCIATE-RJ PDU (PS3.8 §9.3.4).
type AssociateRJ struct {
	// Result is RejectedPermanent or RejectedTransient.
	Result byte
	// Source is RejectSourceServiceUser, RejectSourceACSE or
	// RejectSourcePresentation.
	Source byte
	// Reason is one of the RejectReason constants for that source.
	Reason byte
}

// ReleaseRQ is an A-RELEASE-RQ PDU (PS3.8 §9.3.6).
type ReleaseRQ struct{}

// ReleaseRP is an A-RELEASE-RP PDU (PS3.8 §9.3.7).
type ReleaseRP struct{}

// Abort is an A-ABORT PDU (PS3.8 §9.3.8).
type Abort struct {
	// Source is AbortSourceServiceUser or AbortSourceServiceProvider.
	Source byte
	// Reason is one of the AbortReason constants when the source is the
	// service-provider, 0 otherwise.
	Reason byte
}

// Type returns TypeAssociateRJ.
func (*AssociateRJ) Type() Type { return TypeAssociateRJ }

// Type returns TypeReleaseRQ.
func (*ReleaseRQ) Type() Type { return TypeReleaseRQ }

// Type returns TypeReleaseRP.
func (*ReleaseRP) Type() Type { return TypeReleaseRP }

// Type returns TypeAbort.
func (*Abort) Type() Type { return TypeAbort }

// Append appends the PDU, header included, to b.
func (rj *AssociateRJ) Append(b []byte) []byte {
	return append(b, byte(TypeAssociateRJ), 0, 0, 0, 0, fixedShortLength, 0, rj.Result, rj.Source, rj.Reason)
}

// Append appends the PDU, header included, to b.
func (*ReleaseRQ) Append(b []byte) []byte {
	return append(b, byte(TypeReleaseRQ), 0, 0, 0, 0, fixedShortLength, 0, 0, 0, 0)
}

// Append appends the PDU, header included, to b.
func (*ReleaseRP) Append(b []byte) []byte {
	return append(b, byte(TypeReleaseRP), 0, 0, 0, 0, fixedShortLength, 0, 0, 0, 0)
}

// Append appends the PDU, header included, to b.
func (a *Abort) Append(b []byte) []byte {
	return append(b, byte(TypeAbort), 0, 0, 0, 0, fixedShortLength, 0, 0, a.Source, a.Reason)
}

// String describes the rejection in the words of PS3.8 Table 9-21.
func (rj *AssociateRJ) String() string {
	result := map[byte]string{RejectedPermanent: "rejected-permanent", RejectedTransient: "rejected-transient"}[rj.Result]
	source, reason := "", ""
	switch rj.Source {
	case RejectSourceServiceUser:
		source = "service-user"
		reason = map[byte]string{
			RejectReasonNoReason:               "no-reason-given",
			RejectReasonAppContextNotSupported: "application-context-name-not-supported",
			RejectReasonCallingAENotRecognized: "calling-AE-title-not-recognized",
			RejectReasonCalledAENotRecognized:  "called-AE-title-not-recognized",
		}[rj.Reason]
	case RejectSourceACSE:
		source = "service-provider (ACSE)"
		reason = map[byte]string{
			RejectReasonACSENoReason:               "no-reason-given",
			RejectReasonProtocolVersionUnsupported: "protocol-version-not-supported",
		}[rj.Reason]
	case RejectSourcePresentation:
		source = "service-provider (presentation)"
		reason = map[byte]string{
			RejectReasonTemporaryCongestion: "temporary-congestion",
			RejectReasonLocalLimitExceeded:  "local-limit-exceeded",
		}[rj.Reason]
	}
	return fmt.Sprintf("A-ASSOCIATE-RJ %s, source %s, reason %s",
		orNumber(result, rj.Result), orNumber(source, rj.Source), orNumber(reason, rj.Reason))
}

// String describes the abort in the words of PS3.8 Table 9-26.
func (a *Abort) String() string {
	source := map[byte]string{AbortSourceServiceUser: "service-user", AbortSourceServiceProvider: "service-provider"}[a.Source]
	reason := map[byte]string{
		AbortReasonNotSpecified:             "reason-not-specified",
		AbortReasonUnrecognizedPDU:          "unrecognized-PDU",
		AbortReasonUnexpectedPDU:            "unexpected-PDU",
		AbortReasonUnrecognizedPDUParameter: "unrecognized-PDU-parameter",
		AbortReasonUnexpectedPDUParameter:   "unexpected-PDU-parameter",
		AbortReasonInvalidPDUParameterValue: "invalid-PDU-parameter-value",
	}[a.Reason]
	return fmt.Sprintf("A-ABORT source %s, reason %s", orNumber(source, a.Source), orNumber(reason, a.Reason))
}

func orNumber(name string, v byte) string {
	if name == "" {
		return fmt.Sprintf("%d (undefined)", v)
	}
	return name
}

// checkShort checks the body length of a fixed-length PDU.
func checkShort(t Type, body []byte) error {
	if len(body) != fixedShortLength {
		return &ParseError{PDU: t, Offset: min(len(body), fixedShortLength), Reason: AbortReasonInvalidPDUParameterValue,
			Msg: fmt.Sprintf("body of %d bytes, not %d", len(body), fixedShortLength)}
	}
	return nil
}

// ParseAssociateRJ decodes the body of an A-ASSOCIATE-RJ PDU. The values
// are not checked against PS3.8 Table 9-21: a rejection ends the
// association whatever they say.
func ParseAssociateRJ(body []byte) (*AssociateRJ, error) {
	if err := checkShort(TypeAssociateRJ, body); err != nil {
		return nil, err
	}
	return &AssociateRJ{Result: body[1], Source: body[2], Reason: body[3]}, nil
}

// ParseReleaseRQ decodes the body of an A-RELEASE-RQ PDU: 4 reserved bytes.
func ParseReleaseRQ(body []byte) (*ReleaseRQ, error) {
	if err := checkShort(TypeReleaseRQ, body); err != nil {
		return nil, err
	}
	return &ReleaseRQ{}, nil
}

// ParseReleaseRP decodes the body of an A-RELEASE-RP PDU: 4 reserved bytes.
func ParseReleaseRP(body []byte) (*ReleaseRP, error) {
	if err := checkShort(TypeReleaseRP, body); err != nil {
		return nil, err
	}
	return &ReleaseRP{}, nil
}

// ParseAbort decodes the body of an A-ABORT PDU. The values are not checked
// against PS3.8 Table 9-26: an abort ends the association whatever they say.
func ParseAbort(body []byte) (*Abort, error) {
	if err := checkShort(TypeAbort, body); err != nil {
		return nil, err
	}
	return &Abort{Source: body[2], Reason: body[3]}, nil
}
