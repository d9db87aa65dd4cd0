package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/klog/v2"

	"github.com/capstan-io/capstan/internal/webhook/admission"
)

// maxReviewBytes bounds a request body. An AdmissionReview carries the new and the old object,
// each at most the API server's 3 MiB request limit, plus the envelope.
const maxReviewBytes = 8 << 20

// Webhook names, the values of the metrics' webhook label and the URL paths.
const (
	webhookValidate = "validate"
	webhookMutate   = "mutate"
)

// ReviewFunc reviews one admission request.
type ReviewFunc func(ctx context.Context, req *admissionv1.AdmissionRequest) (admission.Result, error)

// Handler serves /validate and /mutate.
type Handler struct {
	validate ReviewFunc
	mutate   ReviewFunc
	metrics  *Metrics
}

// NewHandler returns a Handler that validates with validate and mutates with mutate.
func NewHandler(validate, mutate ReviewFunc, metrics *Metrics) *Handler {
	return &Handler{validate: validate, mutate: mutate, metrics: metrics}
}

// Validate serves the validating webhook.
func (h *Handler) Validate(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, webhookValidate, h.validate)
}

// Mutate serves the mutating webhook.
func (h *Handler) Mutate(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, webhookMutate, h.mutateThenValidate)
}

// mutateThenValidate mutates a request and, for a new CAPApplicationVersion, also validates
// the mutated object. The API server checks the CRD schema after mutating and before
// validating admission, so an object the schema rejects (a workload whose misspelt
// consumedServices was pruned, leaving consumedBTPServices missing) never reaches the
// validating webhook, and its author would learn about one class of problems per attempt. The
// early validation reports them all at once; the validating webhook checks the final object
// again. Only CREATE is checked early: updates of a version are denied anyway.
func (h *Handler) mutateThenValidate(ctx context.Context, req *admissionv1.AdmissionRequest) (admission.Result, error) {
	res, err := h.mutate(ctx, req)
	if err != nil || len(res.Errors) > 0 {
		return res, err
	}
	if req.Kind.Group != admission.Group || req.Kind.Kind != admission.KindCAPApplicationVersion || req.Operation != admissionv1.Create {
		return res, nil
	}
	mutated := *req
	if res.Object != nil {
		mutated.Object.Raw = res.Object
	}
	early, err := h.validate(ctx, &mutated)
	var decodeErr *admission.DecodeError
	if errors.As(err, &decodeErr) {
		// The object does not decode even after mutation (a wrong type somewhere): leave the
		// report to the schema validation that follows.
		return res, nil
	}
	res.Errors = append(res.Errors, early.Errors...)
	res.Warnings = append(res.Warnings, early.Warnings...)
	return res, err
}

// serve decodes the review, runs review on its request and writes the response. It never
// panics on any input: malformed reviews get HTTP 400, objects that do not decode HTTP 500
// (spec 4), and a panic in a rule is recovered into a denial.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, name string, review ReviewFunc) {
	start := time.Now()
	if r.Method != http.MethodPost {
		http.Error(w, "only POST is allowed", http.StatusMethodNotAllowed)
		h.metrics.observe(name, "", "", OutcomeBadRequest, time.Since(start))
		return
	}
	req, err := decodeReview(http.MaxBytesReader(w, r.Body, maxReviewBytes))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		h.metrics.observe(name, "", "", OutcomeBadRequest, time.Since(start))
		return
	}
	logger := klog.FromContext(r.Context()).WithValues("webhook", name, "uid", req.UID, "kind", req.Kind.Kind,
		"object", klog.KRef(req.Namespace, req.Name), "operation", req.Operation)
	ctx := klog.NewContext(r.Context(), logger)
	res, err := runReview(ctx, review, req)
	var decodeErr *admission.DecodeError
	if errors.As(err, &decodeErr) {
		logger.Error(err, "Cannot decode the object")
		http.Error(w, err.Error(), http.StatusInternalServerError)
		h.metrics.observe(name, req.Kind.Kind, string(req.Operation), OutcomeError, time.Since(start))
		return
	}
	resp, outcome := buildResponse(req, res, err)
	logger.V(2).Info("Reviewed", "outcome", outcome, "warnings", len(resp.Warnings))
	if outcome == OutcomeError {
		logger.Error(err, "Review failed")
	}
	writeJSON(w, &admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: admissionv1.SchemeGroupVersion.String(), Kind: "AdmissionReview"},
		Response: resp,
	})
	h.metrics.observe(name, req.Kind.Kind, string(req.Operation), outcome, time.Since(start))
}

