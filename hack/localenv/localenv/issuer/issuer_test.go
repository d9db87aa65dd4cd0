package issuer

import (
	"strings"
	"testing"
)

func TestProgramTBTurnsFatalIntoAnError(t *testing.T) {
	tb := &programTB{}
	ran := []string{}
	err := tb.do(func() {
		tb.Cleanup(func() { ran = append(ran, "first") })
		tb.Cleanup(func() { ran = append(ran, "second") })
		tb.Fatalf("broken %d", 1)
		ran = append(ran, "after Fatalf")
	})
	if err == nil || err.Error() != "broken 1" {
		t.Fatalf("do = %v, want the Fatalf message", err)
	}
	tb.cleanup()
	tb.cleanup() // a second cleanup runs nothing
	if strings.Join(ran, ",") != "second,first" {
		t.Errorf("ran %v, want the cleanups last first and nothing after Fatalf", ran)
	}
	if err := tb.do(func() {}); err != nil {
		t.Errorf("do without Fatal = %v", err)
	}
}

func TestProgramTBPropagatesOtherPanics(t *testing.T) {
	defer func() {
		if r := recover(); r != "boom" {
			t.Errorf("recovered %v, want the original panic", r)
		}
	}()
	_ = (&programTB{}).do(func() { panic("boom") })
}
