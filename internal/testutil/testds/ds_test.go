package testds

import (
	"bytes"
	"testing"

	"github.com/dicomrecv/dicomrecv/dicom"
)

// What ExplicitLE writes is what dicom.ReadHeader reads back.
func TestExplicitLERoundTrip(t *testing.T) {
	es := Instance("1.2.840.10008.5.1.4.1.1.2", "1.2.3", "1.2.4", "1.2.5", []byte{1, 2, 3, 4})
	h, err := dicom.ReadHeader(bytes.NewReader(ExplicitLE(es...)), dicom.ExplicitLittle, dicom.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Elements) != len(es)-1 || h.PixelData == nil {
		t.Fatalf("read %d elements and pixel data %v, want %d and pixel data", len(h.Elements), h.PixelData != nil, len(es)-1)
	}
	for i, el := range h.Elements {
		if el.Tag != es[i].Tag || el.VR != es[i].VR || !bytes.Equal(el.Value, es[i].Value) {
			t.Errorf("element %d: %v %v %q, want %v %v %q", i, el.Tag, el.VR, el.Value, es[i].Tag, es[i].VR, es[i].Value)
		}
	}
	if got := Str(dicom.TagSOPInstanceUID, dicom.UI, "1.2.3").Value; string(got) != "1.2.3\x00" {
		t.Errorf("UI padding: %q", got)
	}
	if got := Str(dicom.NewTag(0x0008, 0x0060), dicom.CS, "CTX").Value; string(got) != "CTX " {
		t.Errorf("CS padding: %q", got)
	}
}
