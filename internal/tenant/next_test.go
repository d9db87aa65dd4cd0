package tenant

import (
	"strings"
	"testing"
	"time"

	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

const (
	prov   = v1alpha1.CAPTenantOperationTypeProvisioning
	upg    = v1alpha1.CAPTenantOperationTypeUpgrade
	deprov = v1alpha1.CAPTenantOperationTypeDeprovisioning
)

func TestDecide(t *testing.T) {
	ready1, ready2 := newCAV("1", "Ready"), newCAV("2", "Ready")
	processing2 := newCAV("2", "Processing")
	policy := RetryPolicy{InitialDelay: 10 * time.Second, MaxDelay: time.Minute, MaxAttempts: 2}
	cases := map[string]struct {
		// tenant setup
		tenant *v1alpha1.CAPTenant
		ops    []*v1alpha1.CAPTenantOperation
		cavs   []*v1alpha1.CAPApplicationVersion
		// environment
		domainsNotReady bool
		retryRequested  bool
		// expectations
		action    Action
		operation v1alpha1.CAPTenantOperationType
		version   string
		attempt   int
		after     time.Duration
		state     v1alpha1.CAPTenantState
		reason    string
		current   string
		previous  []string
		event     string
		message   string
	}{
		"no version yet waits for the application": {
			tenant: newTenant(""), cavs: []*v1alpha1.CAPApplicationVersion{ready1},
			action: ActionWait,
		},
		"version not Ready waits and says so": {
			tenant: newTenant("2"), cavs: []*v1alpha1.CAPApplicationVersion{ready1, processing2},
			action: ActionWait, reason: ReasonWaitingForVersion,
		},
		"new tenant is provisioned": {
			tenant: newTenant("1"), cavs: []*v1alpha1.CAPApplicationVersion{ready1},
			action: ActionStart, operation: prov, version: "cav-1", attempt: 1,
			state: "Provisioning", reason: "ProvisioningOperationCreated", message: "waiting for CAPTenantOperation ns/" + OperationName("t", "uid-t", 1) + " of type provisioning",
		},
		"a version that cannot run the operation fails the tenant": {
			tenant: newTenant("1"), cavs: []*v1alpha1.CAPApplicationVersion{noWorkloads(newCAV("1", "Ready"))},
			action: ActionWait, operation: prov, version: "cav-1", attempt: 1,
			state: "ProvisioningError", reason: ReasonInvalidSteps, event: ReasonInvalidSteps, message: "neither a TenantOperation nor a CAP workload",
		},
		"running operation is waited for": {
			tenant: newTenant("1"), cavs: []*v1alpha1.CAPApplicationVersion{ready1},
			ops:    []*v1alpha1.CAPTenantOperation{newOp(1, prov, "cav-1", running, 1, t0)},
			action: ActionWait, state: "Provisioning", reason: "ProvisioningOperationCreated",
		},
		"completed provisioning moves the current version": {
			tenant: newTenant("1", current("", "Provisioning", "ProvisioningOperationCreated")), cavs: []*v1alpha1.CAPApplicationVersion{ready1},
			ops:    []*v1alpha1.CAPTenantOperation{newOp(1, prov, "cav-1", succeeded, 1, t0)},
			action: ActionNone, state: "Ready", reason: "ProvisioningCompleted", current: "cav-1", event: "ProvisioningCompleted",
		},
		"completed provisioning waits for the domains": {
			tenant: newTenant("1", current("", "Provisioning", "ProvisioningOperationCreated")), cavs: []*v1alpha1.CAPApplicationVersion{ready1},
			ops:             []*v1alpha1.CAPTenantOperation{newOp(1, prov, "cav-1", succeeded, 1, t0)},
			domainsNotReady: true,
			action:          ActionWait,
		},
		"ready tenant on its version does nothing": {
			tenant: newTenant("1", current("cav-1", "Ready", "ProvisioningCompleted")), cavs: []*v1alpha1.CAPApplicationVersion{ready1, ready2},
			ops:    []*v1alpha1.CAPTenantOperation{newOp(1, prov, "cav-1", succeeded, 1, t0)},
			action: ActionNone, state: "Ready", reason: "ProvisioningCompleted", current: "cav-1",
		},
		"new version is upgraded to": {
			tenant: newTenant("2", current("cav-1", "Ready", "ProvisioningCompleted")), cavs: []*v1alpha1.CAPApplicationVersion{ready1, ready2},
			ops:    []*v1alpha1.CAPTenantOperation{newOp(1, prov, "cav-1", succeeded, 1, t0)},
			action: ActionStart, operation: upg, version: "cav-2", attempt: 1, current: "cav-1",
		},
		"strategy never keeps the version": {
			tenant: newTenant("2", current("cav-1", "Ready", "ProvisioningCompleted"), never()), cavs: []*v1alpha1.CAPApplicationVersion{ready1, ready2},
			action: ActionNone, current: "cav-1",
		},
		"version not Ready yet keeps serving the current one": {
			tenant: newTenant("2", current("cav-1", "Ready", "ProvisioningCompleted")), cavs: []*v1alpha1.CAPApplicationVersion{ready1, processing2},
			action: ActionNone, current: "cav-1",
		},
		"completed upgrade shifts the history": {
			tenant: newTenant("2", current("cav-1", "Upgrading", "UpgradeOperationCreated")), cavs: []*v1alpha1.CAPApplicationVersion{ready1, ready2},
			ops:    []*v1alpha1.CAPTenantOperation{newOp(1, prov, "cav-1", succeeded, 1, t0), newOp(2, upg, "cav-2", succeeded, 1, t0)},
			action: ActionNone, state: "Ready", reason: "UpgradeCompleted", current: "cav-2", previous: []string{"cav-1"}, event: "UpgradeCompleted",
		},
		"failed provisioning backs off": {
			tenant: newTenant("1", current("", "Provisioning", "ProvisioningOperationCreated")), cavs: []*v1alpha1.CAPApplicationVersion{ready1},
			ops:    []*v1alpha1.CAPTenantOperation{newOp(1, prov, "cav-1", failed, 1, t0.Add(-4*time.Second))},
			action: ActionRetryLater, after: 6 * time.Second, state: "ProvisioningError", reason: "ProvisioningFailed", event: "ProvisioningFailed",
			message: "automatic retry 1 of 2 after 10s",
		},
		"failed provisioning already reported records no second event": {
			tenant: newTenant("1", current("", "ProvisioningError", "ProvisioningFailed")), cavs: []*v1alpha1.CAPApplicationVersion{ready1},
			ops:    []*v1alpha1.CAPTenantOperation{newOp(1, prov, "cav-1", failed, 1, t0.Add(-4*time.Second))},
			action: ActionRetryLater, after: 6 * time.Second, state: "ProvisioningError", reason: "ProvisioningFailed",
		},
		"failed provisioning is retried after the delay": {
			tenant: newTenant("1", current("", "ProvisioningError", "ProvisioningFailed")), cavs: []*v1alpha1.CAPApplicationVersion{ready1},
			ops:    []*v1alpha1.CAPTenantOperation{newOp(1, prov, "cav-1", failed, 1, t0.Add(-10*time.Second))},
			action: ActionStart, operation: prov, version: "cav-1", attempt: 2,
			state: "Provisioning", reason: "ProvisioningOperationCreated", message: OperationName("t", "uid-t", 2),
		},
		"second retry waits twice as long": {
			tenant: newTenant("1", current("", "ProvisioningError", "ProvisioningFailed")), cavs: []*v1alpha1.CAPApplicationVersion{ready1},
			ops:    []*v1alpha1.CAPTenantOperation{newOp(1, prov, "cav-1", failed, 1, t0), newOp(2, prov, "cav-1", failed, 2, t0.Add(-15*time.Second))},
			action: ActionRetryLater, after: 5 * time.Second, state: "ProvisioningError",
		},
		"retries exhausted": {
			tenant: newTenant("1", current("", "ProvisioningError", "ProvisioningFailed")), cavs: []*v1alpha1.CAPApplicationVersion{ready1},
			ops:    []*v1alpha1.CAPTenantOperation{newOp(3, prov, "cav-1", failed, 3, t0.Add(-time.Hour))},
			action: ActionNone, state: "ProvisioningError", message: "no automatic retries left",
		},
		"retry annotation retries at once with a fresh budget": {
			tenant: newTenant("1", current("", "ProvisioningError", "ProvisioningFailed")), cavs: []*v1alpha1.CAPApplicationVersion{ready1},
			ops:            []*v1alpha1.CAPTenantOperation{newOp(3, prov, "cav-1", failed, 3, t0)},
			retryRequested: true,
			action:         ActionStart, operation: prov, version: "cav-1", attempt: 1,
		},
		"failed provisioning toward another version starts over": {
			tenant: newTenant("2", current("", "ProvisioningError", "ProvisioningFailed")), cavs: []*v1alpha1.CAPApplicationVersion{ready1, ready2},
			ops:    []*v1alpha1.CAPTenantOperation{newOp(3, prov, "cav-1", failed, 3, t0)},
			action: ActionStart, operation: prov, version: "cav-2", attempt: 1,
		},
		"failed upgrade keeps the current version and backs off": {
			tenant: newTenant("2", current("cav-1", "Upgrading", "UpgradeOperationCreated")), cavs: []*v1alpha1.CAPApplicationVersion{ready1, ready2},
			ops:    []*v1alpha1.CAPTenantOperation{newOp(2, upg, "cav-2", failed, 1, t0)},
			action: ActionRetryLater, after: 10 * time.Second, state: "UpgradeError", reason: "UpgradeFailed", current: "cav-1", event: "UpgradeFailed",
		},
		"failed upgrade no longer wanted": {
			tenant: newTenant("1", current("cav-1", "UpgradeError", "UpgradeFailed")), cavs: []*v1alpha1.CAPApplicationVersion{ready1, ready2},
			ops:    []*v1alpha1.CAPTenantOperation{newOp(2, upg, "cav-2", failed, 1, t0)},
			action: ActionNone, state: "Ready", reason: ReasonUpgradeCancelled, current: "cav-1",
		},
		"deleted tenant without version goes": {
			tenant: newTenant("1", deleting()), cavs: []*v1alpha1.CAPApplicationVersion{ready1},
			action: ActionRemoveFinalizer,
		},
		"deleted tenant after failed provisioning goes": {
			tenant: newTenant("1", deleting(), current("", "ProvisioningError", "ProvisioningFailed")), cavs: []*v1alpha1.CAPApplicationVersion{ready1},
			ops:    []*v1alpha1.CAPTenantOperation{newOp(1, prov, "cav-1", failed, 1, t0)},
			action: ActionRemoveFinalizer,
		},
		"deleted tenant is deprovisioned from its current version": {
			tenant: newTenant("2", deleting(), current("cav-1", "Ready", "ProvisioningCompleted")), cavs: []*v1alpha1.CAPApplicationVersion{ready1, ready2},
			ops:    []*v1alpha1.CAPTenantOperation{newOp(1, prov, "cav-1", succeeded, 1, t0)},
			action: ActionStart, operation: deprov, version: "cav-1", attempt: 1, current: "cav-1",
		},
		"running provisioning finishes before deprovisioning": {
			tenant: newTenant("1", deleting(), current("", "Provisioning", "ProvisioningOperationCreated")), cavs: []*v1alpha1.CAPApplicationVersion{ready1},
			ops:    []*v1alpha1.CAPTenantOperation{newOp(1, prov, "cav-1", running, 1, t0)},
			action: ActionWait, state: "Provisioning",
		},
		"provisioning completed while deleted is deprovisioned": {
			tenant: newTenant("1", deleting(), current("", "Provisioning", "ProvisioningOperationCreated")), cavs: []*v1alpha1.CAPApplicationVersion{ready1},
			ops:    []*v1alpha1.CAPTenantOperation{newOp(1, prov, "cav-1", succeeded, 1, t0)},
			action: ActionStart, operation: deprov, version: "cav-1", attempt: 1, current: "cav-1", event: "ProvisioningCompleted",
		},
		"completed deprovisioning lets the tenant go": {
			tenant: newTenant("1", deleting(), current("cav-1", "Deleting", "DeprovisioningOperationCreated")), cavs: []*v1alpha1.CAPApplicationVersion{ready1},
			ops:    []*v1alpha1.CAPTenantOperation{newOp(2, deprov, "cav-1", succeeded, 1, t0)},
			action: ActionRemoveFinalizer, current: "cav-1",
		},
		"failed deprovisioning is retried": {
			tenant: newTenant("1", deleting(), current("cav-1", "Deleting", "DeprovisioningOperationCreated")), cavs: []*v1alpha1.CAPApplicationVersion{ready1},
			ops:    []*v1alpha1.CAPTenantOperation{newOp(2, deprov, "cav-1", failed, 1, t0.Add(-time.Minute))},
			action: ActionStart, operation: deprov, version: "cav-1", attempt: 2, current: "cav-1", event: "DeprovisioningFailed",
		},
		"deprovisioning without any version waits": {
			tenant: newTenant("9", deleting(), current("cav-1", "Ready", "ProvisioningCompleted")),
			action: ActionWait, state: "Deleting", reason: "DeprovisioningFailed", current: "cav-1",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			d := Decide(Input{
				Tenant: tc.tenant, Operations: tc.ops, Versions: tc.cavs,
				DomainsReady: !tc.domainsNotReady, RetryRequested: tc.retryRequested,
				Retry: policy, MaxVersionHistory: 10, Now: t0,
			})
			if d.Action != tc.action {
				t.Fatalf("action %s (%s), want %s", d.Action, d.Why, tc.action)
			}
			if d.Operation != tc.operation || d.Attempt != tc.attempt || (d.Version == nil) != (tc.version == "") || (d.Version != nil && d.Version.Name != tc.version) {
				t.Errorf("start %s %v attempt %d, want %s %s attempt %d", d.Operation, d.Version, d.Attempt, tc.operation, tc.version, tc.attempt)
			}
			if d.After != tc.after {
				t.Errorf("after %s, want %s", d.After, tc.after)
			}
			if d.Action == ActionStart && (len(d.Steps) == 0 || d.OperationName != OperationName(tc.tenant.Name, tc.tenant.UID, d.Sequence) || d.Sequence != NextSequence(tc.ops)) {
				t.Errorf("start without steps, name or sequence: %+v", d)
			}
			if tc.state != "" && d.State != tc.state {
				t.Errorf("state %q, want %q", d.State, tc.state)
			}
			if tc.reason != "" && (d.Condition == nil || d.Condition.Reason != tc.reason) {
				t.Errorf("condition %+v, want reason %s", d.Condition, tc.reason)
			}
			if tc.message != "" && (d.Condition == nil || !strings.Contains(d.Condition.Message, tc.message)) {
				t.Errorf("condition %+v, want message containing %q", d.Condition, tc.message)
			}
			if d.Current != tc.current {
				t.Errorf("current %q, want %q", d.Current, tc.current)
			}
			if strings.Join(d.Previous, ",") != strings.Join(tc.previous, ",") {
				t.Errorf("previous %v, want %v", d.Previous, tc.previous)
			}
			gotEvent := ""
			if d.Event != nil {
				gotEvent = d.Event.Reason
			}
			if gotEvent != tc.event {
				t.Errorf("event %q, want %q", gotEvent, tc.event)
			}
		})
	}
}

// noWorkloads removes a version's workloads.
func noWorkloads(cav *v1alpha1.CAPApplicationVersion) *v1alpha1.CAPApplicationVersion {
	cav.Spec.Workloads = nil
	return cav
}
