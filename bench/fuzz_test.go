package main

import (
	"testing"
)

// The /proc parsers read whole files (os.ReadFile), so there is no stream
// to split; FuzzResponseTally, which does read a stream, feeds its input
// split at a fuzzed position and compares with the input fed whole.

func FuzzParseStat(f *testing.F) {
	f.Add([]byte(statLine(4242, "storescp", 'S', 1, 150, 60, 7, 3)))
	f.Add([]byte(statLine(7, "a) b (c", 'Z', 2, 1, 2, 3, 4)))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := parseStat(b)
		if err != nil {
			return
		}
		// What parsed, formatted again, parses to the same.
		again, err := parseStat([]byte(statLine(st.PID, "x", st.State, st.PPID, st.UTime, st.STime, st.CUTime, st.CSTime)))
		if err != nil {
			if st.State <= ' ' || st.State == ')' || st.State >= 0x7f {
				return // a blank, ')' or non-ASCII state byte does not survive formatting
			}
			t.Fatalf("%+v formatted does not parse: %v", st, err)
		}
		if again != st {
			t.Fatalf("round trip: %+v, then %+v", st, again)
		}
	})
}

func FuzzParseVmHWM(f *testing.F) {
	f.Add([]byte("Name:\tstorescp\nVmHWM:\t   15680 kB\nVmRSS:\t 15000 kB\n"))
	f.Add([]byte("State:\tZ (zombie)\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		kib, ok, err := parseVmHWM(b)
		if kib < 0 || (ok && err != nil) || (!ok && kib != 0) {
			t.Fatalf("parseVmHWM = %d, %v, %v", kib, ok, err)
		}
	})
}

func FuzzParseCPUTimes(f *testing.F) {
	f.Add([]byte("cpu  433943 0 85713 304582 1538 0 1804 510 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ct, err := parseCPUTimes(b)
		if err != nil && ct != (cpuTimes{}) {
			t.Fatalf("error %v with a value %+v", err, ct)
		}
	})
}

func FuzzListenPorts(f *testing.F) {
	f.Add([]byte("  sl  local_address rem_address   st\n   0: 00000000:2B67 00000000:0000 0A 00000000:00000000\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for p := range listenPorts(b) {
			if p < 0 || p > 65535 {
				t.Fatalf("port %d", p)
			}
		}
	})
}

func FuzzResponseTally(f *testing.F) {
	f.Add([]byte(storescuOutput), 17)
	f.Add([]byte("INFO: Received Store Response (Success)\r\n"), 40)
	f.Fuzz(func(t *testing.T, b []byte, at int) {
		whole := &responseTally{}
		whole.Write(b)
		split := &responseTally{}
		if at < 0 {
			at = -at
		}
		if len(b) > 0 {
			at %= len(b) + 1
		} else {
			at = 0
		}
		split.Write(b[:at])
		split.Write(b[at:])
		ws, wr := whole.counts()
		ss, sr := split.counts()
		if ws != ss || wr != sr || ws > wr {
			t.Fatalf("whole: %d/%d, split at %d: %d/%d", ws, wr, at, ss, sr)
		}
		if whole.otherLines() != split.otherLines() {
			t.Fatalf("other lines differ: %q vs %q", whole.otherLines(), split.otherLines())
		}
	})
}

func FuzzParseServerStarted(f *testing.F) {
	f.Add([]byte(`{"event":"ServerStarted","time":"2026-01-02T03:04:05Z","data":{"port":40321}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		port, err := parseServerStarted(b)
		if err == nil && (port <= 0 || port > 65535) {
			t.Fatalf("port %d accepted", port)
		}
	})
}
