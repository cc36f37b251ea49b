package dicom

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestExtract(t *testing.T) {
	const (
		tStudyDesc   Tag = 0x00081030
		tRadioVolume Tag = 0x00181071
		tPrivText    Tag = 0x00091002
		tPrivBin     Tag = 0x00091003
	)
	for _, enc := range []Encoding{ExplicitLittle, ExplicitBig} {
		// Top level: (0008,0005) UTF-8, a study description, a sequence whose
		// first item has its own character set (Latin-1) and the start time,
		// whose second item has another start time; a nested sequence with
		// the radiopharmaceutical volume; private tags.
		item1 := newDS(enc).str(TagSpecificCharacterSet, CS, "ISO_IR 100").
			str(tRadioStart, TM, "093000 ").
			str(tPatientID, LO, "caf\xe9").
			hdr(tRefSeries, SQ, UndefinedLength).item(UndefinedLength).str(tRadioVolume, DS, " 12.5").str(tStudyDesc, LO, "inner").itemEnd().seqEnd()
		item2 := newDS(enc).str(tRadioStart, TM, "100000").str(tModality, CS, "PT")
		d := newDS(enc).str(TagSpecificCharacterSet, CS, "ISO_IR 192").
			str(tStudyDesc, LO, "\xc3\xa9t\xc3\xa9").
			str(tPrivCreator, LO, "ACME").str(tPrivText, UN, "hello ").el(tPrivBin, OB, []byte{0, 1, 2}).
			hdr(tRadioSeq, SQ, UndefinedLength).
			item(UndefinedLength).with(item1).itemEnd().
			item(UndefinedLength).with(item2).itemEnd().
			seqEnd().
			u16(tRows, 256)
		h, err := ReadHeader(bytes.NewReader(d.bytes()), enc, Limits{KeepItems: -1})
		if err != nil {
			t.Fatal(err)
		}
		specs := []ExtractSpec{
			{Name: "StudyDescription", Tag: tStudyDesc},              // top level wins over the nested one
			{Name: "RadiopharmaceuticalStartTime", Tag: tRadioStart}, // first item, not the second
			{Name: "RadiopharmaceuticalVolume", Tag: tRadioVolume},   // depth-first through first items
			{Name: "PatientID", Tag: tPatientID},                     // the item's own character set
			{Name: "Modality", Tag: tModality},                       // only in a second item: absent
			{Name: "Rows", Tag: tRows},
			{Name: "PatientName", Tag: tPatientName}, // absent
			{Name: "Text", Tag: tPrivText, Custom: true},
			{Name: "Bin", Tag: tPrivBin, Custom: true},
			{Name: "NotCustom", Tag: tPrivText},          // a private UN as a standard attribute: not rendered
			{Name: "Rows", Tag: tPrivText, Custom: true}, // duplicate name: the first present wins
			{Name: "Seq", Tag: tRadioSeq, Custom: true},  // sequences are not rendered
		}
		want := map[string]string{
			"StudyDescription":             "\u00e9t\u00e9",
			"RadiopharmaceuticalStartTime": "093000",
			"RadiopharmaceuticalVolume":    "12.5",
			"PatientID":                    "caf\u00e9",
			"Rows":                         "256",
			"Text":                         "hello",
			"Bin":                          "base64:AAEC",
		}
		if charsetIsPlaceholder() {
			want["StudyDescription"] = "\u00c3\u00a9t\u00c3\u00a9"
		}
		if diff := cmp.Diff(want, h.Extract(specs, enc)); diff != "" {
			t.Errorf("%s: Extract (-want +got):\n%s", encName(enc), diff)
		}
		if got := h.Extract(nil, enc); len(got) != 0 {
			t.Errorf("no specs: %v", got)
		}
	}
}

