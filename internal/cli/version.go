package cli

import (
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
)

// version and revision are stamped in at build time:
//
//	go build -ldflags "-X github.com/capstan-io/capstan/internal/cli.version=v1.2.3 \
//	  -X github.com/capstan-io/capstan/internal/cli.revision=$(git rev-parse HEAD)"
//
// hack/build-images.sh does so. Without them, the version is "dev" and the revision is the
// one the Go toolchain recorded from the work tree, if any.
var (
	version  = ""
	revision = ""
)

// Version is the release version of the binary, "dev" for an unstamped build.
func Version() string {
	if version == "" {
		return "dev"
	}
	return version
}

// Revision is the source revision (git commit) of the binary, "unknown" when not recorded.
func Revision() string {
	if revision != "" {
		return revision
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && s.Value != "" {
				return s.Value
			}
		}
	}
	return "unknown"
}

// VersionString is the line printed by --version.
func VersionString(name string) string {
	return fmt.Sprintf("%s version %s (revision %s, %s %s/%s)", name, Version(), Revision(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// RegisterBuildInfo registers the gauge cap_op_build_info{version,revision} (value 1) in reg;
// a second registration in the same registry is a no-op.
func RegisterBuildInfo(reg prometheus.Registerer) error {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "cap_op_build_info",
		Help: "Build information of the running binary: version and source revision; always 1.",
	}, []string{"version", "revision"})
	g.WithLabelValues(Version(), Revision()).Set(1)
	if err := reg.Register(g); err != nil {
		if are := (prometheus.AlreadyRegisteredError{}); errors.As(err, &are) {
			return nil
		}
		return err
	}
	return nil
}
