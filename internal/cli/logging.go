package cli

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/pflag"
	"go.uber.org/zap/zapcore"
	logsapi "k8s.io/component-base/logs/api/v1"
	logsjson "k8s.io/component-base/logs/json"
	"k8s.io/klog/v2"
	"k8s.io/klog/v2/textlogger"
)

// Log formats.
const (
	// LogFormatJSON writes one JSON object per line with the keys ts, level, caller, msg, v
	// (verbosity of info lines), err (errors) and the entry's own key/value pairs.
	LogFormatJSON = "json"
	// LogFormatText writes klog's text format.
	LogFormatText = "text"
)

// loggingOptions are the logging flags every binary has.
type loggingOptions struct {
	format    string
	verbosity int
}

// addLoggingFlags registers --log-format (LOG_FORMAT) and -v, plus the controller's former
// --logging-format as an alias.
func addLoggingFlags(fs *FlagSet) *loggingOptions {
	o := &loggingOptions{format: LogFormatJSON}
	fs.StringVar(&o.format, "log-format", o.format, `Log format: "json" or "text".`)
	fs.Env("log-format", "LOG_FORMAT")
	// The controller's former flag name is an alias: it sets --log-format itself, so that the
	// flag wins over LOG_FORMAT whichever name is used.
	fs.SetNormalizeFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		if name == "logging-format" {
			name = "log-format"
		}
		return pflag.NormalizedName(name)
	})
	fs.IntVarP(&o.verbosity, "v", "v", 0, "Log verbosity: 0 logs what an operator needs, higher numbers add detail.")
	fs.Env("v", "LOG_VERBOSITY")
	return o
}

// newLogger returns the logger of the chosen format writing to w, and its flush function. It
// also sets klog's own verbosity, which guards klog.V calls of the client libraries.
func (o *loggingOptions) newLogger(fs *FlagSet, w io.Writer) (logr.Logger, func(), error) {
	if o.verbosity < 0 {
		return logr.Logger{}, nil, fmt.Errorf("%s must not be negative", fs.Source("v"))
	}
	var klogFlags flag.FlagSet
	klog.InitFlags(&klogFlags)
	if err := klogFlags.Set("v", strconv.Itoa(o.verbosity)); err != nil {
		return logr.Logger{}, nil, err
	}
	switch o.format {
	case LogFormatJSON:
		logger, control := logsjson.NewJSONLogger(logsapi.VerbosityLevel(o.verbosity), zapcore.AddSync(w), nil, jsonEncoderConfig())
		return logger, control.Flush, nil
	case LogFormatText:
		return textlogger.NewLogger(textlogger.NewConfig(textlogger.Verbosity(o.verbosity), textlogger.Output(w))), func() {}, nil
	}
	return logr.Logger{}, nil, fmt.Errorf(`%s must be "json" or "text", not %q`, fs.Source("log-format"), o.format)
}

// jsonEncoderConfig names the keys of JSON log lines: ts (RFC 3339 with milliseconds, UTC),
// level (info or error), caller, msg.
func jsonEncoderConfig() *zapcore.EncoderConfig {
	return &zapcore.EncoderConfig{
		TimeKey:    "ts",
		LevelKey:   "level",
		CallerKey:  "caller",
		MessageKey: "msg",
		NameKey:    "logger",
		EncodeTime: func(t time.Time, enc zapcore.PrimitiveArrayEncoder) {
			enc.AppendString(t.UTC().Format("2006-01-02T15:04:05.000Z07:00"))
		},
		EncodeLevel:    encodeLevel,
		EncodeDuration: zapcore.StringDurationEncoder,
		EncodeCaller:   zapcore.ShortCallerEncoder,
	}
}

// encodeLevel writes "error" for errors and "info" for every verbosity of info lines (the
// verbosity has its own key, v).
func encodeLevel(l zapcore.Level, enc zapcore.PrimitiveArrayEncoder) {
	if l >= zapcore.ErrorLevel {
		enc.AppendString("error")
		return
	}
	enc.AppendString("info")
}
