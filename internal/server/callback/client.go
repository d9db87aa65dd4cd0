// Package callback sends the asynchronous status callbacks of the SaaS provisioning service and
// the Subscription Manager: it fetches an OAuth2 client-credentials token with the service's
// credentials (a client secret, or an X.509 client certificate over mutual TLS) and PUTs the
// status to the callback URL.
package callback

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/capstan-io/capstan/internal/server/httpclient"
)

// Defaults and limits.
const (
	// DefaultTimeout bounds each token request and callback.
	DefaultTimeout = 30 * time.Second
	// maxResponse bounds what is read from a token or callback response.
	maxResponse = 1 << 20
	// CredentialTypeX509 selects mutual TLS with the credentials' certificate and key.
	CredentialTypeX509 = "x509"
)

// Credentials are the OAuth2 client credentials of a saas-registry or subscription-manager
// binding.
type Credentials struct {
	ClientID       string
	ClientSecret   string
	URL            string // token service base URL for secrets
	CertURL        string // token service base URL for certificates
	Certificate    string // PEM chain, x509 only
	Key            string // PEM key, x509 only
	CredentialType string
}

// CredentialsFrom reads the OAuth2 fields of decoded binding credentials.
func CredentialsFrom(m map[string]any) Credentials {
	s := func(key string) string { v, _ := m[key].(string); return v }
	return Credentials{
		ClientID:       s("clientid"),
		ClientSecret:   s("clientsecret"),
		URL:            s("url"),
		CertURL:        s("certurl"),
		Certificate:    s("certificate"),
		Key:            s("key"),
		CredentialType: s("credential-type"),
	}
}

// Client fetches tokens and sends callbacks.
type Client struct {
	rootCAs *x509.CertPool
	timeout time.Duration
	http    *http.Client
}

// NewClient returns a client trusting rootCAs (nil: the system roots) whose requests each
// take at most timeout (0: DefaultTimeout).
func NewClient(rootCAs *x509.CertPool, timeout time.Duration) *Client {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &Client{
		rootCAs: rootCAs,
		timeout: timeout,
		http:    httpclient.New(rootCAs, nil, timeout),
	}
}

// Token fetches an access token by the client-credentials grant.
func (c *Client) Token(ctx context.Context, creds Credentials) (string, error) {
	if creds.ClientID == "" {
		return "", errors.New("credentials have no clientid")
	}
	form := url.Values{"client_id": {creds.ClientID}, "grant_type": {"client_credentials"}}
	client, base, err := c.tokenClient(creds)
	if err != nil {
		return "", err
	}
	if client != c.http {
		// A per-credential mTLS client: do not keep its connections around.
		defer client.CloseIdleConnections()
	}
	if base == "" {
		return "", errors.New("credentials have no token service URL")
	}
	endpoint := strings.TrimSuffix(base, "/") + "/oauth/token"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if !strings.EqualFold(creds.CredentialType, CredentialTypeX509) {
		req.SetBasicAuth(creds.ClientID, creds.ClientSecret)
	}
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := httpclient.DoJSON(client, req, "token request to "+endpoint, maxResponse, &body); err != nil {
		return "", err
	}
	if body.AccessToken == "" {
		return "", fmt.Errorf("token response from %s has no access_token", endpoint)
	}
	return body.AccessToken, nil
}

// tokenClient returns the HTTP client and base URL for the credential type. For x509 the
// certificate's own chain is trusted besides the roots, as the token service may present it.
func (c *Client) tokenClient(creds Credentials) (*http.Client, string, error) {
	if !strings.EqualFold(creds.CredentialType, CredentialTypeX509) {
		return c.http, creds.URL, nil
	}
	pair, err := tls.X509KeyPair([]byte(creds.Certificate), []byte(creds.Key))
	if err != nil {
		return nil, "", fmt.Errorf("x509 credentials: %w", err)
	}
	roots := c.rootCAs
	if roots == nil {
		if roots, err = x509.SystemCertPool(); err != nil {
			roots = x509.NewCertPool()
		}
	}
	roots = roots.Clone()
	roots.AppendCertsFromPEM([]byte(creds.Certificate))
	client := httpclient.New(roots, []tls.Certificate{pair}, c.timeout)
	return client, creds.CertURL, nil
}

// Put sends body as JSON to target with the bearer token. Any 2xx answer is success.
func (c *Client) Put(ctx context.Context, target, token string, body any) error {
	data, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, target, bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("callback request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("callback to %s: %w", target, err)
	}
	defer httpclient.Drain(resp, maxResponse)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("callback to %s: HTTP %d", target, resp.StatusCode)
	}
	return nil
}
