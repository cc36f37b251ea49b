// Command dictgen writes the generated tables of package dicom: the PS3.6
// data dictionary (dict_gen.go) and the PS3.6 Annex A UID registry
// (uid_gen.go).
//
// The data dictionary comes from github.com/suyashkumar/dicom's
// pkg/tag/tag_definitions.go (DICOM 2024b), whose table is unexported, so
// dictgen parses that source file with go/parser. The UID registry comes from
// uids.tsv beside this file (PS3.6 Table A-1 written out as data, with the
// keyword column that the Go source lacks); every UID of suyashkumar's
// pkg/uid/uid_definitions.go must appear there, so the table cannot silently
// fall behind the Go source.
//
// It is run by go generate in package dicom (see dicom/gen.go):
//
//	go run ../internal/gen/dictgen -out .
//
// Without -suyashkumar it finds the module with
// "go list -m -f {{.Dir}} github.com/suyashkumar/dicom".
package main

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"flag"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

const suyashkumarModule = "github.com/suyashkumar/dicom"

func main() {
	out := flag.String("out", ".", "directory to write dict_gen.go and uid_gen.go into")
	modDir := flag.String("suyashkumar", "", "directory of the "+suyashkumarModule+" module (default: from go list)")
	uids := flag.String("uids", "", "UID registry TSV (default: uids.tsv beside this generator, found from -out)")
	flag.Parse()
	if err := run(*out, *modDir, *uids); err != nil {
		fmt.Fprintln(os.Stderr, "dictgen:", err)
		os.Exit(1)
	}
}

func run(out, modDir, uidsPath string) error {
	if modDir == "" {
		d, err := moduleDir()
		if err != nil {
			return err
		}
		modDir = d
	}
	if uidsPath == "" {
		uidsPath = filepath.Join(out, "..", "internal", "gen", "dictgen", "uids.tsv")
	}
	files, err := generate(modDir, uidsPath)
	if err != nil {
		return err
	}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(out, name), src, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// generate returns the generated files by name.
func generate(modDir, uidsPath string) (map[string][]byte, error) {
	entries, err := loadTags(filepath.Join(modDir, "pkg", "tag", "tag_definitions.go"))
	if err != nil {
		return nil, err
	}
	dict, err := renderDict(entries)
	if err != nil {
		return nil, err
	}
	rows, err := loadUIDs(uidsPath)
	if err != nil {
		return nil, err
	}
	goUIDs, err := loadSuyashkumarUIDs(filepath.Join(modDir, "pkg", "uid", "uid_definitions.go"))
	if err != nil {
		return nil, err
	}
	if err := checkUIDCoverage(rows, goUIDs); err != nil {
		return nil, err
	}
	uidSrc, err := renderUIDs(rows)
	if err != nil {
		return nil, err
	}
	return map[string][]byte{"dict_gen.go": dict, "uid_gen.go": uidSrc}, nil
}

func moduleDir() (string, error) {
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", suyashkumarModule)
	cmd.Stderr = os.Stderr
	b, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go list %s: %w", suyashkumarModule, err)
	}
	d := strings.TrimSpace(string(b))
	if d == "" {
		return "", fmt.Errorf("go list %s: module not downloaded", suyashkumarModule)
	}
	return d, nil
}

// ---- data dictionary ----

// tagEntry is one row of the data dictionary as read from the source.
type tagEntry struct {
	tag             uint32
	vrs             []string
	name, keyword   string
	vm              string
	retired         bool
	vr, altVR       string // Entry.VR and Entry.AltVR, "" for none
	srcOrder        int    // position in the source's map literal
	masked          bool   // a PS3.6 tag written with "x" digits outside 50xx/60xx/7Fxx
	mask, maskValue uint32 // for masked entries
	pattern         string // for masked entries, e.g. "002804x0"
}

