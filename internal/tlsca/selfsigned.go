package tlsca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

const (
	// caValidityYears is long because every renewal of the CA means every
	// client has to be told to trust a new file.
	caValidityYears = 10
	// serverValidity is short because re-issuing costs nothing: the CA
	// signs a new one on the next start.
	serverValidity = 365 * 24 * time.Hour
	// renewBefore is how close to expiry a cached server certificate may
	// get before a start re-issues it, so a long-running server does not
	// cross the expiry date.
	renewBefore = 30 * 24 * time.Hour
	// backdate tolerates clients whose clocks are a little behind ours.
	backdate = time.Hour
)

// authority is the local CA: its certificate and the key that signs with it.
type authority struct {
	cert *x509.Certificate
	key  crypto.Signer
}

// SelfSigned returns a server certificate for hosts, issued by a local CA
// kept in dir (created once: ca.pem, ca-key.pem with 0600; reused on later
// starts). The server certificate is re-issued when hosts change or it is
// within 30 days of expiry, and cached as server.pem/server-key.pem.
//
// hosts are DNS names (a leading "*." makes a wildcard) and IP addresses,
// as HostsFor returns them. caFile is the path of ca.pem, the file clients
// must trust. now stands for the current time so tests can move it.
//
// A CA file that is damaged, does not match its key, cannot sign or has
// expired is an error naming the file and telling the user to delete dir:
// SelfSigned never replaces a CA that clients may already trust. A damaged
// server.pem or server-key.pem is an error too, naming the files to delete
// to have them re-issued under the same CA.
func SelfSigned(dir string, hosts []string, now time.Time) (cert tls.Certificate, caFile string, err error) {
	want, err := parseHosts(hosts)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return tls.Certificate{}, "", fmt.Errorf("tlsca: create %s: %w", dir, err)
	}
	ca, err := loadOrCreateCA(dir, now)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	cert, err = loadOrIssueServer(dir, ca, want, now)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	return cert, filepath.Join(dir, caCertFile), nil
}

// loadOrCreateCA returns the CA in dir, creating it when neither of its
// files exists. Any other state (one file without the other, a damaged
// file, a key that does not match) is reported, never repaired, because
// repairing means replacing a CA someone may trust.
func loadOrCreateCA(dir string, now time.Time) (*authority, error) {
	certPath := filepath.Join(dir, caCertFile)
	keyPath := filepath.Join(dir, caKeyFile)
	haveCert, err := exists(certPath)
	if err != nil {
		return nil, fmt.Errorf("tlsca: %w", err)
	}
	haveKey, err := exists(keyPath)
	if err != nil {
		return nil, fmt.Errorf("tlsca: %w", err)
	}
	switch {
	case !haveCert && !haveKey:
		return createCA(dir, now)
	case !haveKey:
		return nil, &fileProblem{path: keyPath, detail: "is missing but " + caCertFile + " exists", remedy: startOverRemedy(dir)}
	case !haveCert:
		return nil, &fileProblem{path: certPath, detail: "is missing but " + caKeyFile + " exists", remedy: startOverRemedy(dir)}
	}

	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, fmt.Errorf("tlsca: %w", err)
	}
	cert, err := parseCertificatePEM(certPEM)
	if err != nil {
		return nil, &fileProblem{path: certPath, detail: "is not a usable CA certificate", err: err, remedy: startOverRemedy(dir)}
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("tlsca: %w", err)
	}
	key, err := parsePrivateKeyPEM(keyPEM)
	if err != nil {
		return nil, &fileProblem{path: keyPath, detail: "is not a usable private key", err: err, remedy: startOverRemedy(dir)}
	}
	if !samePublicKey(cert.PublicKey, key.Public()) {
		return nil, &fileProblem{path: keyPath, detail: "does not match the certificate in " + caCertFile, remedy: startOverRemedy(dir)}
	}
	if !cert.BasicConstraintsValid || !cert.IsCA {
		return nil, &fileProblem{path: certPath, detail: "is not a CA certificate (basic constraints do not say CA)", remedy: startOverRemedy(dir)}
	}
	// RFC 5280 §4.2.1.3: when key usage is present, keyCertSign must be set
	// for the key to sign certificates; when absent, anything goes.
	if cert.KeyUsage != 0 && cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, &fileProblem{path: certPath, detail: "is not valid for signing certificates (key usage lacks certificate signing)", remedy: startOverRemedy(dir)}
	}
	if !now.Before(cert.NotAfter) {
		return nil, &fileProblem{path: certPath, detail: "expired on " + cert.NotAfter.UTC().Format(time.RFC3339), remedy: startOverRemedy(dir)}
	}
	return &authority{cert: cert, key: key}, nil
}

// createCA makes a new CA and writes it to dir without replacing anything
// that is already there.
func createCA(dir string, now time.Time) (*authority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("tlsca: generate CA key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown host"
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		// The host name tells a user looking at their trust store which
		// machine's ionbox this CA belongs to.
		Subject: pkix.Name{
			CommonName:   fmt.Sprintf("ionbox local CA (%s)", host),
			Organization: []string{"ionbox"},
		},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.AddDate(caValidityYears, 0, 0),
		IsCA:                  true,
		BasicConstraintsValid: true,
		// It signs server certificates directly, never another CA.
		MaxPathLen:     0,
		MaxPathLenZero: true,
		KeyUsage:       x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("tlsca: create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("tlsca: parse new CA certificate: %w", err)
	}
	keyPEM, err := encodePrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("tlsca: encode CA key: %w", err)
	}
	// The key goes first: a crash between the two writes leaves a key
	// without ca.pem, which loadOrCreateCA reports, rather than a ca.pem
	// that someone could trust while its key is lost.
	for _, f := range []struct {
		name string
		data []byte
		mode fs.FileMode
	}{
		{caKeyFile, keyPEM, keyMode},
		{caCertFile, encodeCertificate(der), certMode},
	} {
		path := filepath.Join(dir, f.name)
		if err := writeFile(path, f.data, f.mode, false); err != nil {
			if errors.Is(err, fs.ErrExist) {
				return nil, fmt.Errorf("tlsca: %s appeared while this process was creating the CA (is another ionbox starting on the same data directory?); start again: %w", path, err)
			}
			return nil, fmt.Errorf("tlsca: write %s: %w", path, err)
		}
	}
	return &authority{cert: cert, key: key}, nil
}

