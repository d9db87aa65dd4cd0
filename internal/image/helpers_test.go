package image

import (
	"archive/tar"
	"crypto/x509"
	"encoding/pem"
	"io"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// parseCerts parses every certificate of a PEM bundle.
func parseCerts(t *testing.T, data []byte) []*x509.Certificate {
	t.Helper()
	var certs []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		certs = append(certs, c)
	}
	return certs
}

// checkBaseFile checks that the image's file system has the file with the content.
func checkBaseFile(t *testing.T, img v1.Image, path, want string) {
	t.Helper()
	rc := mutate.Extract(img)
	defer func() { _ = rc.Close() }()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			t.Errorf("no %s in the image", path)
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Name == path {
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			if string(data) != want {
				t.Errorf("%s is %q, want %q", path, data, want)
			}
			return
		}
	}
}