// maskedPatterns are the PS3.6 entries whose tags contain "x" digits other
// than the repeating groups 50xx, 60xx and 7Fxx (which package dicom handles
// by group, PS3.5 §7.6). The source writes each with its x digits as 0; two
// of them collide with real entries there: (0028,0400)-(0028,0403) are
// Transform Label etc. exactly, and (0028,04x0)-(0028,04x3) the retired
// Nth-order coefficient attributes.
var maskedPatterns = map[string]string{
	"SourceImageIDs":                 "002031xx",
	"RowsForNthOrderCoefficients":    "002804x0",
	"ColumnsForNthOrderCoefficients": "002804x1",
	"CoefficientCoding":              "002804x2",
	"CoefficientCodingPointers":      "002804x3",
	"CodeLabel":                      "002808x0",
	"NumberOfTables":                 "002808x2",
	"CodeTableLocation":              "002808x3",
	"BitsForCodeWord":                "002808x4",
	"ImageDataLocation":              "002808x8",
	"EscapeTriplet":                  "1000xxx0",
	"RunLengthTriplet":               "1000xxx1",
	"HuffmanTableSize":               "1000xxx2",
	"HuffmanTableTriplet":            "1000xxx3",
	"ShiftTableSize":                 "1000xxx4",
	"ShiftTableTriplet":              "1000xxx5",
	"ZonalMap":                       "1010xxxx",
}

var knownVRs = map[string]bool{
	"AE": true, "AS": true, "AT": true, "CS": true, "DA": true, "DS": true, "DT": true, "FD": true,
	"FL": true, "IS": true, "LO": true, "LT": true, "OB": true, "OD": true, "OF": true, "OL": true,
	"OV": true, "OW": true, "PN": true, "SH": true, "SL": true, "SQ": true, "SS": true, "ST": true,
	"SV": true, "TM": true, "UC": true, "UI": true, "UL": true, "UN": true, "UR": true, "US": true,
	"UT": true, "UV": true,
}

// loadTags parses tag_definitions.go: the "var X = Tag{g, e}" declarations
// and the "tagDict" map literal of Info{Tag, VRs, Name, Keyword, VM, Retired}.
func loadTags(path string) ([]tagEntry, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	tags := map[string]uint32{}
	var dict *ast.CompositeLit
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.VAR {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			if len(vs.Names) != 1 || len(vs.Values) != 1 {
				continue
			}
			name := vs.Names[0].Name
			cl, ok := vs.Values[0].(*ast.CompositeLit)
			if !ok {
				continue
			}
			if name == "tagDict" {
				dict = cl
				continue
			}
			if id, ok := cl.Type.(*ast.Ident); !ok || id.Name != "Tag" || len(cl.Elts) != 2 {
				continue
			}
			g, err1 := intLit(cl.Elts[0])
			e, err2 := intLit(cl.Elts[1])
			if err := errors.Join(err1, err2); err != nil {
				return nil, fmt.Errorf("%s: var %s: %w", fset.Position(vs.Pos()), name, err)
			}
			if g > 0xFFFF || e > 0xFFFF {
				return nil, fmt.Errorf("%s: var %s: tag out of range", fset.Position(vs.Pos()), name)
			}
			tags[name] = uint32(g)<<16 | uint32(e)
		}
	}
	if dict == nil {
		return nil, fmt.Errorf("%s: no tagDict map literal", path)
	}
	var out []tagEntry
	for i, elt := range dict.Elts {
		kv, ok := elt.(*ast.KeyValueExpr)
		if !ok {
			return nil, fmt.Errorf("%s: tagDict element is not key: value", fset.Position(elt.Pos()))
		}
		e, err := parseInfo(kv, tags)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", fset.Position(kv.Pos()), err)
		}
		e.srcOrder = i
		out = append(out, e)
	}
	return out, classify(out)
}

