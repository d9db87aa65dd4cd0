package clientcert

import (
	"crypto/x509/pkix"
	"testing"
)

// FuzzParse feeds arbitrary distinguished names and forwarded-certificate headers to the
// parsers and the matcher. They must not panic.
func FuzzParse(f *testing.F) {
	f.Add(`{"C":["DE"],"O":"SAP SE","OU":["*"],"CN":"x"}`, "-----BEGIN%20CERTIFICATE-----%0AMIIB%0A-----END%20CERTIFICATE-----")
	f.Add(`CN=a\,b,OU=x,OU=y`, `By=x;Cert="%2D%2D";Subject=""`)
	f.Add(`{"CN":{"a":1}}`, "%")
	f.Add(`\`, `Cert=`)
	f.Fuzz(func(t *testing.T, dn, header string) {
		if parsed, err := ParseDN(dn); err == nil {
			_ = Matches(parsed, pkix.Name{CommonName: parsed.CN, Country: parsed.C})
			if parsed.CN == "" {
				t.Fatalf("ParseDN(%q) accepted a DN without CN", dn)
			}
		}
		if cert, err := ParseHeader(header); err == nil && cert == nil {
			t.Fatal("ParseHeader returned neither a certificate nor an error")
		}
	})
}
