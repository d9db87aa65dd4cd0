package capapplicationversion

import (
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/controller/versionrender"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

func TestRouterDestinations(t *testing.T) {
	tests := map[string]struct {
		// userDestinations is the Router's own destinations value ("" for none).
		userDestinations string
		// ports replace the CAP workload's ports (nil keeps the default 4004).
		ports []v1alpha1.Ports
		want  string
	}{
		"default CAP versionrender.Destination": {
			want: `[{"forwardAuthToken":true,"name":"srv-api","url":"http://cav-cap-app-01-1-cap-backend-svc:4004"}]`,
		},
		"named ports": {
			ports: []v1alpha1.Ports{{Name: "app", Port: 4004, RouterDestinationName: "cap-server-url"}, {Name: "tech", Port: 4005}},
			want:  `[{"forwardAuthToken":true,"name":"cap-server-url","url":"http://cav-cap-app-01-1-cap-backend-svc:4004"}]`,
		},
		"user entry of the same name keeps its fields, gets the url": {
			userDestinations: `[{"name":"srv-api","url":"http://old","timeout":600},{"name":"ext","url":"https://ext.example.com"}]`,
			want:             `[{"name":"srv-api","timeout":600,"url":"http://cav-cap-app-01-1-cap-backend-svc:4004"},{"name":"ext","url":"https://ext.example.com"}]`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			in := walkthrough(t)
			router := findWorkload(t, in.CAV, "app-router")
			if tc.userDestinations != "" {
				router.DeploymentDefinition.Env = append(router.DeploymentDefinition.Env, corev1.EnvVar{Name: "destinations", Value: tc.userDestinations})
			}
			if tc.ports != nil {
				findWorkload(t, in.CAV, "cap-backend").DeploymentDefinition.Ports = tc.ports
			}
			got, err := versionrender.RouterDestinations(in, router)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("destinations\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestRouterDestinationsRejectsBadJSON(t *testing.T) {
	in := walkthrough(t)
	router := findWorkload(t, in.CAV, "app-router")
	router.DeploymentDefinition.Env = append(router.DeploymentDefinition.Env, corev1.EnvVar{Name: "destinations", Value: "{"})
	if _, err := versionrender.RouterDestinations(in, router); err == nil {
		t.Fatal("expected an error for a destinations value that is not JSON")
	}
}

func TestComputeStatus(t *testing.T) {
	tests := map[string]struct {
		outcome    outcome
		wantState  v1alpha1.CAPApplicationVersionState
		wantReady  metav1.ConditionStatus
		wantReason string
		wantJobs   []string
	}{
		"ready":   {outcome: ready([]string{"job"}), wantState: v1alpha1.CAPApplicationVersionStateReady, wantReady: metav1.ConditionTrue, wantReason: ReasonWorkloadsReady, wantJobs: []string{"job"}},
		"waiting": {outcome: waiting(ReasonWaitingForSecrets, "x"), wantState: v1alpha1.CAPApplicationVersionStateProcessing, wantReady: metav1.ConditionFalse, wantReason: ReasonWaitingForSecrets, wantJobs: []string{"old"}},
		"failed":  {outcome: failed(ReasonInvalidEnv, errors.New("bad")), wantState: v1alpha1.CAPApplicationVersionStateError, wantReady: metav1.ConditionFalse, wantReason: ReasonInvalidEnv, wantJobs: []string{"old"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cav := &v1alpha1.CAPApplicationVersion{ObjectMeta: metav1.ObjectMeta{Generation: 4}, Status: v1alpha1.CAPApplicationVersionStatus{FinishedJobs: []string{"old"}}}
			st := computeStatus(cav, tc.outcome)
			c := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionTypeReady)
			if st.State != tc.wantState || c == nil || c.Status != tc.wantReady || c.Reason != tc.wantReason {
				t.Fatalf("state %q condition %+v", st.State, c)
			}
			if st.ObservedGeneration != 4 || c.ObservedGeneration != 4 {
				t.Errorf("observedGeneration %d / %d, want 4", st.ObservedGeneration, c.ObservedGeneration)
			}
			if len(st.FinishedJobs) != len(tc.wantJobs) || st.FinishedJobs[0] != tc.wantJobs[0] {
				t.Errorf("finishedJobs %v, want %v", st.FinishedJobs, tc.wantJobs)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	gr := schema.GroupResource{Resource: "deployments"}
	tests := map[string]struct {
		err       error
		wantState v1alpha1.CAPApplicationVersionState
	}{
		"requeue is transient":        {err: controller.RequeueAfter(1, "cache"), wantState: ""},
		"server error is transient":   {err: apierrors.NewServiceUnavailable("busy"), wantState: ""},
		"conflict is transient":       {err: apierrors.NewConflict(gr, "d", errors.New("x")), wantState: ""},
		"invalid object is an error":  {err: apierrors.NewInvalid(schema.GroupKind{Kind: "Deployment"}, "d", nil), wantState: v1alpha1.CAPApplicationVersionStateError},
		"ownership clash is an error": {err: errors.New("exists and is not controlled by"), wantState: v1alpha1.CAPApplicationVersionStateError},
	}
	for name, tc := range tests {
		if got := classify(ReasonDeploymentError, tc.err); got.state != tc.wantState {
			t.Errorf("%s: state %q, want %q", name, got.state, tc.wantState)
		}
	}
}

func TestContentJobsOrder(t *testing.T) {
	in := walkthrough(t)
	extra := *findWorkload(t, in.CAV, "service-content")
	extra.Name = "UI-Content"
	in.CAV.Spec.Workloads = append(in.CAV.Spec.Workloads, extra)
	in.CAV.Spec.ContentJobs = []string{"UI-Content", "service-content"}
	_, names := versionrender.ContentJobs(in.CAV)
	want := []string{"cav-cap-app-01-1-ui-content", "cav-cap-app-01-1-service-content"}
	if len(names) != 2 || names[0] != want[0] || names[1] != want[1] {
		t.Fatalf("content job names %v, want %v", names, want)
	}
}
