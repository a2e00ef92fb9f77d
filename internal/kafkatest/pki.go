package kafkatest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// PKI is a throw-away certificate authority for TLS tests: a CA, a server
// certificate for 127.0.0.1 (the embedded broker's address) and a client
// certificate, valid for an hour, with PEM files in a directory.
type PKI struct {
	// Pool trusts the CA.
	Pool *x509.CertPool
	// Server is the broker's certificate (kfake.TLS).
	Server tls.Certificate
	// CAFile, CertFile and KeyFile are the PEM files of the CA and of the
	// client certificate and its key.
	CAFile, CertFile, KeyFile string
	// CAPEM is the CA certificate in PEM.
	CAPEM []byte
}

// NewPKI generates a CA and its two certificates, writing the PEM files to
// dir.
func NewPKI(dir string) (*PKI, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bgp-connector test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	issue := func(serial int64, usage x509.ExtKeyUsage) ([]byte, *ecdsa.PrivateKey, error) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, nil, err
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "127.0.0.1"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{usage},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		return der, key, err
	}
	p := &PKI{Pool: x509.NewCertPool()}
	p.Pool.AddCert(ca)
	p.CAPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	write := func(name string, b []byte) (string, error) {
		path := filepath.Join(dir, name)
		return path, os.WriteFile(path, b, 0o600)
	}
	if p.CAFile, err = write("ca.crt", p.CAPEM); err != nil {
		return nil, err
	}
	sDER, sKey, err := issue(2, x509.ExtKeyUsageServerAuth)
	if err != nil {
		return nil, err
	}
	p.Server = tls.Certificate{Certificate: [][]byte{sDER}, PrivateKey: sKey}
	cDER, cKey, err := issue(3, x509.ExtKeyUsageClientAuth)
	if err != nil {
		return nil, err
	}
	kDER, err := x509.MarshalECPrivateKey(cKey)
	if err != nil {
		return nil, err
	}
	if p.CertFile, err = write("client.crt", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cDER})); err != nil {
		return nil, err
	}
	if p.KeyFile, err = write("client.key", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kDER})); err != nil {
		return nil, err
	}
	return p, nil
}

// ClientTLS returns a client configuration trusting the CA and presenting
// the client certificate.
func (p *PKI) ClientTLS() (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(p.CertFile, p.KeyFile)
	if err != nil {
		return nil, err
	}
	return &tls.Config{RootCAs: p.Pool, Certificates: []tls.Certificate{cert}}, nil
}

// ServerTLS returns the broker's configuration; clientAuth says whether it
// requires client certificates signed by the CA.
func (p *PKI) ServerTLS(clientAuth tls.ClientAuthType) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{p.Server}, ClientCAs: p.Pool, ClientAuth: clientAuth, MinVersion: tls.VersionTLS12}
}
