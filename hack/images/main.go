// Command images builds the operator's multi-platform OCI image without a container engine
// and writes it as an OCI image layout. hack/build-images.sh runs it; see docs/images.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/capstan-io/capstan/internal/image"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "images:", err)
		os.Exit(1)
	}
}

// run parses the flags, builds the binaries and the image, and writes the layout.
func run() error {
	var (
		out       = flag.String("out", ".cache/images/capstan", "OCI image layout directory to write (replaced).")
		platforms = flag.String("platforms", "linux/amd64,linux/arm64", "Comma-separated platforms.")
		version   = flag.String("version", "dev", "Version stamped into the binaries and labels.")
		revision  = flag.String("revision", "unknown", "Source revision (git commit) stamped into the binaries and labels.")
		source    = flag.String("source", "https://github.com/capstan-io/capstan", "Repository URL of the source label.")
		licenses  = flag.String("licenses", "Apache-2.0", "SPDX license expression of the licenses label (the LICENSE file).")
		base      = flag.String("base", "", "Base image reference (e.g. gcr.io/distroless/static:nonroot); empty uses the built-in minimal base.")
		root      = flag.String("repo-root", ".", "Repository root.")
	)
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	created, err := sourceDate()
	if err != nil {
		return err
	}
	o := image.Options{Version: *version, Revision: *revision, Source: *source, Licenses: *licenses, Created: created, Base: *base}
	work, err := os.MkdirTemp("", "capstan-images-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(work) }()
	for _, s := range strings.Split(*platforms, ",") {
		p, err := image.ParsePlatform(strings.TrimSpace(s))
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "images: building binaries for %s/%s\n", p.OS, p.Architecture)
		if err := image.BuildBinaries(ctx, *root, binDir(work, p), p, *version, *revision); err != nil {
			return err
		}
		o.Platforms = append(o.Platforms, p)
	}
	o.BinaryDir = func(p v1.Platform) string { return binDir(work, p) }
	idx, err := image.Build(ctx, o)
	if err != nil {
		return err
	}
	if err := image.WriteLayout(*out, idx, *version); err != nil {
		return err
	}
	digest, err := idx.Digest()
	if err != nil {
		return err
	}
	fmt.Printf("%s %s\n", *out, digest)
	return nil
}

// binDir is the directory of one platform's binaries.
func binDir(work string, p v1.Platform) string {
	return filepath.Join(work, p.OS+"-"+p.Architecture+p.Variant)
}

// sourceDate is SOURCE_DATE_EPOCH (reproducible builds), else the Unix epoch.
func sourceDate() (time.Time, error) {
	v := os.Getenv("SOURCE_DATE_EPOCH")
	if v == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	sec, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a Unix time: %w", v, err)
	}
	return time.Unix(sec, 0).UTC(), nil
}
