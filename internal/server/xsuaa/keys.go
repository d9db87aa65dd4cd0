package xsuaa

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"
)

// maxDiscoveryBody bounds the OIDC discovery document.
const maxDiscoveryBody = 1 << 20

// key returns the public key with id kid from the key set that the jku's host announces.
func (v *Verifier) key(ctx context.Context, jku, uaaDomain, kid string) (jwk.Key, error) {
	jwksURI, err := v.jwksURI(ctx, jku, uaaDomain)
	if err != nil {
		return nil, err
	}
	set, err := v.keySet(ctx, jwksURI)
	if err != nil {
		return nil, err
	}
	if key, ok := set.LookupKeyID(kid); ok {
		return key, nil
	}
	// An unknown kid may mean the keys were rotated since the last fetch.
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

// keySet returns the cached key set, registering it with the cache on first use.
func (v *Verifier) keySet(ctx context.Context, jwksURI string) (jwk.Set, error) {
	if !v.cache.IsRegistered(ctx, jwksURI) {
		if err := v.register(ctx, jwksURI); err != nil {
			return nil, err
		}
	}
	set, err := v.cache.Lookup(ctx, jwksURI)
	if err != nil {
		return nil, fmt.Errorf("key set: %w", err)
	}
	return set, nil
}

// register adds a key set to the cache and waits for its first fetch. A failed first fetch
// unregisters it again, so the next request retries instead of waiting on a dead entry.
func (v *Verifier) register(ctx context.Context, jwksURI string) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.cache.IsRegistered(ctx, jwksURI) {
		return nil
	}
	if len(v.lastRefresh) >= maxKeySets {
		return errors.New("too many key sets cached")
	}
	err := v.cache.Register(ctx, jwksURI,
		jwk.WithHTTPClient(v.opts.HTTPClient),
		jwk.WithMinInterval(5*time.Minute),
		jwk.WithMaxInterval(time.Hour),
	)
	if err != nil {
		_ = v.cache.Unregister(context.WithoutCancel(ctx), jwksURI)
		return fmt.Errorf("fetching the key set: %w", err)
	}
	// Registration counts as a fetch for the refresh rate limit.
	v.lastRefresh[jwksURI] = v.opts.Now()
	return nil
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

// jwksURI resolves the key set URL of the jku's host by OIDC discovery, cached per host.
func (v *Verifier) jwksURI(ctx context.Context, jku, uaaDomain string) (string, error) {
	u, _ := url.Parse(jku) // checked by checkJKU
	host := u.Host
	v.mu.Lock()
	d, ok := v.discovered[host]
	v.mu.Unlock()
	if ok && v.opts.Now().Sub(d.fetched) < DefaultDiscoveryMaxAge {
		return d.jwksURI, nil
	}
	uri, err := v.discover(ctx, host)
	if err != nil {
		return "", err
	}
	// The key set must be served from the UAA domain too, or a discovery document could send
	// us to keys anyone controls.
	if err := checkKeySetURL(uri, uaaDomain); err != nil {
		return "", err
	}
	v.mu.Lock()
	if len(v.discovered) >= maxKeySets {
		clear(v.discovered)
	}
	v.discovered[host] = discovery{jwksURI: uri, fetched: v.opts.Now()}
	v.mu.Unlock()
	return uri, nil
}

// discover fetches https://<host>/.well-known/openid-configuration and returns its jwks_uri.
func (v *Verifier) discover(ctx context.Context, host string) (string, error) {
	endpoint := "https://" + host + "/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := v.opts.HTTPClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("OIDC discovery: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("OIDC discovery at %s: HTTP %d", endpoint, resp.StatusCode)
	}
	var doc struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxDiscoveryBody)).Decode(&doc); err != nil {
		return "", fmt.Errorf("OIDC discovery at %s: %w", endpoint, err)
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
