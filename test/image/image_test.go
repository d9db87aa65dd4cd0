// Package image tests the operator's container image as hack/build-images.sh builds it: the
// real binaries, cross-compiled statically and laid into an OCI image layout, are unpacked
// from the image's layers and run. It also checks that the three binaries answer --help,
// --version, a bad flag and a bad environment value the same way.
package image

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/capstan-io/capstan/internal/image"
	"github.com/capstan-io/capstan/internal/testenv/tools"
)

// The version and revision stamped into the test image.
const (
	testVersion  = "v9.8.7-test"
	testRevision = "0123456789abcdef0123456789abcdef01234567"
)

// built is the image built once for the package: the platform's image and its unpacked
// file system.
var built struct {
	img    v1.Image
	rootfs string
	err    error
}

func TestMain(m *testing.M) {
	code := 0
	if runtime.GOOS == "linux" {
		dir, err := os.MkdirTemp("", "capstan-image-test-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		built.img, built.rootfs, built.err = buildAndUnpack(dir)
		code = m.Run()
		_ = os.RemoveAll(dir)
	} else {
		code = m.Run()
	}
	os.Exit(code)
}

// hostImage returns the image of the test's platform, skipping where linux binaries cannot
// run.
func hostImage(t *testing.T) (v1.Image, string) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skipf("the image holds linux binaries; this test runs them and so needs linux, not %s", runtime.GOOS)
	}
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.img, built.rootfs
}

// buildAndUnpack builds the binaries for linux/<host arch>, writes the image layout, reads
// the platform's image back from the layout and unpacks its layers into dir/rootfs.
func buildAndUnpack(dir string) (v1.Image, string, error) {
	root, err := tools.RepoRoot()
	if err != nil {
		return nil, "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	p := v1.Platform{OS: "linux", Architecture: runtime.GOARCH}
	bin := filepath.Join(dir, "bin")
	if err := image.BuildBinaries(ctx, root, bin, p, testVersion, testRevision); err != nil {
		return nil, "", err
	}
	idx, err := image.Build(ctx, image.Options{Platforms: []v1.Platform{p}, Version: testVersion, Revision: testRevision,
		Source: "https://github.com/capstan-io/capstan", Licenses: "Apache-2.0", Created: time.Unix(0, 0).UTC(),
		BinaryDir: func(v1.Platform) string { return bin }})
	if err != nil {
		return nil, "", err
	}
	out := filepath.Join(dir, "layout")
	if err := image.WriteLayout(out, idx, testVersion); err != nil {
		return nil, "", err
	}
	img, err := platformFromLayout(out, p)
	if err != nil {
		return nil, "", err
	}
	rootfs := filepath.Join(dir, "rootfs")
	return img, rootfs, unpack(img, rootfs)
}

// platformFromLayout opens the layout's index and returns the image of the platform.
func platformFromLayout(dir string, p v1.Platform) (v1.Image, error) {
	lp, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, err
	}
	m, err := lp.IndexManifest()
	if err != nil {
		return nil, err
	}
	if len(m.Manifests) != 1 {
		return nil, fmt.Errorf("layout has %d entries, want one index", len(m.Manifests))
	}
	idx, err := lp.ImageIndex(m.Manifests[0].Digest)
	if err != nil {
		return nil, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	for _, d := range im.Manifests {
		if d.Platform != nil && d.Platform.OS == p.OS && d.Platform.Architecture == p.Architecture {
			return idx.Image(d.Digest)
		}
	}
	return nil, fmt.Errorf("no %s/%s image in the index", p.OS, p.Architecture)
}

// unpack writes the image's flattened file system (directories and regular files) to dir.
func unpack(img v1.Image, dir string) error {
	rc := mutate.Extract(img)
	defer func() { _ = rc.Close() }()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		path := filepath.Join(dir, filepath.FromSlash(h.Name))
		if !strings.HasPrefix(path, filepath.Clean(dir)+string(os.PathSeparator)) {
			return fmt.Errorf("entry %q leaves the root", h.Name)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(path, 0o755)
		case tar.TypeReg:
			err = writeFile(path, tr, os.FileMode(h.Mode&0o777))
		}
		if err != nil {
			return err
		}
	}
}

