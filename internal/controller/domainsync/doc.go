// Package domainsync holds the reconciliation shared by the Domain and ClusterDomain
// controllers: both kinds have the same spec and status and create the same children (an
// Istio Gateway, a TLS Certificate, an optional additional-CA Secret, NetworkPolicies and
// Gardener DNSEntries), differing only in where those children live and which applications
// may reference them.
//
// The package is split by concern: object.go names things, builders.go holds the pure
// new<Object> functions, internal/dnstemplate expands the DNS templates, status.go computes the
// status, and one file per child kind (certificates.go, gateway.go, network_policies.go,
// dns_entries.go) talks to the API server. reconciler.go drives the steps in the order of
// the specification (section 2.8).
package domainsync
