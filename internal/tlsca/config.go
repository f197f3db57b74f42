package tlsca

import (
	"crypto/tls"
	"errors"
	"fmt"
)

// FromFiles builds the tls.Config for serving from a certificate file and
// its key file (--tls-cert, --tls-key), both PEM. The certificate file may
// hold the chain after the leaf. A key that does not match the certificate
// is an error naming both files.
func FromFiles(certFile, keyFile string) (*tls.Config, error) {
	if certFile == "" || keyFile == "" {
		return nil, errors.New("tlsca: serving HTTPS from files needs both a certificate file (--tls-cert) and its key file (--tls-key)")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("tlsca: certificate %s with key %s: %w", certFile, keyFile, err)
	}
	return ServerConfig(cert), nil
}

// ServerConfig builds the tls.Config ionbox serves with: cert, TLS 1.2 at
// least, and ALPN offering HTTP/2 before HTTP/1.1.
func ServerConfig(cert tls.Certificate) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		// TLS 1.0 and 1.1 are deprecated (RFC 8996), and every ION client
		// library speaks 1.2.
		MinVersion: tls.VersionTLS12,
		// Listed here because ALPN is settled by this config: an
		// http.Server serving a tls.Listener built from it (rather than
		// through ServeTLS, which adds "h2" itself) speaks HTTP/2 only if
		// "h2" is offered.
		NextProtos: []string{"h2", "http/1.1"},
	}
}