// writeFile writes r to path with the mode.
func writeFile(path string, r io.Reader, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

func TestImageConfig(t *testing.T) {
	img, _ := hostImage(t)
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Config.User != "65532:65532" {
		t.Errorf("user %q, want 65532:65532 (non-root)", cf.Config.User)
	}
	if !slices.Equal(cf.Config.Entrypoint, []string{"/app/controller"}) {
		t.Errorf("entrypoint %v, want [/app/controller]", cf.Config.Entrypoint)
	}
	for k, v := range map[string]string{
		"org.opencontainers.image.version":  testVersion,
		"org.opencontainers.image.revision": testRevision,
		"org.opencontainers.image.source":   "https://github.com/capstan-io/capstan",
		"org.opencontainers.image.licenses": "Apache-2.0",
	} {
		if cf.Config.Labels[k] != v {
			t.Errorf("label %s=%q, want %q", k, cf.Config.Labels[k], v)
		}
	}
}

func TestImageFiles(t *testing.T) {
	_, rootfs := hostImage(t)
	passwd, err := os.ReadFile(filepath.Join(rootfs, "etc/passwd"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(passwd), "nonroot:x:65532:65532:") {
		t.Errorf("/etc/passwd has no nonroot user 65532:\n%s", passwd)
	}
	if certs, err := os.ReadFile(filepath.Join(rootfs, image.CACertificatesPath)); err != nil || bytes.Count(certs, []byte("BEGIN CERTIFICATE")) < 100 {
		t.Errorf("CA bundle: %v, %d certificates", err, bytes.Count(certs, []byte("BEGIN CERTIFICATE")))
	}
	for _, b := range image.Binaries {
		f, err := elf.Open(filepath.Join(rootfs, "app", b.Name))
		if err != nil {
			t.Fatal(err)
		}
		for _, prog := range f.Progs {
			if prog.Type == elf.PT_INTERP {
				t.Errorf("/app/%s is dynamically linked: built without CGO_ENABLED=0?", b.Name)
			}
		}
		_ = f.Close()
	}
}

// binaries are the image's programs with their command names and one environment variable
// each that must be a number.
var binaries = []struct{ file, command, numberEnv string }{
	{"controller", "controller", "CLIENT_QPS"},
	{"server", "server", "PORT"},
	{"webhook", "web-hooks", "WEBHOOK_PORT"},
}

// runBinary runs a binary of the unpacked image with a clean environment.
func runBinary(t *testing.T, path string, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = append([]string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir()}, env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String(), errOut.String()
	}
	if err != nil {
		t.Fatalf("running %s: %v", path, err)
	}
	return 0, out.String(), errOut.String()
}

// TestBinariesStartUp runs each binary from the unpacked image: --version prints the stamped
// version, and --help, a bad flag and bad environment values are answered the same way by
// all three (cmd/* share internal/cli).
func TestBinariesStartUp(t *testing.T) {
	_, rootfs := hostImage(t)
	for _, b := range binaries {
		t.Run(b.command, func(t *testing.T) {
			path := filepath.Join(rootfs, "app", b.file)
			tests := []struct {
				name       string
				args, env  []string
				wantCode   int
				wantStdout []string
				wantStderr []string
			}{
				{name: "version", args: []string{"--version"}, wantCode: 0,
					wantStdout: []string{fmt.Sprintf("%s version %s (revision %s, go", b.command, testVersion, testRevision)}},
				{name: "help", args: []string{"--help"}, wantCode: 0,
					wantStdout: []string{"Usage: " + b.command + " [flags]", "--metrics-bind-address", "(env METRICS_PORT)", "(env LOG_FORMAT)", "(env " + b.numberEnv + ")", "--version"}},
				{name: "bad flag", args: []string{"--no-such-flag"}, wantCode: 2,
					wantStderr: []string{b.command + ": unknown flag: --no-such-flag", "Run '" + b.command + " --help' for usage."}},
				{name: "bad env value", env: []string{b.numberEnv + "=many"}, wantCode: 2,
					wantStderr: []string{b.command + ": invalid environment variable " + b.numberEnv + `="many"`}},
				{name: "bad metrics port", env: []string{"METRICS_PORT=http"}, wantCode: 2,
					wantStderr: []string{b.command + `: invalid environment variable METRICS_PORT="http" (--metrics-bind-address)`}},
				{name: "bad log format", env: []string{"LOG_FORMAT=xml"}, wantCode: 2,
					wantStderr: []string{b.command + `: LOG_FORMAT (--log-format) must be "json" or "text", not "xml"`}},
			}
			for _, tc := range tests {
				code, stdout, stderr := runBinary(t, path, tc.env, tc.args...)
				if code != tc.wantCode {
					t.Errorf("%s: exit code %d, want %d\nstdout: %s\nstderr: %s", tc.name, code, tc.wantCode, stdout, stderr)
				}
				for _, want := range tc.wantStdout {
					if !strings.Contains(stdout, want) {
						t.Errorf("%s: stdout lacks %q:\n%s", tc.name, want, stdout)
					}
				}
				for _, want := range tc.wantStderr {
					if !strings.Contains(stderr, want) {
						t.Errorf("%s: stderr lacks %q:\n%s", tc.name, want, stderr)
					}
				}
			}
		})
	}
}
