package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"k8s.io/klog/v2"

	"github.com/capstan-io/capstan/internal/server/clientcert"
	"github.com/capstan-io/capstan/internal/server/directory"
	"github.com/capstan-io/capstan/internal/server/httperr"
	"github.com/capstan-io/capstan/internal/server/payload"
	"github.com/capstan-io/capstan/internal/server/xsuaa"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// maxCandidates bounds how many matching applications a request is authenticated against.
const maxCandidates = 8

// caller is what a request presents to authenticate.
type caller struct {
	kind          string
	authorization string
	clientCert    string
}

// callerOf reads the credentials of a request.
func callerOf(r *http.Request, kind string) caller {
	return caller{kind: kind, authorization: r.Header.Get("Authorization"), clientCert: r.Header.Get(headerClientCert)}
}

// precheck rejects what can be rejected before any application is known: for the Subscription
// Manager, a forwarded certificate that does not chain to a trusted CA. It costs no cluster
// read, so forged certificates are turned away cheaply. Failures are reported as msgAuth.
func (s *Server) precheck(c caller, code int) error {
	if c.kind != payload.KindSMS {
		return nil
	}
	if err := clientcert.VerifyChain(c.clientCert, s.clientCertOptions()); err != nil {
		return httperr.New(code, msgAuth, err)
	}
	return nil
}

// clientCertOptions are the trust settings of forwarded client certificates.
func (s *Server) clientCertOptions() clientcert.VerifyOptions {
	return clientcert.VerifyOptions{Roots: s.opts.ClientCAs}
}

// authenticateAny returns the first application the caller authenticates against. When it
// authenticates against none, or there are none, the answer is msgAuth with code either way,
// so an unauthenticated caller cannot tell whether an application or tenant exists; the
// reasons are logged. An authenticated caller facing several applications gets a 409 that
// names the ambiguity instead of the server picking one.
func (s *Server) authenticateAny(ctx context.Context, c caller, apps []*v1alpha1.CAPApplication, code int, what string) (*v1alpha1.CAPApplication, error) {
	if len(apps) == 0 {
		return nil, httperr.New(code, msgAuth, fmt.Errorf("%w for %s", directory.ErrNoApp, what))
	}
	var errs []error
	for i, ca := range apps {
		if i == maxCandidates {
			errs = append(errs, fmt.Errorf("%d more candidates not tried", len(apps)-maxCandidates))
			break
		}
		err := s.authenticate(ctx, c, ca)
		if err != nil {
			errs = append(errs, fmt.Errorf("CAPApplication %s/%s: %w", ca.Namespace, ca.Name, err))
			continue
		}
		if len(apps) > 1 {
			klog.FromContext(ctx).Info("Refusing an ambiguous request", "what", what, "candidates", appKeys(apps))
			return nil, httperr.New(http.StatusConflict, fmt.Sprintf("%d CAPApplications or tenants match %s; refusing to choose one (see the server log)", len(apps), what), nil)
		}
		return ca, nil
	}
	return nil, httperr.New(code, msgAuth, errors.Join(errs...))
}

// appKeys names applications for the log.
func appKeys(apps []*v1alpha1.CAPApplication) []string {
	out := make([]string, len(apps))
	for i, ca := range apps {
		out[i] = directory.ObjectKey(ca.Namespace, ca.Name)
	}
	return out
}

// authenticate checks the caller against one application: the XSUAA token for the SaaS
// provisioning service, the forwarded client certificate for the Subscription Manager.
func (s *Server) authenticate(ctx context.Context, c caller, ca *v1alpha1.CAPApplication) error {
	if c.kind == payload.KindSMS {
		return s.authenticateSMS(ctx, ca, c.clientCert)
	}
	return s.authenticateSaaS(ctx, ca, c.authorization)
}

// authenticateSaaS verifies the XSUAA token against the saas-registry and xsuaa credentials.
func (s *Server) authenticateSaaS(ctx context.Context, ca *v1alpha1.CAPApplication, authorization string) error {
	saas, err := s.dir.Credentials(ctx, ca, directory.ClassSaaSRegistry)
	if err != nil {
		return err
	}
	uaa, err := s.dir.Credentials(ctx, ca, directory.ClassXSUAA)
	if err != nil {
		return err
	}
	return s.verifier.Verify(ctx, authorization, xsuaa.Expectation{
		ClientID:  directory.Str(saas, "clientid"),
		XSAppName: directory.Str(uaa, "xsappname"),
		UAADomain: directory.Str(saas, "uaadomain"),
	})
}

// authenticateSMS verifies the forwarded client certificate: its chain to a trusted CA, its
// validity, and its issuer and subject against the subscription-manager credentials'
// callback certificate names.
func (s *Server) authenticateSMS(ctx context.Context, ca *v1alpha1.CAPApplication, clientCert string) error {
	creds, err := s.dir.Credentials(ctx, ca, directory.ClassSubscriptionManager)
	if err != nil {
		return err
	}
	issuer, err := clientcert.ParseDN(creds["callback_certificate_issuer"])
	if err != nil {
		return fmt.Errorf("subscription-manager callback_certificate_issuer: %w", err)
	}
	subject, err := clientcert.ParseDN(creds["callback_certificate_subject"])
	if err != nil {
		return fmt.Errorf("subscription-manager callback_certificate_subject: %w", err)
	}
	return clientcert.Verify(clientCert, issuer, subject, s.clientCertOptions())
}
