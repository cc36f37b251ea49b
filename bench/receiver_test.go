package main

import (
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestListenPorts(t *testing.T) {
	tcp := `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:2B67 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 31337 1 0000000000000000 100 0 0 10 0
   1: 0100007F:9C41 0100007F:2B67 01 00000000:00000000 00:00000000 00000000     0        0 31338 1 0000000000000000 20 4 30 10 -1
   2: 0100007F:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 31339 1 0000000000000000 100 0 0 10 0
`
	tcp6 := `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:A3E1 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0
`
	tests := []struct {
		name string
		in   string
		want []int
	}{
		{"tcp: listeners only, not the established connection", tcp, []int{80, 11111}},
		{"tcp6", tcp6, []int{41953}},
		{"header only", "  sl  local_address rem_address   st\n", nil},
		{"garbage", "x\n1: zz:zz 0:0 0A\n1: 0:GGGG 0:0 0A\n", nil},
		{"empty", "", nil},
	}
	for _, tt := range tests {
		var got []int
		for p := range listenPorts([]byte(tt.in)) {
			got = append(got, p)
		}
		slices.Sort(got)
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: listenPorts = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestListening(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if !listening(port) {
		t.Errorf("port %d listens but listening says no", port)
	}
	ln.Close()
	if listening(port) {
		t.Errorf("port %d closed but listening says yes", port)
	}
}

func TestParseServerStarted(t *testing.T) {
	tests := []struct {
		line    string
		port    int
		wantErr bool
	}{
		{`{"event":"ServerStarted","time":"2026-01-02T03:04:05Z","data":{"message":"Server started","port":40321,"aeTitle":"BENCH-SCP"}}`, 40321, false},
		{`{"event":"FileStored","time":"2026-01-02T03:04:05Z","data":{"port":1}}`, 0, true},
		{`{"event":"ServerStarted","data":{"port":0}}`, 0, true},
		{`{"event":"ServerStarted","data":{"port":70000}}`, 0, true},
		{`time=... level=INFO msg=listening`, 0, true},
		{``, 0, true},
	}
	for _, tt := range tests {
		port, err := parseServerStarted([]byte(tt.line))
		if port != tt.port || (err != nil) != tt.wantErr {
			t.Errorf("parseServerStarted(%q) = %d, %v; want %d, error %v", tt.line, port, err, tt.port, tt.wantErr)
		}
	}
}

func TestEnvWithout(t *testing.T) {
	got := envWithout([]string{"A=1", "TCP_NODELAY=1", "TCP_NODELAYX=2", "B=", "TCP_NODELAY"}, "TCP_NODELAY")
	want := []string{"A=1", "TCP_NODELAYX=2", "B="}
	if !slices.Equal(got, want) {
		t.Errorf("envWithout = %q, want %q", got, want)
	}
}

func TestCountFiles(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{
		"1.2.3/1.2.3.4/1.2.3.4.5.dcm", "1.2.3/1.2.3.4/1.2.3.4.6.dcm", "CT.1.2.3.4.7", // stored objects
		".dicomrecv/tmp/.1.2.3.4.8-x.dcm.tmp", ".dicomrecv/studies.journal", "1.2.3/1.2.3.4/.1.2.3.4.9.dcm.tmp", // state and temporary
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := countFiles(dir); n != 3 || err != nil {
		t.Errorf("countFiles = %d, %v; want 3", n, err)
	}
	if n, err := countFiles(filepath.Join(dir, "missing")); n != 0 || err != nil {
		t.Errorf("missing dir: %d, %v", n, err)
	}
}