func parseInfo(kv *ast.KeyValueExpr, tags map[string]uint32) (tagEntry, error) {
	key, ok := kv.Key.(*ast.Ident)
	if !ok {
		return tagEntry{}, errors.New("tagDict key is not an identifier")
	}
	cl, ok := kv.Value.(*ast.CompositeLit)
	if !ok || len(cl.Elts) != 6 {
		return tagEntry{}, fmt.Errorf("%s: want Info{Tag, VRs, Name, Keyword, VM, Retired}", key.Name)
	}
	t, ok := tags[key.Name]
	if !ok {
		return tagEntry{}, fmt.Errorf("%s: no Tag declaration", key.Name)
	}
	if id, ok := cl.Elts[0].(*ast.Ident); !ok || id.Name != key.Name {
		return tagEntry{}, fmt.Errorf("%s: Info.Tag is not the key", key.Name)
	}
	vrList, ok := cl.Elts[1].(*ast.CompositeLit)
	if !ok || len(vrList.Elts) == 0 {
		return tagEntry{}, fmt.Errorf("%s: no VR list", key.Name)
	}
	e := tagEntry{tag: t}
	for _, v := range vrList.Elts {
		s, err := strLit(v)
		if err != nil {
			return tagEntry{}, fmt.Errorf("%s: VR: %w", key.Name, err)
		}
		e.vrs = append(e.vrs, s)
	}
	var err error
	if e.name, err = strLit(cl.Elts[2]); err != nil {
		return tagEntry{}, fmt.Errorf("%s: Name: %w", key.Name, err)
	}
	if e.keyword, err = strLit(cl.Elts[3]); err != nil {
		return tagEntry{}, fmt.Errorf("%s: Keyword: %w", key.Name, err)
	}
	if e.vm, err = strLit(cl.Elts[4]); err != nil {
		return tagEntry{}, fmt.Errorf("%s: VM: %w", key.Name, err)
	}
	ret, ok := cl.Elts[5].(*ast.Ident)
	if !ok || (ret.Name != "true" && ret.Name != "false") {
		return tagEntry{}, fmt.Errorf("%s: Retired is not true or false", key.Name)
	}
	e.retired = ret.Name == "true"
	if e.keyword == "" {
		return tagEntry{}, fmt.Errorf("%s: empty keyword", key.Name)
	}
	return e, nil
}

// classify sets each entry's VR pair and masked flag and checks that tags
// and keywords are unique apart from the documented masked collisions.
func classify(entries []tagEntry) error {
	for i := range entries {
		e := &entries[i]
		vr, alt, err := vrPair(e.vrs)
		if err != nil {
			return fmt.Errorf("%s: %w", e.keyword, err)
		}
		e.vr, e.altVR = vr, alt
		if p, ok := maskedPatterns[e.keyword]; ok {
			mask, value, err := parsePattern(p)
			if err != nil {
				return fmt.Errorf("%s: %w", e.keyword, err)
			}
			if e.tag != value {
				return fmt.Errorf("%s: tag %08X is not pattern %s with x = 0", e.keyword, e.tag, p)
			}
			e.masked, e.mask, e.maskValue, e.pattern = true, mask, value, p
		}
	}
	found := map[string]bool{}
	for _, e := range entries {
		if e.masked {
			found[e.keyword] = true
		}
	}
	for kw := range maskedPatterns {
		if !found[kw] {
			return fmt.Errorf("masked entry %s not in the source", kw)
		}
	}
	// Tags: unique, except that a masked entry may share its x=0 tag with
	// one exact entry.
	byTag := map[uint32][]tagEntry{}
	kw := map[string]bool{}
	for _, e := range entries {
		byTag[e.tag] = append(byTag[e.tag], e)
		if kw[e.keyword] {
			return fmt.Errorf("duplicate keyword %s", e.keyword)
		}
		kw[e.keyword] = true
	}
	for t, es := range byTag {
		if len(es) == 1 {
			continue
		}
		exact := 0
		for _, e := range es {
			if !e.masked {
				exact++
			}
		}
		if len(es) > 2 || exact != 1 {
			return fmt.Errorf("tag %08X: %d entries, %d exact", t, len(es), exact)
		}
	}
	return nil
}

// vrPair maps PS3.6's VR column to Entry.VR and Entry.AltVR: "US or SS" is
// (US, SS), "OB or OW" (OB, OW). The one three-way entry, "US or SS or OW"
// (Gray Lookup Table Data, retired), becomes (US, OW): whether 16-bit
// values are signed follows Pixel Representation, as for every US/SS pair,
// while OW is the other encoding. The item and delimitation tags have no VR
// ("NA" in the source) and get 0.
func vrPair(vrs []string) (vr, alt string, err error) {
	for _, v := range vrs {
		if v == "NA" && len(vrs) == 1 {
			return "", "", nil
		}
		if !knownVRs[v] {
			return "", "", fmt.Errorf("unknown VR %q", v)
		}
	}
	switch len(vrs) {
	case 1:
		return vrs[0], "", nil
	case 2:
		return vrs[0], vrs[1], nil
	case 3:
		if slices.Equal(vrs, []string{"US", "SS", "OW"}) {
			return "US", "OW", nil
		}
	}
	return "", "", fmt.Errorf("unexpected VR list %v", vrs)
}

