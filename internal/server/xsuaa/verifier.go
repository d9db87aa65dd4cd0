// Package xsuaa verifies the XSUAA access tokens (RS256 JWTs) that the SaaS provisioning
// service sends with its subscription callbacks.
//
// The signing keys are found through the token's jku header, which must point into the
// saas-registry's UAA domain: https://<jku host>/.well-known/openid-configuration names the
// key set (jwks_uri). A host is cached only after a key from it verified a token's signature;
// its key set is then kept by a jwk.Cache that refreshes it in the background, for at most
// maxKeySets hosts. Tokens naming other hosts are checked with a fresh fetch each and leave
// nothing behind, so made-up jku hosts can neither fill nor evict the cache. A token signed
// with a key id the cached set does not know forces one refresh (rate limited), so key
// rotation is picked up without waiting for the refresh interval.
package xsuaa

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/httprc/v3"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"
)

// Defaults of Options.
const (
	DefaultLeeway          = 15 * time.Second
	DefaultRefreshBackoff  = 10 * time.Second
	DefaultDiscoveryMaxAge = time.Hour
	// maxTokenLen bounds the Authorization header; XSUAA tokens are a few KiB.
	maxTokenLen = 32 << 10
	// maxKeySets bounds how many verified hosts and key sets are cached.
	maxKeySets = 256
)

// ErrUnauthorized is wrapped by every verification failure.
var ErrUnauthorized = errors.New("authorization check failed")

// Expectation holds what a token must carry, read from the application's credentials.
type Expectation struct {
	// ClientID is the saas-registry clientid, an accepted audience.
	ClientID string
	// XSAppName is the xsuaa xsappname: an accepted audience and the prefix of the scopes.
	XSAppName string
	// UAADomain is the saas-registry uaadomain; the jku host must lie in it.
	UAADomain string
}

// Options configure a Verifier.
type Options struct {
	// HTTPClient fetches discovery documents and key sets. It must have a timeout; nil uses
	// a client with a 10 s timeout and the system roots.
	HTTPClient *http.Client
	// Leeway accepts tokens this long after their expiry (clock skew); 0 means DefaultLeeway.
	Leeway time.Duration
	// RefreshBackoff is the minimum time between forced refreshes of one key set.
	RefreshBackoff time.Duration
	// Now returns the current time (tests); nil means time.Now.
	Now func() time.Time
}

// Verifier checks XSUAA tokens. It is safe for concurrent use.
type Verifier struct {
	opts  Options
	cache *jwk.Cache

	regMu       sync.Mutex // serialises key set registrations
	mu          sync.Mutex
	discovered  map[string]discovery // verified jku host → jwks_uri
	lastRefresh map[string]time.Time // jwks_uri → last forced refresh
}

// discovery is a cached OIDC discovery result.
type discovery struct {
	jwksURI string
	fetched time.Time
}

