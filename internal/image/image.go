// Package image builds the operator's container image without a container engine: static
// binaries (CGO_ENABLED=0) cross-compiled with the Go toolchain, laid on a distroless-style
// base, as a multi-platform OCI image index (go-containerregistry) written to an OCI image
// layout. hack/build-images.sh runs it through hack/images.
package image

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Binary is one program in the image.
type Binary struct {
	// Name is the file name under /app.
	Name string
	// Package is the Go package to build, relative to the repository root.
	Package string
}

// Binaries are the operator's three programs; the chart picks one with the container command.
var Binaries = []Binary{
	{Name: "controller", Package: "./cmd/controller"},
	{Name: "server", Package: "./cmd/server"},
	{Name: "webhook", Package: "./cmd/web-hooks"},
}

// Entrypoint is the image's default command.
const Entrypoint = "/app/controller"

// OCI label and annotation keys set on the image.
const (
	LabelVersion  = "org.opencontainers.image.version"
	LabelRevision = "org.opencontainers.image.revision"
	LabelSource   = "org.opencontainers.image.source"
	LabelLicenses = "org.opencontainers.image.licenses"
	LabelTitle    = "org.opencontainers.image.title"
	LabelCreated  = "org.opencontainers.image.created"
	// RefName names the index inside the OCI layout.
	RefName = "org.opencontainers.image.ref.name"
)

// Options configure Build.
type Options struct {
	// Platforms to build, e.g. linux/amd64 and linux/arm64.
	Platforms []v1.Platform
	// Version and Revision are stamped into the binaries and the labels.
	Version, Revision string
	// Source is the repository URL and Licenses the SPDX expression of the labels.
	Source, Licenses string
	// Created is the time recorded in the image and the layers (SOURCE_DATE_EPOCH).
	Created time.Time
	// Base is an image reference such as gcr.io/distroless/static:nonroot to build on; empty
	// builds on the minimal base of this package (no registry needed).
	Base string
	// BinaryDir returns the directory holding the built Binaries for a platform.
	BinaryDir func(p v1.Platform) string
}

// Labels returns the OCI labels of the image.
func (o Options) Labels() map[string]string {
	return map[string]string{
		LabelTitle: "capstan", LabelVersion: o.Version, LabelRevision: o.Revision,
		LabelSource: o.Source, LabelLicenses: o.Licenses, LabelCreated: o.Created.UTC().Format(time.RFC3339),
	}
}

// Build assembles one image per platform from the binaries in BinaryDir and returns their
// index.
func Build(ctx context.Context, o Options) (v1.ImageIndex, error) {
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range o.Platforms {
		img, err := platformImage(ctx, o, p)
		if err != nil {
			return nil, fmt.Errorf("%s/%s: %w", p.OS, p.Architecture, err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant}}})
	}
	annotated, ok := mutate.Annotations(idx, o.Labels()).(v1.ImageIndex)
	if !ok {
		return nil, fmt.Errorf("annotating the index failed")
	}
	return annotated, nil
}

// platformImage builds the image of one platform: base, then a layer with /app/<binaries>.
func platformImage(ctx context.Context, o Options, p v1.Platform) (v1.Image, error) {
	base, err := baseImage(ctx, o, p)
	if err != nil {
		return nil, err
	}
	entries := []entry{{name: "app/", mode: 0o755, dir: true}}
	for _, b := range Binaries {
		data, err := os.ReadFile(filepath.Join(o.BinaryDir(p), b.Name))
		if err != nil {
			return nil, err
		}
		entries = append(entries, entry{name: "app/" + b.Name, mode: 0o755, data: data})
	}
	// The layer's media type follows the base manifest's family, so that a Docker-schema base
	// does not get an OCI layer.
	mt, err := base.MediaType()
	if err != nil {
		return nil, err
	}
	layerType := types.OCILayer
	if mt == types.DockerManifestSchema2 {
		layerType = types.DockerLayer
	}
	app, err := layer(entries, o.Created, layerType)
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(base, app)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	cf.Author = "capstan"
	cf.Config.User = fmt.Sprintf("%d:%d", NonRootUID, NonRootUID)
	cf.Config.Entrypoint, cf.Config.Cmd = []string{Entrypoint}, nil
	cf.Config.WorkingDir = "/app"
	if len(cf.Config.Env) == 0 {
		cf.Config.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "SSL_CERT_FILE=" + CACertificatesPath}
	}
	cf.Config.Labels = maps.Clone(cf.Config.Labels)
	if cf.Config.Labels == nil {
		cf.Config.Labels = map[string]string{}
	}
	maps.Copy(cf.Config.Labels, o.Labels())
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return nil, err
	}
	if img, err = mutate.CreatedAt(img, v1.Time{Time: o.Created}); err != nil {
		return nil, err
	}
	annotated, ok := mutate.Annotations(img, o.Labels()).(v1.Image)
	if !ok {
		return nil, fmt.Errorf("annotating the image failed")
	}
	return annotated, nil
}

// baseImage returns the remote base for the platform, or the minimal base layer on an
// empty OCI image.
func baseImage(ctx context.Context, o Options, p v1.Platform) (v1.Image, error) {
	if o.Base != "" {
		ref, err := name.ParseReference(o.Base)
		if err != nil {
			return nil, err
		}
		return remote.Image(ref, remote.WithContext(ctx), remote.WithPlatform(p), remote.WithAuthFromKeychain(authn.DefaultKeychain))
	}
	entries, err := baseEntries()
	if err != nil {
		return nil, err
	}
	l, err := layer(entries, o.Created, types.OCILayer)
	if err != nil {
		return nil, err
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	return mutate.AppendLayers(img, l)
}

// layer returns a gzip-compressed layer of the entries with the media type.
func layer(entries []entry, mtime time.Time, mediaType types.MediaType) (v1.Layer, error) {
	var buf bytes.Buffer
	if err := writeTar(&buf, entries, mtime); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
		tarball.WithMediaType(mediaType))
}

// WriteLayout writes the index to an OCI image layout in dir (replacing what was there),
// under the reference name ref (e.g. the version).
func WriteLayout(dir string, idx v1.ImageIndex, ref string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	return p.AppendIndex(idx, layout.WithAnnotations(map[string]string{RefName: ref}))
}
