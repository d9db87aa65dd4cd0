package main

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// TestTroubleshootingCoversEveryReason fails when docs/troubleshooting.md does not explain a
// condition or event reason the operator can set, or explains one the code no longer sets. A
// reason counts as covered when it appears in backquotes at the start of a table row.
func TestTroubleshootingCoversEveryReason(t *testing.T) {
	root := filepath.Join("..", "..")
	reasons, err := collectReasons(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(reasons) < 20 {
		t.Fatalf("found only %d reasons; the extraction is broken", len(reasons))
	}
	page, err := os.ReadFile(filepath.Join(root, "docs", "troubleshooting.md"))
	if err != nil {
		t.Fatal(err)
	}
	documented := documentedReasons(string(page))
	var missing []string
	for reason, where := range reasons {
		if !documented[reason] {
			missing = append(missing, reason+" (set in "+where[0]+")")
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("docs/troubleshooting.md does not explain reason %s", m)
	}
	var stale []string
	for reason := range documented {
		if _, ok := reasons[reason]; !ok {
			stale = append(stale, reason)
		}
	}
	sort.Strings(stale)
	for _, r := range stale {
		t.Errorf("docs/troubleshooting.md explains reason %s, which the code no longer sets", r)
	}
}

// TestCollectReasonsFindsEveryForm checks the extraction on a sample of every form.
func TestCollectReasonsFindsEveryForm(t *testing.T) {
	reasons, err := collectReasons(filepath.Join("testdata", "src"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for r := range reasons {
		got = append(got, r)
	}
	sort.Strings(got)
	want := []string{
		"AssignedReason",     // assignment to a variable named reason
		"EventfLiteral",      // literal reason argument of Eventf
		"ExportedConstant",   // constant named Reason*
		"KeyedFieldReason",   // keyed reason field
		"ParamLiteral",       // literal passed as a parameter named *reason*
		"SecondRowReason",    // positional field of a table row with an implied type
		"TableRowReason",     // positional field of a table row with an implied type
		"UnexportedConstant", // constant named reason*
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("reasons:\n got %v\nwant %v", got, want)
	}
}

// reasonMention matches a reason in backquotes at the start of a table row.
var reasonMention = regexp.MustCompile("(?m)^\\|\\s*`([A-Za-z][A-Za-z0-9]*)`")

// documentedReasons returns the reasons the page explains.
func documentedReasons(page string) map[string]bool {
	out := map[string]bool{}
	for _, m := range reasonMention.FindAllStringSubmatch(page, -1) {
		out[m[1]] = true
	}
	return out
}
