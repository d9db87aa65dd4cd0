package clientcert

import (
	"crypto/x509/pkix"
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/capstan-io/capstan/internal/server/servertest"
)

func TestParseDN(t *testing.T) {
	tests := map[string]struct {
		value   any
		want    DN
		wantErr string
	}{
		"JSON string with lists": {
			value: `{"C":"DE","O":"SAP SE","OU":["SAP Cloud Platform Clients","Canary"],"L":"EU10","CN":"SMS"}`,
			want:  DN{C: []string{"DE"}, O: []string{"SAP SE"}, OU: []string{"SAP Cloud Platform Clients", "Canary"}, L: []string{"EU10"}, CN: "SMS"},
		},
		"decoded JSON object": {
			value: map[string]any{"OU": []any{"*"}, "CN": "SMS"},
			want:  DN{OU: []string{"*"}, CN: "SMS"},
		},
		"RFC 4514 string": {
			value: `CN=SMS, OU=A, OU=B, O=SAP SE\, Inc, C=DE`,
			want:  DN{C: []string{"DE"}, O: []string{"SAP SE, Inc"}, OU: []string{"A", "B"}, CN: "SMS"},
		},
		"missing CN":          {value: `{"C":"DE"}`, wantErr: "CN is missing"},
		"CN not a string":     {value: `{"CN":["a"]}`, wantErr: "attribute CN"},
		"list of non-strings": {value: `{"CN":"a","O":[1]}`, wantErr: "attribute O"},
		"invalid JSON":        {value: `{"CN":`, wantErr: "not valid JSON"},
		"part without equals": {value: `CN=a,garbage`, wantErr: "has no '='"},
		"two CNs":             {value: `CN=a,CN=b`, wantErr: "2 CN attributes"},
		"nil":                 {value: nil, wantErr: "missing"},
		"number":              {value: 3.0, wantErr: "unsupported type"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseDN(tc.value)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseDN: %v, want error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseDN: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ParseDN = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestMatches(t *testing.T) {
	certName := pkix.Name{
		Country: []string{"DE"}, Organization: []string{"SAP SE"}, Locality: []string{"EU10"},
		OrganizationalUnit: []string{"Clients", "Canary"}, CommonName: "sms-client",
	}
	tests := map[string]struct {
		expected DN
		want     bool
	}{
		"exact":                                {DN{C: []string{"DE"}, O: []string{"SAP SE"}, OU: []string{"Clients", "Canary"}, L: []string{"EU10"}, CN: "sms-client"}, true},
		"OU in another order":                  {DN{C: []string{"DE"}, O: []string{"SAP SE"}, OU: []string{"Canary", "Clients"}, L: []string{"EU10"}, CN: "sms-client"}, true},
		"wildcards":                            {DN{C: []string{"*"}, O: []string{"*"}, OU: []string{"*"}, L: []string{"*"}, CN: "sms-client"}, true},
		"wildcard among values":                {DN{C: []string{"DE"}, O: []string{"SAP SE"}, OU: []string{"x", "*"}, L: []string{"EU10"}, CN: "sms-client"}, true},
		"missing OU value":                     {DN{C: []string{"DE"}, O: []string{"SAP SE"}, OU: []string{"Clients"}, L: []string{"EU10"}, CN: "sms-client"}, false},
		"other country":                        {DN{C: []string{"US"}, O: []string{"SAP SE"}, OU: []string{"*"}, L: []string{"EU10"}, CN: "sms-client"}, false},
		"other CN":                             {DN{C: []string{"*"}, O: []string{"*"}, OU: []string{"*"}, L: []string{"*"}, CN: "intruder"}, false},
		"CN is not a wildcard":                 {DN{C: []string{"*"}, O: []string{"*"}, OU: []string{"*"}, L: []string{"*"}, CN: "*"}, false},
		"absent locality expected but present": {DN{C: []string{"DE"}, O: []string{"SAP SE"}, OU: []string{"*"}, CN: "sms-client"}, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := Matches(tc.expected, certName); got != tc.want {
				t.Fatalf("Matches = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	caName := pkix.Name{Country: []string{"DE"}, Organization: []string{"SAP SE"}, CommonName: "Client CA"}
	ca := servertest.NewCA(t, caName)
	other := servertest.NewCA(t, pkix.Name{Country: []string{"DE"}, Organization: []string{"SAP SE"}, CommonName: "Other CA"})
	subject := pkix.Name{Country: []string{"DE"}, Organization: []string{"SAP SE"}, OrganizationalUnit: []string{"Clients"}, CommonName: "sms"}
	leaf := ca.Issue(t, subject)
	foreign := other.Issue(t, subject)
	// The attack: a CA of the attacker's own that carries the trusted CA's name issues a
	// certificate with the expected subject. Names match; the signature does not.
	forged := servertest.NewCA(t, caName).Issue(t, subject)
	// An issuing CA below a trusted root, the usual shape of the Subscription Manager's chain.
	intermediateName := pkix.Name{Country: []string{"DE"}, Organization: []string{"SAP SE"}, CommonName: "Issuing CA"}
	root := servertest.NewCA(t, pkix.Name{CommonName: "Root CA"})
	intermediate := root.IssueCA(t, intermediateName)
	chained := intermediate.Issue(t, subject)
	bundle, err := LoadPool(append(append([]byte{}, root.PEM...), intermediate.PEM...))
	if err != nil {
		t.Fatal(err)
	}
	issuerDN := DN{C: []string{"DE"}, O: []string{"SAP SE"}, CN: "Client CA"}
	intermediateDN := DN{C: []string{"DE"}, O: []string{"SAP SE"}, CN: "Issuing CA"}
	subjectDN := DN{C: []string{"DE"}, O: []string{"SAP SE"}, OU: []string{"*"}, CN: "sms"}
	xfcc := func(cert, chain []byte) string {
		h := `By=spiffe://x;Hash=abc;Cert="` + url.QueryEscape(string(cert)) + `"`
		if chain != nil {
			h += `;Chain="` + url.QueryEscape(string(chain)) + `"`
		}
		return h + `;Subject="CN=sms"`
	}
	tests := map[string]struct {
		header  string
		issuer  DN
		opts    VerifyOptions
		wantErr string
	}{
		"URL-escaped PEM":   {header: url.PathEscape(string(leaf.CertPEM))},
		"query-escaped PEM": {header: url.QueryEscape(string(leaf.CertPEM))},
		"plain PEM":         {header: string(leaf.CertPEM)},
		"XFCC element":      {header: xfcc(leaf.CertPEM, nil)},
		"XFCC chain through an intermediate": {
			header: xfcc(chained.CertPEM, append(append([]byte{}, chained.CertPEM...), intermediate.PEM...)),
			issuer: intermediateDN, opts: VerifyOptions{Roots: root.Pool},
		},
		"PEM chain through an intermediate": {
			header: url.PathEscape(string(chained.CertPEM) + string(intermediate.PEM)),
			issuer: intermediateDN, opts: VerifyOptions{Roots: root.Pool},
		},
		"intermediate from the trusted bundle": {
			header: url.PathEscape(string(chained.CertPEM)), issuer: intermediateDN, opts: VerifyOptions{Roots: bundle},
		},
		"intermediate missing": {
			header: url.PathEscape(string(chained.CertPEM)), issuer: intermediateDN, opts: VerifyOptions{Roots: root.Pool},
			wantErr: "not trusted",
		},
		"forged with the trusted names": {header: url.PathEscape(string(forged.CertPEM)), wantErr: "not trusted"},
		"forged in an XFCC element":     {header: xfcc(forged.CertPEM, nil), wantErr: "not trusted"},
		"forged leaf with a real CA in the chain": {
			header: url.PathEscape(string(forged.CertPEM) + string(ca.PEM)), wantErr: "not trusted",
		},
		"expired": {
			header: url.PathEscape(string(leaf.CertPEM)), opts: VerifyOptions{Now: time.Now().Add(48 * time.Hour)},
			wantErr: "expired",
		},
		"not yet valid": {
			header: url.PathEscape(string(leaf.CertPEM)), opts: VerifyOptions{Now: time.Now().Add(-48 * time.Hour)},
			wantErr: "not trusted",
		},
		"no trusted CA configured": {header: url.PathEscape(string(leaf.CertPEM)), opts: VerifyOptions{Roots: nil}, wantErr: "no trusted client CA"},
		"other issuer":             {header: url.PathEscape(string(foreign.CertPEM)), opts: VerifyOptions{Roots: other.Pool}, wantErr: "issuer"},
		"empty":                    {header: "", wantErr: "no client certificate"},
		"not PEM":                  {header: "hello", wantErr: "not a PEM certificate"},
		"PEM of a key":             {header: string(leaf.KeyPEM), wantErr: "not a PEM certificate"},
		"huge":                     {header: strings.Repeat("a", maxHeaderLen+1), wantErr: "exceeds"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if tc.issuer.CN == "" {
				tc.issuer = issuerDN
			}
			if tc.opts.Roots == nil && tc.wantErr != "no trusted client CA" {
				tc.opts.Roots = ca.Pool
			}
			err := Verify(tc.header, tc.issuer, subjectDN, tc.opts)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Verify: %v, want error containing %q", err, tc.wantErr)
			}
		})
	}
	if err := Verify(url.PathEscape(string(leaf.CertPEM)), issuerDN, DN{CN: "other"}, VerifyOptions{Roots: ca.Pool}); !errors.Is(err, ErrMismatch) {
		t.Fatalf("subject mismatch: %v, want ErrMismatch", err)
	}
}

func TestLoadPool(t *testing.T) {
	if _, err := LoadPool([]byte("no certificates here")); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Fatalf("LoadPool of garbage: %v", err)
	}
	if _, err := LoadPool([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")); err == nil {
		t.Fatal("LoadPool accepted a broken certificate")
	}
}
