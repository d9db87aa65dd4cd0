// Package monitoring tests the chart's Grafana dashboard and alerting rules against the real
// binaries: the controller, the subscription server and the webhook run as processes in the
// end-to-end environment, a Prometheus scrapes them, and every dashboard query and every
// alert expression must return data, so a renamed metric or label breaks the build.
package monitoring

import (
	"testing"

	"github.com/capstan-io/capstan/internal/testenv"
)

func TestMain(m *testing.M) {
	testenv.RunMain(m, testenv.Options{E2E: true})
}
