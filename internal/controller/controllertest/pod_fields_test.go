package controllertest

import (
	"reflect"
	"testing"

	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// TestCommonFieldsAreAllChecked fails when CommonDetails gains a field that CheckPodFields
// does not check or EveryCommonField does not set, so a new customisation cannot be forgotten
// in the builders of Deployments and Jobs.
func TestCommonFieldsAreAllChecked(t *testing.T) {
	typ := reflect.TypeFor[v1alpha1.CommonDetails]()
	for i := range typ.NumField() {
		if _, ok := commonFieldChecks[typ.Field(i).Name]; !ok {
			t.Errorf("CommonDetails.%s has no check in commonFieldChecks", typ.Field(i).Name)
		}
	}
	set := reflect.ValueOf(EveryCommonField())
	for i := range typ.NumField() {
		if set.Field(i).IsZero() {
			t.Errorf("EveryCommonField leaves %s unset", typ.Field(i).Name)
		}
	}
}
