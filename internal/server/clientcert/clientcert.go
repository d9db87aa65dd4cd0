// Package clientcert authenticates the Subscription Manager (SMS) by the client certificate the
// ingress gateway forwards in the X-Forwarded-Client-Cert header: the certificate must chain to
// one of the configured trusted CAs and be within its validity period, and its issuer and
// subject must match the distinguished names given in the subscription-manager credentials
// (callback_certificate_issuer and callback_certificate_subject).
//
// A certificate is public, so the header alone does not prove that the caller holds its key:
// the gateway proved that when it accepted the mutual-TLS connection, and the chart's
// VirtualService overwrites any value a client sends. Only the gateway may therefore reach the
// server (the chart's NetworkPolicy and optional AuthorizationPolicy); the chain check makes a
// certificate that no trusted CA issued useless even to a caller who gets past them.
package clientcert

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// maxHeaderLen bounds the forwarded certificate header; a certificate chain is a few KiB.
const maxHeaderLen = 64 << 10

// Wildcard in a credential attribute list accepts any value of that attribute.
const Wildcard = "*"

// ErrMismatch is returned (wrapped) when the certificate does not match the credentials.
var ErrMismatch = errors.New("client certificate does not match the subscription-manager credentials")

// DN is a distinguished name as the subscription-manager credentials give it. Country,
// Organization, OrganizationalUnit and Locality may hold several values or the wildcard.
type DN struct {
	C  []string
	O  []string
	OU []string
	L  []string
	CN string
}

// ParseDN reads a distinguished name from a credential value: a JSON object
// ({"C":"DE","O":["SAP SE"],"CN":"..."}), a string holding such a JSON object, or an RFC 4514
// style string ("CN=...,OU=...,O=...,C=...").
func ParseDN(value any) (DN, error) {
	switch v := value.(type) {
	case map[string]any:
		return dnFromMap(v)
	case string:
		s := strings.TrimSpace(v)
		if strings.HasPrefix(s, "{") {
			var m map[string]any
			if err := json.Unmarshal([]byte(s), &m); err != nil {
				return DN{}, fmt.Errorf("distinguished name is not valid JSON: %w", err)
			}
			return dnFromMap(m)
		}
		return parseRFC4514(s)
	case nil:
		return DN{}, errors.New("distinguished name is missing")
	default:
		return DN{}, fmt.Errorf("distinguished name has unsupported type %T", value)
	}
}

// dnFromMap reads the attributes of a decoded JSON distinguished name.
func dnFromMap(m map[string]any) (DN, error) {
	var dn DN
	var err error
	lists := map[string]*[]string{"C": &dn.C, "O": &dn.O, "OU": &dn.OU, "L": &dn.L}
	for key, dst := range lists {
		if *dst, err = stringList(m[key]); err != nil {
			return DN{}, fmt.Errorf("attribute %s: %w", key, err)
		}
	}
	switch cn := m["CN"].(type) {
	case string:
		dn.CN = cn
	case nil:
	default:
		return DN{}, fmt.Errorf("attribute CN: want a string, got %T", cn)
	}
	if dn.CN == "" {
		// An empty CN would match certificates without one; the credentials always name it.
		return DN{}, errors.New("attribute CN is missing")
	}
	return dn, nil
}

// stringList accepts a string, a list of strings or nothing.
func stringList(v any) ([]string, error) {
	switch t := v.(type) {
	case nil:
		return nil, nil
	case string:
		return []string{t}, nil
	case []any:
		out := make([]string, 0, len(t))
		for _, item := range t {
			s, ok := item.(string)
			if !ok {
				return nil, fmt.Errorf("want strings, got %T", item)
			}
			out = append(out, s)
		}
		return out, nil
	default:
		return nil, fmt.Errorf("want a string or a list of strings, got %T", v)
	}
}

// parseRFC4514 reads a comma-separated "KEY=value" distinguished name. Escaped commas
// ("\,") stay inside a value; attributes other than C, O, OU, L and CN are ignored.
func parseRFC4514(s string) (DN, error) {
	m := map[string]any{}
	for _, part := range splitUnescaped(s, ',') {
		key, value, ok := strings.Cut(part, "=")
		if !ok {
			return DN{}, fmt.Errorf("distinguished name part %q has no '='", part)
		}
		key = strings.ToUpper(strings.TrimSpace(key))
		value = strings.ReplaceAll(strings.TrimSpace(value), `\,`, ",")
		switch prev := m[key].(type) {
		case nil:
			m[key] = value
		case string:
			m[key] = []any{prev, value}
		case []any:
			m[key] = append(prev, value)
		}
	}
	if list, ok := m["CN"].([]any); ok {
		return DN{}, fmt.Errorf("distinguished name has %d CN attributes", len(list))
	}
	return dnFromMap(m)
}

