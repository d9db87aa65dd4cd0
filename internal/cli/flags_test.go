package cli

import (
	"strings"
	"testing"
	"time"
)

// TestVar checks that Var registers every supported type with the current value as default
// and its variable as fallback, named in the usage.
func TestVar(t *testing.T) {
	fs := newFlagSet("test")
	s, b, i, i64, f, d := "def", false, 1, int64(2), float32(3), time.Second
	Var(fs, &s, "s", "S", "A string.")
	Var(fs, &b, "b", "B", "A bool.")
	Var(fs, &i, "i", "", "An int without variable.")
	Var(fs, &i64, "i64", "I64", "An int64.")
	Var(fs, &f, "f", "F", "A float32.")
	Var(fs, &d, "d", "D", "A duration.")
	if got := fs.Lookup("s").DefValue; got != "def" {
		t.Errorf("default of --s = %q, want def", got)
	}
	if u := fs.Lookup("d").Usage; !strings.Contains(u, "(env D)") {
		t.Errorf("usage of --d = %q, want the variable named", u)
	}
	if u := fs.Lookup("i").Usage; strings.Contains(u, "env") {
		t.Errorf("usage of --i = %q, want no variable", u)
	}
	if err := fs.Parse([]string{"--s=flag"}); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"S": "env", "B": "true", "I64": "7", "F": "1.5", "D": "2m"}
	if err := fs.applyEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
		t.Fatal(err)
	}
	if s != "flag" || !b || i != 1 || i64 != 7 || f != 1.5 || d != 2*time.Minute {
		t.Errorf("values %q %v %d %d %v %v, want the flag over its variable and the variables elsewhere", s, b, i, i64, f, d)
	}
	bad := newFlagSet("bad")
	Var(bad, &d, "d", "D", "A duration.")
	if err := bad.applyEnv(func(k string) (string, bool) { return "x", k == "D" }); err == nil || !strings.Contains(err.Error(), "D=") {
		t.Errorf("a bad variable gave %v, want an error naming it", err)
	}
}
