package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/dicomrecv/dicomrecv"
	"github.com/dicomrecv/dicomrecv/dicom"
)

// lookupCommands are the look-up subcommands: they print a table (or JSON
// with --json) and exit.
var lookupCommands = map[string]func(args []string, stdout, stderr io.Writer) int{
	"tags":              runTags,
	"sop-classes":       runSOPClasses,
	"transfer-syntaxes": runTransferSyntaxes,
}

func lookupFlags(name string, args []string, stderr io.Writer) (*flag.FlagSet, *bool, bool) {
	fs := flag.NewFlagSet("dicomrecv "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	if err := fs.Parse(args); err != nil {
		return nil, nil, false
	}
	return fs, asJSON, true
}

// runTags prints the data dictionary: keyword, tag, VR, VM; FILTER keeps the
// entries whose keyword or tag contains it (case-insensitive).
func runTags(args []string, stdout, stderr io.Writer) int {
	fs, asJSON, ok := lookupFlags("tags [FILTER]", args, stderr)
	if !ok {
		return 2
	}
	filter := strings.ToLower(strings.Join(fs.Args(), " "))
	type row struct {
		Keyword string `json:"keyword"`
		Tag     string `json:"tag"`
		VR      string `json:"vr"`
		VM      string `json:"vm"`
		Name    string `json:"name"`
		Retired bool   `json:"retired,omitempty"`
	}
	var rows []row
	for _, kw := range dicomrecv.AvailableTagNames() {
		e, _ := dicom.LookupKeyword(kw)
		vr := e.VR.String()
		if e.VR == 0 {
			vr = "--"
		}
		if e.AltVR != 0 {
			vr += " or " + e.AltVR.String()
		}
		r := row{Keyword: kw, Tag: e.Tag.String(), VR: vr, VM: e.VM, Name: e.Name, Retired: e.Retired}
		if filter != "" && !strings.Contains(strings.ToLower(kw), filter) && !strings.Contains(strings.ToLower(r.Tag), filter) &&
			!strings.Contains(strings.ToLower(e.Tag.Hex()), filter) {
			continue
		}
		rows = append(rows, r)
	}
	if *asJSON {
		return writeJSON(stdout, rows)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEYWORD\tTAG\tVR\tVM\tNAME")
	for _, r := range rows {
		name := r.Name
		if r.Retired {
			name += " (retired)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Keyword, r.Tag, r.VR, r.VM, name)
	}
	tw.Flush()
	return 0
}

// runSOPClasses prints every Storage SOP Class (what AllStorage accepts)
// and the seed's named sets.
func runSOPClasses(args []string, stdout, stderr io.Writer) int {
	_, asJSON, ok := lookupFlags("sop-classes", args, stderr)
	if !ok {
		return 2
	}
	var rows []uidRow
	for _, uid := range dicom.StorageSOPClasses() {
		info, _ := dicom.LookupUID(uid)
		rows = append(rows, uidRow{UID: uid, Keyword: info.Keyword, Name: info.Name, Retired: info.Retired})
	}
	sets := dicomrecv.CommonSOPClasses()
	if *asJSON {
		return writeJSON(stdout, map[string]any{"storage": rows, "sets": sets})
	}
	printUIDs(stdout, rows, sets)
	return 0
}

// runTransferSyntaxes prints every standard transfer syntax (what All
// accepts) and the seed's named sets.
func runTransferSyntaxes(args []string, stdout, stderr io.Writer) int {
	_, asJSON, ok := lookupFlags("transfer-syntaxes", args, stderr)
	if !ok {
		return 2
	}
	type row struct {
		UID          string `json:"uid"`
		Keyword      string `json:"keyword"`
		Name         string `json:"name"`
		ExplicitVR   bool   `json:"explicitVr"`
		BigEndian    bool   `json:"bigEndian,omitempty"`
		Deflated     bool   `json:"deflated,omitempty"`
		Encapsulated bool   `json:"encapsulated,omitempty"`
		Retired      bool   `json:"retired,omitempty"`
	}
	var rows []row
	for _, ts := range dicom.TransferSyntaxes() {
		rows = append(rows, row{UID: ts.UID, Keyword: ts.Keyword, Name: ts.Name, ExplicitVR: !ts.Encoding.ImplicitVR,
			BigEndian: ts.Encoding.BigEndian, Deflated: ts.Deflated, Encapsulated: ts.Encapsulated, Retired: ts.Retired})
	}
	sets := dicomrecv.CommonTransferSyntaxes()
	if *asJSON {
		return writeJSON(stdout, map[string]any{"transferSyntaxes": rows, "sets": sets})
	}
	uids := make([]uidRow, len(rows))
	for i, r := range rows {
		uids[i] = uidRow{r.UID, r.Keyword, r.Name, r.Retired}
	}
	printUIDs(stdout, uids, sets)
	return 0
}

// uidRow is a line of the sop-classes and transfer-syntaxes tables (and
// an entry of sop-classes --json).
type uidRow struct {
	UID     string `json:"uid"`
	Keyword string `json:"keyword"`
	Name    string `json:"name"`
	Retired bool   `json:"retired,omitempty"`
}

// printUIDs prints a UID table followed by the named sets.
func printUIDs(w io.Writer, rows []uidRow, sets map[string][]string) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "UID\tKEYWORD\tNAME")
	for _, r := range rows {
		name := r.Name
		if r.Retired {
			name += " (retired)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.UID, r.Keyword, name)
	}
	tw.Flush()
	printSets(w, sets)
}

// printSets lists the named sets usable as "@name" in the configuration.
func printSets(w io.Writer, sets map[string][]string) {
	names := make([]string, 0, len(sets))
	for k := range sets {
		names = append(names, k)
	}
	sort.Strings(names)
	fmt.Fprintln(w, "\nSets (usable as \"@name\" in the configuration):")
	for _, k := range names {
		fmt.Fprintf(w, "  @%s: %s\n", k, strings.Join(sets[k], " "))
	}
}

func writeJSON(w io.Writer, v any) int {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return 1
	}
	return 0
}
