package versioncleanup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// Result is the outcome of evaluating a version's deletion rules.
type Result string

// Results of an evaluation; they are also the values of the result label of
// cap_op_version_cleanup_evaluations_total.
const (
	// ResultEligible: every rule passed (or there were none); the version may be deleted.
	ResultEligible Result = "eligible"
	// ResultInUse: a rule was evaluated and says the version is still in use.
	ResultInUse Result = "in_use"
	// ResultFailed: a rule could not be evaluated (no Prometheus, query error or timeout,
	// unusable result); the version is kept and evaluated again on the next interval.
	ResultFailed Result = "failed"
)

// Verdict is the outcome of evaluating a version's deletion rules.
type Verdict struct {
	Result Result
	// Rule is the rule that decided a ResultInUse or ResultFailed verdict.
	Rule Rule
	// Reason explains a ResultInUse or ResultFailed verdict.
	Reason string
}

// Message describes the verdict for events and logs.
func (v Verdict) Message() string {
	if v.Result == ResultEligible {
		return "every deletion rule passed"
	}
	return v.Rule.String() + ": " + v.Reason
}

// Querier is the part of the Prometheus HTTP API the evaluator uses.
type Querier interface {
	Query(ctx context.Context, query string, ts time.Time, opts ...promv1.Option) (model.Value, promv1.Warnings, promv1.Infos, error)
}

// Evaluator evaluates the deletion rules of versions against Prometheus.
type Evaluator struct {
	// Prometheus answers the queries; nil when no Prometheus is configured or reachable,
	// which fails every rule with Unavailable as the reason.
	Prometheus Querier
	// Unavailable says why Prometheus is nil.
	Unavailable string
	// Timeout bounds each query.
	Timeout time.Duration
	// Now is the evaluation time of the queries.
	Now func() time.Time
}

// Evaluate checks the version's rules in order and stops at the first one that does not
// pass. A version without rules is eligible without asking Prometheus.
func (e *Evaluator) Evaluate(ctx context.Context, cav *v1alpha1.CAPApplicationVersion) Verdict {
	for _, r := range RulesOf(cav) {
		d := e.evaluateRule(ctx, r)
		switch d.Outcome {
		case NotMet:
			return Verdict{Result: ResultInUse, Rule: r, Reason: d.Reason}
		case Failed:
			return Verdict{Result: ResultFailed, Rule: r, Reason: d.Reason}
		}
	}
	return Verdict{Result: ResultEligible}
}

// evaluateRule runs one rule's query and decides on its result.
func (e *Evaluator) evaluateRule(ctx context.Context, r Rule) Decision {
	switch {
	case r.Invalid != "":
		return Decision{Outcome: Failed, Reason: "invalid rule: " + r.Invalid}
	case e.Prometheus == nil:
		return Decision{Outcome: Failed, Reason: e.Unavailable}
	}
	qctx, cancel := context.WithTimeout(ctx, e.Timeout)
	defer cancel()
	v, _, _, err := e.Prometheus.Query(qctx, r.Query, e.Now(), promv1.WithTimeout(e.Timeout))
	if err != nil {
		return Decision{Outcome: Failed, Reason: describeQueryError(qctx, r.Query, e.Timeout, err)}
	}
	return Decide(r, v)
}

// describeQueryError explains a failed query, naming a timeout as such.
func describeQueryError(qctx context.Context, query string, timeout time.Duration, err error) string {
	if errors.Is(qctx.Err(), context.DeadlineExceeded) {
		return fmt.Sprintf("query %q: Prometheus did not answer within %s", query, timeout)
	}
	msg := err.Error()
	var apiErr *promv1.Error
	if errors.As(err, &apiErr) && apiErr.Detail != "" {
		// Errors other than 400 and 422 keep Prometheus' explanation in the body.
		msg += " (" + detailOf(apiErr.Detail) + ")"
	}
	return fmt.Sprintf("query %q failed: %s", query, msg)
}

// maxDetail bounds the part of an error body quoted in events.
const maxDetail = 200

// detailOf returns the error message of a Prometheus error body, or the body itself,
// shortened.
func detailOf(body string) string {
	var parsed struct {
		Error string `json:"error"`
	}
	if json.Unmarshal([]byte(body), &parsed) == nil && parsed.Error != "" {
		body = parsed.Error
	}
	body = strings.TrimSpace(body)
	if len(body) > maxDetail {
		body = strings.ToValidUTF8(body[:maxDetail], "") + "..."
	}
	return body
}
