// Package pdu encodes and decodes the Protocol Data Units of the DICOM Upper
// Layer protocol for TCP/IP (PS3.8 §9.3): A-ASSOCIATE-RQ, -AC and -RJ,
// P-DATA-TF, A-RELEASE-RQ and -RP, and A-ABORT, with every item and
// user-information sub-item of PS3.8 Annex D and PS3.7 Annex D.3.3.
//
// # Layout
//
// Every PDU starts with a 6-byte header: the PDU type, a reserved byte and
// a 4-byte big-endian length of the rest (the body). For each PDU type
// there is a Go type whose AppendBinary (or Append, when it cannot fail)
// returns the complete PDU, header included, and a Parse function that
// decodes the body. [Parse] and [ParseBody] dispatch on the type.
//
// [Reader] reads PDUs from a connection. Non-data PDUs are read whole into a
// buffer reused between calls, after the caller has compared the length in
// the header with its limit ([Reader.ReadBody] refuses a longer body without
// reading or allocating it). P-DATA-TF PDUs are never read whole: the caller
// walks their PDV items with [Reader.NextPDV] and streams each PDV's data
// with [Reader.Read] or, without copying, [Reader.Next]. Once warm, reading
// P-DATA-TF allocates nothing. [Writer] writes each PDU with one Write call,
// and [Writer.WriteMessage] fragments a command or data set into P-DATA-TF
// PDUs that respect the peer's maximum length.
//
// # Decisions where PS3.8 leaves a choice
//
//   - Reserved fields are sent as zero and never tested on receipt (PS3.8
//     §9.3: "shall be sent with a value 00H but not tested"). The PDU header's
//     reserved byte, the item headers' reserved bytes and the message control
//     header's bits 2-7 (PS3.8 Annex E.2: "never checked by the receiver") are
//     ignored. The exceptions are the three A-ASSOCIATE-AC fields that repeat
//     the request (called AE, calling AE and bytes 43-74, PS3.8 §9.3.3): they
//     are kept as raw bytes in both messages so that the AC can repeat them
//     byte for byte.
//   - UIDs (application context, abstract and transfer syntaxes, SOP and
//     service class UIDs, the implementation class UID) are sent without
//     padding, as PS3.8 Annex F.1 requires ("No separator nor padding shall
//     be present ... after the last digit of the last component"; PS3.5 §9.1
//     exempts network negotiation from the even-length rule). On receipt one
//     trailing NUL is removed, since some implementations pad anyway.
//   - Parsing is strict about structure and returns a *ParseError carrying
//     the A-ABORT reason to send: 6 (invalid-PDU-parameter-value) for lengths
//     that do not fit, truncated or missing mandatory items and invalid
//     values; 5 (unexpected-PDU-parameter) for a defined item in a place
//     where it is not allowed or repeated where only one may appear; 4
//     (unrecognized-PDU-parameter) for an undefined sub-item inside a
//     presentation context item, whose content PS3.8 §9.3.2.2 and §9.3.3.2
//     define completely. Undefined items among the A-ASSOCIATE variable items
//     are skipped, and undefined user-information sub-items are kept in
//     UserInfo.Unknown, as PS3.8 Annex D.2 requires ("required to ignore such
//     unrecognized user information Sub-Items").
//   - Mandatory in an A-ASSOCIATE-RQ and -AC: one application context item,
//     one to MaxPresentationContexts presentation context items, one user
//     information item holding one maximum length sub-item (PS3.8 §9.3.2,
//     §9.3.3, Annex D.1; PS3.7 §D.3.3.1 "This notification is required").
//     The implementation class UID is required by PS3.7 §D.3.3.2 too, but its
//     absence changes nothing a receiver does, so it is not enforced.
//   - Presentation context IDs must be odd (1-255) and unique within the
//     PDU; otherwise the whole PDU is a ParseError (reason 6), since results
//     are matched to proposals by ID and a repeated or even ID cannot be
//     answered unambiguously. The protocol version is returned as received:
//     the association layer rejects a request without bit 0 set (PS3.8
//     §9.3.2), which is an A-ASSOCIATE-RJ, not an abort.
//   - For a presentation context that is not accepted, PS3.8 §9.3.3.2 still
//     requires a transfer syntax sub-item but says its value "shall not be
//     tested". We send PresentationContextAC.TransferSyntax when set (the
//     association layer may put the first proposed syntax there, as
//     pynetdicom does) and otherwise Implicit VR Little Endian, as DCMTK does,
//     never an empty sub-item. On receipt such a sub-item is not checked.
//   - The user-information sub-items that PS3.7 defines for one direction
//     only (user identity request 58H and response 59H, common extended
//     negotiation 57H) are decoded wherever they appear; what to make of
//     them is the association layer's decision.
package pdu