// decodeReview reads an AdmissionReview v1 and returns its request, or an error saying why it
// is unusable.
func decodeReview(body io.Reader) (*admissionv1.AdmissionRequest, error) {
	data, err := io.ReadAll(body)
	if err != nil {
		return nil, fmt.Errorf("reading the request body: %w", err)
	}
	if len(data) == 0 {
		return nil, errors.New("empty request body: an AdmissionReview is expected")
	}
	review := &admissionv1.AdmissionReview{}
	if err := json.Unmarshal(data, review); err != nil {
		return nil, fmt.Errorf("decoding the AdmissionReview: %w", err)
	}
	if review.APIVersion != admissionv1.SchemeGroupVersion.String() || review.Kind != "AdmissionReview" {
		return nil, fmt.Errorf("expected an admission.k8s.io/v1 AdmissionReview, got %q %q", review.APIVersion, review.Kind)
	}
	if review.Request == nil || review.Request.UID == "" {
		return nil, errors.New("the AdmissionReview has no request or no request uid")
	}
	return review.Request, nil
}

// runReview calls review, turning a panic into an error so one bad object cannot take the
// webhook down (the API server would then fail every request of the kind).
func runReview(ctx context.Context, review ReviewFunc, req *admissionv1.AdmissionRequest) (res admission.Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("internal error reviewing the request: %v", p)
		}
	}()
	return review(ctx, req)
}

// buildResponse turns a review outcome into an AdmissionResponse and the metrics outcome.
func buildResponse(req *admissionv1.AdmissionRequest, res admission.Result, err error) (*admissionv1.AdmissionResponse, string) {
	resp := &admissionv1.AdmissionResponse{UID: req.UID, Warnings: res.Warnings}
	name := requestName(req)
	switch {
	case err != nil:
		resp.Result = &metav1.Status{Status: metav1.StatusFailure, Code: http.StatusInternalServerError, Reason: metav1.StatusReasonInternalError,
			Message: fmt.Sprintf("invalidated from webhook %s %s: internal error: %v", req.Kind.Kind, admission.ObjectName(req.Namespace, name), err)}
		return resp, OutcomeError
	case len(res.Errors) > 0:
		code, reason := int32(http.StatusUnprocessableEntity), metav1.StatusReasonInvalid
		if allForbidden(res.Errors) && req.Operation == admissionv1.Delete {
			code, reason = http.StatusForbidden, metav1.StatusReasonForbidden
		}
		resp.Result = &metav1.Status{Status: metav1.StatusFailure, Code: code, Reason: reason,
			Message: admission.DenialMessage(req.Kind.Kind, req.Namespace, name, res.Errors)}
		return resp, OutcomeDenied
	}
	resp.Allowed = true
	if len(res.Patch) > 0 {
		patch, perr := json.Marshal(res.Patch)
		if perr != nil {
			return buildResponse(req, admission.Result{}, fmt.Errorf("encoding the patch: %w", perr))
		}
		pt := admissionv1.PatchTypeJSONPatch
		resp.Patch, resp.PatchType = patch, &pt
	}
	return resp, OutcomeAllowed
}

// requestName is the object's name; for a create with generateName the API server has not
// chosen one yet, so the prefix is shown instead.
func requestName(req *admissionv1.AdmissionRequest) string {
	if req.Name != "" {
		return req.Name
	}
	var meta struct {
		Metadata metav1.ObjectMeta `json:"metadata"`
	}
	if json.Unmarshal(req.Object.Raw, &meta) == nil && meta.Metadata.GenerateName != "" {
		return meta.Metadata.GenerateName + "*"
	}
	return ""
}

// allForbidden reports whether every error is of type Forbidden.
func allForbidden(errs field.ErrorList) bool {
	for _, e := range errs {
		if e.Type != field.ErrorTypeForbidden {
			return false
		}
	}
	return true
}

// writeJSON writes v as the JSON response body.
func writeJSON(w http.ResponseWriter, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(data)
}
