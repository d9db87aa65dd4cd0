// Command controller runs the CAP Operator's controllers: CAPApplication,
// CAPApplicationVersion, CAPTenant, CAPTenantOperation, Domain and ClusterDomain, with leader
// election and metrics on :9090.
package main

import (
	"os"

	"github.com/capstan-io/capstan/cmd/controller/app"
)

func main() {
	os.Exit(app.Main(os.Args[1:]))
}
