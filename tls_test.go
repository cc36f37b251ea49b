package dicomrecv

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dicomrecv/dicomrecv/internal/testutil"
)

// pki is a throw-away certificate authority with a server and a client
// certificate, written as PEM files.
type pki struct {
	dir                                              string
	ca, serverCert, serverKey, clientCert, clientKey string
	otherCert, otherKey                              string // signed by another CA
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	p := &pki{dir: t.TempDir()}
	caKey, caCert, caDER := selfSigned(t, "Test DICOM CA")
	p.ca = p.write(t, "ca.pem", "CERTIFICATE", caDER)
	p.serverCert, p.serverKey = p.leaf(t, "server", "STORE-SCP", caCert, caKey, true)
	p.clientCert, p.clientKey = p.leaf(t, "client", "MODALITY-1", caCert, caKey, false)
	otherKey, otherCert, _ := selfSigned(t, "Other CA")
	p.otherCert, p.otherKey = p.leaf(t, "other", "INTRUDER", otherCert, otherKey, false)
	return p
}

func selfSigned(t *testing.T, cn string) (*ecdsa.PrivateKey, *x509.Certificate, []byte) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return key, cert, der
}

func (p *pki) leaf(t *testing.T, name, cn string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, server bool) (string, string) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:   pkix.Name{CommonName: cn, Organization: []string{"Radiology"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
		tmpl.DNSNames = []string{"localhost"}
	} else {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return p.write(t, name+".pem", "CERTIFICATE", der), p.write(t, name+".key", "EC PRIVATE KEY", kder)
}

func (p *pki) write(t *testing.T, name, typ string, der []byte) string {
	path := filepath.Join(p.dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// DICOM TLS with DCMTK echoscu and storescu +tls: server authentication,
// mutual authentication with the client's subject in the event, and a
// refused client certificate.
func TestInteropTLS(t *testing.T) {
	sample := filepath.Join(testutil.PydicomTestFiles, "CT_small.dcm")
	testutil.RequireFile(t, sample)
	p := newPKI(t)
	t.Run("server certificate", func(t *testing.T) {
		ts := startServer(t, Config{TLS: &TLSConfig{CertFile: p.serverCert, KeyFile: p.serverKey}})
		args := append([]string{"-v", "+tla", "+cf", p.ca, "-aec", "STORE-SCP"}, ts.addr()...)
		if out, _ := dcmtk(t, "echoscu", args...); !strings.Contains(out, "Echo Response (Success)") {
			t.Fatalf("echoscu +tls:\n%s", out)
		}
		if out, _ := dcmtk(t, "storescu", append(args, sample)...); !strings.Contains(out, "Store Response (Success)") {
			t.Fatalf("storescu +tls:\n%s", out)
		}
		// Plain DICOM to a TLS port fails, and nothing is stored twice.
		if out, _ := dcmtk(t, "echoscu", append([]string{"-v", "-to", "5", "-ta", "5"}, ts.addr()...)...); strings.Contains(out, "(Success)") {
			t.Fatalf("plain echoscu succeeded on the TLS port:\n%s", out)
		}
		if evs := ts.waitStored(t, 1); len(evs) != 1 || evs[0].PeerCertificateSubject != "" {
			t.Fatalf("events %+v", evs)
		}
	})
	t.Run("mutual authentication", func(t *testing.T) {
		ts := startServer(t, Config{TLS: &TLSConfig{CertFile: p.serverCert, KeyFile: p.serverKey, CAFile: p.ca, RequireClientCert: true}})
		args := append([]string{"-v", "+tls", p.clientKey, p.clientCert, "+cf", p.ca, "-aec", "STORE-SCP"}, ts.addr()...)
		if out, _ := dcmtk(t, "storescu", append(args, sample)...); !strings.Contains(out, "Store Response (Success)") {
			t.Fatalf("storescu with a client certificate:\n%s", out)
		}
		ev := ts.waitStored(t, 1)[0]
		if !strings.Contains(ev.PeerCertificateSubject, "CN=MODALITY-1") {
			t.Fatalf("peer certificate subject %q", ev.PeerCertificateSubject)
		}
		// Without a certificate, or with one of another authority: refused.
		for _, a := range [][]string{
			{"-v", "+tla", "+cf", p.ca},
			{"-v", "+tls", p.otherKey, p.otherCert, "+cf", p.ca},
		} {
			out, _ := dcmtk(t, "echoscu", append(append(a, "-aec", "STORE-SCP"), ts.addr()...)...)
			if strings.Contains(out, "(Success)") {
				t.Fatalf("echoscu %v accepted:\n%s", a, out)
			}
		}
	})
}

func TestTLSConfigErrors(t *testing.T) {
	p := newPKI(t)
	for _, c := range []*TLSConfig{
		{CertFile: p.serverCert},
		{CertFile: filepath.Join(p.dir, "missing.pem"), KeyFile: p.serverKey},
		{CertFile: p.serverCert, KeyFile: p.clientKey},
		{CertFile: p.serverCert, KeyFile: p.serverKey, RequireClientCert: true},
		{CertFile: p.serverCert, KeyFile: p.serverKey, CAFile: p.serverKey},
	} {
		_, err := New(Config{OutDir: t.TempDir(), TLS: c})
		var ce *ConfigError
		if !errorsAs(err, &ce) || ce.Field != "TLS" {
			t.Errorf("%+v: err %v, want a ConfigError for TLS", c, err)
		}
	}
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }
