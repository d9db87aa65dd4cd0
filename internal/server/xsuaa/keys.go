package xsuaa

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/capstan-io/capstan/internal/server/httpclient"
)

// Response size limits of the discovery document and the key set.
const (
	maxDiscoveryBody = 1 << 20
	maxKeySetBody    = 1 << 20
)

// key returns the public key with id kid from the key set that the jku's host announces, and
// a function to call once the key verified the token's signature. Only then is the host
// remembered (its discovery result and key set cached and refreshed): tokens with made-up jku
// hosts cost a fetch each but cannot fill or evict the caches.
func (v *Verifier) key(ctx context.Context, jku, uaaDomain, kid string) (jwk.Key, func(), error) {
	u, _ := url.Parse(jku) // checked by checkJKU
	host := u.Host
	if jwksURI, ok := v.verifiedHost(host); ok {
		key, err := v.cachedKey(ctx, jwksURI, kid)
		return key, func() {}, err
	}
	jwksURI, err := v.discover(ctx, host)
	if err != nil {
		return nil, nil, err
	}
	// The key set must be served from the UAA domain too, or a discovery document could send
	// us to keys anyone controls.
	if err := checkKeySetURL(jwksURI, uaaDomain); err != nil {
		return nil, nil, err
	}
	set, err := jwk.Fetch(ctx, jwksURI, jwk.WithHTTPClient(v.opts.HTTPClient), jwk.WithMaxFetchBodySize(maxKeySetBody))
	if err != nil {
		return nil, nil, fmt.Errorf("fetching the key set: %w", err)
	}
	key, ok := set.LookupKeyID(kid)
	if !ok {
		return nil, nil, fmt.Errorf("no key %q in the key set", kid)
	}
	return key, func() { v.remember(context.WithoutCancel(ctx), host, jwksURI) }, nil
}

// verifiedHost returns the key set URL of a host whose key verified a signature before, while
// its discovery result is fresh.
func (v *Verifier) verifiedHost(host string) (string, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	d, ok := v.discovered[host]
	if !ok || v.opts.Now().Sub(d.fetched) >= DefaultDiscoveryMaxAge {
		return "", false
	}
	return d.jwksURI, true
}

// remember caches a host whose key verified a signature, up to maxKeySets hosts; beyond that
// further hosts keep working uncached. When registering the key set fails the host stays
// uncached and the next token fetches again.
func (v *Verifier) remember(ctx context.Context, host, jwksURI string) {
	// regMu serialises registrations (which fetch) without blocking verifications on mu.
	v.regMu.Lock()
	defer v.regMu.Unlock()
	v.mu.Lock()
	_, known := v.discovered[host]
	full := !known && len(v.discovered) >= maxKeySets
	v.mu.Unlock()
	if full {
		return
	}
	if !v.cache.IsRegistered(ctx, jwksURI) {
		err := v.cache.Register(ctx, jwksURI,
			jwk.WithHTTPClient(v.opts.HTTPClient),
			jwk.WithMinInterval(5*time.Minute),
			jwk.WithMaxInterval(time.Hour),
		)
		if err != nil {
			_ = v.cache.Unregister(ctx, jwksURI)
			return
		}
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if _, ok := v.lastRefresh[jwksURI]; !ok {
		// Registration counts as a fetch for the refresh rate limit.
		v.lastRefresh[jwksURI] = v.opts.Now()
	}
	v.discovered[host] = discovery{jwksURI: jwksURI, fetched: v.opts.Now()}
}

// cachedKey looks the key up in the cached key set of a verified host; an unknown kid may
// mean the keys were rotated since the last fetch and forces one (rate-limited) refresh.
func (v *Verifier) cachedKey(ctx context.Context, jwksURI, kid string) (jwk.Key, error) {
	set, err := v.cache.Lookup(ctx, jwksURI)
	if err != nil {
		return nil, fmt.Errorf("key set: %w", err)
	}
	if key, ok := set.LookupKeyID(kid); ok {
		return key, nil
	}
	if !v.mayRefresh(jwksURI) {
		return nil, fmt.Errorf("no key %q in the key set", kid)
	}
	if set, err = v.cache.Refresh(ctx, jwksURI); err != nil {
		return nil, fmt.Errorf("refreshing the key set: %w", err)
	}
	if key, ok := set.LookupKeyID(kid); ok {
		return key, nil
	}
	return nil, fmt.Errorf("no key %q in the key set", kid)
}

// mayRefresh rate-limits forced refreshes per key set, so tokens with made-up key ids cannot
// make the server hammer the key endpoint.
func (v *Verifier) mayRefresh(jwksURI string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.opts.Now()
	if last, ok := v.lastRefresh[jwksURI]; ok && now.Sub(last) < v.opts.RefreshBackoff {
		return false
	}
	v.lastRefresh[jwksURI] = now
	return true
}

// discover fetches https://<host>/.well-known/openid-configuration and returns its jwks_uri.
func (v *Verifier) discover(ctx context.Context, host string) (string, error) {
	endpoint := "https://" + host + "/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Accept", "application/json")
	var doc struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if err := httpclient.DoJSON(v.opts.HTTPClient, req, "OIDC discovery at "+endpoint, maxDiscoveryBody, &doc); err != nil {
		return "", err
	}
	if doc.JWKSURI == "" {
		return "", fmt.Errorf("OIDC discovery at %s: no jwks_uri", endpoint)
	}
	return doc.JWKSURI, nil
}

// checkKeySetURL requires an https URL in the UAA domain.
func checkKeySetURL(uri, uaaDomain string) error {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "https" || !InDomain(u.Hostname(), uaaDomain) {
		return fmt.Errorf("jwks_uri %q is not an https URL in the UAA domain", uri)
	}
	return nil
}

// checkClaims applies the audience and scope rules.
func checkClaims(tok jwt.Token, exp Expectation) error {
	scopes := stringsClaim(tok, "scope")
	if !hasAudience(Audiences(tok, scopes), exp) {
		return errors.New("token audience does not include the application")
	}
	want := []string{exp.XSAppName + ".Callback", exp.XSAppName + ".mtcallback"}
	for _, s := range scopes {
		if slices.Contains(want, s) {
			return nil
		}
	}
	return fmt.Errorf("token lacks scope %s or %s", want[0], want[1])
}

// Audiences returns the token's audiences as XSUAA counts them: each aud value up to its first
// '.', or, when aud is empty, the prefixes of the namespaced scopes; plus the client_id.
func Audiences(tok jwt.Token, scopes []string) []string {
	var out []string
	aud, _ := tok.Audience()
	if len(aud) > 0 {
		for _, a := range aud {
			prefix, _, _ := strings.Cut(a, ".")
			out = append(out, prefix)
		}
	} else {
		for _, s := range scopes {
			if prefix, _, ok := strings.Cut(s, "."); ok {
				out = append(out, prefix)
			}
		}
	}
	if cid := stringClaim(tok, "client_id"); cid != "" {
		out = append(out, cid)
	}
	return out
}

// hasAudience reports whether the audiences name the saas-registry client or the app. An
// expected broker-plan name (containing "!b") also matches "<anything>|<expected>", the form
// XSUAA gives clones of a broker application.
func hasAudience(audiences []string, exp Expectation) bool {
	for _, want := range []string{exp.ClientID, exp.XSAppName} {
		if want == "" {
			continue
		}
		for _, a := range audiences {
			if a == want || (strings.Contains(want, "!b") && strings.HasSuffix(a, "|"+want)) {
				return true
			}
		}
	}
	return false
}

// stringsClaim reads a claim holding a list of strings or a space-separated string.
func stringsClaim(tok jwt.Token, name string) []string {
	var v any
	if err := tok.Get(name, &v); err != nil {
		return nil
	}
	switch t := v.(type) {
	case string:
		return strings.Fields(t)
	case []any:
		out := make([]string, 0, len(t))
		for _, item := range t {
			if s, ok := item.(string); ok {
				out = append(out, s)
			}
		}
		return out
	case []string:
		return t
	}
	return nil
}

// stringClaim reads a string claim, "" when missing or of another type.
func stringClaim(tok jwt.Token, name string) string {
	var v any
	if err := tok.Get(name, &v); err != nil {
		return ""
	}
	s, _ := v.(string)
	return s
}
