// Package cli is the start-up shared by the operator's three binaries (controller, server,
// web-hooks): flags with environment-variable fallbacks listed in --help, refusal of invalid
// values with a message naming the flag or variable, --version, structured logging (JSON by
// default, the same keys in every binary), signal handling from the first instant, and one
// metrics, health and readiness server with the cap_op_build_info metric.
//
// A binary's main is one line:
//
//	func main() { os.Exit(cli.Main(cmd)) }
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/pflag"
	"k8s.io/klog/v2"
)

// Exit codes of Main.
const (
	// ExitOK is returned after a clean shutdown, --help and --version.
	ExitOK = 0
	// ExitFailure is returned when the command fails while running.
	ExitFailure = 1
	// ExitUsage is returned for an unknown flag or an invalid flag or environment value.
	ExitUsage = 2
)

// Command describes a binary.
type Command struct {
	// Name is the binary's name, used in --help, --version and error messages.
	Name string
	// Description is printed by --help above the flags.
	Description string
	// AddFlags registers the command's flags and their environment variables.
	AddFlags func(fs *FlagSet)
	// Validate checks the parsed flags; an error is reported like a bad flag. May be nil.
	Validate func(fs *FlagSet) error
	// Run runs the command until ctx is cancelled by SIGINT or SIGTERM, then shuts down and
	// returns. The context carries the configured logger.
	Run func(ctx context.Context) error
}

// Streams are the process' arguments, output streams and environment; Main uses the real
// ones, tests their own.
type Streams struct {
	Args           []string
	Stdout, Stderr io.Writer
	LookupEnv      func(string) (string, bool)
}

// Main runs the command with the process' arguments and environment and returns its exit
// code. SIGINT and SIGTERM cancel the command's context from the start.
func Main(c Command) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return Execute(ctx, c, Streams{Args: os.Args[1:], Stdout: os.Stdout, Stderr: os.Stderr, LookupEnv: os.LookupEnv})
}

// Execute parses the arguments and environment, sets up logging and runs the command until
// ctx ends. It returns the exit code: ExitUsage for bad input (with a message on Stderr),
// ExitFailure when Run fails, ExitOK otherwise.
func Execute(ctx context.Context, c Command, s Streams) int {
	fs := newFlagSet(c.Name)
	fs.SetOutput(io.Discard)
	var showVersion bool
	fs.BoolVar(&showVersion, "version", false, "Print the version and exit.")
	logOpts := addLoggingFlags(fs)
	c.AddFlags(fs)
	fs.Usage = func() { printUsage(s.Stdout, c, fs) }
	switch err := fs.Parse(s.Args); {
	case errors.Is(err, pflag.ErrHelp):
		return ExitOK
	case err != nil:
		return usageError(s.Stderr, c.Name, err)
	}
	if showVersion {
		fmt.Fprintln(s.Stdout, VersionString(c.Name))
		return ExitOK
	}
	if fs.NArg() > 0 {
		return usageError(s.Stderr, c.Name, fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	}
	if err := fs.applyEnv(s.LookupEnv); err != nil {
		return usageError(s.Stderr, c.Name, err)
	}
	logger, flush, err := logOpts.newLogger(fs, s.Stderr)
	if err == nil && c.Validate != nil {
		err = c.Validate(fs)
	}
	if err != nil {
		return usageError(s.Stderr, c.Name, err)
	}
	defer flush()
	klog.SetLoggerWithOptions(logger, klog.ContextualLogger(true), klog.FlushLogger(flush))
	defer klog.ClearLogger()
	logger.Info("Starting", "command", c.Name, "version", Version(), "revision", Revision())
	ctx = klog.NewContext(ctx, logger)
	if err := c.Run(ctx); err != nil {
		logger.Error(err, "Exiting with an error", "command", c.Name)
		return ExitFailure
	}
	logger.Info("Stopped", "command", c.Name)
	return ExitOK
}

// usageError prints err and a pointer to --help, and returns ExitUsage.
func usageError(w io.Writer, name string, err error) int {
	fmt.Fprintf(w, "%s: %v\nRun '%s --help' for usage.\n", name, err, name)
	return ExitUsage
}

// printUsage prints the description and the flags with their variables.
func printUsage(w io.Writer, c Command, fs *FlagSet) {
	fmt.Fprintf(w, "Usage: %s [flags]\n\n%s\n\nEvery flag with an environment variable takes its value from it when\nthe flag is not given; the flag wins when both are set.\n\nFlags:\n%s",
		c.Name, c.Description, fs.FlagUsages())
}
