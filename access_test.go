package dicomrecv

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dicomrecv/dicomrecv/internal/dimse"
	"github.com/dicomrecv/dicomrecv/internal/pdu"
	"github.com/dicomrecv/dicomrecv/internal/scutest"
	"github.com/dicomrecv/dicomrecv/internal/testutil"
	"github.com/dicomrecv/dicomrecv/internal/testutil/testds"
)

// Access control with DCMTK as the peer: echoscu and storescu are rejected
// with the reason PS3.8 names, or accepted.
func TestInteropAccessControl(t *testing.T) {
	sample := filepath.Join(testutil.PydicomTestFiles, "CT_small.dcm")
	testutil.RequireFile(t, sample)
	for _, tc := range []struct {
		name            string
		cfg             Config
		calling, called string
		rejected        string // what DCMTK prints, "" = accepted
	}{
		{"any called AE by default", Config{}, "MODALITY", "ANYTHING", ""},
		{"called AE required and right", Config{RequireCalledAETitle: true, AETitle: "ARCHIVE"}, "MODALITY", "ARCHIVE", ""},
		{"called AE required and wrong", Config{RequireCalledAETitle: true, AETitle: "ARCHIVE"}, "MODALITY", "OTHER",
			"Called AE Title Not Recognized"},
		{"calling AE allowed", Config{AllowedCallingAETitles: []string{"CT1", "MODALITY"}}, "MODALITY", "X", ""},
		{"calling AE not allowed", Config{AllowedCallingAETitles: []string{"CT1"}}, "MODALITY", "X",
			"Calling AE Title Not Recognized"},
		{"peer from its host", Config{Peers: []Peer{{AETitle: "MODALITY", Host: "127.0.0.0/8"}}}, "MODALITY", "X", ""},
		{"peer from another host", Config{Peers: []Peer{{AETitle: "MODALITY", Host: "10.9.8.7, 192.168.0.0/16"}}}, "MODALITY", "X",
			"Calling AE Title Not Recognized"},
		{"AE not listed in peers", Config{Peers: []Peer{{AETitle: "CT1", Host: "10.9.8.7"}}}, "MODALITY", "X", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, tc.cfg)
			args := append([]string{"-v", "-aet", tc.calling, "-aec", tc.called}, ts.addr()...)
			echo, _ := dcmtk(t, "echoscu", args...)
			store, _ := dcmtk(t, "storescu", append(args, sample)...)
			for _, out := range []string{echo, store} {
				if tc.rejected == "" {
					if !strings.Contains(out, "Response (Success)") {
						t.Fatalf("not accepted:\n%s", out)
					}
				} else if !strings.Contains(out, "Association Rejected") || !strings.Contains(out, tc.rejected) {
					t.Fatalf("want rejection %q:\n%s", tc.rejected, out)
				}
			}
			if tc.rejected != "" {
				if n, _ := countFiles(t, ts.dir); n != 0 {
					t.Fatal("a rejected association stored something")
				}
				ts.mu.Lock()
				nerr := len(ts.errs)
				ts.mu.Unlock()
				if nerr == 0 {
					t.Fatal("no Error event for the rejection")
				}
			}
		})
	}
}

func TestAssociationLimits(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"maxAssociations", Config{MaxAssociations: 2}},
		{"maxAssociationsPerPeer", Config{MaxAssociationsPerPeer: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, tc.cfg)
			addr := fmt.Sprintf("127.0.0.1:%d", ts.port)
			var open []*scutest.Conn
			for i := 0; i < 2; i++ {
				c, err := scutest.Associate(addr, scutest.Options{Contexts: ctContext(1)})
				if err != nil {
					t.Fatal(err)
				}
				open = append(open, c)
			}
			// Idle connections that sent no request do not count.
			idle, err := scutest.Dial(addr, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer idle.Close()
			_, err = scutest.Associate(addr, scutest.Options{Contexts: ctContext(1)})
			var rj *scutest.RejectedError
			if !errors.As(err, &rj) || rj.RJ.Result != pdu.RejectedTransient || rj.RJ.Source != pdu.RejectSourcePresentation ||
				rj.RJ.Reason != pdu.RejectReasonLocalLimitExceeded {
				t.Fatalf("third association: %v, want rejected 2/3/2", err)
			}
			if err := open[0].Release(); err != nil {
				t.Fatal(err)
			}
			c, err := associateRetry(addr)
			if err != nil {
				t.Fatalf("after a release: %v", err)
			}
			c.Release()
			open[1].Release()
		})
	}
}

