package clientcert

import (
	"crypto/x509/pkix"
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"

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
	ca := servertest.NewCA(t, pkix.Name{Country: []string{"DE"}, Organization: []string{"SAP SE"}, CommonName: "Client CA"})
	other := servertest.NewCA(t, pkix.Name{Country: []string{"DE"}, Organization: []string{"SAP SE"}, CommonName: "Other CA"})
	subject := pkix.Name{Country: []string{"DE"}, Organization: []string{"SAP SE"}, OrganizationalUnit: []string{"Clients"}, CommonName: "sms"}
	leaf := ca.Issue(t, subject)
	foreign := other.Issue(t, subject)
	issuerDN := DN{C: []string{"DE"}, O: []string{"SAP SE"}, CN: "Client CA"}
	subjectDN := DN{C: []string{"DE"}, O: []string{"SAP SE"}, OU: []string{"*"}, CN: "sms"}
	tests := map[string]struct {
		header  string
		wantErr string
	}{
		"URL-escaped PEM":   {header: url.PathEscape(string(leaf.CertPEM))},
		"query-escaped PEM": {header: url.QueryEscape(string(leaf.CertPEM))},
		"plain PEM":         {header: string(leaf.CertPEM)},
		"XFCC element":      {header: `By=spiffe://x;Hash=abc;Cert="` + url.QueryEscape(string(leaf.CertPEM)) + `";Subject="CN=sms"`},
		"other issuer":      {header: url.PathEscape(string(foreign.CertPEM)), wantErr: "issuer"},
		"empty":             {header: "", wantErr: "no client certificate"},
		"not PEM":           {header: "hello", wantErr: "not a PEM certificate"},
		"PEM of a key":      {header: string(leaf.KeyPEM), wantErr: "not a PEM certificate"},
		"huge":              {header: strings.Repeat("a", maxHeaderLen+1), wantErr: "exceeds"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := Verify(tc.header, issuerDN, subjectDN)
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
	if err := Verify(url.PathEscape(string(leaf.CertPEM)), issuerDN, DN{CN: "other"}); !errors.Is(err, ErrMismatch) {
		t.Fatalf("subject mismatch: %v, want ErrMismatch", err)
	}
}