// parsePattern turns "002804x0" into a mask and value.
func parsePattern(p string) (mask, value uint32, err error) {
	if len(p) != 8 {
		return 0, 0, fmt.Errorf("pattern %q: want 8 digits", p)
	}
	for i := 0; i < 8; i++ {
		mask <<= 4
		value <<= 4
		c := p[i]
		if c == 'x' {
			continue
		}
		d, err := strconv.ParseUint(string(c), 16, 8)
		if err != nil {
			return 0, 0, fmt.Errorf("pattern %q: %w", p, err)
		}
		mask |= 0xF
		value |= uint32(d)
	}
	return mask, value, nil
}

func intLit(e ast.Expr) (uint64, error) {
	bl, ok := e.(*ast.BasicLit)
	if !ok || bl.Kind != token.INT {
		return 0, errors.New("not an integer literal")
	}
	return strconv.ParseUint(bl.Value, 0, 32)
}

func strLit(e ast.Expr) (string, error) {
	bl, ok := e.(*ast.BasicLit)
	if !ok || bl.Kind != token.STRING {
		return "", errors.New("not a string literal")
	}
	return strconv.Unquote(bl.Value)
}

func vrConst(v string) string {
	if v == "" {
		return "0"
	}
	return v
}

func renderDict(entries []tagEntry) ([]byte, error) {
	es := slices.Clone(entries)
	// By tag; where a masked entry shares its tag with an exact one, the
	// exact one first, so that a lower-bound search finds it.
	slices.SortStableFunc(es, func(a, b tagEntry) int {
		if c := cmp.Compare(a.tag, b.tag); c != 0 {
			return c
		}
		if a.masked != b.masked {
			if a.masked {
				return 1
			}
			return -1
		}
		return cmp.Compare(a.srcOrder, b.srcOrder)
	})
	if len(es) > 0xFFFF {
		return nil, errors.New("too many entries for a uint16 index")
	}
	byKeyword := make([]int, len(es))
	for i := range byKeyword {
		byKeyword[i] = i
	}
	slices.SortFunc(byKeyword, func(a, b int) int { return strings.Compare(es[a].keyword, es[b].keyword) })
	maxKW := 0
	for _, e := range es {
		maxKW = max(maxKW, len(e.keyword))
	}

	var b bytes.Buffer
	fmt.Fprintf(&b, `// Code generated by internal/gen/dictgen; DO NOT EDIT.

// The PS3.6 data dictionary (DICOM 2024b) as read from %s@v1.1.0
// pkg/tag/tag_definitions.go (itself derived from the Innolitics JSON form of
// the standard, MIT licence).

package dicom

// dictEntries holds every dictionary entry, sorted by tag; where a masked
// entry (see dictMasked) shares the tag of its x=0 instance with an exact
// entry, the exact entry comes first.
var dictEntries = [...]Entry{
`, suyashkumarModule)
	for _, e := range es {
		fmt.Fprintf(&b, "\t{0x%08X, %s, %s, %q, %q, %q, %t},\n", e.tag, vrConst(e.vr), vrConst(e.altVR), e.vm, e.keyword, e.name, e.retired)
	}
	b.WriteString("}\n\n// dictTags holds the tags of dictEntries, for a cache-friendly search.\nvar dictTags = [...]Tag{")
	for i, e := range es {
		if i%8 == 0 {
			b.WriteString("\n\t")
		} else {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "0x%08X,", e.tag)
	}
	b.WriteString("\n}\n\n// dictByKeyword indexes dictEntries in keyword (byte) order.\nvar dictByKeyword = [...]uint16{")
	for i, k := range byKeyword {
		if i%16 == 0 {
			b.WriteString("\n\t")
		} else {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%d,", k)
	}
	b.WriteString("\n}\n\n// dictKeywords holds the keywords in the order of dictByKeyword, for the\n// search and for Keywords.\nvar dictKeywords = [...]string{\n")
	for _, k := range byKeyword {
		fmt.Fprintf(&b, "\t%q,\n", es[k].keyword)
	}
	b.WriteString("}\n\n")
	b.WriteString(`// dictMasked lists the entries whose PS3.6 tags contain "x" digits outside
// the repeating groups 50xx, 60xx and 7Fxx: a tag t matches when
// t&mask == value.
var dictMasked = [...]struct {
	mask, value Tag
	index       uint16 // into dictEntries
}{
`)
	for i, e := range es {
		if e.masked {
			fmt.Fprintf(&b, "\t{0x%08X, 0x%08X, %d}, // (%s,%s) %s\n", e.mask, e.maskValue, i, e.pattern[:4], e.pattern[4:], e.keyword)
		}
	}
	fmt.Fprintf(&b, "}\n\n// dictMaxKeywordLen is the length of the longest keyword.\nconst dictMaxKeywordLen = %d\n", maxKW)
	return format.Source(b.Bytes())
}

// ---- UID registry ----

type uidRow struct {
	uid, typ, keyword, name string
	retired                 bool
}

// uidTypes maps PS3.6's "UID Type" column to the UIDType constants.
var uidTypes = map[string]string{
	"SOP Class":                          "UIDTypeSOPClass",
	"Meta SOP Class":                     "UIDTypeMetaSOPClass",
	"Transfer Syntax":                    "UIDTypeTransferSyntax",
	"Well-known SOP Instance":            "UIDTypeWellKnownSOPInstance",
	"Well-known frame of reference":      "UIDTypeWellKnownFrameOfReference",
	"Synchronization Frame of Reference": "UIDTypeSynchronizationFrameOfReference",
	"Coding Scheme":                      "UIDTypeCodingScheme",
	"DICOM UIDs as a Coding Scheme":      "UIDTypeDICOMUIDsAsCodingScheme",
	"Application Context Name":           "UIDTypeApplicationContextName",
	"Service Class":                      "UIDTypeServiceClass",
	"Application Hosting Model":          "UIDTypeApplicationHostingModel",
	"Mapping Resource":                   "UIDTypeMappingResource",
	"LDAP OID":                           "UIDTypeLDAPOID",
}

// nameless lists rows of PS3.6 Table A-1 that have neither name nor keyword
// (retired); uids.tsv leaves them out, so the Go source may have them.
var nameless = map[string]bool{
	"1.2.840.10008.5.1.4.1.1.12.77": true,
	"1.2.840.10008.5.1.4.1.1.40":    true,
}

func loadUIDs(path string) ([]uidRow, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var rows []uidRow
	seenUID := map[string]bool{}
	seenKW := map[string]bool{}
	sc := bufio.NewScanner(f)
	line := 0
	for sc.Scan() {
		line++
		s := sc.Text()
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		fs := strings.Split(s, "\t")
		if len(fs) != 5 {
			return nil, fmt.Errorf("%s:%d: want 5 tab-separated fields, have %d", path, line, len(fs))
		}
		r := uidRow{uid: fs[0], typ: fs[1], keyword: fs[3], name: fs[4]}
		switch fs[2] {
		case "R":
			r.retired = true
		case "-":
		default:
			return nil, fmt.Errorf("%s:%d: retired field %q, want R or -", path, line, fs[2])
		}
		if _, ok := uidTypes[r.typ]; !ok {
			return nil, fmt.Errorf("%s:%d: unknown UID type %q", path, line, r.typ)
		}
		if !validUID(r.uid) || r.keyword == "" || r.name == "" {
			return nil, fmt.Errorf("%s:%d: bad row", path, line)
		}
		if seenUID[r.uid] || seenKW[r.keyword] {
			return nil, fmt.Errorf("%s:%d: duplicate UID or keyword", path, line)
		}
		seenUID[r.uid], seenKW[r.keyword] = true, true
		rows = append(rows, r)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return rows, nil
}

// loadSuyashkumarUIDs returns the UIDs and names of uid_definitions.go's
// uidMap literal.
func loadSuyashkumarUIDs(path string) (map[string]string, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || len(vs.Names) != 1 || vs.Names[0].Name != "uidMap" || len(vs.Values) != 1 {
			return true
		}
		cl, ok := vs.Values[0].(*ast.CompositeLit)
		if !ok {
			return false
		}
		for _, elt := range cl.Elts {
			kv, ok := elt.(*ast.KeyValueExpr)
			if !ok {
				continue
			}
			k, err := strLit(kv.Key)
			if err != nil {
				continue
			}
			name := ""
			if info, ok := kv.Value.(*ast.CompositeLit); ok && len(info.Elts) > 1 {
				name, _ = strLit(info.Elts[1])
			}
			out[k] = name
		}
		return false
	})
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no uidMap literal", path)
	}
	return out, nil
}

