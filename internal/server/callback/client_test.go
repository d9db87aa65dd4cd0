package callback

import (
	"context"
	"crypto/x509/pkix"
	"strings"
	"testing"

	"github.com/capstan-io/capstan/internal/server/servertest"
)

func TestToken(t *testing.T) {
	ca := servertest.NewCA(t, pkix.Name{CommonName: "root"})
	x := servertest.NewXSUAA(t, ca)
	x.AddClient("secret-client", "s3cret")
	x.AddClient("cert-client", "")
	cert := ca.Issue(t, pkix.Name{CommonName: "client"})
	foreign := servertest.NewCA(t, pkix.Name{CommonName: "foreign"}).Issue(t, pkix.Name{CommonName: "client"})
	tests := map[string]struct {
		creds   Credentials
		wantErr string
	}{
		"client secret":   {creds: Credentials{ClientID: "secret-client", ClientSecret: "s3cret", URL: x.URL}},
		"x509":            {creds: Credentials{ClientID: "cert-client", CredentialType: "x509", CertURL: x.URL, Certificate: string(cert.CertPEM), Key: string(cert.KeyPEM)}},
		"wrong secret":    {creds: Credentials{ClientID: "secret-client", ClientSecret: "nope", URL: x.URL}, wantErr: "HTTP 401"},
		"untrusted cert":  {creds: Credentials{ClientID: "cert-client", CredentialType: "x509", CertURL: x.URL, Certificate: string(foreign.CertPEM), Key: string(foreign.KeyPEM)}, wantErr: "token request"},
		"broken key pair": {creds: Credentials{ClientID: "cert-client", CredentialType: "x509", CertURL: x.URL, Certificate: "x", Key: "y"}, wantErr: "x509 credentials"},
		"no client id":    {creds: Credentials{URL: x.URL}, wantErr: "no clientid"},
		"no URL":          {creds: Credentials{ClientID: "secret-client"}, wantErr: "no token service URL"},
	}
	client := NewClient(ca.Pool, 0)
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			token, err := client.Token(context.Background(), tc.creds)
			if tc.wantErr == "" {
				if err != nil || token != servertest.AccessToken {
					t.Fatalf("Token = %q, %v", token, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Token error %v, want %q", err, tc.wantErr)
			}
			if tc.creds.ClientSecret != "" && strings.Contains(err.Error(), tc.creds.ClientSecret) {
				t.Fatal("the error contains the client secret")
			}
		})
	}
}

func TestPut(t *testing.T) {
	ca := servertest.NewCA(t, pkix.Name{CommonName: "root"})
	r := servertest.NewReceiver(t, ca)
	client := NewClient(ca.Pool, 0)
	if err := client.Put(context.Background(), r.URL+"/cb", "tok", map[string]any{"status": "SUCCEEDED"}); err != nil {
		t.Fatal(err)
	}
	got := r.ForPath("/cb")
	if len(got) != 1 || got[0].Authorization != "Bearer tok" || got[0].Body["status"] != "SUCCEEDED" {
		t.Fatalf("received %+v", got)
	}
	r.SetStatus(500)
	if err := client.Put(context.Background(), r.URL+"/cb", "tok", map[string]any{}); err == nil || !strings.Contains(err.Error(), "HTTP 500") {
		t.Fatalf("Put to a failing receiver: %v", err)
	}
	if err := NewClient(nil, 0).Put(context.Background(), r.URL+"/cb", "tok", map[string]any{}); err == nil {
		t.Fatal("Put trusted a server outside the given roots")
	}
}
