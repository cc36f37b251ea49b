// Package tlsconf builds the TLS configuration of the DICOM listener from
// certificate and key files, following the BCP 195 non-downgrading profile
// of PS3.15 Annex B.12 (TLS 1.2 or later, forward-secret AEAD cipher suites
// only).
package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Config names the files of a TLS set-up.
type Config struct {
	// CertFile and KeyFile are the server's certificate (chain) and private
	// key, PEM encoded.
	CertFile, KeyFile string
	// CAFile holds the PEM certificates of the authorities whose client
	// certificates are accepted. Without it, client certificates are not
	// requested.
	CAFile string
	// RequireClientCert refuses clients without a certificate signed by
	// CAFile (mutual authentication). It requires CAFile.
	RequireClientCert bool
}

// cipherSuites are the TLS 1.2 suites of PS3.15 B.12 (BCP 195) that Go
// implements: ECDHE key exchange, AES-GCM or ChaCha20-Poly1305. TLS 1.3
// suites are all acceptable and not configurable in Go.
var cipherSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// Build loads the files and returns the server's tls.Config. Errors name
// the file and the problem.
func Build(c Config) (*tls.Config, error) {
	if c.CertFile == "" || c.KeyFile == "" {
		return nil, errors.New("certFile and keyFile are required")
	}
	cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("certFile %q / keyFile %q: %w", c.CertFile, c.KeyFile, err)
	}
	cfg := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		CipherSuites: cipherSuites,
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.NoClientCert,
	}
	if c.RequireClientCert && c.CAFile == "" {
		return nil, errors.New("requireClientCert needs caFile")
	}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("caFile: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("caFile %q: no PEM certificate found", c.CAFile)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
		if c.RequireClientCert {
			cfg.ClientAuth = tls.RequireAndVerifyClientCert
		}
	}
	return cfg, nil
}

// PeerSubject returns the subject of the verified client certificate of a
// connection, or "".
func PeerSubject(cs tls.ConnectionState) string {
	if len(cs.PeerCertificates) == 0 {
		return ""
	}
	return strings.TrimSpace(cs.PeerCertificates[0].Subject.String())
}