// associateRetry associates, retrying briefly while the server notices a
// release that just happened.
func associateRetry(addr string) (*scutest.Conn, error) {
	var err error
	for i := 0; i < 50; i++ {
		var c *scutest.Conn
		if c, err = scutest.Associate(addr, scutest.Options{Contexts: ctContext(1)}); err == nil {
			return c, nil
		}
		sleepMillis(20)
	}
	return nil, err
}

func TestObjectLimits(t *testing.T) {
	pixels := bytes.Repeat([]byte{1, 2}, 8192)
	ds := testds.ExplicitLE(testds.Instance(ctImage, "1.2.10.1", "1.2.10", "1.2.10.9", pixels)...)
	for _, tc := range []struct {
		name   string
		cfg    Config
		status uint16
	}{
		{"under maxObjectSize", Config{MaxObjectSize: int64(len(ds))}, dimse.StatusSuccess},
		{"over maxObjectSize", Config{MaxObjectSize: int64(len(ds)) - 1}, dimse.StatusTooLarge},
		{"header alone over maxObjectSize", Config{MaxObjectSize: 50}, dimse.StatusTooLarge},
		{"below minFreeDisk", Config{MinFreeDisk: 1 << 62}, dimse.StatusOutOfResources},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, tc.cfg)
			c := ts.associate(t, scutest.Options{Contexts: ctContext(1)})
			rsp, err := c.Store(1, ctImage, "1.2.10.1", ds)
			if err != nil || rsp.Status != tc.status {
				t.Fatalf("%v status 0x%04X, want 0x%04X (%s)", err, rsp.Status, tc.status, rsp.ErrorComment)
			}
			n, names := countFiles(t, ts.dir)
			if want := btoi(tc.status == 0); n != want {
				t.Fatalf("files %v", names)
			}
			if err := c.Release(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func sleepMillis(n int) { time.Sleep(time.Duration(n) * time.Millisecond) }

// The request-size, context-count and nesting limits, each with its own
// answer.
func TestRequestAndNestingLimits(t *testing.T) {
	ts := startServer(t, Config{MaxPresentationContexts: 2, MaxAssociateRequestSize: 1024, MaxSequenceDepth: 2})
	addr := fmt.Sprintf("127.0.0.1:%d", ts.port)
	_, err := scutest.Associate(addr, scutest.Options{Contexts: ctContext(1, 3, 5)})
	var rj *scutest.RejectedError
	if !errors.As(err, &rj) || rj.RJ.Result != pdu.RejectedPermanent || rj.RJ.Source != pdu.RejectSourceServiceUser ||
		rj.RJ.Reason != pdu.RejectReasonNoReason {
		t.Fatalf("3 contexts with a limit of 2: %v", err)
	}
	long := scutest.Options{Contexts: ctContext(1)}
	long.Contexts[0].TransferSyntaxes = []string{strings.Repeat("1.2", 400)}
	// An over-long A-ASSOCIATE-RQ is not read: A-ABORT as PS3.8 AA-1 sends
	// it (service-user source, reason not specified).
	var ab *scutest.AbortedError
	if c, err := scutest.Associate(addr, long); !errors.As(err, &ab) || ab.Abort.Source != pdu.AbortSourceServiceUser ||
		ab.Abort.Reason != pdu.AbortReasonNotSpecified {
		if c != nil {
			c.Close()
		}
		t.Fatalf("request over 1024 bytes: %v", err)
	}
	c := ts.associate(t, scutest.Options{Contexts: ctContext(1)})
	// A sequence three deep (limit two): 0xC001.
	es := testds.Instance(ctImage, "1.2.18.1", "1.2.18", "1.2.18.9", []byte{1, 2})
	ds := testds.ExplicitLE(es[:2]...)
	ds = append(ds, testds.Nested(3)...)
	ds = append(ds, testds.ExplicitLE(es[2:]...)...)
	rsp, err := c.Store(1, ctImage, "1.2.18.1", ds)
	if err != nil || rsp.Status != dimse.StatusUnparsable || !strings.Contains(rsp.ErrorComment, "deep") {
		t.Fatalf("nesting over the limit: %v %+v", err, rsp)
	}
	c.Release()
}
