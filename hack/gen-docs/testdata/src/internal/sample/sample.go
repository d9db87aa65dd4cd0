// Package sample holds every form of reason and environment read that gen-docs must find.
package sample

import "os"

const (
	ReasonExported   = "ExportedConstant"
	reasonUnexported = "UnexportedConstant"
	otherConstant    = "NotAReason"
)

type recorder interface {
	Eventf(regarding, related any, eventType, reason, action, note string, args ...any)
}

type row struct {
	State  string
	Ready  bool
	Reason string
}

type outcome struct{ reason, message string }

var table = map[string][2]row{
	"op": {{"Running", false, "TableRowReason"}, {"Done", true, "SecondRowReason"}},
}

func emit(r recorder) {
	r.Eventf(nil, nil, "Warning", "EventfLiteral", "Act", "%s", "x")
	eventOnChange("Warning", reasonUnexported, "ParamLiteral")
	_ = outcome{reason: "KeyedFieldReason", message: "m"}
	var reason string
	reason = "AssignedReason"
	_ = reason
	requeue("not a reason: has spaces")
	_ = os.Getenv("DIRECT_READ")
	_ = envOr("HELPER_READ", "x")
}

func eventOnChange(eventType, conditionReason, eventReason string) {}

func requeue(reason string) {}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
