// Package tenant holds the client-free rules of tenant lifecycle management: which
// CAPTenantOperation a CAPTenant needs next (provisioning, upgrade, deprovisioning, automatic
// retries with capped exponential backoff), the state and condition table of a tenant, the
// steps of an operation, the environment and command of a step's Job, the names of
// operations and Jobs, the tenant's version history and its VirtualService routes.
//
// Nothing here talks to the API server: the captenant and captenantoperation controllers read
// their inputs from listers, call these functions and write the results. That keeps every
// rule testable with plain tables.
package tenant
