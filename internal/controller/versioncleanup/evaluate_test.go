package versioncleanup

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
)

// Queries of the rules used below, as RulesOf builds them for version 1.0.0.
const (
	sessionsQuery = `sum(avg_over_time(current_sessions{job="cav-1.0.0-backend-svc",namespace="demo"}[90m]))`
	requestsQuery = `sum(rate(total_http_requests{job="cav-1.0.0-backend-svc",namespace="demo"}[2h]))`
	idleExpr      = `scalar(sum(avg_over_time(current_sessions{job="cav-1.0.0-backend-svc",namespace="demo"}[2h]))) <= bool 5`
)

func TestEvaluate(t *testing.T) {
	metricRulesOpt := withRules("backend", metricRules(gauge("current_sessions", "90m", "0"), counter("total_http_requests", "2h", "0.00005")))
	exprOpt := withRules("backend", expression(idleExpr))
	cases := map[string]struct {
		// version and Prometheus setup
		opts      []cavOption
		answers   map[string]string
		status    int  // HTTP status of every answer; 0 means 200
		noProm    bool // no Prometheus configured
		closedURL bool // Prometheus configured but not listening
		// expectations
		result  Result
		rule    string // part of the deciding rule's description
		reason  string // part of the reason
		queries []string
	}{
		"no rules: eligible without asking Prometheus": {
			result: ResultEligible,
		},
		"no rules and no Prometheus: eligible": {
			noProm: true, result: ResultEligible,
		},
		"idle gauge and counter: eligible": {
			opts:    []cavOption{metricRulesOpt},
			answers: map[string]string{sessionsQuery: vectorJSON("0"), requestsQuery: vectorJSON("0.00001")},
			result:  ResultEligible, queries: []string{sessionsQuery, requestsQuery},
		},
		"busy gauge: in use, counter not asked": {
			opts:    []cavOption{metricRulesOpt},
			answers: map[string]string{sessionsQuery: vectorJSON("3"), requestsQuery: vectorJSON("0")},
			result:  ResultInUse, rule: `Gauge rule "current_sessions"`, reason: "value 3 is above the threshold 0",
			queries: []string{sessionsQuery},
		},
		"busy counter: in use": {
			opts:    []cavOption{metricRulesOpt},
			answers: map[string]string{sessionsQuery: vectorJSON("0"), requestsQuery: vectorJSON("1.5")},
			result:  ResultInUse, rule: `Counter rule "total_http_requests"`, reason: "value 1.5 is above the threshold 5e-05",
			queries: []string{sessionsQuery, requestsQuery},
		},
		"expression true: eligible": {
			opts: []cavOption{exprOpt}, answers: map[string]string{idleExpr: scalarJSON("1")},
			result: ResultEligible, queries: []string{idleExpr},
		},
		"expression false: in use": {
			opts: []cavOption{exprOpt}, answers: map[string]string{idleExpr: scalarJSON("0")},
			result: ResultInUse, rule: "expression rule", reason: "evaluated to 0",
		},
		"expression returning a vector: failed": {
			opts: []cavOption{exprOpt}, answers: map[string]string{idleExpr: vectorJSON("1")},
			result: ResultFailed, rule: `workload "backend": expression rule`, reason: "vector of 1 samples where a scalar is needed",
		},
		"expression returning a string: failed": {
			opts: []cavOption{exprOpt}, answers: map[string]string{idleExpr: stringJSON("1")},
			result: ResultFailed, reason: `unexpected value type "string"`,
		},
		"expression returning a matrix: failed": {
			opts: []cavOption{exprOpt}, answers: map[string]string{idleExpr: matrixJSON()},
			result: ResultFailed, reason: "matrix where a scalar is needed",
		},
		"NaN: failed": {
			opts: []cavOption{exprOpt}, answers: map[string]string{idleExpr: scalarJSON("NaN")},
			result: ResultFailed, reason: "NaN",
		},
		"empty metric result: failed": {
			opts:    []cavOption{metricRulesOpt},
			answers: map[string]string{sessionsQuery: vectorJSON(), requestsQuery: vectorJSON("0")},
			result:  ResultFailed, rule: "current_sessions", reason: "no data",
		},
		"Prometheus error: failed with its message": {
			opts: []cavOption{exprOpt}, answers: map[string]string{idleExpr: scalarJSON("1")}, status: http.StatusServiceUnavailable,
			result: ResultFailed, reason: "server error: 503 (storage is unavailable)",
		},
		"query Prometheus rejects: failed with its message": {
			opts: []cavOption{withRules("backend", expression("sum(("))}, answers: map[string]string{},
			result: ResultFailed, reason: "bad_data: parse error in query sum((",
		},
		"slow Prometheus: failed after the timeout": {
			opts: []cavOption{exprOpt}, answers: map[string]string{idleExpr: hang},
			result: ResultFailed, reason: "did not answer within 300ms",
		},
		"Prometheus not listening: failed": {
			opts: []cavOption{exprOpt}, closedURL: true,
			result: ResultFailed, reason: "connection refused",
		},
		"no Prometheus configured: rules fail": {
			opts: []cavOption{exprOpt}, noProm: true,
			result: ResultFailed, reason: "no Prometheus",
		},
		"invalid rule fails without a query": {
			opts:   []cavOption{withRules("backend", metricRules(gauge("bad name", "1m", "0")))},
			result: ResultFailed, reason: "invalid rule: metric name", queries: []string{},
		},
		"rules of every workload must pass": {
			opts:    []cavOption{withRules("backend", metricRules(gauge("current_sessions", "90m", "0"))), withRules("worker", expression("scalar(vector(0))"))},
			answers: map[string]string{sessionsQuery: vectorJSON("0"), "scalar(vector(0))": scalarJSON("0")},
			result:  ResultInUse, rule: `workload "worker"`,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			prom := newFakePrometheus(t, tc.answers)
			if tc.status != 0 {
				prom.setStatus(tc.status)
			}
			e := &Evaluator{Timeout: 300 * time.Millisecond, Now: time.Now}
			switch {
			case tc.noProm:
				e.Unavailable = "no Prometheus is configured"
			case tc.closedURL:
				prom.Close()
				e.Prometheus = newAPI(t, prom.URL)
			default:
				e.Prometheus = newAPI(t, prom.URL)
			}
			v := e.Evaluate(context.Background(), newCAV("1.0.0", true, tc.opts...))
			if v.Result != tc.result {
				t.Fatalf("result %s (%s), want %s", v.Result, v.Message(), tc.result)
			}
			if !strings.Contains(v.Rule.String(), tc.rule) || !strings.Contains(v.Reason, tc.reason) {
				t.Errorf("message %q, want rule %q and reason %q", v.Message(), tc.rule, tc.reason)
			}
			if tc.queries != nil && strings.Join(prom.asked(), "\n") != strings.Join(tc.queries, "\n") {
				t.Errorf("queries %q, want %q", prom.asked(), tc.queries)
			}
			if tc.closedURL || tc.noProm || len(tc.opts) == 0 {
				if q := prom.asked(); len(q) != 0 {
					t.Errorf("queries %q sent, want none", q)
				}
			}
		})
	}
}

// newAPI returns a Prometheus API client for address.
func newAPI(t *testing.T, address string) promv1.API {
	t.Helper()
	client, err := api.NewClient(api.Config{Address: address})
	if err != nil {
		t.Fatal(err)
	}
	return promv1.NewAPI(client)
}
