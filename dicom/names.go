package dicom

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Errors of the Resolve functions. Each is wrapped with the offending text,
// and a suggestion where one is close enough (see SuggestKeyword).
var (
	ErrUnknownKeyword        = errors.New("unknown keyword")
	ErrUnknownSOPClass       = errors.New("unknown SOP class")
	ErrUnknownTransferSyntax = errors.New("unknown transfer syntax")
)

// maxSuggestInput bounds the input of the suggestion search; no keyword is
// near a longer string, and the search keeps its rows on the stack.
const maxSuggestInput = 200

// suggestLimit is the largest edit distance at which a keyword is still
// suggested for an input of n bytes: 1 up to 5 bytes, 2 up to 11, 3 beyond.
func suggestLimit(n int) int {
	switch {
	case n <= 5:
		return 1
	case n <= 11:
		return 2
	default:
		return 3
	}
}

// SuggestKeyword returns the data dictionary keyword nearest to s, or ""
// when none is close enough. Distance is the optimal string alignment
// distance (Damerau-Levenshtein with adjacent transpositions) between s and
// the keyword with ASCII letters compared case-insensitively, so a keyword
// that differs from s only in case is at distance 0. A keyword is close
// enough when its distance is at most 1 for an s of up to 5 bytes, 2 for up
// to 11 bytes and 3 beyond. Among equally near keywords a current one wins
// over a retired one, then the first in byte order. s itself is returned
// when it is a keyword.
func SuggestKeyword(s string) string {
	return suggest(s, len(dictKeywords), func(i int) (string, bool) {
		return dictKeywords[i], dictEntries[dictByKeyword[i]].Retired
	})
}

// suggest returns the candidate nearest to s (see SuggestKeyword) among n
// candidates, or "".
func suggest(s string, n int, candidate func(i int) (kw string, retired bool)) string {
	if s == "" || len(s) > maxSuggestInput {
		return ""
	}
	var w osaWork
	a := suggestFold(w.a[:], s)
	best, bestDist, bestRetired := "", suggestLimit(len(s)), true
	found := false
	for i := 0; i < n; i++ {
		kw, retired := candidate(i)
		if kw == "" {
			continue
		}
		if diff := len(kw) - len(s); diff > bestDist || -diff > bestDist {
			continue
		}
		d := w.distance(a, suggestFold(w.b[:], kw), bestDist)
		if d > bestDist {
			continue
		}
		if !found || d < bestDist || (bestRetired && !retired) {
			best, bestDist, bestRetired, found = kw, d, retired, true
		}
	}
	return best
}

// osaWork is the scratch space of the distance computation, kept on the
// stack and reused across candidates.
type osaWork struct {
	rows [3][osaWidth]int32
	a, b [osaWidth]byte
}

// osaWidth bounds the strings osaWork handles: the longest input plus the
// largest length difference suggest allows.
const osaWidth = maxSuggestInput + 8

// suggestFold copies s into buf with ASCII letters in lower case and
// returns the copy; s is cut at len(buf), which the callers' length checks
// rule out.
func suggestFold(buf []byte, s string) []byte {
	b := buf[:copy(buf, s)]
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return b
}

// distance returns the optimal string alignment distance between folded
// strings a and b of fewer than osaWidth bytes, or limit+1 when it exceeds
// limit.
// It fills only the band of cells within limit of the diagonal (the others
// exceed limit anyway; they count as limit+1) and gives up with limit+1 as
// soon as a whole row exceeds limit.
func (w *osaWork) distance(a, b []byte, limit int) int {
	if len(a) >= osaWidth || len(b) >= osaWidth || len(a)-len(b) > limit || len(b)-len(a) > limit {
		return limit + 1
	}
	inf := int32(limit + 1)
	prev2, prev, cur := &w.rows[0], &w.rows[1], &w.rows[2]
	for j := 0; j <= len(b); j++ {
		prev[j] = min(int32(j), inf)
	}
	for i := 1; i <= len(a); i++ {
		lo, hi := max(1, i-limit), min(len(b), i+limit)
		if lo == 1 {
			cur[0] = min(int32(i), inf)
		} else {
			cur[lo-1] = inf
		}
		rowMin := cur[lo-1]
		ca := a[i-1]
		for j := lo; j <= hi; j++ {
			cb := b[j-1]
			cost := int32(1)
			if ca == cb {
				cost = 0
			}
			d := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost, inf)
			if i > 1 && j > 1 && ca == b[j-2] && a[i-2] == cb {
				d = min(d, prev2[j-2]+1)
			}
			cur[j] = d
			rowMin = min(rowMin, d)
		}
		if hi < len(b) {
			cur[hi+1] = inf // read as prev[j] by the next row
		}
		if rowMin > int32(limit) {
			return limit + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return int(min(prev[len(b)], inf))
}

// errText returns s when it is plain printable ASCII without spaces, else
// s quoted, so that error messages stay on one line.
func errText(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return strconv.Quote(s)
		}
	}
	if s == "" {
		return `""`
	}
	return s
}

