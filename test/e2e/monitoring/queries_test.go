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
// cell states the family's type.
func checkMetricsDocumented(t *testing.T, api promv1.API, root string) {
	page, err := os.ReadFile(filepath.Join(root, "docs", "monitoring.md"))
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]string{} // metric → the type cell of its row
	for _, line := range strings.Split(string(page), "\n") {
		cells := strings.Split(line, "|")
		if !strings.HasPrefix(line, "|") || len(cells) < 4 {
			continue
		}
		for _, name := range metricNames.FindAllString(cells[1], -1) {
			types[name] = cells[2]
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	metadata, err := api.Metadata(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for name, md := range metadata {
		if !strings.HasPrefix(name, "cap_op_") || len(md) == 0 {
			continue
		}
		n++
		cell, ok := types[name]
		switch {
		case !ok:
			t.Errorf("docs/monitoring.md does not list the %s %s", md[0].Type, name)
		case !strings.Contains(cell, string(md[0].Type)):
			t.Errorf("docs/monitoring.md gives %s the type %q; the binary exports a %s", name, strings.TrimSpace(cell), md[0].Type)
		}
	}
	if n == 0 {
		t.Fatal("Prometheus knows no cap_op_ metric")
	}
}
