// Package clientcert authenticates the Subscription Manager (SMS) by the client certificate the
// ingress gateway forwards in the X-Forwarded-Client-Cert header: the certificate's issuer and
// subject must match the distinguished names given in the subscription-manager credentials
// (callback_certificate_issuer and callback_certificate_subject).
//
// The header is trusted as written by the gateway that terminated mutual TLS; the chart's
// VirtualService overwrites any value a client sends.
package clientcert

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
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

// ParseHeader decodes the forwarded client certificate: a URL-escaped PEM certificate (what
// Envoy's %DOWNSTREAM_PEER_CERT% gives), or an Envoy XFCC element list with a Cert="..." field.
// Only the first certificate of the PEM data, the client's own, is returned.
func ParseHeader(header string) (*x509.Certificate, error) {
	if header == "" {
		return nil, errors.New("no client certificate was forwarded")
	}
	if len(header) > maxHeaderLen {
		return nil, fmt.Errorf("forwarded client certificate exceeds %d bytes", maxHeaderLen)
	}
	if cert, ok := xfccCert(header); ok {
		header = cert
	}
	block := decodePEM(header)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("forwarded client certificate is not a PEM certificate")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("forwarded client certificate: %w", err)
	}
	return cert, nil
}

// decodePEM finds the first PEM block of the header, trying the escapings proxies use: path
// escaping first (a '+' of unescaped base64 must not become a space), then query escaping
// (spaces as '+'), then none.
func decodePEM(header string) *pem.Block {
	candidates := []func(string) (string, error){url.PathUnescape, url.QueryUnescape}
	for _, unescape := range candidates {
		if s, err := unescape(header); err == nil {
			if block, _ := pem.Decode([]byte(s)); block != nil {
				return block
			}
		}
	}
	block, _ := pem.Decode([]byte(header))
	return block
}

// xfccCert extracts the Cert field of the first element of an Envoy XFCC header.
func xfccCert(header string) (string, bool) {
	element, _, _ := strings.Cut(header, ",")
	for _, pair := range strings.Split(element, ";") {
		key, value, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if ok && strings.EqualFold(key, "Cert") {
			return strings.Trim(value, `"`), true
		}
	}
	return "", false
}

// Verify checks the forwarded certificate header against the expected issuer and subject.
// It does not check the certificate's signature or validity period: the gateway did that when
// it accepted the TLS connection.
func Verify(header string, issuer, subject DN) error {
	cert, err := ParseHeader(header)
	if err != nil {
		return err
	}
	if !Matches(issuer, cert.Issuer) {
		return fmt.Errorf("%w: issuer %q", ErrMismatch, cert.Issuer.String())
	}
	if !Matches(subject, cert.Subject) {
		return fmt.Errorf("%w: subject %q", ErrMismatch, cert.Subject.String())
	}
	return nil
}
