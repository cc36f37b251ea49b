#!/usr/bin/python3
"""Emit pydicom's decoding of the text elements of pydicom's sample files.

Run by pydicom_test.go (TestPydicomLive) with Debian's /usr/bin/python3 and
--tables; regenerate the golden file (without --tables) with

    go test ./dicom/charset -run TestPydicomLive -update

Besides the text elements of the sample files, it emits synthetic values
(src "synthetic:...") decoded by pydicom through a data set, for cases the
samples lack, and with --tables one value per double-byte set holding every
character Python maps (src "table:...", not kept in the golden file).

Output: one JSON object {"pydicom": version, "records": [...]}, each record
{"src", "charset", "vr", "raw", "value"}:
  src      where the first occurrence was found (file and tag path)
  charset  the raw value of the Specific Character Set (0008,0005) that applies
           (the item's own when the item has one, else inherited), padding kept
  vr       the element's VR as pydicom resolved it
  raw      base64 of the element's value bytes as stored in the file
  value    pydicom's value: for SH LO UC ST LT UT PN the element value as
           pydicom presents it (str, several values joined with "\\"); for the
           other text VRs the bytes decoded with pydicom's default encoding.
Records are deduplicated on (charset, vr, raw) and sorted.
"""
import base64
import json
import os
import sys
import warnings

warnings.simplefilter("ignore")

import pydicom  # noqa: E402
from pydicom.charset import default_encoding  # noqa: E402
from pydicom.datadict import dictionary_VR  # noqa: E402
from pydicom.dataelem import RawDataElement  # noqa: E402
from pydicom.dataset import Dataset  # noqa: E402
from pydicom.multival import MultiValue  # noqa: E402
from pydicom.tag import Tag  # noqa: E402
from pydicom.values import convert_string  # noqa: E402

DATA = os.path.dirname(pydicom.__file__) + "/data"
CHARSET_VRS = {"SH", "LO", "UC", "ST", "LT", "UT", "PN"}
OTHER_TEXT_VRS = {"AE", "AS", "CS", "DA", "DT", "TM", "UR"}


def charset_files():
    d = os.path.join(DATA, "charset_files")
    return [os.path.join(d, f) for f in sorted(os.listdir(d)) if f.endswith(".dcm")]


def raw_charset(ds):
    """The raw (0008,0005) value of ds, or None when absent or empty."""
    elem = ds._dict.get(0x00080005)
    if elem is None:
        return None
    if isinstance(elem, RawDataElement):
        v = elem.value or b""
        return v.decode("ascii", "replace") or None
    v = elem.value
    if isinstance(v, MultiValue):
        v = "\\".join(v)
    return v or None


def test_files_with_charset():
    """test_files whose data set declares a non-empty (0008,0005)."""
    d = os.path.join(DATA, "test_files")
    out = []
    for root, _, files in os.walk(d):
        for f in sorted(files):
            p = os.path.join(root, f)
            try:
                ds = pydicom.dcmread(p, force=True, stop_before_pixels=True)
            except Exception:
                continue
            cs = raw_charset(ds)
            if cs is not None and cs.strip("\x00 ") not in ("", "ISO_IR 6"):
                out.append(p)
    return sorted(out)


def present(value):
    if value is None:
        return ""
    if isinstance(value, (list, MultiValue)):
        return "\\".join(present(v) for v in value)
    return str(value)


def walk(ds, charset, src, records):
    own = raw_charset(ds)
    if own is not None:
        charset = own
    for tag in sorted(ds._dict.keys()):
        raw = ds._dict[tag]
        if isinstance(raw, RawDataElement):
            raw_value = raw.value
            vr = raw.VR
        else:
            raw_value, vr = None, raw.VR
        if vr is None:
            try:
                vr = dictionary_VR(tag)
            except KeyError:
                continue
        try:
            elem = ds[tag]
        except Exception:
            continue
        vr = elem.VR
        where = "%s(%04X,%04X)" % (src, tag >> 16, tag & 0xFFFF)
        if vr == "SQ":
            for i, item in enumerate(elem.value or []):
                walk(item, charset, "%s[%d]" % (where, i), records)
            continue
        if raw_value is None or not isinstance(raw_value, bytes):
            continue
        if vr in CHARSET_VRS:
            value = present(elem.value)
        elif vr in OTHER_TEXT_VRS:
            value = raw_value.decode(default_encoding)
        else:
            continue
        key = (charset or "", vr, raw_value)
        if key not in records:
            records[key] = {
                "src": where,
                "charset": charset or "",
                "vr": vr,
                "raw": base64.b64encode(raw_value).decode("ascii"),
                "value": value,
            }


