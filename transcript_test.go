package dicomrecv

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dicomrecv/dicomrecv/internal/testutil"
)

var update = flag.Bool("update", false, "re-record the golden transcripts in testdata/transcripts with DCMTK")

// A transcript is an association recorded byte for byte between a DCMTK
// client and dicomrecv: what the client sent and what the server answered.
// Replaying the client's bytes must make the server answer the same bytes,
// so any change in what goes on the wire shows up here, without DCMTK.
type transcript struct {
	name string
	cfg  Config
	// record runs the DCMTK client against addr ("host port").
	record func(t *testing.T, host, port string)
}

var transcripts = []transcript{
	{
		name: "echoscu",
		record: func(t *testing.T, host, port string) {
			out, err := dcmtk(t, "echoscu", "-v", "-aet", "ECHOSCU", "-aec", "STORE-SCP", host, port)
			if err != nil || !strings.Contains(out, "Echo Response (Success)") {
				t.Fatalf("echoscu: %v\n%s", err, out)
			}
		},
	},
	{
		// Two objects in one association; our maximum PDU of 4096 makes
		// storescu fragment each data set into many PDUs.
		name: "storescu_ct_mr_pdu4096",
		cfg:  Config{MaxPDULength: 4096},
		record: func(t *testing.T, host, port string) {
			out, err := dcmtk(t, "storescu", "-v", "-aet", "STORESCU", "-aec", "STORE-SCP", host, port,
				filepath.Join(testutil.PydicomTestFiles, "CT_small.dcm"), filepath.Join(testutil.PydicomTestFiles, "MR_small.dcm"))
			if err != nil || strings.Count(out, "Store Response (Success)") != 2 {
				t.Fatalf("storescu: %v\n%s", err, out)
			}
		},
	},
}

func TestGoldenTranscripts(t *testing.T) {
	for _, tr := range transcripts {
		t.Run(tr.name, func(t *testing.T) {
			base := filepath.Join("testdata", "transcripts", tr.name)
			if *update {
				recordTranscript(t, tr, base)
			}
			client, err := os.ReadFile(base + ".client.bin")
			if err != nil {
				t.Fatalf("%v (record it with go test -run TestGoldenTranscripts -update)", err)
			}
			want, err := os.ReadFile(base + ".server.bin")
			if err != nil {
				t.Fatal(err)
			}
			ts := startServer(t, tr.cfg)
			got := replay(t, ts.port, client)
			if !bytes.Equal(got, want) {
				t.Fatalf("server answered %d bytes, the transcript has %d; first difference at byte %d",
					len(got), len(want), firstDifference(got, want))
			}
		})
	}
}

// replay sends a recorded client stream and returns all the server sent
// until it closed.
func replay(t *testing.T, port int, client []byte) []byte {
	t.Helper()
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	go func() {
		c.Write(client)
		c.(*net.TCPConn).CloseWrite()
	}()
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func firstDifference(a, b []byte) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// recordTranscript runs the DCMTK client through a proxy that records both
// directions.
func recordTranscript(t *testing.T, tr transcript, base string) {
	ts := startServer(t, tr.cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var client, server bytes.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", ts.port))
		if err != nil {
			c.Close()
			return
		}
		up := make(chan struct{})
		go func() {
			io.Copy(io.MultiWriter(&client, s), c)
			s.(*net.TCPConn).CloseWrite()
			close(up)
		}()
		io.Copy(io.MultiWriter(&server, c), s)
		c.Close()
		<-up
		s.Close()
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	tr.record(t, "127.0.0.1", port)
	<-done
	if err := os.MkdirAll(filepath.Dir(base), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(base+".client.bin", client.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(base+".server.bin", server.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("recorded %s: client %d bytes, server %d bytes", tr.name, client.Len(), server.Len())
}
