package promserver

import (
	"strings"
	"testing"
	"time"
)

func TestPrometheusConfig(t *testing.T) {
	got, err := Config(Options{ScrapeInterval: 1500 * time.Millisecond, Targets: []Target{
		{URL: "http://127.0.0.1:8080/metrics", Job: "cav-1-backend-svc", Namespace: "demo"},
		{URL: "https://127.0.0.1:8443", Job: "cav-1-router-svc", Namespace: "demo"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := `global:
  evaluation_interval: 1500ms
  scrape_interval: 1500ms
  scrape_timeout: 1500ms
scrape_configs:
- job_name: target-0
  metrics_path: /metrics
  relabel_configs:
  - replacement: cav-1-backend-svc
    target_label: job
  - replacement: demo
    target_label: namespace
  scheme: http
  static_configs:
  - targets:
    - 127.0.0.1:8080
- job_name: target-1
  metrics_path: /metrics
  relabel_configs:
  - replacement: cav-1-router-svc
    target_label: job
  - replacement: demo
    target_label: namespace
  scheme: https
  static_configs:
  - targets:
    - 127.0.0.1:8443
`
	if string(got) != want {
		t.Errorf("config:\n%s\nwant:\n%s", got, want)
	}
}

func TestPrometheusConfigRefusesBadTargets(t *testing.T) {
	for name, target := range map[string]Target{
		"not a URL":     {URL: "127.0.0.1:8080", Job: "j", Namespace: "n"},
		"no job":        {URL: "http://127.0.0.1:8080/metrics", Namespace: "n"},
		"no namespace":  {URL: "http://127.0.0.1:8080/metrics", Job: "j"},
		"other schemes": {URL: "file:///metrics", Job: "j", Namespace: "n"},
	} {
		if _, err := Config(Options{ScrapeInterval: time.Second, Targets: []Target{target}}); err == nil ||
			!strings.Contains(err.Error(), "target 0") {
			t.Errorf("%s: error %v, want one naming the target", name, err)
		}
	}
}