// NewVerifier starts a verifier; its background refresher stops when ctx ends or on Close.
func NewVerifier(ctx context.Context, opts Options) (*Verifier, error) {
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if opts.Leeway <= 0 {
		opts.Leeway = DefaultLeeway
	}
	if opts.RefreshBackoff <= 0 {
		opts.RefreshBackoff = DefaultRefreshBackoff
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	cache, err := jwk.NewCache(ctx, httprc.NewClient())
	if err != nil {
		return nil, fmt.Errorf("starting the key set cache: %w", err)
	}
	return &Verifier{
		opts:        opts,
		cache:       cache,
		discovered:  map[string]discovery{},
		lastRefresh: map[string]time.Time{},
	}, nil
}

// Close stops the background refresher.
func (v *Verifier) Close(ctx context.Context) error {
	return v.cache.Shutdown(ctx)
}

// Verify checks the Authorization header value ("Bearer <jwt>") against exp. Every failure
// wraps ErrUnauthorized; the error never contains the token.
func (v *Verifier) Verify(ctx context.Context, authorization string, exp Expectation) error {
	if err := v.verify(ctx, authorization, exp); err != nil {
		return fmt.Errorf("%w: %w", ErrUnauthorized, err)
	}
	return nil
}

func (v *Verifier) verify(ctx context.Context, authorization string, exp Expectation) error {
	if exp.XSAppName == "" || exp.UAADomain == "" {
		return errors.New("the application's credentials lack xsappname or uaadomain")
	}
	raw, err := bearer(authorization)
	if err != nil {
		return err
	}
	kid, jku, err := header(raw)
	if err != nil {
		return err
	}
	if err := checkJKU(jku, exp.UAADomain); err != nil {
		return err
	}
	key, verified, err := v.key(ctx, jku, exp.UAADomain, kid)
	if err != nil {
		return err
	}
	tok, err := jwt.Parse([]byte(raw),
		jwt.WithKey(jwa.RS256(), key),
		jwt.WithValidate(true),
		jwt.WithAcceptableSkew(v.opts.Leeway),
		jwt.WithClock(jwt.ClockFunc(v.opts.Now)),
		jwt.WithRequiredClaim(jwt.ExpirationKey),
	)
	if err != nil {
		return fmt.Errorf("token rejected: %w", err)
	}
	// The key verified the signature: the jku host is a real issuer of this application.
	verified()
	return checkClaims(tok, exp)
}

// bearer extracts the token from the Authorization header.
func bearer(authorization string) (string, error) {
	scheme, token, ok := strings.Cut(authorization, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", errors.New("no bearer token")
	}
	if len(token) > maxTokenLen {
		return "", fmt.Errorf("token exceeds %d bytes", maxTokenLen)
	}
	return strings.TrimSpace(token), nil
}

// header reads the unverified protected header: the algorithm must be RS256 (which rules out
// "none" and HMAC confusion before any key is fetched), and kid and jku must be present.
func header(raw string) (kid, jku string, err error) {
	msg, err := jws.Parse([]byte(raw), jws.WithCompact())
	if err != nil {
		return "", "", fmt.Errorf("token is not a compact JWS: %w", err)
	}
	sigs := msg.Signatures()
	if len(sigs) != 1 {
		return "", "", fmt.Errorf("token has %d signatures", len(sigs))
	}
	h := sigs[0].ProtectedHeaders()
	if alg, ok := h.Algorithm(); !ok || alg != jwa.RS256() {
		return "", "", fmt.Errorf("token algorithm %v is not RS256", alg)
	}
	if kid, _ = h.KeyID(); kid == "" {
		return "", "", errors.New("token header has no kid")
	}
	if jku, _ = h.JWKSetURL(); jku == "" {
		return "", "", errors.New("token header has no jku")
	}
	return kid, jku, nil
}

// checkJKU applies the jku rules: an absolute https URL without query or fragment, whose path
// ends in token_keys and whose host lies in the UAA domain.
func checkJKU(jku, uaaDomain string) error {
	u, err := url.Parse(jku)
	if err != nil {
		return errors.New("jku is not a URL")
	}
	if u.Scheme != "https" || u.Host == "" || u.User != nil {
		return fmt.Errorf("jku %q is not an absolute https URL", jku)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return fmt.Errorf("jku %q has a query or fragment", jku)
	}
	if !strings.HasSuffix(strings.TrimSuffix(u.Path, "/"), "token_keys") {
		return fmt.Errorf("jku %q does not end in token_keys", jku)
	}
	if !InDomain(u.Hostname(), uaaDomain) {
		return fmt.Errorf("jku host %q is not in the UAA domain %q", u.Hostname(), uaaDomain)
	}
	return nil
}

// InDomain reports whether host is domain or a subdomain of it. The dot boundary keeps
// "evil-domain.com" out of "domain.com".
func InDomain(host, domain string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	domain = strings.ToLower(strings.TrimPrefix(strings.TrimSuffix(domain, "."), "."))
	if host == "" || domain == "" {
		return false
	}
	return host == domain || strings.HasSuffix(host, "."+domain)
}
