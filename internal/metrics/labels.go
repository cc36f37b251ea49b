package metrics

import (
	"strings"

	"github.com/dicomrecv/dicomrecv/dicom"
)

// Label values of dicomrecv_associations_rejected_total{reason}. Any other
// reason passed to AssociationRejected is counted as RejectOther, so the
// label set stays fixed.
const (
	// RejectCalledAE: the Called AE Title is not ours or not a valid AE
	// title (A-ASSOCIATE-RJ source 1, reason 7; PS3.8 §9.3.4).
	RejectCalledAE = "called-ae"
	// RejectCallingAE: the Calling AE Title is not allowed, not a valid AE
	// title, or not allowed from the peer's address (source 1, reason 3).
	RejectCallingAE = "calling-ae"
	// RejectApplicationContext: the Application Context Name is not the
	// DICOM one (source 1, reason 2).
	RejectApplicationContext = "application-context"
	// RejectProtocolVersion: the protocol version lacks version 1 (source 2,
	// reason 2).
	RejectProtocolVersion = "protocol-version"
	// RejectLimit: maxAssociations or maxAssociationsPerPeer was reached
	// (source 3, reason 2, local-limit-exceeded).
	RejectLimit = "limit"
	// RejectShutdown: the server is shutting down (source 3, reason 1,
	// temporary-congestion).
	RejectShutdown = "shutdown"
	// RejectOther: any other refusal, e.g. a maximum PDU length too small for
	// any P-DATA-TF (source 2, reason 1, no-reason-given).
	RejectOther = "other"
)

var rejectReasons = [...]string{
	RejectCalledAE, RejectCallingAE, RejectApplicationContext, RejectProtocolVersion,
	RejectLimit, RejectShutdown, RejectOther,
}

// RejectReason maps the Source and Reason fields of an A-ASSOCIATE-RJ
// (PS3.8 §9.3.4, Table 9-21) to a label value for AssociationRejected.
// Temporary congestion (source 3, reason 1) maps to RejectShutdown because
// the receiver uses it only while shutting down.
func RejectReason(source, reason byte) string {
	switch {
	case source == 1 && reason == 2:
		return RejectApplicationContext
	case source == 1 && reason == 3:
		return RejectCallingAE
	case source == 1 && reason == 7:
		return RejectCalledAE
	case source == 2 && reason == 2:
		return RejectProtocolVersion
	case source == 3 && reason == 1:
		return RejectShutdown
	case source == 3 && reason == 2:
		return RejectLimit
	}
	return RejectOther
}

// Label values of dicomrecv_associations_aborted_total{by}.
const (
	// AbortByPeer: the peer sent an A-ABORT.
	AbortByPeer = "peer"
	// AbortByUs: the receiver sent an A-ABORT (protocol error, timeout,
	// shutdown).
	AbortByUs = "local"
)

// Label values of the hook metrics' hook label.
const (
	HookWebhook = "webhook"
	HookCommand = "command"
)

// Label values of dicomrecv_hook_dropped_total{reason}; they are the reasons
// the hooks package reports (hooks.DropQueueFull and so on).
const (
	DropQueueFull = "queue-full"
	DropFailed    = "failed"
	DropTimeout   = "timeout"
	DropShutdown  = "shutdown"
)

// oneOf returns s when it is one of the allowed values, else "other".
func oneOf(s string, allowed ...string) string {
	for _, a := range allowed {
		if s == a {
			return a
		}
	}
	return "other"
}

func hookLabel(h string) string { return oneOf(h, HookWebhook, HookCommand) }

func eventLabel(ev string) string {
	return oneOf(ev, "ServerStarted", "FileStored", "StudyCompleted", "Error")
}

func dropLabel(r string) string {
	return oneOf(r, DropQueueFull, DropFailed, DropTimeout, DropShutdown)
}

// statusLabel returns the status label of a C-STORE response: four
// upper-case hex digits for the codes the standard defines for C-STORE and
// those this receiver sends, a range such as "A7xx" for other codes of a
// failure or warning range, and "other" for anything else, so that the
// label has a few dozen values at most.
func statusLabel(s uint16) string {
	switch s {
	// PS3.4 Table B.2-1 (C-STORE statuses) and PS3.7 Annex C.
	case 0x0000:
		return "0000"
	case 0xB000:
		return "B000"
	case 0xB006:
		return "B006"
	case 0xB007:
		return "B007"
	case 0xA700:
		return "A700"
	case 0xA900:
		return "A900"
	case 0xC000:
		return "C000"
	// Failure codes of the Cxxx range this receiver sends (internal/dimse).
	case 0xC001:
		return "C001"
	case 0xC002:
		return "C002"
	case 0xC003:
		return "C003"
	case 0xC004:
		return "C004"
	case 0xC005:
		return "C005"
	case 0xC006:
		return "C006"
	case 0xC007:
		return "C007"
	// PS3.7 Annex C general statuses.
	case 0x0110:
		return "0110"
	case 0x0111:
		return "0111"
	case 0x0117:
		return "0117"
	case 0x0122:
		return "0122"
	case 0x0124:
		return "0124"
	case 0x0210:
		return "0210"
	case 0x0211:
		return "0211"
	case 0x0212:
		return "0212"
	case 0xFE00:
		return "FE00"
	}
	switch s >> 8 {
	case 0xA7:
		return "A7xx"
	case 0xA9:
		return "A9xx"
	}
	switch s >> 12 {
	case 0xB:
		return "Bxxx"
	case 0xC:
		return "Cxxx"
	}
	return "other"
}

// sopClassLabel returns the registry's copy of uid when uid (padding
// trimmed) is a SOP Class of the UID registry (PS3.6 Table A-1), else
// "other": the label's values are bounded by the registry, whatever peers
// send.
func sopClassLabel(uid string) string {
	uid = strings.TrimRight(uid, "\x00 ")
	if info, ok := dicom.LookupUID(uid); ok && (info.Type == dicom.UIDTypeSOPClass || info.Type == dicom.UIDTypeMetaSOPClass) {
		return info.UID
	}
	return "other"
}
