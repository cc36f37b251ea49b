package testutil

import (
	"fmt"
	"strconv"
	"strings"
)

// FuzzSeed returns the contents of a seed corpus file (testdata/fuzz/NAME/…,
// format "go test fuzz v1") holding args, each a []byte, uint64 or byte.
func FuzzSeed(args ...any) []byte {
	var b strings.Builder
	b.WriteString("go test fuzz v1\n")
	for _, a := range args {
		switch a := a.(type) {
		case []byte:
			fmt.Fprintf(&b, "[]byte(%s)\n", strconv.Quote(string(a)))
		case uint64:
			fmt.Fprintf(&b, "uint64(%d)\n", a)
		case byte:
			fmt.Fprintf(&b, "byte(%s)\n", strconv.QuoteRune(rune(a)))
		default:
			panic(fmt.Sprintf("testutil.FuzzSeed: argument of type %T", a))
		}
	}
	return []byte(b.String())
}