func checkUIDCoverage(rows []uidRow, goUIDs map[string]string) error {
	have := map[string]bool{}
	for _, r := range rows {
		have[r.uid] = true
	}
	var missing []string
	for u := range goUIDs {
		if !have[u] && !nameless[u] {
			missing = append(missing, u)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return fmt.Errorf("UIDs of %s pkg/uid missing from uids.tsv: %s", suyashkumarModule, strings.Join(missing, ", "))
	}
	return nil
}

// validUID reports whether s follows PS3.5 §9.1.
func validUID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range strings.Split(s, ".") {
		if c == "" || (len(c) > 1 && c[0] == '0') {
			return false
		}
		for i := 0; i < len(c); i++ {
			if c[i] < '0' || c[i] > '9' {
				return false
			}
		}
	}
	return true
}

// Storage SOP Classes.
//
// A SOP Class of the registry is a Storage SOP Class of PS3.4 Annex B when
// its keyword contains "Storage", apart from the exceptions below. That
// takes in the names that do not end in "Storage" ("... Storage - For
// Presentation", "... Storage - Trial", the retired "Stored Print Storage
// SOP Class" and Hardcopy classes, which were Annex B classes before they were
// retired) and the DICOS and DICONDE classes (registered in PS3.6, IODs with
// Study and Series, sent with C-STORE like any other).
var notStorage = map[string]string{
	"MediaStorageDirectoryStorage": "the DICOMDIR (PS3.10), never sent by C-STORE",
	"StorageCommitmentPushModel":   "Storage Commitment Service Class (PS3.4 Annex J)",
	"StorageCommitmentPullModel":   "Storage Commitment Service Class (PS3.4 Annex J)",
	// Non-Patient Object Storage Service Class (PS3.4 Annex GG): IODs
	// without Patient, Study and Series (PS3.4 §B.1.1 requires them).
	"HangingProtocolStorage":            "Non-Patient Object Storage (PS3.4 Annex GG)",
	"ColorPaletteStorage":               "Non-Patient Object Storage (PS3.4 Annex GG)",
	"GenericImplantTemplateStorage":     "Non-Patient Object Storage (PS3.4 Annex GG)",
	"ImplantAssemblyTemplateStorage":    "Non-Patient Object Storage (PS3.4 Annex GG)",
	"ImplantTemplateGroupStorage":       "Non-Patient Object Storage (PS3.4 Annex GG)",
	"CTDefinedProcedureProtocolStorage": "Non-Patient Object Storage (PS3.4 Annex GG)",
	"XADefinedProcedureProtocolStorage": "Non-Patient Object Storage (PS3.4 Annex GG)",
	"ProtocolApprovalStorage":           "Non-Patient Object Storage (PS3.4 Annex GG)",
	"InventoryStorage":                  "Non-Patient Object Storage (PS3.4 Annex GG)",
}

