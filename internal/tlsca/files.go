package tlsca

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// The files SelfSigned keeps in its directory.
const (
	caCertFile     = "ca.pem"
	caKeyFile      = "ca-key.pem"
	serverCertFile = "server.pem"
	serverKeyFile  = "server-key.pem"
)

// File modes: private keys are readable by the owner only; certificates are
// public by nature, and ca.pem is meant to be handed to clients.
const (
	dirMode  fs.FileMode = 0o700
	keyMode  fs.FileMode = 0o600
	certMode fs.FileMode = 0o644
)

// fileProblem is the error for a file in the CA directory that ionbox will
// not use as it is. It names the file and says how to recover, because the
// only safe fixes (deleting files a client may already trust) are the
// user's to make.
type fileProblem struct {
	path   string
	detail string
	remedy string
	err    error
}

func (e *fileProblem) Error() string {
	msg := "tlsca: " + e.path + ": " + e.detail
	if e.err != nil {
		msg += ": " + e.err.Error()
	}
	return msg + "; " + e.remedy
}

func (e *fileProblem) Unwrap() error { return e.err }

// startOverRemedy is the advice for a problem with the CA itself: only the
// user can decide to replace a CA that clients may trust.
func startOverRemedy(dir string) string {
	return fmt.Sprintf("delete %s to start over with a new local CA (clients must then trust the new %s)",
		dir, filepath.Join(dir, caCertFile))
}

// reissueRemedy is the advice for a problem with the server certificate:
// removing it is harmless, the CA is kept and a new one is issued.
func reissueRemedy(dir string) string {
	return fmt.Sprintf("delete %s and %s to have them re-issued by the same CA, or delete %s to start over",
		filepath.Join(dir, serverCertFile), filepath.Join(dir, serverKeyFile), dir)
}

// encodeCertificate and encodePrivateKey give the PEM bytes written to disk.
func encodeCertificate(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func encodePrivateKey(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// writeFile writes data to path through a temporary file in the same
// directory, so a crash leaves either the old file or the new one, never a
// torn one. With replace false it refuses to overwrite an existing path
// (fs.ErrExist), which is how the CA is created: two ionbox processes
// starting on one data directory must not each install their own CA.
func writeFile(path string, data []byte, mode fs.FileMode, replace bool) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmpName := tmp.Name()
	defer func() {
		// After a successful Rename the temporary name is gone; after a
		// Link it is a second name for the file. Either way remove it.
		_ = os.Remove(tmpName)
	}()
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if replace {
		err = os.Rename(tmpName, path)
	} else {
		err = os.Link(tmpName, path)
		if err != nil && !errors.Is(err, fs.ErrExist) {
			// Some file systems have no hard links; fall back to a
			// check-then-rename, which only loses the race guard.
			if _, statErr := os.Lstat(path); statErr == nil {
				return fmt.Errorf("%s: %w", path, fs.ErrExist)
			}
			err = os.Rename(tmpName, path)
		}
	}
	if err != nil {
		return err
	}
	syncDir(filepath.Dir(path))
	return nil
}

// syncDir makes a rename durable where the platform allows it; failure only
// weakens durability, so it is ignored.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}

// exists reports whether path exists; errors other than "not found" are
// returned so a permission problem is not mistaken for a missing file.
func exists(path string) (bool, error) {
	_, err := os.Lstat(path)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return false, err
}
