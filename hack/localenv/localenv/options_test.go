package localenv

import (
	"strings"
	"testing"
)

func TestOptionsDemoDefaultsAndBounds(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    Options
		tenants int
		err     string
	}{
		{name: "default tenants", opts: Options{Dir: "x", Demo: true}, tenants: DefaultDemoTenants},
		{name: "chosen tenants", opts: Options{Dir: "x", Demo: true, DemoTenants: 5}, tenants: 5},
		{name: "demo without sample", opts: Options{Dir: "x", Demo: true, NoSample: true}, err: "needs the sample"},
		{name: "negative tenants", opts: Options{Dir: "x", Demo: true, DemoTenants: -1}, err: "between 1 and"},
		{name: "too many tenants", opts: Options{Dir: "x", Demo: true, DemoTenants: MaxDemoTenants + 1}, err: "between 1 and"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.opts.withDefaults()
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || got.DemoTenants != tc.tenants || got.DemoTimeout != DefaultDemoTimeout {
				t.Errorf("got %d tenants, timeout %v, err %v", got.DemoTenants, got.DemoTimeout, err)
			}
		})
	}
}