// loadOrIssueServer returns the cached server certificate when it is for
// want, signed by ca and not near expiry, and issues a new one otherwise.
func loadOrIssueServer(dir string, ca *authority, want sanSet, now time.Time) (tls.Certificate, error) {
	certPath := filepath.Join(dir, serverCertFile)
	keyPath := filepath.Join(dir, serverKeyFile)
	haveCert, err := exists(certPath)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tlsca: %w", err)
	}
	haveKey, err := exists(keyPath)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tlsca: %w", err)
	}
	// Only one of the pair is what an interrupted issueServer leaves
	// behind; issuing again is the repair.
	if !haveCert || !haveKey {
		return issueServer(dir, ca, want, now)
	}

	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tlsca: %w", err)
	}
	leaf, err := parseCertificatePEM(certPEM)
	if err != nil {
		return tls.Certificate{}, &fileProblem{path: certPath, detail: "is not a usable certificate", err: err, remedy: reissueRemedy(dir)}
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tlsca: %w", err)
	}
	key, err := parsePrivateKeyPEM(keyPEM)
	if err != nil {
		return tls.Certificate{}, &fileProblem{path: keyPath, detail: "is not a usable private key", err: err, remedy: reissueRemedy(dir)}
	}
	if !samePublicKey(leaf.PublicKey, key.Public()) {
		return tls.Certificate{}, &fileProblem{path: keyPath, detail: "does not match the certificate in " + serverCertFile, remedy: reissueRemedy(dir)}
	}

	fresh := !now.Before(leaf.NotBefore) && now.Add(renewBefore).Before(leaf.NotAfter)
	if fresh && leaf.CheckSignatureFrom(ca.cert) == nil && sansOf(leaf).equal(want) {
		return tls.Certificate{Certificate: [][]byte{leaf.Raw}, PrivateKey: key, Leaf: leaf}, nil
	}
	return issueServer(dir, ca, want, now)
}

// issueServer signs a new server certificate for want and caches it in dir.
func issueServer(dir string, ca *authority, want sanSet, now time.Time) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tlsca: generate server key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return tls.Certificate{}, err
	}
	notBefore := now.Add(-backdate)
	if notBefore.Before(ca.cert.NotBefore) {
		notBefore = ca.cert.NotBefore
	}
	// A certificate outliving its issuer would fail verification anyway;
	// clamping makes its expiry, and so its re-issue, honest.
	notAfter := now.Add(serverValidity)
	if notAfter.After(ca.cert.NotAfter) {
		notAfter = ca.cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "ionbox server", Organization: []string{"ionbox"}},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:              want.dnsNames,
		IPAddresses:           want.ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tlsca: issue server certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tlsca: parse new server certificate: %w", err)
	}
	keyPEM, err := encodePrivateKey(key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tlsca: encode server key: %w", err)
	}

	// Remove the old certificate before replacing the key, so a crash in
	// between leaves a lone key (re-issued on the next start) rather than
	// an old certificate next to a new key (a mismatch that is reported).
	certPath := filepath.Join(dir, serverCertFile)
	keyPath := filepath.Join(dir, serverKeyFile)
	if err := os.Remove(certPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return tls.Certificate{}, fmt.Errorf("tlsca: %w", err)
	}
	if err := writeFile(keyPath, keyPEM, keyMode, true); err != nil {
		return tls.Certificate{}, fmt.Errorf("tlsca: write %s: %w", keyPath, err)
	}
	if err := writeFile(certPath, encodeCertificate(der), certMode, true); err != nil {
		return tls.Certificate{}, fmt.Errorf("tlsca: write %s: %w", certPath, err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// randomSerial returns a random positive 128-bit serial number, as the CA/B
// Forum asks (at least 64 bits of randomness) so serials never collide.
func randomSerial() (*big.Int, error) {
	limit := new(big.Int).Lsh(big.NewInt(1), 128)
	for {
		n, err := rand.Int(rand.Reader, limit)
		if err != nil {
			return nil, fmt.Errorf("tlsca: generate serial number: %w", err)
		}
		if n.Sign() > 0 {
			return n, nil
		}
	}
}

// samePublicKey reports whether a certificate's public key is the public
// half of a private key.
func samePublicKey(certKey, keyPublic crypto.PublicKey) bool {
	k, ok := certKey.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(keyPublic)
}

// parseCertificatePEM parses the first PEM block of data as a certificate.
func parseCertificatePEM(data []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block found")
	}
	if block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("PEM block is %q, want CERTIFICATE", block.Type)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, err
	}
	return cert, nil
}

// parsePrivateKeyPEM parses the first PEM block of data as a private key,
// in PKCS #8 (what this package writes) or the older SEC 1 and PKCS #1
// forms a user might have put there.
func parsePrivateKeyPEM(data []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block found")
	}
	var (
		key any
		err error
	)
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("PEM block is %q, want PRIVATE KEY", block.Type)
	}
	if err != nil {
		return nil, err
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("a %T cannot sign", key)
	}
	return signer, nil
}
