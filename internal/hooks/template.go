package hooks

import (
	"errors"
	"fmt"
	"strings"
)

// placeholder identifies one placeholder of an argv template.
type placeholder uint8

const (
	phFile placeholder = iota
	phSOPInstanceUID
	phSOPClassUID
	phStudyInstanceUID
	phSeriesInstanceUID
	phTransferSyntaxUID
	phCallingAETitle
	phCalledAETitle
	phRemoteAddr
	phBytes
	phStudyDir
	phSeriesDir
	phInstanceCount
	phSeriesCount
	phCallingAETitles
	numPlaceholders
)

// placeholderNames are the names written between braces; each is the JSON
// member of the event's data it comes from, or a value derived from them.
var placeholderNames = [numPlaceholders]string{
	phFile:              "file",
	phSOPInstanceUID:    "sopInstanceUid",
	phSOPClassUID:       "sopClassUid",
	phStudyInstanceUID:  "studyInstanceUid",
	phSeriesInstanceUID: "seriesInstanceUid",
	phTransferSyntaxUID: "transferSyntaxUid",
	phCallingAETitle:    "callingAeTitle",
	phCalledAETitle:     "calledAeTitle",
	phRemoteAddr:        "remoteAddr",
	phBytes:             "bytes",
	phStudyDir:          "studyDir",
	phSeriesDir:         "seriesDir",
	phInstanceCount:     "instanceCount",
	phSeriesCount:       "seriesCount",
	phCallingAETitles:   "callingAeTitles",
}

// fileStoredPlaceholders and studyCompletedPlaceholders are the
// placeholders each event's template may use.
var (
	fileStoredPlaceholders = []placeholder{phFile, phSOPInstanceUID, phSOPClassUID, phStudyInstanceUID,
		phSeriesInstanceUID, phTransferSyntaxUID, phCallingAETitle, phCalledAETitle, phRemoteAddr, phBytes,
		phStudyDir, phSeriesDir}
	studyCompletedPlaceholders = []placeholder{phStudyInstanceUID, phStudyDir, phInstanceCount, phSeriesCount,
		phBytes, phCallingAETitles}
)

// segment is a piece of an argument: literal text, or a placeholder.
type segment struct {
	lit string
	ph  placeholder
	isP bool
}

// template is a parsed argv template: one list of segments per argument.
type template [][]segment

// values holds a placeholder's value per placeholder.
type values [numPlaceholders]string

// errEmptyArgv is returned for a template without a program.
var errEmptyArgv = errors.New("empty argv: the first element must name the program")

// parseTemplate parses argv. allowed lists the placeholders the event
// offers. The program (argv[0]) must be literal text: peers must not choose
// what runs.
func parseTemplate(argv []string, allowed []placeholder) (template, error) {
	if len(argv) == 0 || argv[0] == "" {
		return nil, errEmptyArgv
	}
	t := make(template, len(argv))
	for i, a := range argv {
		segs, err := parseArg(a, allowed)
		if err != nil {
			return nil, fmt.Errorf("argument %d %q: %w", i, a, err)
		}
		if i == 0 && (len(segs) != 1 || segs[0].isP) {
			return nil, fmt.Errorf("argument 0 %q: the program must be literal text, without placeholders", a)
		}
		t[i] = segs
	}
	return t, nil
}

// parseArg parses one argument: text with {name} placeholders, {{ and }}
// standing for literal braces.
func parseArg(s string, allowed []placeholder) ([]segment, error) {
	var segs []segment
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			segs = append(segs, segment{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == '{' && i+1 < len(s) && s[i+1] == '{':
			lit.WriteByte('{')
			i += 2
		case c == '}' && i+1 < len(s) && s[i+1] == '}':
			lit.WriteByte('}')
			i += 2
		case c == '}':
			return nil, fmt.Errorf("single } at offset %d (write }} for a literal brace)", i)
		case c == '{':
			end := strings.IndexByte(s[i+1:], '}')
			if end < 0 {
				return nil, fmt.Errorf("unterminated placeholder at offset %d (write {{ for a literal brace)", i)
			}
			name := s[i+1 : i+1+end]
			ph, ok := lookupPlaceholder(name, allowed)
			if !ok {
				return nil, fmt.Errorf("unknown placeholder {%s} (known: %s)", name, knownList(allowed))
			}
			flush()
			segs = append(segs, segment{ph: ph, isP: true})
			i += end + 2
		default:
			lit.WriteByte(c)
			i++
		}
	}
	flush()
	if len(segs) == 0 {
		segs = []segment{{}} // an empty argument stays an argument
	}
	return segs, nil
}

func lookupPlaceholder(name string, allowed []placeholder) (placeholder, bool) {
	for _, p := range allowed {
		if placeholderNames[p] == name {
			return p, true
		}
	}
	return 0, false
}

func knownList(allowed []placeholder) string {
	var b strings.Builder
	for i, p := range allowed {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("{" + placeholderNames[p] + "}")
	}
	return b.String()
}

// expand returns the argv of t with v substituted. Each argument stays one
// argument whatever its values contain.
func (t template) expand(v *values) []string {
	argv := make([]string, len(t))
	for i, segs := range t {
		if len(segs) == 1 {
			if segs[0].isP {
				argv[i] = v[segs[0].ph]
			} else {
				argv[i] = segs[0].lit
			}
			continue
		}
		var b strings.Builder
		for _, sg := range segs {
			if sg.isP {
				b.WriteString(v[sg.ph])
			} else {
				b.WriteString(sg.lit)
			}
		}
		argv[i] = b.String()
	}
	return argv
}
