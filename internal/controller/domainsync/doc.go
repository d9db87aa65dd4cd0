// Package domainsync holds the reconciliation shared by the Domain and ClusterDomain
// controllers: both kinds have the same spec and status and create the same children (an
// Istio Gateway, a TLS Certificate, an optional additional-CA Secret, NetworkPolicies and
// Gardener DNSEntries), differing only in where those children live and which applications
// may reference them.
//
// The package is split by concern: the render subpackage names things and holds the pure
// builders of the children, readiness reads the children's status, ingress finds the
// ingress gateway, internal/dnstemplate expands the DNS templates, status.go
// computes the status, children.go describes each child kind for controller.CreateChild and
// UpdateChild (the operator's one adoption and drift rule), and one file per child kind
// (certificates.go, gateway.go, network_policies.go, dns_entries.go) finds the existing
// children and reads their readiness. reconciler.go drives the steps in the order of the
// specification (section 2.8).
package domainsync
