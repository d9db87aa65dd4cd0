package versioncleanup

import (
	"math"
	"strings"
	"testing"

	"github.com/prometheus/common/model"

	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

func TestRulesOf(t *testing.T) {
	cases := map[string]struct {
		// version setup
		opts []cavOption
		// expectations: one entry per rule, the query or "invalid: <part of the reason>"
		want []string
	}{
		"no deletion rules": {},
		"gauge rule averages over the period": {
			opts: []cavOption{withRules("Backend", metricRules(gauge("current_sessions", "90m", "0")))},
			want: []string{`sum(avg_over_time(current_sessions{job="cav-1.0.0-backend-svc",namespace="demo"}[90m]))`},
		},
		"counter rule takes the rate over the period": {
			opts: []cavOption{withRules("backend", metricRules(counter("total_http_requests", "2h", "0.00005")))},
			want: []string{`sum(rate(total_http_requests{job="cav-1.0.0-backend-svc",namespace="demo"}[2h]))`},
		},
		"expression is used as written": {
			opts: []cavOption{withRules("backend", expression(`scalar(sum(up)) <= bool 5`))},
			want: []string{`scalar(sum(up)) <= bool 5`},
		},
		"rules of several workloads in workload order": {
			opts: []cavOption{
				withRules("backend", metricRules(gauge("a", "1m", "1"), counter("b", "1m", "2"))),
				withRules("worker", expression("vector(1)")),
			},
			want: []string{
				`sum(avg_over_time(a{job="cav-1.0.0-backend-svc",namespace="demo"}[1m]))`,
				`sum(rate(b{job="cav-1.0.0-backend-svc",namespace="demo"}[1m]))`,
				`vector(1)`,
			},
		},
		"metric name that would change the query is refused": {
			opts: []cavOption{withRules("backend", metricRules(gauge(`x{}) or vector(0) #`, "1m", "0")))},
			want: []string{"invalid: not a valid Prometheus metric name"},
		},
		"calculation period that is not a duration is refused": {
			opts: []cavOption{withRules("backend", metricRules(gauge("x", "1m])) or vector(0", "0")))},
			want: []string{"invalid: calculationPeriod"},
		},
		"zero calculation period is refused": {
			opts: []cavOption{withRules("backend", metricRules(gauge("x", "0", "0")))},
			want: []string{"invalid: calculationPeriod"},
		},
		"threshold that is not a number is refused": {
			opts: []cavOption{withRules("backend", metricRules(gauge("x", "1m", "low")))},
			want: []string{"invalid: thresholdValue"},
		},
		"unknown metric type is refused": {
			opts: []cavOption{withRules("backend", metricRules(v1alpha1.MetricRule{Name: "x", Type: "Summary", CalculationPeriod: "1m", ThresholdValue: "0"}))},
			want: []string{"invalid: neither Gauge nor Counter"},
		},
		"empty rules are not mistaken for no rules": {
			opts: []cavOption{withRules("backend", v1alpha1.DeletionRules{})},
			want: []string{"invalid: neither metrics nor an expression"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			rules := RulesOf(newCAV("1.0.0", true, tc.opts...))
			if len(rules) != len(tc.want) {
				t.Fatalf("got %d rules %+v, want %d", len(rules), rules, len(tc.want))
			}
			for i, r := range rules {
				if reason, ok := strings.CutPrefix(tc.want[i], "invalid: "); ok {
					if r.Query != "" || !strings.Contains(r.Invalid, reason) {
						t.Errorf("rule %d: got query %q, invalid %q; want invalid containing %q", i, r.Query, r.Invalid, reason)
					}
					continue
				}
				if r.Invalid != "" || r.Query != tc.want[i] {
					t.Errorf("rule %d: got query %q (invalid %q), want %q", i, r.Query, r.Invalid, tc.want[i])
				}
			}
		})
	}
}

func TestDecide(t *testing.T) {
	expr := Rule{Kind: RuleExpression}
	gaugeRule := Rule{Kind: RuleGauge, Threshold: 5}
	counterRule := Rule{Kind: RuleCounter, Threshold: 0.5}
	vector := func(values ...float64) model.Vector {
		v := model.Vector{}
		for _, f := range values {
			v = append(v, &model.Sample{Value: model.SampleValue(f)})
		}
		return v
	}
	cases := map[string]struct {
		rule    Rule
		value   model.Value
		outcome Outcome
		reason  string
	}{
		"expression true passes":             {rule: expr, value: &model.Scalar{Value: 1}, outcome: Passed},
		"expression false is not met":        {rule: expr, value: &model.Scalar{Value: 0}, outcome: NotMet, reason: "evaluated to 0, not 1"},
		"expression other number is not met": {rule: expr, value: &model.Scalar{Value: 2}, outcome: NotMet, reason: "evaluated to 2"},
		"expression vector fails":            {rule: expr, value: vector(1), outcome: Failed, reason: "vector of 1 samples where a scalar is needed"},
		"expression empty vector fails":      {rule: expr, value: vector(), outcome: Failed, reason: "where a scalar is needed"},
		"expression NaN fails":               {rule: expr, value: &model.Scalar{Value: model.SampleValue(math.NaN())}, outcome: Failed, reason: "NaN"},
		"expression string fails":            {rule: expr, value: &model.String{Value: "1"}, outcome: Failed, reason: "string where a scalar is needed"},
		"no result fails":                    {rule: expr, value: nil, outcome: Failed, reason: "no result"},
		"gauge below threshold passes":       {rule: gaugeRule, value: vector(4.9), outcome: Passed},
		"gauge at threshold passes":          {rule: gaugeRule, value: vector(5), outcome: Passed},
		"gauge above threshold is not met":   {rule: gaugeRule, value: vector(5.1), outcome: NotMet, reason: "value 5.1 is above the threshold 5"},
		"gauge scalar result is read":        {rule: gaugeRule, value: &model.Scalar{Value: 1}, outcome: Passed},
		"gauge empty result fails":           {rule: gaugeRule, value: vector(), outcome: Failed, reason: "no data"},
		"gauge NaN fails":                    {rule: gaugeRule, value: vector(math.NaN()), outcome: Failed, reason: "NaN"},
		"gauge several samples fail":         {rule: gaugeRule, value: vector(0, 0), outcome: Failed, reason: "2 samples where one is expected"},
		"gauge matrix fails":                 {rule: gaugeRule, value: model.Matrix{}, outcome: Failed, reason: "matrix"},
		"counter rate below passes":          {rule: counterRule, value: vector(0), outcome: Passed},
		"counter rate above is not met":      {rule: counterRule, value: vector(3), outcome: NotMet, reason: "above the threshold 0.5"},
		"counter +Inf is not met":            {rule: counterRule, value: vector(math.Inf(1)), outcome: NotMet, reason: "+Inf"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			d := Decide(tc.rule, tc.value)
			if d.Outcome != tc.outcome {
				t.Fatalf("outcome %v (%s), want %v", d.Outcome, d.Reason, tc.outcome)
			}
			if tc.reason == "" && d.Reason != "" || !strings.Contains(d.Reason, tc.reason) {
				t.Errorf("reason %q, want it to contain %q", d.Reason, tc.reason)
			}
		})
	}
}
