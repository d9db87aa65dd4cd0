package cli

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// FlagSet is a pflag.FlagSet whose flags can fall back to environment variables. A flag set
// on the command line wins over its variable; an empty variable counts as unset.
type FlagSet struct {
	*pflag.FlagSet
	bindings []envBinding
	// fromEnv maps the flags set from a variable to that variable.
	fromEnv map[string]string
}

// envBinding ties a flag to an environment variable; convert turns the variable's value into
// the flag's syntax (nil keeps it).
type envBinding struct {
	flag, env string
	convert   func(string) (string, error)
}

// newFlagSet returns an empty flag set that reports errors instead of exiting or printing.
func newFlagSet(name string) *FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SortFlags = true
	return &FlagSet{FlagSet: fs}
}

// Env makes the environment variable env the fallback of the flag and names it in --help.
func (f *FlagSet) Env(flag, env string) {
	f.bind(flag, env, nil)
}

// Value is a type Var registers a flag of.
type Value interface {
	string | bool | int | int64 | float32 | time.Duration
}

// Var registers the flag name for *p, with *p as its default, and, unless env is empty, the
// environment variable env as its fallback (named in --help): one call per setting, in the
// same way in every binary.
func Var[T Value](fs *FlagSet, p *T, name, env, usage string) {
	switch v := any(p).(type) {
	case *string:
		fs.StringVar(v, name, *v, usage)
	case *bool:
		fs.BoolVar(v, name, *v, usage)
	case *int:
		fs.IntVar(v, name, *v, usage)
	case *int64:
		fs.Int64Var(v, name, *v, usage)
	case *float32:
		fs.Float32Var(v, name, *v, usage)
	case *time.Duration:
		fs.DurationVar(v, name, *v, usage)
	}
	if env != "" {
		fs.Env(name, env)
	}
}

// EnvPort makes env, a port number, the fallback of an address flag: PORT=9090 sets ":9090".
func (f *FlagSet) EnvPort(flag, env string) {
	f.bind(flag, env, func(v string) (string, error) {
		if _, err := ParsePort(v); err != nil {
			return "", err
		}
		return ":" + v, nil
	})
}

// bind records the binding and appends the variable to the flag's usage. It panics on an
// unknown flag: that is a programming error, found by every test of the binary.
func (f *FlagSet) bind(flag, env string, convert func(string) (string, error)) {
	fl := f.Lookup(flag)
	if fl == nil {
		panic(fmt.Sprintf("cli: no flag --%s to bind %s to", flag, env))
	}
	fl.Usage = strings.TrimSuffix(fl.Usage, ".") + " (env " + env + ")."
	f.bindings = append(f.bindings, envBinding{flag: flag, env: env, convert: convert})
}

// applyEnv sets every flag not given on the command line from its variable. An invalid value
// is an error naming the variable and the flag.
func (f *FlagSet) applyEnv(lookup func(string) (string, bool)) error {
	for _, b := range f.bindings {
		v, ok := lookup(b.env)
		if !ok || v == "" || f.Changed(b.flag) {
			continue
		}
		value := v
		if b.convert != nil {
			var err error
			if value, err = b.convert(v); err != nil {
				return fmt.Errorf("invalid environment variable %s=%q (--%s): %w", b.env, v, b.flag, err)
			}
		}
		if err := f.Set(b.flag, value); err != nil {
			return fmt.Errorf("invalid environment variable %s=%q (--%s): not a valid %s", b.env, v, b.flag, f.Lookup(b.flag).Value.Type())
		}
		if f.fromEnv == nil {
			f.fromEnv = map[string]string{}
		}
		f.fromEnv[b.flag] = b.env
	}
	return nil
}

// Source names where a flag's value came from, for error messages: "--flag", or
// "ENV (--flag)" when it was set from its environment variable.
func (f *FlagSet) Source(flag string) string {
	if env, ok := f.fromEnv[flag]; ok {
		return env + " (--" + flag + ")"
	}
	return "--" + flag
}

// ParsePort parses a TCP port number (1-65535).
func ParsePort(v string) (int, error) {
	port, err := strconv.Atoi(v)
	if err != nil || port < 1 || port > 65535 {
		return 0, fmt.Errorf("%q is not a port number (1-65535)", v)
	}
	return port, nil
}

// ValidateAddress checks a listen address of the form host:port (host may be empty; port 0
// picks a free port).
func ValidateAddress(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not a host:port address: %w", addr, err)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q has no valid port", addr)
	}
	return nil
}
