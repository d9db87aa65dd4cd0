// Command controller runs the CAP Operator's controllers: CAPApplication,
// CAPApplicationVersion, CAPTenant, CAPTenantOperation, Domain and ClusterDomain, with leader
// election and metrics on :9090. Run it with --help for its flags and environment variables.
package main

import (
	"os"

	"github.com/capstan-io/capstan/cmd/controller/app"
	"github.com/capstan-io/capstan/internal/cli"
)

func main() {
	os.Exit(cli.Main(app.NewCommand()))
}
