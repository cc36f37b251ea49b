package charset

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// code names an x/text decoder: a character set whose tables this package
// takes from x/text, in the byte form that decoder reads.
type code uint8

const (
	codeEUCJP   code = iota // JIS X 0208 and JIS X 0212, as EUC-JP
	codeEUCKR               // KS X 1001, as EUC-KR (CP949)
	codeGBK                 // GB 2312, as EUC-CN (GBK); and GBK
	codeSJIS                // Shift JIS, read under ISO-IR 13
	codeGB18030             // GB 18030
	codeUTF8                // UTF-8 with invalid bytes replaced
	numCodes
)

// run accumulates the output of one Decode call.
type run struct {
	out strings.Builder
	x   *transcoder // allocated at the first character that needs x/text
}

// transcoder holds the x/text decoders of one Decode call. They are made
// per call because x/text does not document them safe for concurrent use.
type transcoder struct {
	src [4]byte
	dst [32]byte
	tr  [numCodes]transform.Transformer
}

func (r *run) rune(c rune) { r.out.WriteRune(c) }

// char appends the character src (at most 4 bytes) decoded by c.
func (r *run) char(c code, src ...byte) {
	x := r.transcoder()
	n := copy(x.src[:], src)
	r.transcode(c, x.src[:n])
}

func (r *run) transcoder() *transcoder {
	if r.x == nil {
		r.x = new(transcoder)
	}
	return r.x
}

// transcode appends src decoded by c. x/text's decoders write U+FFFD for
// bytes that form no character.
func (r *run) transcode(c code, src []byte) {
	x := r.transcoder()
	t := x.tr[c]
	if t == nil {
		switch c {
		case codeEUCJP:
			t = japanese.EUCJP.NewDecoder()
		case codeEUCKR:
			t = korean.EUCKR.NewDecoder()
		case codeGBK:
			t = simplifiedchinese.GBK.NewDecoder()
		case codeSJIS:
			t = japanese.ShiftJIS.NewDecoder()
		case codeGB18030:
			t = simplifiedchinese.GB18030.NewDecoder()
		default:
			t = unicode.UTF8.NewDecoder()
		}
		x.tr[c] = t
	}
	for len(src) > 0 {
		nDst, nSrc, _ := t.Transform(x.dst[:], src, true)
		r.out.Write(x.dst[:nDst])
		if nDst == 0 && nSrc == 0 { // not expected; guarantees progress
			r.rune(utf8.RuneError)
			nSrc = 1
		}
		src = src[nSrc:]
	}
}

// transcodeAll decodes a whole value in a code without escape sequences.
func transcodeAll(c code, b []byte) string {
	var r run
	r.out.Grow(len(b) + len(b)/2)
	r.transcode(c, b)
	return r.out.String()
}

// latin1 decodes b as ISO 8859-1, pydicom's default encoding.
func latin1(b []byte) string {
	n := len(b)
	for _, c := range b {
		if c >= utf8.RuneSelf {
			n++
		}
	}
	var out strings.Builder
	out.Grow(n)
	for _, c := range b {
		out.WriteRune(rune(c))
	}
	return out.String()
}
