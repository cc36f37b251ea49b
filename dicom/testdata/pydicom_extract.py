#!/usr/bin/python3
"""Oracle for dicom's corpus tests: what pydicom reads from DICOM files,
rendered by the rules of dicom.Element.Render (see render.go).

Usage: pydicom_extract.py KEYWORDS_CSV FILE... > out.json

For each file it prints, under the file's path:
  {"tags": {keyword: value}, "errors": {keyword: message}, "tagOf": {keyword: "ggggeeee"},
   "dump": [[path, value], ...]}
or {"error": message} when pydicom cannot read the file.

"tags" follows Header.Extract: a keyword is looked for among the top-level
elements before the first pixel data element, then depth-first through the
first item of each sequence (an item's own elements before its sequences').
"dump" renders every element of the data set and of the first item of every
sequence (recursively), keyed by a path of tags, so that character set
decoding can be compared element by element.

Run by /usr/bin/python3 (Debian's pydicom 2.3).
"""
import json
import math
import struct
import sys
import warnings
from decimal import Decimal

import pydicom
from pydicom.datadict import tag_for_keyword
from pydicom.multival import MultiValue
from pydicom.tag import BaseTag

warnings.simplefilter("ignore")

PIXEL_TAGS = (0x7FE00008, 0x7FE00009, 0x7FE00010)
NOT_RENDERED = {"SQ", "OB", "OD", "OF", "OL", "OV", "OW", "UN"}


def go_float(x, bits):
    """strconv.FormatFloat(x, 'g', -1, bits)."""
    if x != x:
        return "NaN"
    if x in (float("inf"), float("-inf")):
        return "+Inf" if x > 0 else "-Inf"
    neg = math.copysign(1.0, x) < 0
    x = abs(x)
    if x == 0:
        return "-0" if neg else "0"
    if bits == 64:
        s = repr(x)  # shortest decimal that reads back to the same float64
    else:
        for p in range(1, 10):  # shortest decimal that reads back to the same float32
            s = "%.*e" % (p - 1, x)
            try:
                if struct.unpack("<f", struct.pack("<f", float(s)))[0] == x:
                    break
            except OverflowError:  # rounds beyond the float32 range
                continue
    _, dtuple, exp = Decimal(s).as_tuple()
    digits = "".join(map(str, dtuple)).lstrip("0")
    stripped = digits.rstrip("0")
    exp += len(digits) - len(stripped)
    digits, nd = stripped, len(stripped)
    dp = nd + exp  # value = 0.<digits> * 10**dp
    e = dp - 1
    if e < -4 or e >= 6:  # shortest 'g' switches to %e outside [1e-4, 1e6)
        out = digits[0] + ("." + digits[1:] if nd > 1 else "")
        out += "e" + ("-" if e < 0 else "+") + "%02d" % abs(e)
    elif dp <= 0:
        out = "0." + "0" * (-dp) + digits
    elif dp >= nd:
        out = digits + "0" * (dp - nd)
    else:
        out = digits[:dp] + "." + digits[dp:]
    return ("-" if neg else "") + out


def render(elem):
    """The rendered text of a pydicom element, or None when not rendered."""
    vr = str(elem.VR)
    if vr in NOT_RENDERED or " or " in vr:
        return None
    v = elem.value
    if v is None or (isinstance(v, (str, bytes)) and len(v) == 0):
        return ""
    if isinstance(v, bytes):
        return None
    vals = list(v) if isinstance(v, (MultiValue, list, tuple)) else [v]
    out = []
    for x in vals:
        if vr == "FL":
            out.append(go_float(float(x), 32))
        elif vr == "FD":
            out.append(go_float(float(x), 64))
        elif vr in ("US", "SS", "UL", "SL", "UV", "SV"):
            out.append(str(int(x)))
        elif vr == "AT":
            t = BaseTag(x)
            out.append("(%04X,%04X)" % (t.group, t.element))
        else:
            out.append(str(x))
    return "\\".join(out)


def top_elements(ds):
    """Top-level tags before the first pixel data element."""
    cut = min([t for t in PIXEL_TAGS if t in ds] or [0x100000000])
    return [t for t in ds.keys() if t < cut]


def search(ds, tags, tag):
    if tag in tags:
        return ds[tag]
    for t in tags:
        el = ds[t]
        if el.VR == "SQ" and el.value is not None and len(el.value) > 0:
            item = el.value[0]
            found = search(item, list(item.keys()), tag)
            if found is not None:
                return found
    return None


def dump(ds, tags, path, out):
    for t in tags:
        p = path + ["%08X" % t]
        try:
            el = ds[t]
        except Exception as e:  # noqa: BLE001 - report, keep going
            out.append(["/".join(p), {"error": str(e)}])
            continue
        if el.VR == "SQ":
            if el.value is not None and len(el.value) > 0:
                item = el.value[0]
                dump(item, list(item.keys()), p, out)
            continue
        try:
            r = render(el)
        except Exception as e:  # noqa: BLE001
            out.append(["/".join(p), {"error": str(e)}])
            continue
        if r is not None:
            out.append(["/".join(p), r])


def main():
    keywords = [k for k in sys.argv[1].split(",") if k]
    result = {}
    for path in sys.argv[2:]:
        try:
            ds = pydicom.dcmread(path)
            top = top_elements(ds)
        except Exception as e:  # noqa: BLE001
            result[path] = {"error": "%s: %s" % (type(e).__name__, e)}
            continue
        entry = {"tags": {}, "errors": {}, "tagOf": {}, "dump": []}
        for kw in keywords:
            tag = tag_for_keyword(kw)
            entry["tagOf"][kw] = "%08X" % tag
            try:
                el = search(ds, top, tag)
                if el is None:
                    continue
                r = render(el)
            except Exception as e:  # noqa: BLE001
                entry["errors"][kw] = "%s: %s" % (type(e).__name__, e)
                continue
            if r is not None:
                entry["tags"][kw] = r
        dump(ds, top, [], entry["dump"])
        result[path] = entry
    json.dump(result, sys.stdout, ensure_ascii=False, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
