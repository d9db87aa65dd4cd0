// Package issuer is the local demo's stand-in for XSUAA: the fake of
// internal/server/servertest (discovery, token keys, token endpoint on
// https://localhost:<port>), run outside a test. It issues tokens to the SaaS registry's
// client for the sample application's xsappname, as XSUAA does for subscription requests.
package issuer

import (
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"

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
	tb    *programTB
}

// Start starts the stand-in with a throw-away CA and writes the CA's PEM to caFile for the
// subscription server to trust.
func Start(caFile string) (*Issuer, error) {
	iss := &Issuer{tb: &programTB{}}
	err := iss.tb.do(func() {
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
	err := iss.tb.do(func() {
		token = iss.xsuaa.Sign(iss.tb, servertest.Claims(SaaSClientID, xsappname), servertest.TokenOptions{})
	})
	return token, err
}

// Close stops the stand-in's server.
func (iss *Issuer) Close() { iss.tb.cleanup() }

// programTB lets a program use the testing.TB-based helpers of servertest: Fatal ends the
// helper call (do turns it into an error) and Cleanup functions run on cleanup. Any other
// testing.TB method is not used by those helpers and panics (the embedded interface is nil).
type programTB struct {
	testing.TB

	mu       sync.Mutex
	cleanups []func()
}

// fatal is the panic value of Fatal and Fatalf.
type fatal struct{ err error }

// Helper implements testing.TB.
func (*programTB) Helper() {}

// Fatal implements testing.TB: it ends the function that do runs.
func (*programTB) Fatal(args ...any) { panic(fatal{errors.New(fmt.Sprint(args...))}) }

// Fatalf implements testing.TB: it ends the function that do runs.
func (*programTB) Fatalf(format string, args ...any) { panic(fatal{fmt.Errorf(format, args...)}) }

// Cleanup implements testing.TB.
func (t *programTB) Cleanup(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cleanups = append(t.cleanups, f)
}

// do runs f and returns the error of a Fatal call in it; other panics propagate.
func (*programTB) do(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			ft, ok := r.(fatal)
			if !ok {
				panic(r)
			}
			err = ft.err
		}
	}()
	f()
	return nil
}

// cleanup runs the Cleanup functions, last registered first.
func (t *programTB) cleanup() {
	t.mu.Lock()
	fs := t.cleanups
	t.cleanups = nil
	t.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}
