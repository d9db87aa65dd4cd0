package servertest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
)

// AccessToken is the opaque access token the fake token endpoint issues.
const AccessToken = "fake-access-token"

// XSUAA is a loopback stand-in for an XSUAA tenant: OIDC discovery, the token key set and a
// client-credentials token endpoint, served over TLS as https://localhost:<port>.
type XSUAA struct {
	// URL is https://localhost:<port>.
	URL string
	// Host is localhost:<port>, the host of the jku header of the tokens it signs.
	Host string
	// CA issued the server certificate; clients must trust CA.Pool.
	CA *CA

	server *httptest.Server

	mu        sync.Mutex
	keys      map[string]*rsa.PrivateKey
	published []string
	clients   map[string]string // client id → secret ("" = certificate only)
	hits      map[string]int
}

// NewXSUAA starts a fake XSUAA with one published signing key, kid "key-1".
func NewXSUAA(t testing.TB, ca *CA) *XSUAA {
	t.Helper()
	x := &XSUAA{CA: ca, keys: map[string]*rsa.PrivateKey{}, clients: map[string]string{}, hits: map[string]int{}}
	x.AddKey(t, "key-1", true)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", x.discovery)
	mux.HandleFunc("GET /token_keys", x.tokenKeys)
	mux.HandleFunc("POST /oauth/token", x.token)
	x.server = httptest.NewUnstartedServer(mux)
	leaf := ca.Issue(t, pkix.Name{CommonName: "localhost"})
	x.server.TLS = &tls.Config{
		Certificates: []tls.Certificate{leaf.TLS},
		ClientAuth:   tls.VerifyClientCertIfGiven,
		ClientCAs:    ca.Pool,
		MinVersion:   tls.VersionTLS12,
	}
	x.server.StartTLS()
	t.Cleanup(x.server.Close)
	_, port, _ := net.SplitHostPort(x.server.Listener.Addr().String())
	x.Host = "localhost:" + port
	x.URL = "https://" + x.Host
	return x
}

// AddKey creates a signing key; published keys appear in the key set.
func (x *XSUAA) AddKey(t testing.TB, kid string, published bool) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.keys[kid] = key
	if published {
		x.published = append(x.published, kid)
	}
}

// Publish adds an existing key to the key set (a key rotation).
func (x *XSUAA) Publish(kid string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.published = append(x.published, kid)
}

// AddClient lets a client fetch tokens: with its secret, or, when secret is empty, only with
// a client certificate issued by the CA.
func (x *XSUAA) AddClient(id, secret string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.clients[id] = secret
}

// Hits returns how often an endpoint ("discovery", "keys", "token") was called.
func (x *XSUAA) Hits(endpoint string) int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.hits[endpoint]
}

func (x *XSUAA) count(endpoint string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.hits[endpoint]++
}

// discovery announces the key set on the host the request was sent to, as each XSUAA tenant
// host announces its own.
func (x *XSUAA) discovery(w http.ResponseWriter, r *http.Request) {
	x.count("discovery")
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":         x.URL + "/oauth/token",
		"jwks_uri":       "https://" + r.Host + "/token_keys",
		"token_endpoint": x.URL + "/oauth/token",
	})
}

// Addr is the listener address (127.0.0.1:<port>), for clients that map other host names to
// this server.
func (x *XSUAA) Addr() string { return x.server.Listener.Addr().String() }

func (x *XSUAA) tokenKeys(w http.ResponseWriter, _ *http.Request) {
	x.count("keys")
	x.mu.Lock()
	defer x.mu.Unlock()
	set := jwk.NewSet()
	for _, kid := range x.published {
		key, err := jwk.Import(x.keys[kid].Public())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_ = key.Set(jwk.KeyIDKey, kid)
		_ = key.Set(jwk.AlgorithmKey, jwa.RS256())
		_ = key.Set(jwk.KeyUsageKey, "sig")
		_ = set.AddKey(key)
	}
	writeJSON(w, http.StatusOK, set)
}

// token implements the client-credentials grant with a secret (Basic) or a client certificate.
func (x *XSUAA) token(w http.ResponseWriter, r *http.Request) {
	x.count("token")
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
		http.Error(w, "unsupported grant", http.StatusBadRequest)
		return
	}
	clientID := r.PostForm.Get("client_id")
	x.mu.Lock()
	secret, known := x.clients[clientID]
	x.mu.Unlock()
	user, pass, basic := r.BasicAuth()
	viaSecret := basic && known && secret != "" && user == clientID && pass == secret
	viaCert := known && r.TLS != nil && len(r.TLS.PeerCertificates) > 0
	if !viaSecret && !viaCert {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"access_token": AccessToken, "token_type": "bearer", "expires_in": 3600})
}

// TokenOptions change how Sign builds a token.
type TokenOptions struct {
	// Kid signs with this key (default "key-1").
	Kid string
	// JKU overrides the jku header (default <URL>/token_keys).
	JKU string
	// NoneAlg produces an unsigned token with alg "none".
	NoneAlg bool
	// Tamper flips a byte of the signature.
	Tamper bool
}

// Sign returns an RS256 JWT with the claims, signed by one of the fake's keys.
func (x *XSUAA) Sign(t testing.TB, claims map[string]any, opts TokenOptions) string {
	t.Helper()
	if opts.Kid == "" {
		opts.Kid = "key-1"
	}
	if opts.JKU == "" {
		opts.JKU = x.URL + "/token_keys"
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	if opts.NoneAlg {
		header, _ := json.Marshal(map[string]any{"alg": "none", "typ": "JWT", "kid": opts.Kid, "jku": opts.JKU})
		return b64(header) + "." + b64(payload) + "."
	}
	hdr := jws.NewHeaders()
	_ = hdr.Set(jws.KeyIDKey, opts.Kid)
	_ = hdr.Set(jws.JWKSetURLKey, opts.JKU)
	_ = hdr.Set(jws.TypeKey, "JWT")
	x.mu.Lock()
	key := x.keys[opts.Kid]
	x.mu.Unlock()
	signed, err := jws.Sign(payload, jws.WithKey(jwa.RS256(), key, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		t.Fatal(err)
	}
	if opts.Tamper {
		parts := strings.Split(string(signed), ".")
		sig, err := base64.RawURLEncoding.DecodeString(parts[2])
		if err != nil {
			t.Fatal(err)
		}
		sig[0] ^= 0x01
		parts[2] = b64(sig)
		return strings.Join(parts, ".")
	}
	return string(signed)
}

// Claims returns typical claims of a SaaS registry token for xsappname, valid for an hour.
func Claims(clientID, xsappname string) map[string]any {
	now := time.Now()
	return map[string]any{
		"client_id": clientID,
		"cid":       clientID,
		"aud":       []string{xsappname, "sb-saas-registry"},
		"scope":     []string{xsappname + ".Callback", "uaa.resource"},
		"iat":       now.Unix(),
		"exp":       now.Add(time.Hour).Unix(),
		"jti":       strconv.FormatInt(now.UnixNano(), 16),
	}
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
