package tenant

import (
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// jobWorkload returns a job workload of the given type.
func jobWorkload(name string, typ v1alpha1.JobType) v1alpha1.WorkloadDetails {
	return v1alpha1.WorkloadDetails{Name: name, JobDefinition: &v1alpha1.JobDetails{Type: typ, CommonDetails: v1alpha1.CommonDetails{Image: name + ":1"}}}
}

// deploymentWorkload returns a deployment workload of the given type.
func deploymentWorkload(name string, typ v1alpha1.DeploymentType) v1alpha1.WorkloadDetails {
	return v1alpha1.WorkloadDetails{Name: name, DeploymentDefinition: &v1alpha1.DeploymentDetails{Type: typ, CommonDetails: v1alpha1.CommonDetails{
		Image: name + ":1", Env: []corev1.EnvVar{{Name: "CDS_ENV", Value: "production"}}, Command: []string{"server"},
	}}}
}

func TestSteps(t *testing.T) {
	ref := func(name string, cont bool) v1alpha1.TenantOperationWorkloadReference {
		return v1alpha1.TenantOperationWorkloadReference{WorkloadName: name, ContinueOnFailure: cont}
	}
	cases := map[string]struct {
		workloads []v1alpha1.WorkloadDetails
		ops       *v1alpha1.TenantOperations
		op        v1alpha1.CAPTenantOperationType
		want      string // name:type:continue, comma separated
		wantErr   bool
	}{
		"first TenantOperation workload": {
			workloads: []v1alpha1.WorkloadDetails{deploymentWorkload("srv", "CAP"), jobWorkload("mtx", "TenantOperation"), jobWorkload("mtx2", "TenantOperation")},
			op:        prov, want: "mtx:TenantOperation:false",
		},
		"CAP workload stands in": {
			workloads: []v1alpha1.WorkloadDetails{deploymentWorkload("router", "Router"), deploymentWorkload("cap-backend", "CAP")},
			op:        prov, want: "cap-backend:TenantOperation:false",
		},
		"neither TenantOperation nor CAP": {
			workloads: []v1alpha1.WorkloadDetails{deploymentWorkload("router", "Router")},
			op:        prov, wantErr: true,
		},
		"empty list for the operation falls back": {
			workloads: []v1alpha1.WorkloadDetails{jobWorkload("mtx", "TenantOperation"), jobWorkload("notify", "CustomTenantOperation")},
			ops:       &v1alpha1.TenantOperations{Upgrade: []v1alpha1.TenantOperationWorkloadReference{ref("notify", true), ref("mtx", false)}},
			op:        prov, want: "mtx:TenantOperation:false",
		},
		"listed order, continueOnFailure only on custom steps": {
			workloads: []v1alpha1.WorkloadDetails{jobWorkload("mtx", "TenantOperation"), jobWorkload("notify", "CustomTenantOperation"), jobWorkload("content", "Content")},
			ops:       &v1alpha1.TenantOperations{Upgrade: []v1alpha1.TenantOperationWorkloadReference{ref("notify", true), ref("mtx", true), ref("content", false), ref("missing", false)}},
			op:        upg, want: "notify:CustomTenantOperation:true,mtx:TenantOperation:false",
		},
		"list without TenantOperation": {
			workloads: []v1alpha1.WorkloadDetails{jobWorkload("mtx", "TenantOperation"), jobWorkload("notify", "CustomTenantOperation")},
			ops:       &v1alpha1.TenantOperations{Deprovisioning: []v1alpha1.TenantOperationWorkloadReference{ref("notify", false)}},
			op:        deprov, wantErr: true,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			cav := &v1alpha1.CAPApplicationVersion{ObjectMeta: metav1.ObjectMeta{Name: "cav"}, Spec: v1alpha1.CAPApplicationVersionSpec{Workloads: tc.workloads, TenantOperations: tc.ops}}
			steps, err := Steps(cav, tc.op)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, wantErr %v", err, tc.wantErr)
			}
			var got []string
			for _, s := range steps {
				got = append(got, s.Name+":"+string(s.Type)+":"+map[bool]string{true: "true", false: "false"}[s.ContinueOnFailure])
			}
			if strings.Join(got, ",") != tc.want {
				t.Errorf("steps %v, want %s", got, tc.want)
			}
		})
	}
}