// unknownName returns "s: <sentinel>, did you mean sug?", without the
// suggestion when sug is empty.
func unknownName(s string, sentinel error, sug string) error {
	if sug != "" {
		return fmt.Errorf("%s: %w, did you mean %s?", errText(s), sentinel, sug)
	}
	return fmt.Errorf("%s: %w", errText(s), sentinel)
}

// ResolveTag resolves a tag name from a configuration: a dictionary keyword
// ("PatientName", case sensitive), or a tag written as eight hex digits
// ("00100010"), "(0010,0010)" or "0010,0010" (see ParseTag). Surrounding
// spaces are ignored.
//
// A keyword gives the tag of its entry (the xx=00 instance for the
// repeating groups). A written tag is returned as written, with the entry
// LookupTag finds for it; a tag the dictionary does not know, private ones
// included, is not an error: it comes back with a zero Entry. An unknown
// keyword gives an error wrapping ErrUnknownKeyword whose text is
// "PatientsName: unknown keyword, did you mean PatientName?" (the suggestion
// from SuggestKeyword, left out when there is none); text that starts like
// a tag but is not one gives ParseTag's error, wrapping ErrBadTag.
func ResolveTag(s string) (Tag, Entry, error) {
	t := strings.TrimSpace(s)
	if e, ok := LookupKeyword(t); ok {
		return e.Tag, e, nil
	}
	if tag, err := ParseTag(t); err == nil {
		e, _ := LookupTag(tag)
		return tag, e, nil
	} else if nameIsTag(t) {
		return 0, Entry{}, err
	}
	return 0, Entry{}, unknownName(t, ErrUnknownKeyword, SuggestKeyword(t))
}

// nameIsTag reports whether s was meant as a tag: keywords start with a
// letter and have no comma, tags start with a digit or a parenthesis.
func nameIsTag(s string) bool {
	return s != "" && (s[0] == '(' || (s[0] >= '0' && s[0] <= '9') || strings.Contains(s, ","))
}

// seedTransferSyntaxNames are the transfer syntax names of
// @nuxthealth/node-dicom's getCommonTransferSyntaxes() that are not PS3.6
// keywords (its other names are).
var seedTransferSyntaxNames = [...]struct{ name, uid string }{
	{"JPEGBaseline", "1.2.840.10008.1.2.4.50"},
	{"JPEGExtended", "1.2.840.10008.1.2.4.51"},
	{"JPEGLosslessNonHierarchical", "1.2.840.10008.1.2.4.70"},
	{"JPEGLSLossy", "1.2.840.10008.1.2.4.81"},
	{"MPEG2MainProfile", "1.2.840.10008.1.2.4.100"},
	{"MPEG2MainProfileHighLevel", "1.2.840.10008.1.2.4.101"},
	{"MPEG4AVCH264HighProfile", "1.2.840.10008.1.2.4.102"},
	{"MPEG4AVCH264BDCompatibleHighProfile", "1.2.840.10008.1.2.4.103"},
}