func TestExtractUNSequenceContentIsImplicit(t *testing.T) {
	// A private UN sequence of undefined length in a big endian data set:
	// its content is implicit VR little endian; the UI inside is found.
	content := newDS(ImplicitLittle).item(UndefinedLength).str(TagStudyInstanceUID, UI, "1.2.3\x00").itemEnd().seqEnd()
	d := newDS(ExplicitBig).hdr(0x44531010, UN, UndefinedLength).with(content)
	h, err := ReadHeader(bytes.NewReader(d.bytes()), ExplicitBig, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	got := h.Extract([]ExtractSpec{{Name: "StudyInstanceUID", Tag: TagStudyInstanceUID}}, ExplicitBig)
	if got["StudyInstanceUID"] != "1.2.3" {
		t.Fatalf("got %v", got)
	}
}

func TestExtractPixelRepresentation(t *testing.T) {
	if dictionaryIsPlaceholder() {
		t.Skip("needs the generated dictionary (US or SS attributes)")
	}
	const tSmallest Tag = 0x00280106
	for _, c := range []struct {
		name string
		ds   *dsBuilder
		want string
	}{
		{"unsigned", newDS(ImplicitLittle).u16(tSmallest, 0xFFFF).u16(TagPixelRepresentation, 0), "65535"},
		{"signed", newDS(ImplicitLittle).u16(tSmallest, 0xFFFF).u16(TagPixelRepresentation, 1), "-1"},
		{"absent", newDS(ImplicitLittle).u16(tSmallest, 0xFFFF), "65535"},
		// In an item, the parent's Pixel Representation applies.
		{"inherited", newDS(ImplicitLittle).hdr(tIconSeq, SQ, UndefinedLength).item(UndefinedLength).
			u16(tSmallest, 0xFFFE).itemEnd().seqEnd().u16(TagPixelRepresentation, 1), "-2"},
	} {
		h, err := ReadHeader(bytes.NewReader(c.ds.bytes()), ImplicitLittle, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		got := h.Extract([]ExtractSpec{{Name: "v", Tag: tSmallest}}, ImplicitLittle)
		if got["v"] != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got["v"], c.want)
		}
	}
}

func TestLookupAndUID(t *testing.T) {
	d := newDS(ExplicitLittle).str(TagSOPClassUID, UI, "1.2.840.10008.5.1.4.1.1.2\x00").
		str(TagSOPInstanceUID, UI, "1.2.3 ").
		str(TagStudyInstanceUID, UI, "").
		hdr(TagSeriesInstanceUID, SQ, 0)
	h, err := ReadHeader(bytes.NewReader(d.bytes()), ExplicitLittle, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		tag  Tag
		want string
		ok   bool
	}{
		{TagSOPClassUID, "1.2.840.10008.5.1.4.1.1.2", true},
		{TagSOPInstanceUID, "1.2.3", true},
		{TagStudyInstanceUID, "", true},
		{TagSeriesInstanceUID, "", false}, // a sequence
		{tModality, "", false},            // absent
	} {
		if got, ok := h.UID(c.tag); got != c.want || ok != c.ok {
			t.Errorf("UID(%s) = %q, %v; want %q, %v", c.tag, got, ok, c.want, c.ok)
		}
	}
	if e := h.Lookup(TagSOPInstanceUID); e == nil || e != &h.Elements[1] {
		t.Errorf("Lookup did not return the element itself")
	}
	if h.Lookup(tModality) != nil {
		t.Errorf("Lookup of an absent tag")
	}
	// Nested elements are not top level.
	nested := newDS(ExplicitLittle).hdr(tRefSeries, SQ, UndefinedLength).item(UndefinedLength).
		str(TagSOPInstanceUID, UI, "9\x00").itemEnd().seqEnd()
	h, _ = ReadHeader(bytes.NewReader(nested.bytes()), ExplicitLittle, Limits{})
	if _, ok := h.UID(TagSOPInstanceUID); ok || h.Lookup(TagSOPInstanceUID) != nil {
		t.Errorf("UID/Lookup found a nested element")
	}
}

func TestExtractUnsortedDataSet(t *testing.T) {
	// Out of order data sets (not conformant, but seen) are searched linearly.
	d := newDS(ExplicitLittle).str(tRows, US, "\x00\x01").str(tModality, CS, "CT").str(tPatientName, PN, "A")
	h, err := ReadHeader(bytes.NewReader(d.bytes()), ExplicitLittle, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	got := h.Extract([]ExtractSpec{{Name: "Modality", Tag: tModality}, {Name: "PatientName", Tag: tPatientName}, {Name: "Rows", Tag: tRows}}, ExplicitLittle)
	if diff := cmp.Diff(map[string]string{"Modality": "CT", "PatientName": "A", "Rows": "256"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