func TestResolveStep(t *testing.T) {
	cav := &v1alpha1.CAPApplicationVersion{Spec: v1alpha1.CAPApplicationVersionSpec{Workloads: []v1alpha1.WorkloadDetails{
		deploymentWorkload("cap-backend", "CAP"), deploymentWorkload("router", "Router"), jobWorkload("notify", "CustomTenantOperation"),
	}}}
	sj, err := ResolveStep(cav, v1alpha1.CAPTenantOperationStep{Name: "cap-backend", Type: v1alpha1.StepTenantOperation})
	if err != nil || sj.Job != nil || sj.Common.Image != "cap-backend:1" || len(sj.Common.Env) != 1 || sj.Common.Command != nil {
		t.Errorf("CAP stand-in: %+v %v", sj, err)
	}
	if sj, err := ResolveStep(cav, v1alpha1.CAPTenantOperationStep{Name: "notify", Type: v1alpha1.StepCustomTenantOperation}); err != nil || sj.Job == nil {
		t.Errorf("job workload: %+v %v", sj, err)
	}
	for _, bad := range []string{"router", "missing"} {
		if _, err := ResolveStep(cav, v1alpha1.CAPTenantOperationStep{Name: bad, Type: v1alpha1.StepTenantOperation}); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestEnvAndCommand(t *testing.T) {
	ca := func(global, sub string, provider bool) *v1alpha1.CAPApplication {
		c := &v1alpha1.CAPApplication{Spec: v1alpha1.CAPApplicationSpec{BTPAppName: "app", GlobalAccountId: global, ProviderSubaccountId: sub}}
		if provider {
			c.Spec.Provider = &v1alpha1.BTPTenantIdentification{SubDomain: "prov", TenantId: "prov-id"}
		}
		return c
	}
	op := func(typ v1alpha1.CAPTenantOperationType) *v1alpha1.CAPTenantOperation {
		return &v1alpha1.CAPTenantOperation{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{v1alpha1.LabelTenantType: "consumer"}},
			Spec:       v1alpha1.CAPTenantOperationSpec{Operation: typ, BTPTenantIdentification: v1alpha1.BTPTenantIdentification{SubDomain: "sub", TenantId: "tid"}},
		}
	}
	cav := &v1alpha1.CAPApplicationVersion{Spec: v1alpha1.CAPApplicationVersionSpec{Version: "1.2"}}
	cases := map[string]struct {
		in       EnvInput
		command  []string
		wantEnv  string
		wantArgs string
	}{
		"provisioning with payload and global account": {
			in:       EnvInput{CA: ca("ga", "", true), CAV: cav, Operation: op(prov), StepType: v1alpha1.StepTenantOperation, PayloadSecret: "ctx"},
			wantEnv:  "CAPOP_APP_VERSION,CAPOP_TENANT_ID,CAPOP_TENANT_OPERATION,CAPOP_TENANT_SUBDOMAIN,CAPOP_TENANT_TYPE,CAPOP_APP_NAME,CAPOP_GLOBAL_ACCOUNT_ID,CAPOP_PROVIDER_TENANT_ID,CAPOP_PROVIDER_SUBDOMAIN,CAPOP_SUBSCRIPTION_PAYLOAD,CAPOP_TENANT_MTXS_OPERATION",
			wantArgs: "$(CAPOP_TENANT_MTXS_OPERATION) tid --body $(CAPOP_SUBSCRIPTION_PAYLOAD)",
		},
		"provisioning without subscription context": {
			in:       EnvInput{CA: ca("", "sa", false), CAV: cav, Operation: op(prov), StepType: v1alpha1.StepTenantOperation},
			wantEnv:  "CAPOP_APP_VERSION,CAPOP_TENANT_ID,CAPOP_TENANT_OPERATION,CAPOP_TENANT_SUBDOMAIN,CAPOP_TENANT_TYPE,CAPOP_APP_NAME,CAPOP_PROVIDER_SUBACCOUNT_ID,CAPOP_TENANT_MTXS_OPERATION",
			wantArgs: "$(CAPOP_TENANT_MTXS_OPERATION) tid",
		},
		"upgrade ignores the payload": {
			in:       EnvInput{CA: ca("", "sa", false), CAV: cav, Operation: op(upg), StepType: v1alpha1.StepTenantOperation, PayloadSecret: "ctx"},
			wantEnv:  "CAPOP_APP_VERSION,CAPOP_TENANT_ID,CAPOP_TENANT_OPERATION,CAPOP_TENANT_SUBDOMAIN,CAPOP_TENANT_TYPE,CAPOP_APP_NAME,CAPOP_PROVIDER_SUBACCOUNT_ID,CAPOP_TENANT_MTXS_OPERATION",
			wantArgs: "$(CAPOP_TENANT_MTXS_OPERATION) tid",
		},
		"custom step gets no mtxs variables and keeps its command": {
			in:      EnvInput{CA: ca("", "sa", false), CAV: cav, Operation: op(prov), StepType: v1alpha1.StepCustomTenantOperation, PayloadSecret: "ctx"},
			wantEnv: "CAPOP_APP_VERSION,CAPOP_TENANT_ID,CAPOP_TENANT_OPERATION,CAPOP_TENANT_SUBDOMAIN,CAPOP_TENANT_TYPE,CAPOP_APP_NAME,CAPOP_PROVIDER_SUBACCOUNT_ID",
		},
		"TenantOperation with own command keeps it": {
			in:      EnvInput{CA: ca("", "sa", false), CAV: cav, Operation: op(deprov), StepType: v1alpha1.StepTenantOperation},
			command: []string{"own"},
			wantEnv: "CAPOP_APP_VERSION,CAPOP_TENANT_ID,CAPOP_TENANT_OPERATION,CAPOP_TENANT_SUBDOMAIN,CAPOP_TENANT_TYPE,CAPOP_APP_NAME,CAPOP_PROVIDER_SUBACCOUNT_ID,CAPOP_TENANT_MTXS_OPERATION",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			env := Env(tc.in)
			var names []string
			for _, e := range env {
				names = append(names, e.Name)
			}
			if strings.Join(names, ",") != tc.wantEnv {
				t.Errorf("env %v\nwant %s", names, tc.wantEnv)
			}
			if env[4].Value != "consumer" || env[0].Value != "1.2" {
				t.Errorf("tenant type / version: %v", env)
			}
			command, args := Command(tc.in, &v1alpha1.CommonDetails{Command: tc.command})
			if tc.wantArgs == "" {
				if command != nil {
					t.Errorf("command %v, want the workload's", command)
				}
				return
			}
			if !reflect.DeepEqual(command, defaultCommand) || strings.Join(args, " ") != tc.wantArgs {
				t.Errorf("command %v %v, want cds-mtx %s", command, args, tc.wantArgs)
			}
		})
	}
	mtxs := map[v1alpha1.CAPTenantOperationType]string{prov: "subscribe", upg: "upgrade", deprov: "unsubscribe"}
	for op, want := range mtxs {
		if got := MTXSOperation(op); got != want {
			t.Errorf("MTXSOperation(%s) = %s, want %s", op, got, want)
		}
	}
}

