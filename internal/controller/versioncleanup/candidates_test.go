package versioncleanup

import (
	"strings"
	"testing"

	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

func TestModeOf(t *testing.T) {
	cases := map[string]struct {
		annotation string
		absent     bool
		mode       Mode
		err        string
	}{
		"absent":                   {absent: true, mode: ModeOff},
		"true":                     {annotation: "true", mode: ModeDelete},
		"TRUE is case-insensitive": {annotation: "TRUE", mode: ModeDelete},
		"dry-run":                  {annotation: "dry-run", mode: ModeDryRun},
		"Dry-Run with spaces":      {annotation: " Dry-Run ", mode: ModeDryRun},
		"false":                    {annotation: "false", mode: ModeOff},
		"unknown value is an error that names the accepted values": {annotation: "yes", mode: ModeOff, err: `has the value "yes"; use "true"`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ca := newCA(tc.annotation)
			if tc.absent {
				ca = newCA("")
			}
			mode, err := ModeOf(ca)
			if mode != tc.mode {
				t.Errorf("mode %q, want %q", mode, tc.mode)
			}
			if (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
				t.Errorf("error %v, want one containing %q", err, tc.err)
			}
		})
	}
}

func TestExclusion(t *testing.T) {
	v1, v2, v3 := newCAV("1.0.0", true), newCAV("2.0.0", true), newCAV("3.0.0", true)
	v4processing := newCAV("4.0.0", false)
	v10 := newCAV("10.0.0", true)
	v1deleting := newCAV("1.0.0", true, deleting)
	old := []*v1alpha1.CAPApplicationVersion{v1, v2, v3, v4processing}
	cases := map[string]struct {
		// application setup
		cav      *v1alpha1.CAPApplicationVersion
		versions []*v1alpha1.CAPApplicationVersion
		tenants  []*v1alpha1.CAPTenant
		// expectation: "" for a candidate, else part of the reason
		want string
	}{
		"old unused version is a candidate":          {cav: v1, versions: old},
		"second newest Ready is a candidate":         {cav: v2, versions: old},
		"latest Ready is kept":                       {cav: v3, versions: old, want: "latest Ready"},
		"newer version being rolled out is kept":     {cav: v4processing, versions: old, want: "not older than the latest Ready version 3.0.0"},
		"versions compare semantically, not as text": {cav: v3, versions: []*v1alpha1.CAPApplicationVersion{v3, v10}},
		"nothing without a Ready version": {cav: v1, versions: []*v1alpha1.CAPApplicationVersion{newCAV("1.0.0", false), newCAV("2.0.0", false)},
			want: "no Ready version"},
		"version being deleted is skipped":    {cav: v1deleting, versions: []*v1alpha1.CAPApplicationVersion{v1deleting, v3}, want: "already being deleted"},
		"deleted latest Ready does not count": {cav: v2, versions: []*v1alpha1.CAPApplicationVersion{v1, v2, newCAV("3.0.0", true, deleting)}, want: "latest Ready"},
		"version a tenant runs is kept": {cav: v1, versions: old, tenants: []*v1alpha1.CAPTenant{newTenant("t1", "cav-3.0.0", "3.0.0"), newTenant("t2", "cav-1.0.0", "3.0.0")},
			want: "tenant t2 runs it"},
		"version a tenant is moving to is kept": {cav: v2, versions: old, tenants: []*v1alpha1.CAPTenant{newTenant("t1", "cav-1.0.0", "2.0.0")},
			want: "tenant t1 requests version 2.0.0"},
		"tenants on other versions do not keep it": {cav: v1, versions: old, tenants: []*v1alpha1.CAPTenant{newTenant("t1", "cav-2.0.0", "3.0.0"), newTenant("t2", "", "")}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := Exclusion(tc.cav, tc.versions, tc.tenants)
			if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
				t.Errorf("Exclusion = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCandidates(t *testing.T) {
	versions := []*v1alpha1.CAPApplicationVersion{newCAV("1.0.0", true), newCAV("1.1.0", false), newCAV("2.0.0", true), newCAV("2.1.0", true), newCAV("3.0.0", false)}
	tenants := []*v1alpha1.CAPTenant{newTenant("t1", "cav-2.0.0", "2.1.0")}
	var got []string
	for _, cav := range Candidates(versions, tenants) {
		got = append(got, cav.Name)
	}
	// 1.1.0 never became Ready but is older than the latest Ready: a failed rollout is cleaned up too.
	if want := "cav-1.0.0,cav-1.1.0"; strings.Join(got, ",") != want {
		t.Errorf("candidates %v, want %s", got, want)
	}
}
