package image

import (
	"archive/tar"
	"bytes"
	"encoding/pem"
	"fmt"
	"io"
	"time"

	"golang.org/x/crypto/x509roots/fallback/bundle"
)

// The user the images run as: the distroless "nonroot" user.
const (
	NonRootUID = 65532
	// CACertificatesPath is where the base layer puts the CA bundle; SSL_CERT_FILE points
	// there too.
	CACertificatesPath = "/etc/ssl/certs/ca-certificates.crt"
)

// passwd and group are those of distroless/static: root, nobody and nonroot.
const (
	passwd = "root:x:0:0:root:/root:/sbin/nologin\n" +
		"nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n" +
		"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
	group = "root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\ntty:x:5:\n"
	// nsswitch makes Go's resolver read /etc/hosts before DNS, as glibc would.
	nsswitch = "hosts: files dns\n"
)

// entry is one file or directory of a layer.
type entry struct {
	name string
	mode int64
	uid  int
	data []byte
	dir  bool
}

// baseEntries are the files of the minimal base layer that stands in for
// gcr.io/distroless/static:nonroot when no registry can be reached: users, groups, CA
// certificates (Mozilla's NSS roots, from golang.org/x/crypto/x509roots/fallback), a
// world-writable /tmp and the nonroot user's home.
func baseEntries() ([]entry, error) {
	certs, err := caBundle()
	if err != nil {
		return nil, err
	}
	return []entry{
		{name: "etc/", mode: 0o755, dir: true},
		{name: "etc/passwd", mode: 0o644, data: []byte(passwd)},
		{name: "etc/group", mode: 0o644, data: []byte(group)},
		{name: "etc/nsswitch.conf", mode: 0o644, data: []byte(nsswitch)},
		{name: "etc/ssl/", mode: 0o755, dir: true},
		{name: "etc/ssl/certs/", mode: 0o755, dir: true},
		{name: CACertificatesPath[1:], mode: 0o644, data: certs},
		{name: "home/", mode: 0o755, dir: true},
		{name: "home/nonroot/", mode: 0o700, uid: NonRootUID, dir: true},
		{name: "root/", mode: 0o700, dir: true},
		{name: "tmp/", mode: 0o1777, dir: true},
	}, nil
}

// caBundle returns the unconstrained roots of the NSS trust store as PEM. Roots with a
// distrust date are left out: a PEM file cannot carry the constraint.
func caBundle() ([]byte, error) {
	var buf bytes.Buffer
	n := 0
	for root := range bundle.Roots() {
		if root.Constraint != nil {
			continue
		}
		if err := pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: root.Certificate}); err != nil {
			return nil, err
		}
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("no root certificates in the fallback bundle")
	}
	return buf.Bytes(), nil
}

// writeTar writes the entries as an uncompressed tar stream with fixed times and root
// ownership (unless an entry says otherwise), so that equal inputs give equal layers.
func writeTar(w io.Writer, entries []entry, mtime time.Time) error {
	tw := tar.NewWriter(w)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: e.mode, Uid: e.uid, Gid: e.uid, ModTime: mtime, Format: tar.FormatPAX}
		switch {
		case e.dir:
			h.Typeflag = tar.TypeDir
		default:
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if !e.dir {
			if _, err := tw.Write(e.data); err != nil {
				return err
			}
		}
	}
	return tw.Close()
}
