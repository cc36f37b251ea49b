package eventlines

import (
	"slices"
	"strconv"
	"time"

	"github.com/dicomrecv/dicomrecv"
	"github.com/dicomrecv/dicomrecv/internal/jsonenc"
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
	b = jsonenc.AppendString(b, ev.File)
	b = append(b, `,"sopInstanceUid":`...)
	b = jsonenc.AppendString(b, ev.SOPInstanceUID)
	b = append(b, `,"sopClassUid":`...)
	b = jsonenc.AppendString(b, ev.SOPClassUID)
	b = append(b, `,"transferSyntaxUid":`...)
	b = jsonenc.AppendString(b, ev.TransferSyntaxUID)
	b = append(b, `,"studyInstanceUid":`...)
	b = jsonenc.AppendString(b, ev.StudyInstanceUID)
	b = append(b, `,"seriesInstanceUid":`...)
	b = jsonenc.AppendString(b, ev.SeriesInstanceUID)
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
			b = jsonenc.AppendString(b, k)
			b = append(b, ':')
			b = jsonenc.AppendString(b, ev.Tags[k])
		}
		b = append(b, '}')
	}
	b = append(b, `,"callingAeTitle":`...)
	b = jsonenc.AppendString(b, ev.CallingAETitle)
	b = append(b, `,"calledAeTitle":`...)
	b = jsonenc.AppendString(b, ev.CalledAETitle)
	b = append(b, `,"remoteAddr":`...)
	b = jsonenc.AppendString(b, ev.RemoteAddr)
	b = append(b, `,"bytes":`...)
	b = strconv.AppendInt(b, ev.Bytes, 10)
	b = append(b, `,"duplicate":`...)
	b = strconv.AppendBool(b, ev.Duplicate)
	if ev.PeerCertificateSubject != "" {
		b = append(b, `,"peerCertificateSubject":`...)
		b = jsonenc.AppendString(b, ev.PeerCertificateSubject)
	}
	return append(b, "}}"...)
}
