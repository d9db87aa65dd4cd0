// Package monitoring tests the alerting rules the chart ships (chart/rules) with promtool.
package monitoring

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/capstan-io/capstan/internal/testenv/tools"
)

// ruleFile is the rules file the chart ships, relative to this directory.
const ruleFile = "../../chart/rules/capstan-alerts.yaml"

// TestAlertRules runs `promtool check rules` and `promtool test rules alerts_test.yaml`.
// hack/install-tools.sh provides promtool (built from the same Prometheus module as the
// test server); the test is skipped only when it cannot be built or installed.
func TestAlertRules(t *testing.T) {
	promtool, err := tools.Path("promtool")
	if err != nil {
		t.Skipf("promtool unavailable: %v", err)
	}
	for _, args := range [][]string{{"check", "rules", ruleFile}, {"test", "rules", "alerts_test.yaml"}} {
		cmd := exec.Command(promtool, args...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("promtool %v: %v\n%s", args, err, out)
		}
	}
}

// ruleGroups is the part of a rules file the coverage check reads.
type ruleGroups struct {
	Groups []struct {
		Rules []struct {
			Alert string `json:"alert"`
		} `json:"rules"`
	} `json:"groups"`
}

// ruleTests is the part of a promtool test file the coverage check reads.
type ruleTests struct {
	Tests []struct {
		AlertRuleTest []struct {
			Alertname string           `json:"alertname"`
			ExpAlerts []map[string]any `json:"exp_alerts"`
		} `json:"alert_rule_test"`
	} `json:"tests"`
}

// TestEveryAlertIsTested checks that every alert of the rules file has a test case where it
// fires and one where it stays silent.
func TestEveryAlertIsTested(t *testing.T) {
	var rules ruleGroups
	var tests ruleTests
	read(t, ruleFile, &rules)
	read(t, "alerts_test.yaml", &tests)
	fires, silent := map[string]bool{}, map[string]bool{}
	for _, tc := range tests.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fires[a.Alertname] = true
			} else {
				silent[a.Alertname] = true
			}
		}
	}
	n := 0
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			n++
			if !fires[r.Alert] || !silent[r.Alert] {
				t.Errorf("alert %s: test where it fires %v, where it stays silent %v; want both in alerts_test.yaml", r.Alert, fires[r.Alert], silent[r.Alert])
			}
		}
	}
	if n == 0 {
		t.Fatalf("no alerts in %s", ruleFile)
	}
}

// read decodes a YAML file.
func read(t *testing.T, path string, into any) {
	t.Helper()
	data, err := os.ReadFile(filepath.FromSlash(path))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, into); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
