package image

import (
	"context"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// TestRemoteBase builds on a base pulled from a registry (an in-memory one on loopback,
// standing in for gcr.io/distroless/static:nonroot): the base's layers and environment are
// kept, the app layer and the image settings are added.
func TestRemoteBase(t *testing.T) {
	srv := httptest.NewServer(registry.New())
	defer srv.Close()
	baseRef := strings.TrimPrefix(srv.URL, "http://") + "/distroless/static:nonroot"
	ref, err := name.ParseReference(baseRef)
	if err != nil {
		t.Fatal(err)
	}
	// A Docker-schema base with one layer and its own environment, per platform.
	idx := v1.ImageIndex(empty.Index)
	for _, arch := range []string{"amd64", "arm64"} {
		l, err := layer([]entry{{name: "etc/", mode: 0o755, dir: true}, {name: "etc/os-release", mode: 0o644, data: []byte("distroless " + arch)}},
			fakeOptions(t).Created, types.DockerLayer)
		if err != nil {
			t.Fatal(err)
		}
		img, err := mutate.AppendLayers(empty.Image, l)
		if err != nil {
			t.Fatal(err)
		}
		img, err = mutate.Config(img, v1.Config{Env: []string{"PATH=/bin", "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"}, User: "0"})
		if err != nil {
			t.Fatal(err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatal(err)
	}

	o := fakeOptions(t)
	o.Base = baseRef
	built, err := Build(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	im, err := built.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range im.Manifests {
		img, err := built.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		layers, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		if len(layers) != 2 {
			t.Fatalf("%s: %d layers, want the base's and the app's", d.Platform.Architecture, len(layers))
		}
		if mt, err := layers[1].MediaType(); err != nil || mt != types.DockerLayer {
			t.Errorf("%s: app layer media type %s (%v), want the base's family (Docker)", d.Platform.Architecture, mt, err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(cf.Config.Env, []string{"PATH=/bin", "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"}) ||
			cf.Config.User != "65532:65532" || cf.Config.Labels[LabelVersion] != "v1.2.3" {
			t.Errorf("%s: config %+v", d.Platform.Architecture, cf.Config)
		}
		checkBaseFile(t, img, "etc/os-release", "distroless "+d.Platform.Architecture)
	}
}
