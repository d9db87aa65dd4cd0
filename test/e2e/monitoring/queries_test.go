package monitoring

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"sigs.k8s.io/yaml"
)

// query is one PromQL expression to evaluate, with where it comes from.
type query struct {
	source, expr string
}

// dashboard is the part of a Grafana dashboard the test reads: panels (nested in rows or
// not) and their targets.
type dashboard struct {
	Panels []panel `json:"panels"`
}

type panel struct {
	Title   string  `json:"title"`
	Panels  []panel `json:"panels"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

// grafanaVariables replaces the dashboard's variables with values a plain Prometheus
// accepts: all namespaces and applications, and a rate window over several scrapes.
var grafanaVariables = strings.NewReplacer("$namespace", ".*", "$application", ".*", "$__rate_interval", "1m")

// dashboardQueries returns every target expression of the dashboard JSON.
func dashboardQueries(root string) ([]query, error) {
	data, err := os.ReadFile(filepath.Join(root, "chart", "dashboards", "capstan.json"))
	if err != nil {
		return nil, err
	}
	var d dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	var out []query
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			for i, target := range p.Targets {
				out = append(out, query{source: fmt.Sprintf("panel %q target %d", p.Title, i), expr: grafanaVariables.Replace(target.Expr)})
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out, nil
}

// rules is the part of a rules file the test reads.
type rules struct {
	Groups []struct {
		Rules []struct {
			Alert string `json:"alert"`
			Expr  string `json:"expr"`
		} `json:"rules"`
	} `json:"groups"`
}

// threshold matches the trailing comparison of an alert expression, for example "> 0" or
// "< 14 * 86400".
var threshold = regexp.MustCompile(`\s*(==|!=|>=|<=|>|<)\s*[0-9.]+(\s*\*\s*[0-9.]+)*\s*$`)

// alertQueries returns every alert expression of the rules file without its threshold
// comparison; it fails for an expression that is not `<query> <comparison> <number>`.
func alertQueries(root string) ([]query, error) {
	data, err := os.ReadFile(filepath.Join(root, "chart", "rules", "capstan-alerts.yaml"))
	if err != nil {
		return nil, err
	}
	var r rules
	if err := yaml.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	var out []query
	for _, g := range r.Groups {
		for _, rule := range g.Rules {
			expr := strings.TrimSpace(rule.Expr)
			loc := threshold.FindStringIndex(expr)
			if loc == nil {
				return nil, fmt.Errorf("alert %s: expression %q does not end in a comparison with a number", rule.Alert, expr)
			}
			out = append(out, query{source: "alert " + rule.Alert, expr: expr[:loc[0]]})
		}
	}
	return out, nil
}

// metricNames matches the names of the operator's metrics in an expression or a page.
var metricNames = regexp.MustCompile(`cap_op_[a-z0-9_]+`)

// checkMetricsDocumented checks that docs/monitoring.md lists every cap_op_ metric family
// the binaries exported during the scenario in the first cell of a table row whose second
// cell states the family's type and whose third names each of its labels in backquotes.
func checkMetricsDocumented(t *testing.T, api promv1.API, root string, start time.Time) {
	page, err := os.ReadFile(filepath.Join(root, "docs", "monitoring.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string][]string{} // metric → the cells of its row
	for _, line := range strings.Split(string(page), "\n") {
		cells := strings.Split(line, "|")
		if !strings.HasPrefix(line, "|") || len(cells) < 5 {
			continue
		}
		for _, name := range metricNames.FindAllString(cells[1], -1) {
			rows[name] = cells
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	metadata, err := api.Metadata(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	labels, err := familyLabels(ctx, api, metadata, start)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for name, md := range metadata {
		if !strings.HasPrefix(name, "cap_op_") || len(md) == 0 {
			continue
		}
		n++
		cells, ok := rows[name]
		if !ok {
			t.Errorf("docs/monitoring.md does not list the %s %s", md[0].Type, name)
			continue
		}
		if !strings.Contains(cells[2], string(md[0].Type)) {
			t.Errorf("docs/monitoring.md gives %s the type %q; the binary exports a %s", name, strings.TrimSpace(cells[2]), md[0].Type)
		}
		for label := range labels[name] {
			if !strings.Contains(cells[3], "`"+label+"`") {
				t.Errorf("docs/monitoring.md does not name the label %s of %s", label, name)
			}
		}
	}
	if n == 0 {
		t.Fatal("Prometheus knows no cap_op_ metric")
	}
}

// familyLabels returns the label names of every cap_op_ metric family's series since start,
// without those Prometheus adds (job, instance, and the target's namespace, which renames a
// metric's own namespace label to exported_namespace) and a histogram's le.
func familyLabels(ctx context.Context, api promv1.API, metadata map[string][]promv1.Metadata, start time.Time) (map[string]map[string]bool, error) {
	series, _, _, err := api.Series(ctx, []string{`{__name__=~"cap_op_.+"}`}, start, time.Now())
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]bool{}
	for _, set := range series {
		family := string(set[model.MetricNameLabel])
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if _, ok := metadata[family]; !ok {
				family = strings.TrimSuffix(family, suffix)
			}
		}
		if out[family] == nil {
			out[family] = map[string]bool{}
		}
		for label := range set {
			switch label {
			case model.MetricNameLabel, model.JobLabel, model.InstanceLabel, model.BucketLabel, "namespace":
			case "exported_namespace":
				out[family]["namespace"] = true
			default:
				out[family][string(label)] = true
			}
		}
	}
	return out, nil
}
