package versioncleanup

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/prometheus/common/model"

	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// RuleKind says how a rule's query is built and how its result is read.
type RuleKind string

// Rule kinds: the two metric types of spec.workloads[].deploymentDefinition.monitoring
// .deletionRules.metrics and the free PromQL expression.
const (
	RuleGauge      RuleKind = RuleKind(v1alpha1.MetricTypeGauge)
	RuleCounter    RuleKind = RuleKind(v1alpha1.MetricTypeCounter)
	RuleExpression RuleKind = "Expression"
)

// Rule is one deletion rule of one workload, ready to be sent to Prometheus.
type Rule struct {
	// Workload is the name of the workload the rule belongs to.
	Workload string
	// Kind is Gauge, Counter or Expression.
	Kind RuleKind
	// Name is the metric name of a metric rule; empty for an expression.
	Name string
	// Query is the PromQL query; empty when Invalid is set.
	Query string
	// Threshold is the highest value at which a metric rule passes.
	Threshold float64
	// Invalid explains why the rule cannot be evaluated (it then never passes).
	Invalid string
}

// String names the rule for events and logs.
func (r Rule) String() string {
	if r.Kind == RuleExpression {
		return fmt.Sprintf("workload %q: expression rule", r.Workload)
	}
	return fmt.Sprintf("workload %q: %s rule %q", r.Workload, r.Kind, r.Name)
}

// metricNamePattern is Prometheus' metric name syntax. A metric name goes into the query
// unquoted, so anything else could change the query's meaning.
var metricNamePattern = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)

// durationPattern is the syntax of calculationPeriod (the CRD's pattern, without the empty
// string and "0", which Prometheus rejects as a range).
var durationPattern = regexp.MustCompile(`^(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?$`)

// ServiceJob is the Prometheus job label of a workload's metrics: the name of the Service the
// operator creates for the workload, which is what a ServiceMonitor's targets are labelled with.
func ServiceJob(cavName, workload string) string {
	return cavName + "-" + strings.ToLower(workload) + "-svc"
}

// RulesOf returns the deletion rules of every deployment workload of the version, in workload
// order. Workloads without deletion rules contribute none.
func RulesOf(cav *v1alpha1.CAPApplicationVersion) []Rule {
	var rules []Rule
	for _, w := range cav.Spec.Workloads {
		if w.DeploymentDefinition == nil || w.DeploymentDefinition.Monitoring == nil ||
			w.DeploymentDefinition.Monitoring.DeletionRules == nil {
			continue
		}
		dr := w.DeploymentDefinition.Monitoring.DeletionRules
		if dr.Expression != "" {
			rules = append(rules, Rule{Workload: w.Name, Kind: RuleExpression, Query: dr.Expression})
			continue
		}
		if len(dr.Metrics) == 0 {
			// The CRD requires one of the two; an empty rule set must not read as "no rules".
			rules = append(rules, Rule{Workload: w.Name, Kind: RuleExpression, Invalid: "deletionRules has neither metrics nor an expression"})
			continue
		}
		job := ServiceJob(cav.Name, w.Name)
		for _, m := range dr.Metrics {
			rules = append(rules, metricRule(w.Name, job, cav.Namespace, m))
		}
	}
	return rules
}

// metricRule builds the query of a Gauge (average over the period) or Counter (per-second
// rate over the period) rule, summed over the workload's series.
func metricRule(workload, job, namespace string, m v1alpha1.MetricRule) Rule {
	r := Rule{Workload: workload, Kind: RuleKind(m.Type), Name: m.Name}
	threshold, err := strconv.ParseFloat(m.ThresholdValue, 64)
	switch {
	case !metricNamePattern.MatchString(m.Name):
		r.Invalid = fmt.Sprintf("metric name %q is not a valid Prometheus metric name", m.Name)
		return r
	case m.CalculationPeriod == "" || !durationPattern.MatchString(m.CalculationPeriod):
		r.Invalid = fmt.Sprintf("calculationPeriod %q is not a positive Prometheus duration such as 90m", m.CalculationPeriod)
		return r
	case err != nil || math.IsNaN(threshold):
		r.Invalid = fmt.Sprintf("thresholdValue %q is not a number", m.ThresholdValue)
		return r
	}
	r.Threshold = threshold
	selector := fmt.Sprintf("%s{job=%s,namespace=%s}[%s]", m.Name, strconv.Quote(job), strconv.Quote(namespace), m.CalculationPeriod)
	switch r.Kind {
	case RuleGauge:
		r.Query = "sum(avg_over_time(" + selector + "))"
	case RuleCounter:
		r.Query = "sum(rate(" + selector + "))"
	default:
		r.Invalid = fmt.Sprintf("metric type %q is neither Gauge nor Counter", m.Type)
	}
	return r
}

// Outcome is what one rule's result means for the version.
type Outcome int

// Outcomes of a rule.
const (
	// Passed: the rule allows deletion.
	Passed Outcome = iota
	// NotMet: the rule was evaluated and the workload is still in use.
	NotMet
	// Failed: the rule could not be evaluated; the version is kept and retried later.
	Failed
)

// Decision is the verdict of one rule, with the reason for events.
type Decision struct {
	Outcome Outcome
	// Value is the value read from Prometheus (NaN when there was none).
	Value float64
	// Reason explains a NotMet or Failed outcome.
	Reason string
}

// Decide reads the result of a rule's query. An expression must give a scalar, and only 1
// (true) passes. A metric rule takes the single sample of its summed vector (a scalar is
// accepted too) and passes when it is at or below the threshold. Every other shape, an empty
// result and NaN fail: absence of data is not evidence that a version is idle.
func Decide(r Rule, v model.Value) Decision {
	value, problem := readValue(r.Kind, v)
	if problem != "" {
		return Decision{Outcome: Failed, Value: math.NaN(), Reason: problem}
	}
	if math.IsNaN(value) {
		return Decision{Outcome: Failed, Value: value, Reason: "the query returned NaN"}
	}
	if r.Kind == RuleExpression {
		if value == 1 {
			return Decision{Outcome: Passed, Value: value}
		}
		return Decision{Outcome: NotMet, Value: value, Reason: fmt.Sprintf("the expression evaluated to %s, not 1 (true)", formatValue(value))}
	}
	if value <= r.Threshold {
		return Decision{Outcome: Passed, Value: value}
	}
	return Decision{Outcome: NotMet, Value: value, Reason: fmt.Sprintf("value %s is above the threshold %s", formatValue(value), formatValue(r.Threshold))}
}

// readValue extracts the single number of a query result, or says why there is none.
func readValue(kind RuleKind, v model.Value) (float64, string) {
	switch val := v.(type) {
	case *model.Scalar:
		return float64(val.Value), ""
	case model.Vector:
		if kind == RuleExpression {
			return 0, fmt.Sprintf("the expression returned a vector of %d samples where a scalar is needed (wrap it in scalar())", len(val))
		}
		switch len(val) {
		case 0:
			return 0, "the query returned no data (is the workload scraped with the job and namespace labels of its Service?)"
		case 1:
			return float64(val[0].Value), ""
		}
		return 0, fmt.Sprintf("the query returned %d samples where one is expected", len(val))
	case nil:
		return 0, "the query returned no result"
	}
	return 0, fmt.Sprintf("the query returned a %s where a scalar is needed", v.Type())
}

// formatValue prints a value compactly.
func formatValue(f float64) string {
	return strconv.FormatFloat(f, 'g', -1, 64)
}
