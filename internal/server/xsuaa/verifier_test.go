package xsuaa

import (
	"context"
	"crypto/tls"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/capstan-io/capstan/internal/server/servertest"
)

const (
	testClientID  = "sb-saas-registry!b42"
	testXSAppName = "myapp!t7"
)

// newFixture starts a fake XSUAA and a verifier whose HTTP client trusts it.
func newFixture(t *testing.T) (*servertest.XSUAA, *Verifier) {
	t.Helper()
	ca := servertest.NewCA(t, pkix.Name{CommonName: "test root"})
	x := servertest.NewXSUAA(t, ca)
	client := &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool, MinVersion: tls.VersionTLS12}},
	}
	ctx, cancel := context.WithCancel(context.Background())
	v, err := NewVerifier(ctx, Options{HTTPClient: client})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = v.Close(context.Background())
		cancel()
	})
	return x, v
}

func TestVerify(t *testing.T) {
	x, v := newFixture(t)
	x.AddKey(t, "unpublished", false)
	exp := Expectation{ClientID: testClientID, XSAppName: testXSAppName, UAADomain: "localhost"}
	tests := map[string]struct {
		// claims changes the default claims of a valid token.
		claims func(map[string]any)
		// opts changes how the token is signed.
		opts servertest.TokenOptions
		// header replaces the Authorization header built from the token.
		header func(token string) string
		// exp replaces the default expectation.
		exp *Expectation
		// wantErr is a substring of the error; empty means the token is accepted.
		wantErr string
	}{
		"valid": {},
		"valid with mtcallback scope": {
			claims: func(c map[string]any) { c["scope"] = []string{testXSAppName + ".mtcallback"} },
		},
		"valid with space-separated scope": {
			claims: func(c map[string]any) { c["scope"] = "openid " + testXSAppName + ".Callback" },
		},
		"valid audience from client_id only": {
			claims: func(c map[string]any) { c["aud"] = []string{"other"}; c["client_id"] = testClientID },
		},
		"valid audience cut at the first dot": {
			claims: func(c map[string]any) { c["aud"] = []string{testXSAppName + ".something"}; c["client_id"] = "x" },
		},
		"valid audience from scopes when aud is empty": {
			claims: func(c map[string]any) { delete(c, "aud"); c["client_id"] = "x" },
		},
		"valid broker clone audience": {
			claims: func(c map[string]any) { c["aud"] = []string{"clone123|" + testClientID}; c["client_id"] = "x" },
		},
		"valid within the expiry leeway": {
			claims: func(c map[string]any) { c["exp"] = time.Now().Add(-5 * time.Second).Unix() },
		},
		"valid lower-case bearer scheme": {
			header: func(tok string) string { return "bearer " + tok },
		},
		"expired": {
			claims:  func(c map[string]any) { c["exp"] = time.Now().Add(-time.Minute).Unix() },
			wantErr: `"exp" not satisfied`,
		},
		"no expiry": {
			claims:  func(c map[string]any) { delete(c, "exp") },
			wantErr: "exp",
		},
		"wrong audience": {
			claims:  func(c map[string]any) { c["aud"] = []string{"someone-else"}; c["client_id"] = "someone-else" },
			wantErr: "audience",
		},
		"non-broker expectation does not match a clone suffix": {
			claims:  func(c map[string]any) { c["aud"] = []string{"clone|other!t1"}; c["client_id"] = "x" },
			exp:     &Expectation{ClientID: "other!t1", XSAppName: "nothere", UAADomain: "localhost"},
			wantErr: "audience",
		},
		"missing scope": {
			claims:  func(c map[string]any) { c["scope"] = []string{testXSAppName + ".Read", "uaa.resource"} },
			wantErr: "lacks scope",
		},
		"scope of another app": {
			claims:  func(c map[string]any) { c["scope"] = []string{"otherapp!t1.Callback"} },
			wantErr: "lacks scope",
		},
		"foreign jku host": {
			opts:    servertest.TokenOptions{JKU: "https://evil.example.com/token_keys"},
			wantErr: "not in the UAA domain",
		},
		"jku host only sharing a suffix": {
			exp:     &Expectation{ClientID: testClientID, XSAppName: testXSAppName, UAADomain: "host"},
			wantErr: "not in the UAA domain",
		},
		"jku over http": {
			opts:    servertest.TokenOptions{JKU: "http://localhost/token_keys"},
			wantErr: "not an absolute https URL",
		},
		"jku with query": {
			opts:    servertest.TokenOptions{JKU: "https://localhost/token_keys?x=1"},
			wantErr: "query or fragment",
		},
		"jku with wrong path": {
			opts:    servertest.TokenOptions{JKU: "https://localhost/keys"},
			wantErr: "token_keys",
		},
		"unknown kid": {
			opts:    servertest.TokenOptions{Kid: "unpublished"},
			wantErr: `no key "unpublished"`,
		},
		"bad signature": {
			opts:    servertest.TokenOptions{Tamper: true},
			wantErr: "token rejected",
		},
		"alg none": {
			opts:    servertest.TokenOptions{NoneAlg: true},
			wantErr: "not RS256",
		},
		"no bearer prefix": {
			header:  func(tok string) string { return tok },
			wantErr: "no bearer token",
		},
		"empty header": {
			header:  func(string) string { return "" },
			wantErr: "no bearer token",
		},
		"garbage token": {
			header:  func(string) string { return "Bearer a.b.c" },
			wantErr: "not a compact JWS",
		},
		"credentials without uaadomain": {
			exp:     &Expectation{ClientID: testClientID, XSAppName: testXSAppName},
			wantErr: "lack xsappname or uaadomain",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			claims := servertest.Claims(testClientID, testXSAppName)
			claims["client_id"] = "sb-other"
			if tc.claims != nil {
				tc.claims(claims)
			}
			opts := tc.opts
			if opts.JKU == "" {
				opts.JKU = x.URL + "/token_keys"
			}
			token := x.Sign(t, claims, opts)
			header := "Bearer " + token
			if tc.header != nil {
				header = tc.header(token)
			}
			e := exp
			if tc.exp != nil {
				e = *tc.exp
			}
			err := v.Verify(context.Background(), header, e)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Verify accepted the token, want an error containing %q", tc.wantErr)
			}
			if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Verify: %v, want ErrUnauthorized containing %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), token) {
				t.Fatalf("the error contains the token")
			}
		})
	}
}

