package dicomrecv

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dicomrecv/dicomrecv/internal/assoc"
	"github.com/dicomrecv/dicomrecv/internal/pdu"
)

func TestConfigValidation(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name  string
		cfg   Config
		field string // "" = valid
	}{
		{"minimal", Config{OutDir: dir}, ""},
		{"no outDir", Config{}, "OutDir"},
		{"port out of range", Config{OutDir: dir, Port: 70000}, "Port"},
		{"negative port", Config{OutDir: dir, Port: -1}, "Port"},
		{"AE title too long", Config{OutDir: dir, AETitle: "SEVENTEEN-CHARS-X"}, "AETitle"},
		{"AE title with backslash", Config{OutDir: dir, AETitle: `A\B`}, "AETitle"},
		{"AE title with control character", Config{OutDir: dir, AETitle: "A\nB"}, "AETitle"},
		{"AE title of spaces", Config{OutDir: dir, AETitle: "   "}, "AETitle"},
		{"AE title of 16", Config{OutDir: dir, AETitle: "SIXTEEN-CHARS-XX"}, ""},
		{"unknown backend", Config{OutDir: dir, StorageBackend: "Tape"}, "StorageBackend"},
		{"max PDU too small", Config{OutDir: dir, MaxPDULength: 1024}, "MaxPDULength"},
		{"max PDU too large", Config{OutDir: dir, MaxPDULength: 32 << 20}, "MaxPDULength"},
		{"max PDU at the bounds", Config{OutDir: dir, MaxPDULength: 4096}, ""},
		{"max PDU 16 MiB", Config{OutDir: dir, MaxPDULength: 16 << 20}, ""},
		{"too many presentation contexts", Config{OutDir: dir, MaxPresentationContexts: 129}, "MaxPresentationContexts"},
		{"request size too small", Config{OutDir: dir, MaxAssociateRequestSize: 100}, "MaxAssociateRequestSize"},
		{"sequence depth zero is the default", Config{OutDir: dir, MaxSequenceDepth: 0}, ""},
		{"sequence depth negative", Config{OutDir: dir, MaxSequenceDepth: -1}, "MaxSequenceDepth"},
		{"negative object size", Config{OutDir: dir, MaxObjectSize: -1}, "MaxObjectSize"},
		{"negative study timeout", Config{OutDir: dir, StudyTimeout: -1}, "StudyTimeout"},
		{"bad coercion status", Config{OutDir: dir, CoercionStatus: "maybe"}, "CoercionStatus"},
		{"bad peer host", Config{OutDir: dir, Peers: []Peer{{AETitle: "CT1", Host: "10.0.0.0/33"}}}, "Peers"},
		{"bad allowed AE title", Config{OutDir: dir, AllowedCallingAETitles: []string{"A\\B"}}, "AllowedCallingAETitles"},
		{"S3 without s3Config", Config{StorageBackend: BackendS3}, "S3"},
		{"S3 without bucket", Config{StorageBackend: BackendS3, S3: &S3Config{}}, "S3"},
		{"bad duplicate policy", Config{OutDir: dir, DuplicatePolicy: "ignore"}, "DuplicatePolicy"},
		{"bad abstract mode", Config{OutDir: dir, AbstractSyntaxMode: "Storage"}, "AbstractSyntaxMode"},
		{"custom abstract without list", Config{OutDir: dir, AbstractSyntaxMode: ModeCustom}, "AbstractSyntaxes"},
		{"list without custom abstract", Config{OutDir: dir, AbstractSyntaxes: []string{"CTImageStorage"}}, "AbstractSyntaxes"},
		{"unknown SOP class keyword", Config{OutDir: dir, AbstractSyntaxMode: ModeCustom, AbstractSyntaxes: []string{"CTImageStorag"}}, "AbstractSyntaxes"},
		{"custom abstract by keyword and UID", Config{OutDir: dir, AbstractSyntaxMode: ModeCustom,
			AbstractSyntaxes: []string{"CTImageStorage", "1.2.840.10008.5.1.4.1.1.4"}}, ""},
		{"bad transfer mode", Config{OutDir: dir, TransferSyntaxMode: "Compressed"}, "TransferSyntaxMode"},
		{"custom transfer without list", Config{OutDir: dir, TransferSyntaxMode: ModeCustom}, "TransferSyntaxes"},
		{"unknown transfer syntax", Config{OutDir: dir, TransferSyntaxMode: ModeCustom, TransferSyntaxes: []string{"JPEG3000"}}, "TransferSyntaxes"},
		{"unknown transfer syntax UID", Config{OutDir: dir, TransferSyntaxMode: ModeCustom, TransferSyntaxes: []string{"1.2.3.4"}}, "TransferSyntaxes"},
		{"custom transfer by name", Config{OutDir: dir, TransferSyntaxMode: ModeCustom,
			TransferSyntaxes: []string{"ImplicitVRLittleEndian", "1.2.840.10008.1.2.4.90", "JPEGBaseline"}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Field != tc.field {
				t.Fatalf("err %v, want a ConfigError naming %s", err, tc.field)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	s, err := Config{OutDir: "x"}.validate()
	if err != nil {
		t.Fatal(err)
	}
	if s.aeTitle != "STORE-SCP" || s.MaxPDULength != 16384 || !s.fsync || s.ARTIMTimeout != 30*time.Second ||
		s.IdleTimeout != DefaultIdleTimeout || s.DIMSETimeout != DefaultDIMSETimeout || s.PDUReadTimeout != DefaultPDUReadTimeout ||
		s.MaxAssociations != DefaultMaxAssociations || s.StorageBackend != BackendFilesystem {
		t.Fatalf("defaults: %+v", s)
	}
	s, _ = Config{OutDir: "x", IdleTimeout: -1, MaxAssociations: -1}.validate()
	if s.IdleTimeout != 0 || s.MaxAssociations != 0 {
		t.Fatalf("negative means none: %v %v", s.IdleTimeout, s.MaxAssociations)
	}
}

// Start fails, never crashes, when outDir cannot be used; a bind error is
// returned by Start.
func TestStartErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, []byte("x"), 0o644)
	srv, err := New(Config{OutDir: file})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err == nil || !strings.Contains(err.Error(), "outDir") {
		t.Fatalf("Start with a file as outDir: %v", err)
	}
	ts := startServer(t, Config{})
	srv2, _ := New(Config{OutDir: t.TempDir(), Port: ts.port})
	if err := srv2.Start(); err == nil || !strings.Contains(err.Error(), "listen") {
		t.Fatalf("Start on a used port: %v", err)
	}
}

// Negotiation of each mode: accepted or rejected with the reason.
func TestNegotiationModes(t *testing.T) {
	const (
		ct      = "1.2.840.10008.5.1.4.1.1.2"
		us      = "1.2.840.10008.5.1.4.1.1.6.1"
		usRet   = "1.2.840.10008.5.1.4.1.1.6" // retired, still sent by old devices
		overlay = "1.2.840.10008.5.1.4.1.1.8" // Standalone Overlay (retired)
		find    = "1.2.840.10008.5.1.4.1.2.2.1"
		private = "1.2.826.0.1.3680043.9.9999.1"
		impl    = "1.2.840.10008.1.2"
		expl    = "1.2.840.10008.1.2.1"
		big     = "1.2.840.10008.1.2.2"
		defl    = "1.2.840.10008.1.2.1.99"
		jpeg    = "1.2.840.10008.1.2.4.50"
		j2k     = "1.2.840.10008.1.2.4.90"
		htj2k   = "1.2.840.10008.1.2.4.201"
		privTS  = "1.2.826.0.1.3680043.9.9999.2"
	)
	accept, noAS, noTS := pdu.ResultAcceptance, pdu.ResultAbstractSyntaxNotSupported, pdu.ResultTransferSyntaxesNotSupported
	for _, tc := range []struct {
		name   string
		cfg    Config
		as, ts string
		result byte
	}{
		{"AllStorage accepts CT", Config{}, ct, impl, accept},
		{"AllStorage accepts US (the real UID)", Config{}, us, expl, accept},
		{"AllStorage accepts retired US", Config{}, usRet, expl, accept},
		{"AllStorage accepts Standalone Overlay", Config{}, overlay, expl, accept},
		{"AllStorage rejects C-FIND", Config{}, find, impl, noAS},
		{"AllStorage rejects a private class", Config{}, private, impl, noAS},
		{"AllStorage accepts Verification", Config{}, VerificationSOPClass, impl, accept},
		{"All accepts C-FIND", Config{AbstractSyntaxMode: ModeAll}, find, impl, accept},
		{"All accepts a private class", Config{AbstractSyntaxMode: ModeAll}, private, impl, accept},
		{"Custom accepts its class", Config{AbstractSyntaxMode: ModeCustom, AbstractSyntaxes: []string{"CTImageStorage"}}, ct, impl, accept},
		{"Custom rejects others", Config{AbstractSyntaxMode: ModeCustom, AbstractSyntaxes: []string{"CTImageStorage"}}, us, impl, noAS},
		{"Custom always accepts Verification", Config{AbstractSyntaxMode: ModeCustom, AbstractSyntaxes: []string{"CTImageStorage"}}, VerificationSOPClass, impl, accept},
		{"TS All accepts deflate", Config{}, ct, defl, accept},
		{"TS All accepts JPEG 2000", Config{}, ct, j2k, accept},
		{"TS All accepts HTJ2K", Config{}, ct, htj2k, accept},
		{"TS All rejects a private syntax", Config{}, ct, privTS, noTS},
		{"UncompressedOnly accepts big endian", Config{TransferSyntaxMode: ModeUncompressedOnly}, ct, big, accept},
		{"UncompressedOnly accepts implicit", Config{TransferSyntaxMode: ModeUncompressedOnly}, ct, impl, accept},
		{"UncompressedOnly rejects JPEG", Config{TransferSyntaxMode: ModeUncompressedOnly}, ct, jpeg, noTS},
		{"UncompressedOnly rejects deflate", Config{TransferSyntaxMode: ModeUncompressedOnly}, ct, defl, noTS},
		{"Custom TS accepts its syntax", Config{TransferSyntaxMode: ModeCustom, TransferSyntaxes: []string{"JPEG2000Lossless"}}, ct, j2k, accept},
		{"Custom TS rejects others", Config{TransferSyntaxMode: ModeCustom, TransferSyntaxes: []string{"JPEG2000Lossless"}}, ct, impl, noTS},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.OutDir = "unused"
			srv, err := New(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			rq := &pdu.AssociateRQ{ProtocolVersion: 1, CalledAE: pdu.PadAE("STORE-SCP"), CallingAE: pdu.PadAE("SCU"),
				ApplicationContext:   pdu.ApplicationContextName,
				PresentationContexts: []pdu.PresentationContextRQ{{ID: 1, AbstractSyntax: tc.as, TransferSyntaxes: []string{tc.ts}}}}
			n, err := assoc.Negotiate(rq, srv.policy, netip.Addr{})
			if err != nil {
				t.Fatal(err)
			}
			if got := n.AC.PresentationContexts[0].Result; got != tc.result {
				t.Fatalf("result %d, want %d", got, tc.result)
			}
		})
	}
}