// ResolveTransferSyntax resolves a transfer syntax from a configuration to
// its UID. It accepts the UID of one of TransferSyntaxes, its PS3.6 keyword
// ("JPEGBaseline8Bit"), or one of the names @nuxthealth/node-dicom uses
// ("JPEGBaseline", "JPEGExtended", "JPEGLosslessNonHierarchical",
// "JPEGLSLossy", "MPEG2MainProfile", "MPEG2MainProfileHighLevel",
// "MPEG4AVCH264HighProfile", "MPEG4AVCH264BDCompatibleHighProfile"; its
// other names are PS3.6 keywords). Surrounding spaces are ignored.
//
// Private transfer syntax UIDs are refused: the receiver cannot know how
// their data sets are encoded. Errors wrap ErrUnknownTransferSyntax; an
// unknown name carries a suggestion as ResolveTag's does.
func ResolveTransferSyntax(s string) (string, error) {
	t := strings.TrimSpace(s)
	if nameIsUID(t) {
		if ts, ok := LookupTransferSyntax(t); ok {
			return ts.UID, nil
		}
		return "", uidMismatch(t, ErrUnknownTransferSyntax, "not a standard transfer syntax")
	}
	if info, ok := LookupUIDKeyword(t); ok {
		if ts, ok := LookupTransferSyntax(info.UID); ok {
			return ts.UID, nil
		}
		return "", fmt.Errorf("%s: %w (the keyword of %s, a %s)", t, ErrUnknownTransferSyntax, info.Name, info.Type)
	}
	for _, a := range seedTransferSyntaxNames {
		if a.name == t {
			return a.uid, nil
		}
	}
	nTS := len(transferSyntaxes)
	sug := suggest(t, nTS+len(seedTransferSyntaxNames), func(i int) (string, bool) {
		if i < nTS {
			return transferSyntaxes[i].Keyword, transferSyntaxes[i].Retired
		}
		return seedTransferSyntaxNames[i-nTS].name, false
	})
	return "", unknownName(t, ErrUnknownTransferSyntax, sug)
}

// ResolveSOPClass resolves a SOP class from a configuration to its UID. It
// accepts a PS3.6 keyword of a SOP Class ("CTImageStorage",
// "UltrasoundImageStorage" = 1.2.840.10008.5.1.4.1.1.6.1, "Verification"),
// which covers every name of @nuxthealth/node-dicom's getCommonSopClasses(),
// or a UID. A UID the registry lists must be a SOP Class; any other UID
// that is valid by PS3.5 §9.1 is accepted as it is, since private SOP
// classes are legitimate. Any SOP Class is accepted, not only Storage ones:
// which services to offer is the caller's choice. Surrounding spaces are
// ignored.
//
// Errors wrap ErrUnknownSOPClass; an unknown name carries a suggestion as
// ResolveTag's does.
func ResolveSOPClass(s string) (string, error) {
	t := strings.TrimSpace(s)
	if nameIsUID(t) {
		info, ok := LookupUID(t)
		switch {
		case ok && info.Type == UIDTypeSOPClass:
			return info.UID, nil
		case ok:
			return "", fmt.Errorf("%s: %w (the UID of %s, a %s)", t, ErrUnknownSOPClass, info.Name, info.Type)
		case uidSyntaxOK(t):
			return t, nil
		}
		return "", fmt.Errorf("%s: %w (not a valid UID, PS3.5 §9.1)", errText(t), ErrUnknownSOPClass)
	}
	if info, ok := LookupUIDKeyword(t); ok {
		if info.Type == UIDTypeSOPClass {
			return info.UID, nil
		}
		return "", fmt.Errorf("%s: %w (the keyword of %s, a %s)", t, ErrUnknownSOPClass, info.Name, info.Type)
	}
	sug := suggest(t, len(uidByKeyword), func(i int) (string, bool) {
		r := &uidRegistry[uidByKeyword[i]]
		if r.Type != UIDTypeSOPClass {
			return "", true // skipped
		}
		return r.Keyword, r.Retired
	})
	return "", unknownName(t, ErrUnknownSOPClass, sug)
}

// nameIsUID reports whether s was meant as a UID: keywords start with a
// letter, UIDs with a digit.
func nameIsUID(s string) bool { return s != "" && s[0] >= '0' && s[0] <= '9' }

// uidMismatch explains why UID text t is refused.
func uidMismatch(t string, sentinel error, why string) error {
	if !uidSyntaxOK(t) {
		return fmt.Errorf("%s: %w (not a valid UID, PS3.5 §9.1)", errText(t), sentinel)
	}
	if info, ok := LookupUID(t); ok {
		return fmt.Errorf("%s: %w (the UID of %s, a %s)", t, sentinel, info.Name, info.Type)
	}
	return fmt.Errorf("%s: %w (%s)", t, sentinel, why)
}