# A tag of each VR for synthetic elements.
TAGS = {"PN": 0x00100010, "LO": 0x00100020, "SH": 0x00080050,
        "UC": 0x00400031, "LT": 0x001021B0, "ST": 0x00081030,
        "UT": 0x0040A160, "CS": 0x00080060, "AE": 0x00020016}


def synthetic_value(charset, vr, raw):
    """pydicom's value of element vr with bytes raw in a data set whose
    Specific Character Set has the raw value charset."""
    ds = Dataset()
    ds.SpecificCharacterSet = convert_string(charset.encode("ascii"), True)
    tag = TAGS[vr]
    ds._dict[Tag(tag)] = RawDataElement(Tag(tag), vr, len(raw), raw, 0,
                                        False, True)
    return present(ds[tag].value)


def sbytes(*ranges):
    return bytes(c for lo, hi in ranges for c in range(lo, hi + 1))


# Cases the sample files lack, where this package and pydicom agree.
SYNTHETIC = [
    # The GR half of each single-byte set pydicom knows.
    ("gr ISO_IR 100", "ISO_IR 100", "LT", b"x" + sbytes((0x80, 0xff)) + b"x"),
    ("gr ISO_IR 101", "ISO_IR 101", "LT", b"x" + sbytes((0x80, 0xff)) + b"x"),
    ("gr ISO_IR 109", "ISO_IR 109", "LT", b"x" + sbytes((0x80, 0xff)) + b"x"),
    ("gr ISO_IR 110", "ISO_IR 110", "LT", b"x" + sbytes((0x80, 0xff)) + b"x"),
    ("gr ISO_IR 126", "ISO_IR 126", "LT", b"x" + sbytes((0x80, 0xff)) + b"x"),
    ("gr ISO_IR 127", "ISO_IR 127", "LT", b"x" + sbytes((0x80, 0xff)) + b"x"),
    ("gr ISO_IR 138", "ISO_IR 138", "LT", b"x" + sbytes((0x80, 0xff)) + b"x"),
    ("gr ISO_IR 144", "ISO_IR 144", "LT", b"x" + sbytes((0x80, 0xff)) + b"x"),
    ("gr ISO_IR 148", "ISO_IR 148", "LT", b"x" + sbytes((0x80, 0xff)) + b"x"),
    ("gr ISO_IR 166", "ISO_IR 166", "LT", b"x" + sbytes((0x80, 0xff)) + b"x"),
    ("gr ISO_IR 13", "ISO_IR 13", "LT", b"x" + sbytes((0xa1, 0xdf)) + b"x"),
    ("gr default", "", "LT", b"x" + sbytes((0x80, 0xff)) + b"x"),
    ("gr G1 empty", "\\ISO 2022 IR 87", "LO", b"x" + sbytes((0xa0, 0xff)) + b"x"),
    # G1 designations in the middle of a value; the initial state returns
    # at delimiters: "\" for LO, "^" and "=" for PN, controls for text VRs.
    ("esc G1", "ISO 2022 IR 100\\ISO 2022 IR 126", "LO",
     b"J\xe9r\xf4me \x1b-F\xc4\xe9\xef\x1b-A \xe9"),
    ("reset LO", "ISO 2022 IR 100\\ISO 2022 IR 126", "LO", b"\x1b-F\xc4\\\xc4"),
    ("no reset LT", "ISO 2022 IR 100\\ISO 2022 IR 126", "LT", b"\x1b-F\xc4\\\xc4"),
    ("reset LT CRLF", "ISO 2022 IR 100\\ISO 2022 IR 126", "LT", b"\x1b-F\xc4\r\n\xc4"),
    ("reset ST TAB", "ISO 2022 IR 100\\ISO 2022 IR 126", "ST", b"\x1b-F\xc4\t\xc4"),
    ("reset UT FF", "ISO 2022 IR 100\\ISO 2022 IR 126", "UT", b"\x1b-F\xc4\x0c\xc4"),
    ("reset PN ^", "\\ISO 2022 IR 149", "PN", b"\x1b$)C\xc8\xab^\xb1\xe6"),
    ("reset PN =", "\\ISO 2022 IR 149", "PN", b"\x1b$)C\xc8\xab=\xc8\xab"),
    ("thai", "\\ISO 2022 IR 166", "SH", b"\x1b-T\xe4\xb7\xc2"),
    ("cyrillic 2022", "ISO 2022 IR 144", "SH", b"\xbb\xee\xda"),
    # JIS X 0208 in G0 in the middle of a value; delimiter bytes inside
    # two-byte characters (LT: pydicom splits PN and LO before decoding).
    ("esc G0", "\\ISO 2022 IR 87", "LO", b"abc\x1b$B;3ED\x1b(Bdef"),
    ("jis delims", "\\ISO 2022 IR 87", "LT", b"\x1b$B$^=!\\!\x1b(B x"),
    ("jis 0212", "\\ISO 2022 IR 159", "LO", b"\x1b$(D0!\x1b(B"),
    ("jis romaji", "ISO 2022 IR 13\\ISO 2022 IR 87", "SH", b"\xd4\x1b(Jab\x1b(Bcd"),
    ("sjis", "ISO_IR 13", "LO", b"\x88\x9f\xb1"),
    ("ksx1001 initial", "ISO 2022 IR 149", "LO", b"\xc8\xab\xb1\xe6\xb5\xbf"),
    ("gb2312 initial", "ISO 2022 IR 58", "PN", b"Zhang^XiaoDong=\xd5\xc5^\xd0\xa1\xb6\xab="),
    ("gbk", "GBK", "LO", b"\x81\x40\xcd\xf5"),
    ("gb18030 4 bytes", "GB18030", "LO", "\u00e9\u20ac\U0001F600".encode("gb18030")),
    ("utf-8", "ISO_IR 192", "PN", "Wang^XiaoDong=\u738b^\u5c0f\u6771=".encode()),
    ("utf-8 invalid", "ISO_IR 192", "LO", b"a\xe6\x97b\xffc\xf0\x9f\x98"),
    # Terms: padding, misspellings pydicom accepts, unknown terms,
    # stand-alone sets with code extensions.
    ("padded", " ISO_IR 100 ", "LO", b"J\xe9r\xf4me"),
    ("alias", "ISO-IR 144", "LO", b"\xbb\xee\xda"),
    ("alias 2022", "ISO_2022_IR_87", "LO", b"\x1b$B;3\x1b(B"),
    ("unknown", "ISO_IR 999", "LO", b"J\xe9r\xf4me"),
    ("stand-alone", "ISO_IR 192\\ISO 2022 IR 100", "LO", b"\xc3\xa9"),
    # VRs the character set does not affect.
    ("other VR", "ISO_IR 192", "CS", b"\xc3\xa9"),
    ("other VR esc", "\\ISO 2022 IR 87", "AE", b"\x1b$B;3"),
]