// splitUnescaped splits s at every sep not preceded by a backslash.
func splitUnescaped(s string, sep byte) []string {
	var parts []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++ // skip the escaped character
			continue
		}
		if s[i] == sep {
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// Matches reports whether a certificate name matches the expected DN: each of C, O, OU and L
// matches when the expected list holds the wildcard or both lists are equal once sorted, and
// CN must be equal.
func Matches(expected DN, actual pkix.Name) bool {
	return listMatches(expected.C, actual.Country) &&
		listMatches(expected.O, actual.Organization) &&
		listMatches(expected.OU, actual.OrganizationalUnit) &&
		listMatches(expected.L, actual.Locality) &&
		expected.CN == actual.CommonName
}

// listMatches compares one attribute's values, ignoring order.
func listMatches(expected, actual []string) bool {
	if slices.Contains(expected, Wildcard) {
		return true
	}
	a := slices.Sorted(slices.Values(expected))
	b := slices.Sorted(slices.Values(actual))
	return slices.Equal(a, b)
}

// VerifyOptions say what a forwarded certificate must chain to.
type VerifyOptions struct {
	// Roots are the trusted CAs; every certificate in the pool is a trust anchor, so an issuing
	// (intermediate) CA may be listed beside its root when the gateway forwards only the leaf.
	// Without roots every certificate is refused.
	Roots *x509.CertPool
	// Now is the time of the validity check; zero means time.Now.
	Now time.Time
}

// LoadPool reads the PEM certificates of a trust bundle; it is an error when it holds none.
func LoadPool(data []byte) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	n := 0
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("trusted CA certificate %d: %w", n+1, err)
		}
		pool.AddCert(cert)
		n++
	}
	if n == 0 {
		return nil, errors.New("the trusted CA bundle holds no PEM certificate")
	}
	return pool, nil
}

// ParseHeader returns the client's own certificate from the forwarded header (see ParseChain).
func ParseHeader(header string) (*x509.Certificate, error) {
	chain, err := ParseChain(header)
	if err != nil {
		return nil, err
	}
	return chain[0], nil
}

// ParseChain decodes the forwarded client certificate and the chain sent with it, leaf first.
// The header is either URL-escaped PEM (what Envoy's %DOWNSTREAM_PEER_CERT% gives; further
// certificates after the first are the chain), or an Envoy XFCC element list whose first
// element carries Cert="<URL-escaped PEM>" and optionally Chain="<URL-escaped PEM chain>".
func ParseChain(header string) ([]*x509.Certificate, error) {
	if header == "" {
		return nil, errors.New("no client certificate was forwarded")
	}
	if len(header) > maxHeaderLen {
		return nil, fmt.Errorf("forwarded client certificate exceeds %d bytes", maxHeaderLen)
	}
	var blocks []*pem.Block
	if fields, ok := xfccElement(header); ok {
		blocks = append(decodePEM(fields["cert"]), decodePEM(fields["chain"])...)
	} else {
		blocks = decodePEM(header)
	}
	var chain []*x509.Certificate
	for _, block := range blocks {
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("forwarded client certificate: %w", err)
		}
		// Envoy's Chain repeats the leaf of Cert.
		if len(chain) > 0 && bytes.Equal(cert.Raw, chain[0].Raw) {
			continue
		}
		chain = append(chain, cert)
	}
	if len(chain) == 0 {
		return nil, errors.New("forwarded client certificate is not a PEM certificate")
	}
	return chain, nil
}

// decodePEM returns the PEM blocks of a header value, trying the escapings proxies use: path
// escaping first (a '+' of unescaped base64 must not become a space), then query escaping
// (spaces as '+'), then none.
func decodePEM(value string) []*pem.Block {
	for _, unescape := range []func(string) (string, error){url.PathUnescape, url.QueryUnescape, plain} {
		s, err := unescape(value)
		if err != nil {
			continue
		}
		var blocks []*pem.Block
		for rest := []byte(s); ; {
			var block *pem.Block
			if block, rest = pem.Decode(rest); block == nil {
				break
			}
			blocks = append(blocks, block)
		}
		if len(blocks) > 0 {
			return blocks
		}
	}
	return nil
}

func plain(s string) (string, error) { return s, nil }

// xfccElement reads the key=value pairs (keys lower-cased, quotes removed) of the first
// element of an Envoy XFCC header; false when it has neither Cert nor Chain.
func xfccElement(header string) (map[string]string, bool) {
	element, _, _ := strings.Cut(header, ",")
	fields := map[string]string{}
	for _, pair := range strings.Split(element, ";") {
		key, value, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if ok {
			fields[strings.ToLower(key)] = strings.Trim(value, `"`)
		}
	}
	_, cert := fields["cert"]
	_, chain := fields["chain"]
	return fields, cert || chain
}

// Verify checks the forwarded certificate header: the certificate must chain (through the
// forwarded chain) to one of the trusted roots for client authentication and be valid now, and
// its issuer and subject must match the expected names.
func Verify(header string, issuer, subject DN, opts VerifyOptions) error {
	chain, err := ParseChain(header)
	if err != nil {
		return err
	}
	if err := verifyChain(chain, opts); err != nil {
		return err
	}
	cert := chain[0]
	if !Matches(issuer, cert.Issuer) {
		return fmt.Errorf("%w: issuer %q", ErrMismatch, cert.Issuer.String())
	}
	if !Matches(subject, cert.Subject) {
		return fmt.Errorf("%w: subject %q", ErrMismatch, cert.Subject.String())
	}
	return nil
}

// VerifyChain checks only that the forwarded certificate chains to a trusted root and is
// valid: what can be known before the application (and so the expected names) is.
func VerifyChain(header string, opts VerifyOptions) error {
	chain, err := ParseChain(header)
	if err != nil {
		return err
	}
	return verifyChain(chain, opts)
}

// verifyChain runs the x509 path validation of the leaf with the rest as intermediates.
func verifyChain(chain []*x509.Certificate, opts VerifyOptions) error {
	if opts.Roots == nil {
		return errors.New("no trusted client CA is configured (--client-ca-file)")
	}
	intermediates := x509.NewCertPool()
	for _, c := range chain[1:] {
		intermediates.AddCert(c)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{
		Roots:         opts.Roots,
		Intermediates: intermediates,
		CurrentTime:   opts.Now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return fmt.Errorf("client certificate %q (issuer %q) is not trusted: %w", chain[0].Subject.String(), chain[0].Issuer.String(), err)
	}
	return nil
}
