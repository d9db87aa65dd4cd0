package controller

import "testing"

func TestFinalizerRemovalPatch(t *testing.T) {
	got, err := FinalizerRemovalPatch(1, "sme.sap.com/capapplication")
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"op":"test","path":"/metadata/finalizers/1","value":"sme.sap.com/capapplication"},{"op":"remove","path":"/metadata/finalizers/1"}]`
	if string(got) != want {
		t.Errorf("patch %s", got)
	}
}