func isStorage(r uidRow) bool {
	_, excluded := notStorage[r.keyword]
	return r.typ == "SOP Class" && strings.Contains(r.keyword, "Storage") && !excluded
}

// Transfer syntaxes.
//
// notDataSetEncoding are registry entries of type Transfer Syntax that do
// not encode a data set as PS3.5 §10 and Annex A define, so a C-STORE
// receiver has no use for them.
var notDataSetEncoding = map[string]bool{
	"1.2.840.10008.1.2.6.1": true, // RFC 2557 MIME Encapsulation (retired, PS3.10)
	"1.2.840.10008.1.2.6.2": true, // XML Encoding (retired)
	"1.2.840.10008.1.20":    true, // Papyrus 3 Implicit VR Little Endian (retired file format)
}

// deflated are the transfer syntaxes whose whole data set is deflated
// (PS3.5 §A.5, §A.7, §A.12).
var deflated = map[string]bool{
	"1.2.840.10008.1.2.1.99":  true,
	"1.2.840.10008.1.2.4.95":  true,
	"1.2.840.10008.1.2.4.205": true,
}

// notEncapsulated are the explicit VR little endian transfer syntaxes whose
// pixel data is not in fragments: native encodings, the JPIP referenced ones
// (Pixel Data absent, referenced by Pixel Data Provider URL, PS3.5 §8.4,
// §A.6, §A.7, §A.11, §A.12) and the DICOM-RTV metadata flows of SMPTE ST 2110 (the video is
// in a separate flow, PS3.5 §A.8-§A.10).
var notEncapsulated = map[string]bool{
	"1.2.840.10008.1.2":       true,
	"1.2.840.10008.1.2.1":     true,
	"1.2.840.10008.1.2.1.99":  true,
	"1.2.840.10008.1.2.2":     true,
	"1.2.840.10008.1.2.4.94":  true,
	"1.2.840.10008.1.2.4.95":  true,
	"1.2.840.10008.1.2.4.204": true,
	"1.2.840.10008.1.2.4.205": true,
	"1.2.840.10008.1.2.7.1":   true,
	"1.2.840.10008.1.2.7.2":   true,
	"1.2.840.10008.1.2.7.3":   true,
}

