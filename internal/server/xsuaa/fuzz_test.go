package xsuaa

import (
	"testing"
)

// FuzzTokenParsing feeds arbitrary Authorization headers and jku values to the parsing steps
// that run before any network access. They must not panic.
func FuzzTokenParsing(f *testing.F) {
	f.Add("Bearer eyJhbGciOiJSUzI1NiIsImprdSI6Imh0dHBzOi8vYS5sb2NhbGhvc3QvdG9rZW5fa2V5cyIsImtpZCI6ImsifQ.e30.c2ln", "https://a.localhost/token_keys")
	f.Add("Bearer a.b.c", "https://x/token_keys?q")
	f.Add("bearer ..", "%zz")
	f.Add("Bearer eyJhbGciOiJub25lIn0.e30.", "https://[::1]:99/token_keys/")
	f.Fuzz(func(t *testing.T, authorization, jku string) {
		if raw, err := bearer(authorization); err == nil {
			_, _, _ = header(raw)
		}
		_ = checkJKU(jku, "localhost")
		_ = checkKeySetURL(jku, "localhost")
		_ = InDomain(jku, "localhost")
	})
}
