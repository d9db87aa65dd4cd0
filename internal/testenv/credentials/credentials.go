// Package credentials writes what a test environment's API server trusts: a throw-away CA
// with a serving certificate for the loopback addresses, the service-account signing keys
// and a static token file with the admin and the test users.
package credentials

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/capstan-io/capstan/internal/pki"
)

// User is a token identity, besides the admin, that the API server accepts.
type User struct {
	// Name is the user name.
	Name string
	// Groups are the groups the user belongs to (system:authenticated is
	// added by the API server).
	Groups []string
}

// Files are the credentials an environment generates at start, and where they are.
type Files struct {
	// CACertPEM is the CA that signed the API server's serving certificate.
	CACertPEM []byte
	// AdminToken is the bearer token of the system:masters admin.
	AdminToken string
	// UserTokens and UserGroups are the bearer token and the groups by user name.
	UserTokens map[string]string
	UserGroups map[string][]string
	// The files: the CA, the serving certificate and key, the service-account key pair and
	// the static token file.
	CAFile     string
	CertFile   string
	KeyFile    string
	SAPubFile  string
	SAKeyFile  string
	TokensFile string
}

// Write generates a CA and serving certificate for 127.0.0.1, a
// service-account RSA key pair and a static token file (admin + users) in dir.
func Write(dir string, users []User) (*Files, error) {
	s := &Files{
		CAFile:     filepath.Join(dir, "ca.crt"),
		CertFile:   filepath.Join(dir, "apiserver.crt"),
		KeyFile:    filepath.Join(dir, "apiserver.key"),
		SAPubFile:  filepath.Join(dir, "sa.pub"),
		SAKeyFile:  filepath.Join(dir, "sa.key"),
		TokensFile: filepath.Join(dir, "tokens.csv"),
	}
	if err := s.writeServingCert(); err != nil {
		return nil, fmt.Errorf("serving certificate: %w", err)
	}
	if err := s.writeServiceAccountKeys(); err != nil {
		return nil, fmt.Errorf("service-account keys: %w", err)
	}
	if err := s.writeTokens(users); err != nil {
		return nil, fmt.Errorf("token file: %w", err)
	}
	return s, nil
}

// writeServingCert creates a throw-away CA and a serving certificate for
// 127.0.0.1 and localhost signed by it.
func (s *Files) writeServingCert() error {
	now := time.Now()
	caTmpl := pki.CATemplate(pkix.Name{CommonName: "capstan-testenv-ca"}, now.Add(-time.Hour), now.Add(7*24*time.Hour))
	caTmpl.SerialNumber = big.NewInt(1)
	ca, err := pki.SelfSign(caTmpl)
	if err != nil {
		return err
	}
	leaf, err := pki.Sign(&x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "kube-apiserver"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(7 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:     []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"},
	}, ca.Cert, ca.Key)
	if err != nil {
		return err
	}
	s.CACertPEM = ca.CertPEM
	return writeFiles(map[string][]byte{s.CAFile: ca.CertPEM, s.CertFile: leaf.CertPEM, s.KeyFile: leaf.KeyPEM})
}

// writeServiceAccountKeys creates the RSA key pair used to sign and verify
// service-account tokens.
func (s *Files) writeServiceAccountKeys() error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	return writeFiles(map[string][]byte{
		s.SAKeyFile: pemEncode("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key)),
		s.SAPubFile: pemEncode("PUBLIC KEY", pub),
	})
}

// writeTokens writes the static token file: the admin (system:masters) and
// one random token per user.
func (s *Files) writeTokens(users []User) error {
	s.AdminToken = randomToken()
	s.UserTokens = map[string]string{}
	s.UserGroups = map[string][]string{}
	var b strings.Builder
	fmt.Fprintf(&b, "%s,admin,admin,system:masters\n", s.AdminToken)
	for _, u := range users {
		if u.Name == "" || strings.ContainsAny(u.Name, ",\"\n") {
			return fmt.Errorf("invalid user name %q", u.Name)
		}
		if _, dup := s.UserTokens[u.Name]; dup {
			return fmt.Errorf("user %q defined twice", u.Name)
		}
		token := randomToken()
		s.UserTokens[u.Name] = token
		s.UserGroups[u.Name] = u.Groups
		fmt.Fprintf(&b, "%s,%s,%s", token, u.Name, u.Name)
		if len(u.Groups) > 0 {
			fmt.Fprintf(&b, ",\"%s\"", strings.Join(u.Groups, ","))
		}
		b.WriteString("\n")
	}
	return os.WriteFile(s.TokensFile, []byte(b.String()), 0o600)
}

// randomToken returns 32 random hex characters.
func randomToken() string {
	buf := make([]byte, 16)
	if _, err := rand.Read(buf); err != nil {
		panic(err) // crypto/rand.Read does not fail on supported platforms
	}
	return hex.EncodeToString(buf)
}

// pemEncode PEM-encodes der as a block of the given type.
func pemEncode(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// writeFiles writes each file with mode 0600.
func writeFiles(files map[string][]byte) error {
	for path, data := range files {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return err
		}
	}
	return nil
}
