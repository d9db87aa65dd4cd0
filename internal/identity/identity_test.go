package identity

import (
	"fmt"
	"strings"
	"testing"
)

func TestHashes(t *testing.T) {
	tests := map[string]struct {
		got, want string
	}{
		// Digests of the concatenated inputs, computed independently with sha1sum/sha256sum.
		"sha1 of concatenation": {got: SHA1("ns", "name"), want: SHA1("nsname")},
		"sha1 known value":      {got: SHA1("abc"), want: "a9993e364706816aba3e25717850c26c9cd0d89d"},
		"sha256 known value":    {got: SHA256("a", "bc"), want: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		"app id":                {got: AppID("sub-1", "app"), want: "sub-1.app"},
		"app hash":              {got: AppHash("sub-1", "app"), want: SHA1("sub-1\x00app")},
		"app hash separates":    {got: fmt.Sprint(AppHash("ab", "c") == AppHash("a", "bc")), want: "false"},
		"owner id":              {got: OwnerID("ns", "ca"), want: "ns.ca"},
		"owner hash":            {got: OwnerHash("ns", "ca"), want: SHA1("nsca")},
		"domain owner":          {got: DomainOwnerID("ns", "d"), want: "Domain.ns.d"},
		"cluster domain owner":  {got: DomainOwnerID("", "d"), want: "ClusterDomain.d"},
		"exposure owner hash":   {got: ExposureOwnerHash("ns", "ca"), want: SHA1("CAPApplicationnsca")},
	}
	for name, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s: got %s, want %s", name, tc.got, tc.want)
		}
	}
}

func TestAppAccount(t *testing.T) {
	if got := AppAccount("sub", "global"); got != "sub" {
		t.Errorf("subaccount first: got %q", got)
	}
	if got := AppAccount("", "global"); got != "global" {
		t.Errorf("global account fallback: got %q", got)
	}
}

func TestDNSLabel(t *testing.T) {
	long := "cav-cap-app-01-1-" + strings.Repeat("Very-Long-Workload-Name-", 4)
	tests := map[string]struct {
		in   string
		want func(string) bool
	}{
		"lower-cased":      {in: "Cav-1-Content", want: func(s string) bool { return s == "cav-1-content" }},
		"short unchanged":  {in: "cav-1-content", want: func(s string) bool { return s == "cav-1-content" }},
		"long is 63 chars": {in: long, want: func(s string) bool { return len(s) <= 63 && strings.HasPrefix(s, "cav-cap-app-01-1-very") }},
		"long is stable":   {in: long, want: func(s string) bool { return s == DNSLabel(long) && s != DNSLabel(long+"x") }},
	}
	for name, tc := range tests {
		if got := DNSLabel(tc.in); !tc.want(got) {
			t.Errorf("%s: DNSLabel(%q) = %q", name, tc.in, got)
		}
	}
}

func TestLabelValue(t *testing.T) {
	tests := map[string]string{"1.0.0": "1.0.0", "1.0.0+build.5": "1.0.0_build.5", "2.0.1-rc.1": "2.0.1-rc.1"}
	for in, want := range tests {
		if got := LabelValue(in); got != want {
			t.Errorf("LabelValue(%q) = %q, want %q", in, got, want)
		}
	}
	if got := LabelValue(strings.Repeat("a", 80)); len(got) > 63 {
		t.Errorf("long label value not shortened: %d chars", len(got))
	}
}
