package image

import (
	"archive/tar"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// fakeOptions builds from small stand-in files instead of real binaries: this test checks
// the image structure; test/image runs the real binaries from the image.
func fakeOptions(t *testing.T) Options {
	t.Helper()
	dir := t.TempDir()
	platforms := []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64"}}
	for _, p := range platforms {
		pdir := filepath.Join(dir, p.Architecture)
		if err := os.MkdirAll(pdir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, b := range Binaries {
			if err := os.WriteFile(filepath.Join(pdir, b.Name), []byte(b.Name+" for "+p.Architecture), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	return Options{
		Platforms: platforms, Version: "v1.2.3", Revision: "0123456789abcdef", Source: "https://example.com/capstan",
		Licenses: "Apache-2.0", Created: time.Unix(1700000000, 0).UTC(),
		BinaryDir: func(p v1.Platform) string { return filepath.Join(dir, p.Architecture) },
	}
}

func TestBuildIndex(t *testing.T) {
	o := fakeOptions(t)
	idx, err := Build(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "layout")
	if err := WriteLayout(out, idx, o.Version); err != nil {
		t.Fatal(err)
	}
	// Read back what was written, as a consumer (crane push) would.
	root, err := layout.ImageIndexFromPath(out)
	if err != nil {
		t.Fatal(err)
	}
	rootManifest, err := root.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(rootManifest.Manifests) != 1 || rootManifest.Manifests[0].Annotations[RefName] != "v1.2.3" ||
		rootManifest.Manifests[0].MediaType != types.OCIImageIndex {
		t.Fatalf("layout index %+v, want one OCI image index named v1.2.3", rootManifest.Manifests)
	}
	written, err := root.ImageIndex(rootManifest.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	im, err := written.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if im.Annotations[LabelVersion] != "v1.2.3" || im.Annotations[LabelRevision] != "0123456789abcdef" {
		t.Errorf("index annotations %v lack version and revision", im.Annotations)
	}
	var archs []string
	for _, d := range im.Manifests {
		archs = append(archs, d.Platform.OS+"/"+d.Platform.Architecture)
		img, err := written.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		checkConfig(t, img, d.Platform.Architecture)
		checkFiles(t, img, d.Platform.Architecture)
	}
	if !slices.Equal(archs, []string{"linux/amd64", "linux/arm64"}) {
		t.Errorf("platforms %v, want linux/amd64 and linux/arm64", archs)
	}
}

// checkConfig checks user, entrypoint, platform and labels of one image.
func checkConfig(t *testing.T, img v1.Image, arch string) {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture != arch {
		t.Errorf("%s: platform %s/%s", arch, cf.OS, cf.Architecture)
	}
	if cf.Config.User != "65532:65532" || !slices.Equal(cf.Config.Entrypoint, []string{"/app/controller"}) {
		t.Errorf("%s: user %q entrypoint %v, want 65532:65532 and /app/controller", arch, cf.Config.User, cf.Config.Entrypoint)
	}
	want := map[string]string{LabelVersion: "v1.2.3", LabelRevision: "0123456789abcdef",
		LabelSource: "https://example.com/capstan", LabelLicenses: "Apache-2.0", LabelCreated: "2023-11-14T22:13:20Z"}
	for k, v := range want {
		if cf.Config.Labels[k] != v {
			t.Errorf("%s: label %s=%q, want %q", arch, k, cf.Config.Labels[k], v)
		}
	}
	if !slices.Contains(cf.Config.Env, "SSL_CERT_FILE="+CACertificatesPath) {
		t.Errorf("%s: env %v lacks SSL_CERT_FILE", arch, cf.Config.Env)
	}
}

// checkFiles checks the flattened file system of one image.
func checkFiles(t *testing.T, img v1.Image, arch string) {
	t.Helper()
	rc := mutate.Extract(img)
	defer func() { _ = rc.Close() }()
	tr := tar.NewReader(rc)
	files := map[string]*tar.Header{}
	contents := map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		files[strings.TrimSuffix(h.Name, "/")] = h
		if h.Typeflag == tar.TypeReg && h.Size < 1<<20 {
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			contents[h.Name] = string(data)
		}
	}
	for _, b := range Binaries {
		h := files["app/"+b.Name]
		if h == nil || h.Mode&0o777 != 0o755 || h.Uid != 0 || contents["app/"+b.Name] != b.Name+" for "+arch {
			t.Errorf("%s: /app/%s is %+v with %q", arch, b.Name, h, contents["app/"+b.Name])
		}
	}
	if h := files["tmp"]; h == nil || h.Mode&0o7777 != 0o1777 {
		t.Errorf("%s: /tmp is %+v, want mode 1777", arch, h)
	}
	if h := files["home/nonroot"]; h == nil || h.Uid != NonRootUID {
		t.Errorf("%s: /home/nonroot is %+v, want owner 65532", arch, h)
	}
	if h := files["app/controller"]; h == nil || !h.ModTime.Equal(time.Unix(1700000000, 0)) {
		t.Errorf("%s: /app/controller mtime is not SOURCE_DATE_EPOCH: %+v", arch, h)
	}
}

// TestBuildReproducible builds twice: equal inputs give the same index digest.
func TestBuildReproducible(t *testing.T) {
	o := fakeOptions(t)
	var digests []v1.Hash
	for range 2 {
		idx, err := Build(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		d, err := idx.Digest()
		if err != nil {
			t.Fatal(err)
		}
		digests = append(digests, d)
	}
	if digests[0] != digests[1] {
		t.Errorf("digests %v differ", digests)
	}
}

func TestCABundle(t *testing.T) {
	pem, err := caBundle()
	if err != nil {
		t.Fatal(err)
	}
	certs := parseCerts(t, pem)
	if n := len(certs); n < 100 {
		t.Errorf("%d CA certificates, want the NSS store (more than 100)", n)
	}
}

func TestParsePlatform(t *testing.T) {
	for s, ok := range map[string]bool{"linux/amd64": true, "linux/arm/v7": true, "linux": false, "/amd64": false, "a/b/c/d": false} {
		if _, err := ParsePlatform(s); (err == nil) != ok {
			t.Errorf("ParsePlatform(%q) = %v, want ok=%v", s, err, ok)
		}
	}
}
