// Package testutil holds helpers shared by the tests of several packages.
package testutil

import (
	"os"
	"os/exec"
	"regexp"
	"testing"
)

// InCI reports whether the tests run under .ci/run, which sets DICOMRECV_CI=1.
// There a missing peer (DCMTK, pydicom, versitygw) fails a test instead of
// skipping it.
func InCI() bool { return os.Getenv("DICOMRECV_CI") == "1" }

// RequireTool returns the path of the named executable. When it is missing
// the test is skipped, or failed under CI.
func RequireTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, name+" not found on PATH")
	}
	return p
}

// RequireFile skips (or fails under CI) the test when path does not exist.
func RequireFile(t testing.TB, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		Missing(t, path+" is missing")
	}
}

// Missing skips the test with why, or fails it under CI.
func Missing(t testing.TB, why string) {
	t.Helper()
	if InCI() {
		t.Fatalf("required test peer missing under CI: %s", why)
	}
	t.Skipf("skipped: %s (install it, or run bash .ci/run)", why)
}

// Python is Debian's interpreter, which can import Debian's pydicom; a
// python3 earlier on PATH may lack it.
const Python = "/usr/bin/python3"

// PydicomTestFiles is where Debian's python3-pydicom installs its samples.
const PydicomTestFiles = "/usr/lib/python3/dist-packages/pydicom/data/test_files"

// PydicomCharsetFiles holds pydicom's character set samples.
const PydicomCharsetFiles = "/usr/lib/python3/dist-packages/pydicom/data/charset_files"

var storeResponseRE = regexp.MustCompile(`Received Store Response \(([^)]*)\)`)

// StoreResponses returns the statuses DCMTK's storescu -v printed ("Success",
// "Warning: …", …), in order.
func StoreResponses(out string) []string {
	var r []string
	for _, m := range storeResponseRE.FindAllStringSubmatch(out, -1) {
		r = append(r, m[1])
	}
	return r
}
