// Package issuer is the local demo's stand-in for XSUAA: the fake of
// internal/server/servertest (discovery, token keys, token endpoint on
// https://localhost:<port>), run outside a test. It issues tokens to the SaaS registry's
// client for the sample application's xsappname, as XSUAA does for subscription requests.
package issuer

import (
	"crypto/x509/pkix"
	"fmt"
	"os"

	"github.com/capstan-io/capstan/internal/server/servertest"
)

// The demo's identities.
const (
	// SaaSClientID is the client id of the demo's saas-registry binding.
	SaaSClientID = "sb-cap-app-01!b1|saas-registry!b1"
	// UAADomain is the uaadomain of the demo's saas-registry binding: the stand-in's tokens
	// name https://localhost:<port>/token_keys as their key set.
	UAADomain = "localhost"
)

// Issuer is the running stand-in.
type Issuer struct {
	xsuaa *servertest.XSUAA
	tb    *servertest.Program
}

// Start starts the stand-in with a throw-away CA and writes the CA's PEM to caFile for the
// subscription server to trust.
func Start(caFile string) (*Issuer, error) {
	iss := &Issuer{tb: &servertest.Program{}}
	err := iss.tb.Do(func() {
		ca := servertest.NewCA(iss.tb, pkix.Name{Organization: []string{"capstan local demo"}, CommonName: "local XSUAA CA"})
		iss.xsuaa = servertest.NewXSUAA(iss.tb, ca)
	})
	if err != nil {
		iss.Close()
		return nil, fmt.Errorf("starting the XSUAA stand-in: %w", err)
	}
	if err := os.WriteFile(caFile, iss.xsuaa.CA.PEM, 0o600); err != nil {
		iss.Close()
		return nil, err
	}
	return iss, nil
}

// URL is the stand-in's base URL.
func (iss *Issuer) URL() string { return iss.xsuaa.URL }

// Token returns a SaaS registry token for the application with the xsappname.
func (iss *Issuer) Token(xsappname string) (string, error) {
	var token string
	err := iss.tb.Do(func() {
		token = iss.xsuaa.Sign(iss.tb, servertest.Claims(SaaSClientID, xsappname), servertest.TokenOptions{})
	})
	return token, err
}

// Close stops the stand-in's server.
func (iss *Issuer) Close() { iss.tb.RunCleanups() }
