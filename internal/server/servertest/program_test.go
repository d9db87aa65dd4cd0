package servertest

import (
	"strings"
	"testing"
)

func TestProgramTurnsFatalIntoAnError(t *testing.T) {
	p := &Program{}
	ran := []string{}
	err := p.Do(func() {
		p.Cleanup(func() { ran = append(ran, "first") })
		p.Cleanup(func() { ran = append(ran, "second") })
		p.Fatalf("broken %d", 1)
		ran = append(ran, "after Fatalf")
	})
	if err == nil || err.Error() != "broken 1" {
		t.Fatalf("Do = %v, want the Fatalf message", err)
	}
	p.RunCleanups()
	p.RunCleanups() // a second run runs nothing
	if strings.Join(ran, ",") != "second,first" {
		t.Errorf("ran %v, want the cleanups last first and nothing after Fatalf", ran)
	}
	if err := p.Do(func() {}); err != nil {
		t.Errorf("Do without Fatal = %v", err)
	}
}

func TestProgramPropagatesOtherPanics(t *testing.T) {
	defer func() {
		if r := recover(); r != "boom" {
			t.Errorf("recovered %v, want the original panic", r)
		}
	}()
	_ = (&Program{}).Do(func() { panic("boom") })
}