func TestVerifyPicksUpRotatedKeys(t *testing.T) {
	x, v := newFixture(t)
	exp := Expectation{ClientID: testClientID, XSAppName: testXSAppName, UAADomain: "localhost"}
	ctx := context.Background()
	claims := servertest.Claims(testClientID, testXSAppName)
	if err := v.Verify(ctx, "Bearer "+x.Sign(t, claims, servertest.TokenOptions{}), exp); err != nil {
		t.Fatalf("first token: %v", err)
	}
	// A second token with the same key is served from the caches.
	if err := v.Verify(ctx, "Bearer "+x.Sign(t, claims, servertest.TokenOptions{}), exp); err != nil {
		t.Fatalf("second token: %v", err)
	}
	if got := x.Hits("discovery"); got != 1 {
		t.Errorf("discovery fetched %d times, want 1", got)
	}
	// Once to check the first token, once when the verified host's key set was cached.
	if got := x.Hits("keys"); got != 2 {
		t.Errorf("key set fetched %d times, want 2", got)
	}
	// Rotate: a new key appears. The first refresh after registration is rate limited, so
	// let the verifier's clock move past the backoff.
	x.AddKey(t, "key-2", true)
	v.opts.Now = func() time.Time { return time.Now().Add(time.Minute) }
	if err := v.Verify(ctx, "Bearer "+x.Sign(t, claims, servertest.TokenOptions{Kid: "key-2"}), exp); err != nil {
		t.Fatalf("token with the rotated key: %v", err)
	}
	if got := x.Hits("keys"); got != 3 {
		t.Errorf("key set fetched %d times, want 3 (one forced refresh)", got)
	}
	// Unknown key ids within the backoff do not refresh again.
	x.AddKey(t, "key-3", false)
	_ = v.Verify(ctx, "Bearer "+x.Sign(t, claims, servertest.TokenOptions{Kid: "key-3"}), exp)
	if got := x.Hits("keys"); got != 3 {
		t.Errorf("key set fetched %d times after an unknown kid within the backoff, want 3", got)
	}
}

// TestUnverifiedHostsAreNotCached is the attack on the key cache: tokens whose jku names ever
// new hosts inside the UAA domain (each XSUAA tenant host serves discovery and keys) but whose
// signatures do not verify must neither fill the cache, so that a real new issuer is refused,
// nor evict the hosts that verified before.
func TestUnverifiedHostsAreNotCached(t *testing.T) {
	ca := servertest.NewCA(t, pkix.Name{CommonName: "test root"})
	x := servertest.NewXSUAA(t, ca)
	// Every *.localhost host reaches the fake XSUAA, which presents its localhost certificate.
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: ca.Pool, ServerName: "localhost", MinVersion: tls.VersionTLS12},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, x.Addr())
		},
	}}
	ctx, cancel := context.WithCancel(context.Background())
	v, err := NewVerifier(ctx, Options{HTTPClient: client})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = v.Close(context.Background()); cancel() })
	exp := Expectation{ClientID: testClientID, XSAppName: testXSAppName, UAADomain: "localhost"}
	claims := servertest.Claims(testClientID, testXSAppName)
	_, port, _ := net.SplitHostPort(x.Addr())
	jku := func(host string) string { return "https://" + host + ":" + port + "/token_keys" }

	if err := v.Verify(ctx, "Bearer "+x.Sign(t, claims, servertest.TokenOptions{JKU: jku("localhost")}), exp); err != nil {
		t.Fatalf("valid token: %v", err)
	}
	for i := range maxKeySets + 20 {
		forged := x.Sign(t, claims, servertest.TokenOptions{JKU: jku(fmt.Sprintf("h%d.localhost", i)), Tamper: true})
		if err := v.Verify(ctx, "Bearer "+forged, exp); err == nil {
			t.Fatalf("forged token %d accepted", i)
		}
	}
	discoveries := x.Hits("discovery")
	if err := v.Verify(ctx, "Bearer "+x.Sign(t, claims, servertest.TokenOptions{JKU: jku("localhost")}), exp); err != nil {
		t.Fatalf("valid token after the flood: %v", err)
	}
	if got := x.Hits("discovery"); got != discoveries {
		t.Errorf("the verified host was evicted: discovery fetched again (%d, was %d)", got, discoveries)
	}
	if err := v.Verify(ctx, "Bearer "+x.Sign(t, claims, servertest.TokenOptions{JKU: jku("fresh.localhost")}), exp); err != nil {
		t.Fatalf("valid token of a new issuer host after the flood: %v", err)
	}
}