func TestNames(t *testing.T) {
	a, b := OperationName("tenant", "uid-1", 1), OperationName("tenant", "uid-1", 2)
	if a == b || a != OperationName("tenant", "uid-1", 1) || OperationName("tenant", "uid-2", 1) == a || !strings.HasPrefix(a, "tenant-") || len(a) != len("tenant-")+5 {
		t.Errorf("operation names %s %s", a, b)
	}
	if long := OperationName(strings.Repeat("x", 260), "u", 1); len(long) != 253 {
		t.Errorf("long operation name has %d characters", len(long))
	}
	steps := []v1alpha1.CAPTenantOperationStep{{Name: "MTX"}, {Name: "notify"}, {Name: "MTX"}}
	cases := map[int]string{0: "op-mtx", 1: "op-notify", 2: "op-mtx-3"}
	for i, want := range cases {
		if got := JobName("op", steps, i); got != want {
			t.Errorf("JobName step %d = %s, want %s", i, got, want)
		}
	}
	if long := JobName(strings.Repeat("a", 70), steps, 0); len(long) > 63 {
		t.Errorf("job name %s longer than 63", long)
	}
}

func TestPushHistory(t *testing.T) {
	cases := map[string]struct {
		history []string
		old     string
		max     int
		want    []string
	}{
		"first version has no history": {nil, "", 10, nil},
		"appends the old version":      {[]string{"a"}, "b", 10, []string{"a", "b"}},
		"drops the oldest beyond max":  {[]string{"a", "b", "c", "d"}, "e", 4, []string{"b", "c", "d", "e"}},
		"never below three":            {[]string{"a", "b", "c"}, "d", 1, []string{"b", "c", "d"}},
	}
	for name, tc := range cases {
		if got := PushHistory(tc.history, tc.old, tc.max); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %v, want %v", name, got, tc.want)
		}
	}
}

func TestRetryDelay(t *testing.T) {
	p := RetryPolicy{InitialDelay: time.Second, MaxDelay: 5 * time.Second}
	for attempt, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 5 * time.Second, 100: 5 * time.Second} {
		if got := p.Delay(attempt); got != want {
			t.Errorf("Delay(%d) = %s, want %s", attempt, got, want)
		}
	}
	if got := (RetryPolicy{InitialDelay: time.Second}).Delay(100); got <= 0 {
		t.Errorf("uncapped delay overflowed: %s", got)
	}
}

func TestPruneAndOrder(t *testing.T) {
	ops := []*v1alpha1.CAPTenantOperation{
		newOp(3, prov, "cav-1", failed, 3, t0), newOp(1, prov, "cav-1", failed, 1, t0),
		newOp(4, prov, "cav-1", running, 4, t0), newOp(2, prov, "cav-1", failed, 2, t0),
	}
	if NextSequence(ops) != 5 {
		t.Errorf("NextSequence = %d", NextSequence(ops))
	}
	sorted := SortOperations(ops)
	if sorted[0].Name != "t-op1" || sorted[3].Name != "t-op4" {
		t.Errorf("order %s..%s", sorted[0].Name, sorted[3].Name)
	}
	names := func(ops []*v1alpha1.CAPTenantOperation) (out []string) {
		for _, o := range ops {
			out = append(out, o.Name)
		}
		return out
	}
	if got := names(Prune(ops, 2)); !reflect.DeepEqual(got, []string{"t-op1"}) {
		t.Errorf("Prune(2) = %v, want [t-op1]", got)
	}
	if got := names(Prune(ops, 0)); !reflect.DeepEqual(got, []string{"t-op2", "t-op1"}) {
		t.Errorf("Prune(0) = %v, keeps the newest finished", got)
	}
	if Attempt(&v1alpha1.CAPTenantOperation{}) != 1 || Sequence(&v1alpha1.CAPTenantOperation{}) != 0 {
		t.Error("defaults of foreign operations")
	}
}
