package main

import (
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/dicomrecv/dicomrecv"
)

// appendFileStored appends the JSON of a FileStored event line, byte for
// byte what hooks.Encode (encoding/json) produces, without reflection:
// FileStored is the one event per object, on the receiving path's heels.
// TestAppendFileStoredMatchesEncode and FuzzAppendFileStored hold the two
// encoders equal.
func appendFileStored(b []byte, at time.Time, ev *dicomrecv.FileStoredEvent) []byte {
	b = append(b, `{"event":"FileStored","time":"`...)
	b = at.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","data":{"file":`...)
	b = appendJSONString(b, ev.File)
	b = append(b, `,"sopInstanceUid":`...)
	b = appendJSONString(b, ev.SOPInstanceUID)
	b = append(b, `,"sopClassUid":`...)
	b = appendJSONString(b, ev.SOPClassUID)
	b = append(b, `,"transferSyntaxUid":`...)
	b = appendJSONString(b, ev.TransferSyntaxUID)
	b = append(b, `,"studyInstanceUid":`...)
	b = appendJSONString(b, ev.StudyInstanceUID)
	b = append(b, `,"seriesInstanceUid":`...)
	b = appendJSONString(b, ev.SeriesInstanceUID)
	b = append(b, `,"tags":`...)
	if ev.Tags == nil {
		b = append(b, "null"...)
	} else {
		var small [64]string
		keys := small[:0]
		for k := range ev.Tags {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			b = appendJSONString(b, ev.Tags[k])
		}
		b = append(b, '}')
	}
	b = append(b, `,"callingAeTitle":`...)
	b = appendJSONString(b, ev.CallingAETitle)
	b = append(b, `,"calledAeTitle":`...)
	b = appendJSONString(b, ev.CalledAETitle)
	b = append(b, `,"remoteAddr":`...)
	b = appendJSONString(b, ev.RemoteAddr)
	b = append(b, `,"bytes":`...)
	b = strconv.AppendInt(b, ev.Bytes, 10)
	b = append(b, `,"duplicate":`...)
	b = strconv.AppendBool(b, ev.Duplicate)
	if ev.PeerCertificateSubject != "" {
		b = append(b, `,"peerCertificateSubject":`...)
		b = appendJSONString(b, ev.PeerCertificateSubject)
	}
	return append(b, "}}"...)
}

// appendJSONString appends s as encoding/json writes a string: HTML-safe
// (<, > and & escaped), invalid UTF-8 replaced by U+FFFD, U+2028 and
// U+2029 escaped.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
