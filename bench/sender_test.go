package main

import (
	"slices"
	"strings"
	"testing"
)

const storescuOutput = "INFO: Received Store Response (Success)\n" +
	"WARN: cannot access file: gone.dcm, ignoring file\n" +
	"INFO: Received Store Response (Success)\r\n" +
	"INFO: Received Store Response (Refused: OutOfResources)\n" +
	"INFO: Received Store Response (Success)\n" +
	"ERROR: Store Failed, file: x.dcm:\n"

// TestResponseTallySplits feeds storescu's output split at every byte
// position, and one byte at a time: the counts do not depend on how the
// pipe delivered it.
func TestResponseTallySplits(t *testing.T) {
	check := func(t *testing.T, tl *responseTally) {
		t.Helper()
		s, all := tl.counts()
		if s != 3 || all != 4 {
			t.Errorf("success %d, responses %d; want 3, 4", s, all)
		}
		other := tl.otherLines()
		for _, want := range []string{"cannot access file", "Refused: OutOfResources", "Store Failed"} {
			if !strings.Contains(other, want) {
				t.Errorf("otherLines %q lacks %q", other, want)
			}
		}
		if strings.Contains(other, "(Success)") {
			t.Errorf("otherLines keeps success lines: %q", other)
		}
	}
	for i := 0; i <= len(storescuOutput); i++ {
		tl := &responseTally{}
		tl.Write([]byte(storescuOutput[:i]))
		tl.Write([]byte(storescuOutput[i:]))
		check(t, tl)
	}
	tl := &responseTally{}
	for i := range len(storescuOutput) {
		if n, err := tl.Write([]byte{storescuOutput[i]}); n != 1 || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	check(t, tl)
}

func TestResponseTallyBounds(t *testing.T) {
	tl := &responseTally{}
	tl.Write([]byte(strings.Repeat("x", 100_000)))
	if len(tl.partial) > 4096 {
		t.Errorf("an unterminated line is held whole: %d bytes", len(tl.partial))
	}
	tl.Write([]byte("\n"))
	for i := range 20 {
		tl.Write([]byte("E: line " + string(rune('a'+i)) + "\n"))
	}
	if len(tl.last) != 8 || tl.last[7] != "E: line t" {
		t.Errorf("last lines %q", tl.last)
	}
}

func TestStorescuArgs(t *testing.T) {
	sc := scenario{corpusSmall, 4, 131072, senderStock}
	files := []corpusFile{{Path: "study1/slice0001.dcm"}, {Path: "study1/slice0002.dcm"}}
	got := storescuArgs(sc, "/w/log.cfg", 40123, files)
	want := []string{"-lc", "/w/log.cfg", "-aet", "BENCH-SCU", "-aec", "BENCH-SCP", "-nh", "-pdu", "131072",
		"127.0.0.1", "40123", "study1/slice0001.dcm", "study1/slice0002.dcm"}
	if !slices.Equal(got, want) {
		t.Errorf("storescuArgs =\n%q\nwant\n%q", got, want)
	}
}

func TestSenderEnv(t *testing.T) {
	t.Setenv("TCP_NODELAY", "0")
	count := func(env []string) (n int, last string) {
		for _, kv := range env {
			if strings.HasPrefix(kv, "TCP_NODELAY=") {
				n++
				last = kv
			}
		}
		return
	}
	if n, kv := count(senderEnv(scenario{Sender: senderNoDelay})); n != 1 || kv != "TCP_NODELAY=1" {
		t.Errorf("nodelay sender: %d TCP_NODELAY entries, %q", n, kv)
	}
	if n, _ := count(senderEnv(scenario{Sender: senderStock})); n != 0 {
		t.Errorf("stock sender has TCP_NODELAY set")
	}
}