func renderUIDs(rows []uidRow) ([]byte, error) {
	rs := slices.Clone(rows)
	slices.SortFunc(rs, func(a, b uidRow) int { return strings.Compare(a.uid, b.uid) })
	byKeyword := make([]int, len(rs))
	for i := range byKeyword {
		byKeyword[i] = i
	}
	slices.SortFunc(byKeyword, func(a, b int) int { return strings.Compare(rs[a].keyword, rs[b].keyword) })

	var b bytes.Buffer
	b.WriteString(`// Code generated by internal/gen/dictgen; DO NOT EDIT.

// The PS3.6 Table A-1 UID registry, from internal/gen/dictgen/uids.tsv
// (DICOM 2025; see that file for the edition and how it was checked).

package dicom

// uidRegistry holds PS3.6 Table A-1, sorted by UID (byte order).
var uidRegistry = [...]UIDInfo{
`)
	for _, r := range rs {
		fmt.Fprintf(&b, "\t{%q, %q, %q, %s, %t},\n", r.uid, r.name, r.keyword, uidTypes[r.typ], r.retired)
	}
	b.WriteString("}\n\n// uidByKeyword indexes uidRegistry in keyword (byte) order.\nvar uidByKeyword = [...]uint16{")
	for i, k := range byKeyword {
		if i%16 == 0 {
			b.WriteString("\n\t")
		} else {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%d,", k)
	}
	b.WriteString("\n}\n\n// storageSOPClasses holds the Storage SOP Class UIDs (see StorageSOPClasses),\n// sorted by UID (byte order).\nvar storageSOPClasses = [...]string{\n")
	nStorage := 0
	for _, r := range rs {
		if isStorage(r) {
			fmt.Fprintf(&b, "\t%q, // %s\n", r.uid, r.keyword)
			nStorage++
		}
	}
	b.WriteString("}\n\n// transferSyntaxes holds the transfer syntaxes of PS3.5 §10 and Annex A,\n// sorted by UID (byte order).\nvar transferSyntaxes = [...]TransferSyntax{\n")
	nTS := 0
	for _, r := range rs {
		if r.typ != "Transfer Syntax" || notDataSetEncoding[r.uid] {
			continue
		}
		// Encoding literals, not the ImplicitLittle etc. variables, so
		// that the table stays static data with no init-time code.
		enc := "Encoding{}"
		switch r.uid {
		case "1.2.840.10008.1.2":
			enc = "Encoding{ImplicitVR: true}"
		case "1.2.840.10008.1.2.2":
			enc = "Encoding{BigEndian: true}"
		}
		fmt.Fprintf(&b, "\t{%q, %q, %q, %s, %t, %t, %t},\n", r.uid, r.name, r.keyword, enc, deflated[r.uid], !notEncapsulated[r.uid], r.retired)
		nTS++
	}
	b.WriteString("}\n")
	if nStorage == 0 || nTS == 0 {
		return nil, errors.New("no storage SOP classes or transfer syntaxes")
	}
	for kw := range notStorage {
		if !slices.ContainsFunc(rs, func(r uidRow) bool { return r.keyword == kw }) {
			return nil, fmt.Errorf("notStorage keyword %s not in the registry", kw)
		}
	}
	return format.Source(b.Bytes())
}
