package webhook

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/capstan-io/capstan/internal/webhook/mutation"
	"github.com/capstan-io/capstan/internal/webhook/validation"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	"github.com/capstan-io/capstan/pkg/client/clientset/versioned/fake"
)

// newTestHandler returns a Handler over a fake API holding objs.
func newTestHandler(objs ...runtime.Object) *Handler {
	client := fake.NewSimpleClientset(objs...)
	return NewHandler(validation.New(client).Validate, mutation.New(client).Mutate, NewMetrics())
}

// reviewJSON is an AdmissionReview for a CAPApplicationVersion with the given object JSON.
func reviewJSON(op, object string) string {
	return `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"uid-7","operation":"` + op +
		`","name":"cav","namespace":"ns","kind":{"group":"sme.sap.com","version":"v1alpha1","kind":"CAPApplicationVersion"},"object":` + object + `}}`
}

// cavJSON is a multi-tenant version of application "app" whose router sets PORT to a number.
const cavJSON = `{"apiVersion":"sme.sap.com/v1alpha1","kind":"CAPApplicationVersion","metadata":{"name":"cav","namespace":"ns"},
"spec":{"capApplicationInstance":"app","version":"1","workloads":[
{"name":"cap","consumedBTPServices":[],"deploymentDefinition":{"type":"CAP","image":"i"}},
{"name":"router","consumedBTPServices":[],"deploymentDefinition":{"type":"Router","image":"i","env":[{"name":"PORT","value":4000}]}}]}}`

func TestHandlerHTTP(t *testing.T) {
	ca := &v1alpha1.CAPApplication{}
	ca.Name, ca.Namespace = "app", "ns"
	tests := map[string]struct {
		existing []runtime.Object
		method   string
		path     string
		body     string
		// expectations
		status   int
		allowed  bool
		message  string // substring of result.message
		patch    string // substring of the decoded patch
		warnings string // substring of the joined warnings
	}{
		"GET":           {method: http.MethodGet, path: "/validate", status: http.StatusMethodNotAllowed},
		"empty body":    {path: "/validate", status: http.StatusBadRequest},
		"not JSON":      {path: "/mutate", body: "{", status: http.StatusBadRequest},
		"no request":    {path: "/validate", body: `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`, status: http.StatusBadRequest},
		"wrong version": {path: "/validate", body: `{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{"uid":"u"}}`, status: http.StatusBadRequest},
		"bad object":    {path: "/validate", body: reviewJSON("CREATE", `{"spec":{"workloads":"x"}}`), status: http.StatusInternalServerError},
		"validate denial": {path: "/validate", body: reviewJSON("CREATE", strings.Replace(cavJSON, `"value":4000`, `"value":"4000"`, 1)), status: http.StatusOK,
			message: `invalidated from webhook CAPApplicationVersion ns/cav: [spec.capApplicationInstance: Not found: "app"`},
		"mutate converts and validates early": {existing: []runtime.Object{ca}, path: "/mutate", body: reviewJSON("CREATE", cavJSON), status: http.StatusOK, allowed: true,
			patch: `{"op":"replace","path":"/spec/workloads/1/deploymentDefinition/env/0/value","value":"4000"}`, warnings: `converted the number 4000 of env variable PORT`},
		"mutate denies early": {path: "/mutate", body: reviewJSON("CREATE", cavJSON), status: http.StatusOK,
			message: `spec.capApplicationInstance: Not found: "app"`, warnings: `converted the number 4000`},
		"mutate update converts only": {path: "/mutate", body: reviewJSON("UPDATE", cavJSON), status: http.StatusOK, allowed: true, patch: `"value":"4000"`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := newTestHandler(tc.existing...)
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			rec := httptest.NewRecorder()
			mux := http.NewServeMux()
			mux.HandleFunc("/validate", h.Validate)
			mux.HandleFunc("/mutate", h.Mutate)
			mux.ServeHTTP(rec, httptest.NewRequest(method, tc.path, strings.NewReader(tc.body)))
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if tc.status != http.StatusOK {
				return
			}
			checkResponse(t, rec.Body.Bytes(), tc.allowed, tc.message, tc.patch, tc.warnings)
		})
	}
}

