package server

import (
	"context"
	"fmt"

	"github.com/capstan-io/capstan/internal/server/clientcert"
	"github.com/capstan-io/capstan/internal/server/xsuaa"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// authenticate checks the caller of a request for the application: the XSUAA token for the
// SaaS provisioning service, the forwarded client certificate for the Subscription Manager.
// Every failure is reported as msgAuth with code; the cause is only logged.
func (s *Server) authenticate(ctx context.Context, kind string, ca *v1alpha1.CAPApplication, authorization, clientCert string, code int) error {
	var err error
	if kind == kindSMS {
		err = s.authenticateSMS(ctx, ca, clientCert)
	} else {
		err = s.authenticateSaaS(ctx, ca, authorization)
	}
	if err != nil {
		return fail(code, msgAuth, err)
	}
	return nil
}

// authenticateSaaS verifies the XSUAA token against the saas-registry and xsuaa credentials.
func (s *Server) authenticateSaaS(ctx context.Context, ca *v1alpha1.CAPApplication, authorization string) error {
	saas, err := s.credentials(ctx, ca, classSaaSRegistry)
	if err != nil {
		return err
	}
	uaa, err := s.credentials(ctx, ca, classXSUAA)
	if err != nil {
		return err
	}
	return s.verifier.Verify(ctx, authorization, xsuaa.Expectation{
		ClientID:  str(saas, "clientid"),
		XSAppName: str(uaa, "xsappname"),
		UAADomain: str(saas, "uaadomain"),
	})
}

// authenticateSMS matches the forwarded client certificate against the subscription-manager
// credentials' callback certificate issuer and subject.
func (s *Server) authenticateSMS(ctx context.Context, ca *v1alpha1.CAPApplication, clientCert string) error {
	creds, err := s.credentials(ctx, ca, classSubscriptionManager)
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
	return clientcert.Verify(clientCert, issuer, subject)
}
