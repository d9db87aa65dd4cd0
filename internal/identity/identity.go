// Package identity computes the identifiers and hashes that link the operator's objects: the
// application identity used by subscription callbacks, owner identities and their hashes.
// Every hash is the hex digest of its inputs concatenated without a separator, as the previous
// implementation computed them, so that objects it created are recognised; the one exception is
// AppHash (see there).
package identity

import (
	"crypto/sha1" //nolint:gosec // label values, not security: the format is fixed by compatibility
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// SHA1 returns the hex SHA-1 digest of the concatenated parts.
func SHA1(parts ...string) string {
	sum := sha1.Sum([]byte(strings.Join(parts, ""))) //nolint:gosec // see package comment
	return hex.EncodeToString(sum[:])
}

// SHA256 returns the hex SHA-256 digest of the concatenated parts.
func SHA256(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "")))
	return hex.EncodeToString(sum[:])
}

// AppID returns the application identifier `<account>.<btpAppName>`, where account is the
// provider subaccount or, when that is empty, the global account.
func AppID(account, btpAppName string) string {
	return account + "." + btpAppName
}

// appHashSeparator separates account and application name in AppHash. Neither may contain
// it (both are label-like identifiers), so ("ab","c") and ("a","bc") hash differently.
const appHashSeparator = "\x00"

// AppHash returns the value of the app-identifier-hash label: the SHA-1 of account and
// application name joined by a NUL byte. It is the one place the value is computed; the
// controller labels objects with it and the subscription server keys its application index
// with it. Objects labelled before the separator was introduced keep the old value
// (SHA1(account, btpAppName)); nothing selects objects by recomputing the label (the server
// indexes the spec, and tenant operations copy the value of their tenant), so old and new
// values work side by side.
func AppHash(account, btpAppName string) string {
	return SHA1(account, appHashSeparator, btpAppName)
}

// OwnerID returns the owner identifier `<namespace>.<name>`.
func OwnerID(namespace, name string) string {
	return namespace + "." + name
}

// OwnerHash returns the value of the owner-identifier-hash label for an owner.
func OwnerHash(namespace, name string) string {
	return SHA1(namespace, name)
}

// DomainOwnerID returns the owner identifier of a Domain (`Domain.<ns>.<name>`) or, with an
// empty namespace, of a ClusterDomain (`ClusterDomain.<name>`).
func DomainOwnerID(namespace, name string) string {
	if namespace == "" {
		return "ClusterDomain." + name
	}
	return "Domain." + namespace + "." + name
}

// ExposureOwnerHash returns the owner hash of the service-exposure VirtualServices of a
// CAPApplication.
func ExposureOwnerHash(namespace, name string) string {
	return SHA1("CAPApplication", namespace, name)
}

// AppAccount returns the account that identifies an application: the provider subaccount
// when set, else the global account (published manifests set only globalAccountId).
func AppAccount(providerSubaccountID, globalAccountID string) string {
	if providerSubaccountID != "" {
		return providerSubaccountID
	}
	return globalAccountID
}

// maxDNSLabel is the length limit of a DNS label (and so of Job, Service and label values).
const maxDNSLabel = 63

// DNSLabel lower-cases s and, when it is longer than a DNS label may be, shortens it to a
// prefix plus a hash of the full value, so that distinct long names stay distinct.
func DNSLabel(s string) string {
	s = strings.ToLower(s)
	if len(s) <= maxDNSLabel {
		return s
	}
	hash := SHA1(s)[:10]
	prefix := strings.TrimRight(s[:maxDNSLabel-len(hash)-1], "-.")
	return prefix + "-" + hash
}

// LabelValue turns s into a valid label value: characters a label value may not hold become
// '_', and an over-long value is shortened like DNSLabel. Semantic versions with build
// metadata ("1.0.0+build") are the usual case.
func LabelValue(s string) string {
	b := []byte(s)
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
		if !ok {
			b[i] = '_'
		}
	}
	s = string(b)
	if len(s) > maxDNSLabel {
		hash := SHA1(s)[:10]
		s = s[:maxDNSLabel-len(hash)-1] + "-" + hash
	}
	return strings.Trim(s, "-_.")
}