// checkResponse decodes an AdmissionReview response and checks it.
func checkResponse(t *testing.T, body []byte, allowed bool, message, patch, warnings string) {
	t.Helper()
	review := &admissionv1.AdmissionReview{}
	if err := json.Unmarshal(body, review); err != nil || review.Response == nil {
		t.Fatalf("bad response %s: %v", body, err)
	}
	resp := review.Response
	if resp.UID != "uid-7" || resp.Allowed != allowed {
		t.Fatalf("uid %q allowed %v, want uid-7 and %v: %s", resp.UID, resp.Allowed, allowed, body)
	}
	if message != "" && (resp.Result == nil || !strings.Contains(resp.Result.Message, message)) {
		t.Errorf("message %+v does not contain %q", resp.Result, message)
	}
	if !strings.Contains(string(resp.Patch), patch) || (patch == "" && resp.Patch != nil) {
		t.Errorf("patch %s does not contain %q", resp.Patch, patch)
	}
	if patch != "" && (resp.PatchType == nil || *resp.PatchType != admissionv1.PatchTypeJSONPatch) {
		t.Errorf("patch type %v", resp.PatchType)
	}
	if !strings.Contains(strings.Join(resp.Warnings, "\n"), warnings) {
		t.Errorf("warnings %q do not contain %q", resp.Warnings, warnings)
	}
}

func TestHandlerMetrics(t *testing.T) {
	h := newTestHandler()
	valid := strings.Replace(cavJSON, `"value":4000`, `"value":"4000"`, 1)
	for _, body := range []string{"", reviewJSON("CREATE", valid), reviewJSON("DELETE", "null")} {
		h.Validate(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/validate", strings.NewReader(body)))
	}
	for labels, want := range map[[4]string]float64{
		{"validate", "", "", OutcomeBadRequest}:                         1,
		{"validate", "CAPApplicationVersion", "CREATE", OutcomeDenied}:  1,
		{"validate", "CAPApplicationVersion", "DELETE", OutcomeAllowed}: 1,
		{"validate", "CAPApplicationVersion", "UPDATE", OutcomeAllowed}: 0,
	} {
		m := &dto.Metric{}
		if err := h.metrics.requests.WithLabelValues(labels[:]...).Write(m); err != nil {
			t.Fatal(err)
		}
		if got := m.GetCounter().GetValue(); got != want {
			t.Errorf("requests%v = %v, want %v", labels, got, want)
		}
	}
	families, err := h.metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, fam := range families {
		if fam.GetName() == "cap_op_webhook_request_duration_seconds" && len(fam.GetMetric()) != 3 {
			t.Errorf("latency series = %d, want 3", len(fam.GetMetric()))
		}
	}
}

// FuzzHandler feeds arbitrary bodies to both webhooks: the handler must never panic and must
// answer with a status the API server understands, echoing the uid on 200.
func FuzzHandler(f *testing.F) {
	f.Add([]byte(reviewJSON("CREATE", cavJSON)))
	f.Add([]byte(reviewJSON("UPDATE", `{"spec":{"workloads":[{"jobDefinition":{"initContainers":[{"env":[{"value":1}]}]}}]}}`)))
	f.Add([]byte(strings.Replace(reviewJSON("CREATE", `{"spec":{"domains":{"primary":"a.b"}}}`), "CAPApplicationVersion", "CAPApplication", 1)))
	f.Add([]byte(strings.Replace(reviewJSON("DELETE", `null`), "CAPApplicationVersion", "CAPTenant", 1)))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"x"}}`))
	f.Add([]byte(`[]`))
	h := newTestHandler()
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, serve := range []http.HandlerFunc{h.Validate, h.Mutate} {
			rec := httptest.NewRecorder()
			serve(rec, httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body)))
			switch rec.Code {
			case http.StatusBadRequest, http.StatusInternalServerError:
			case http.StatusOK:
				review := &admissionv1.AdmissionReview{}
				if err := json.Unmarshal(rec.Body.Bytes(), review); err != nil || review.Response == nil || review.Response.UID == "" {
					t.Fatalf("bad 200 response %s: %v", rec.Body, err)
				}
			default:
				t.Fatalf("unexpected status %d", rec.Code)
			}
		}
	})
}