def table_records():
    """One value per double-byte set: every character Python decodes."""
    def pairs(hi):
        for a in range(0x21, 0x7f):
            for b in range(0x21, 0x7f):
                yield bytes([a | hi, b | hi])
    out = []
    for name, cs, prefix, suffix, codec, hi in [
            ("JIS X 0208", "\\ISO 2022 IR 87", b"\x1b$B", b"\x1b(B", "iso2022_jp", 0),
            ("JIS X 0212", "\\ISO 2022 IR 159", b"\x1b$(D", b"\x1b(B", "iso2022_jp_2", 0),
            # Value 1, as pydicom 2.3 keeps ESC $ ) A in the text.
            ("GB 2312", "ISO 2022 IR 58", b"", b"", "gb2312", 0x80),
            ("KS X 1001", "\\ISO 2022 IR 149", b"\x1b$)C", b"", "euc_kr", 0x80)]:
        raw = prefix
        for p in pairs(hi):
            try:
                (prefix + p).decode(codec)
            except UnicodeDecodeError:
                continue
            raw += p
        raw += suffix
        out.append(("table:" + name, cs, "LT", raw))
    return out


def main():
    records = {}
    for path in charset_files() + test_files_with_charset():
        ds = pydicom.dcmread(path, force=True, stop_before_pixels=True)
        walk(ds, None, os.path.relpath(path, DATA), records)
    cases = [("synthetic:" + n, cs, vr, raw) for n, cs, vr, raw in SYNTHETIC]
    if "--tables" in sys.argv[1:]:
        cases += table_records()
    for src, cs, vr, raw in cases:
        key = (cs, vr, raw)
        if key not in records:
            records[key] = {
                "src": src, "charset": cs, "vr": vr,
                "raw": base64.b64encode(raw).decode("ascii"),
                "value": synthetic_value(cs, vr, raw),
            }
    lines = [json.dumps(records[k], ensure_ascii=False, sort_keys=True)
             for k in sorted(records)]
    sys.stdout.write('{"pydicom": %s, "records": [\n%s\n]}\n' % (
        json.dumps(pydicom.__version__), ",\n".join(lines)))


if __name__ == "__main__":
    main()
