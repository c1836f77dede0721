// Command arvfile stores directories and files as Arvados collections in a
// Keep store and reads them back, serves them over HTTP, and checks and
// cleans a keep directory.
//
// Run `arvfile help` for the commands and `arvfile help COMMAND` (or
// `arvfile COMMAND --help`) for one command's flags. Flags may come before or
// after the command and its arguments; `--` ends the flags.
//
// Exit status: 0 success; 1 error; 2 usage error (and `put --dry-run` when
// something would be uploaded, as arv-put does); 3 not found (a collection,
// a path in it, a block, a local file); 4 partial (the command finished but
// skipped files, or found damaged or missing blocks); 130 interrupted.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/arvfile/arvfile/keep"
)

// Exit statuses, as documented in the package comment and in `arvfile help`.
const (
	exitOK          = 0
	exitError       = 1
	exitUsage       = 2
	exitNotFound    = 3
	exitPartial     = 4
	exitInterrupted = 130
)

const exitCodesHelp = `exit status:
  0    success
  1    error
  2    usage error; put --dry-run: something would be uploaded
  3    not found: a collection, a path in it, a block, a local file
  4    partial: finished, but files were skipped or blocks are damaged or missing
  130  interrupted (SIGINT, SIGTERM)
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], newEnv(os.Stdin, os.Stdout, os.Stderr))
	stop()
	os.Exit(code)
}

// env is what a command sees of the world; tests replace parts of it.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	now            func() time.Time
	// terminal reports whether stderr is a terminal (progress bars).
	terminal bool
	// openStore, when set (by tests), replaces the store selection.
	openStore func(ctx context.Context, g *globals) (*storeChoice, error)
}

// newEnv returns the env of a process.
func newEnv(stdin io.Reader, stdout, stderr io.Writer) *env {
	ev := &env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv, now: time.Now}
	if f, ok := stderr.(*os.File); ok {
		if info, err := f.Stat(); err == nil && info.Mode()&os.ModeCharDevice != 0 {
			ev.terminal = true
		}
	}
	return ev
}

// usageError is a mistake in the command line (exit status 2).
type usageError struct{ cmd, msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(cmd, format string, args ...any) error {
	return &usageError{cmd: cmd, msg: fmt.Sprintf(format, args...)}
}

// exitError ends a command with a given status after its message.
type exitCodeError struct {
	code int
	err  error
}

func (e *exitCodeError) Error() string { return e.err.Error() }
func (e *exitCodeError) Unwrap() error { return e.err }

// partialf reports a command that finished but left something out (exit 4).
func partialf(format string, args ...any) error {
	return &exitCodeError{code: exitPartial, err: fmt.Errorf(format, args...)}
}

// run executes one command line and returns the exit status.
func run(ctx context.Context, args []string, ev *env) int {
	err := dispatch(ctx, args, ev)
	var ue *usageError
	var ce *exitCodeError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue):
		name := "arvfile"
		hint := "arvfile help"
		if ue.cmd != "" {
			name += " " + ue.cmd
			hint += " " + ue.cmd
		}
		fmt.Fprintf(ev.stderr, "%s: %s\n(run '%s' for usage)\n", name, ue.msg, hint)
		return exitUsage
	case errors.As(err, &ce):
		if ce.err.Error() != "" {
			fmt.Fprintf(ev.stderr, "arvfile: %v\n", ce.err)
		}
		return ce.code
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		fmt.Fprintln(ev.stderr, "arvfile: interrupted")
		return exitInterrupted
	}
	fmt.Fprintf(ev.stderr, "arvfile: %v\n", err)
	switch {
	case errors.Is(err, keep.ErrNotFound), errors.Is(err, fs.ErrNotExist):
		return exitNotFound
	}
	return exitError
}

// globals are the flags every command takes: where the blocks are.
type globals struct {
	keepDir string
	store   string
}

// register defines the global flags in fl, keeping the values already set
// (before the command) without showing them as defaults in the help.
func (g *globals) register(fl *flag.FlagSet) {
	saved := *g
	fl.StringVar(&g.keepDir, "keep", "", "the keep directory `DIR`: shorthand for --store DIR")
	fl.StringVar(&g.store, "store", "", "where blocks are, `SPEC`: a directory (the default), keep:, or s3://BUCKET")
	*g = saved
}

// command is one subcommand: its help and its flags, and a setup that
// registers its flags and returns the function that runs it.
type command struct {
	name, args, summary, help string
	// nargs checks the number of arguments.
	nargs func(n int) bool
	setup func(fl *flag.FlagSet) func(t *tool, args []string) error
}

// commands is filled by init functions of the files that define them.
var commands = map[string]*command{}

func register(c *command) { commands[c.name] = c }

const storeHelp = `store selection (every command):
  --store SPEC, or the environment variable ARVFILE_STORE when --store is not given:
    DIR                 a keep directory (blocks at DIR/<3 hex>/<md5>); the default is
                        $XDG_DATA_HOME/arvfile/keep, or ~/.local/share/arvfile/keep
    keep:               the Arvados Keep services named by ARVADOS_KEEP_SERVICES
                        (space-separated URLs), with the token ARVADOS_API_TOKEN; not
                        built into this arvfile yet (it needs keep.Client): refused
    s3://BUCKET[?endpoint=URL&region=R&path_style=BOOL&prefix_length=N]
                        an S3 bucket laid out as keepstore's S3 volumes lay it out (key md5,
                        or md5[:N]/md5), with the usual AWS_* variables (AWS_ACCESS_KEY_ID,
                        AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION,
                        AWS_ENDPOINT_URL[_S3]) or the AWS shared files
  --keep DIR is the shorthand for --store DIR and wins over both.
`

// mainUsage is the text of `arvfile help`.
func mainUsage() string {
	var b strings.Builder
	b.WriteString("usage: arvfile [--store SPEC | --keep DIR] COMMAND [FLAGS] ARGS…\n\ncommands:\n")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		c := commands[n]
		fmt.Fprintf(&b, "  %-9s %s\n", c.name, c.summary)
	}
	b.WriteString("  help      this text; 'arvfile help COMMAND' describes one command\n\n")
	b.WriteString("A collection is named by its portable data hash (PDH, md5+size of its manifest),\n" +
		"by the locator put printed (signed stores add +A…), or by the --name given to put;\n" +
		"REF/PATH names a file or directory inside it.\n\n")
	b.WriteString(storeHelp + "\n" + exitCodesHelp)
	return b.String()
}

// commandUsage is the text of `arvfile help NAME`.
func commandUsage(c *command, fl *flag.FlagSet) string {
	var b strings.Builder
	fmt.Fprintf(&b, "usage: arvfile %s [FLAGS] %s\n\n%s\n", c.name, c.args, strings.TrimSpace(c.help))
	b.WriteString("\nflags:\n")
	fl.SetOutput(&b)
	fl.PrintDefaults()
	fl.SetOutput(io.Discard)
	b.WriteString("\n" + storeHelp + "\n" + exitCodesHelp)
	return b.String()
}

// dispatch parses the command line and runs the command.
func dispatch(ctx context.Context, args []string, ev *env) error {
	g := &globals{}
	top := flag.NewFlagSet("arvfile", flag.ContinueOnError)
	top.SetOutput(io.Discard)
	g.register(top)
	if err := top.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			_, err = io.WriteString(ev.stdout, mainUsage())
			return err
		}
		return usagef("", "%v", err)
	}
	args = top.Args()
	if len(args) == 0 {
		return usagef("", "no command")
	}
	name, args := args[0], args[1:]
	if name == "help" {
		return help(args, ev)
	}
	c, ok := commands[name]
	if !ok {
		return usagef("", "unknown command %q", name)
	}
	fl := flag.NewFlagSet("arvfile "+name, flag.ContinueOnError)
	fl.SetOutput(io.Discard)
	g.register(fl)
	runCmd := c.setup(fl)
	pos, err := parseInterspersed(fl, args)
	if errors.Is(err, flag.ErrHelp) {
		_, err = io.WriteString(ev.stdout, commandUsage(c, fl))
		return err
	}
	if err != nil {
		return usagef(name, "%v", err)
	}
	if !c.nargs(len(pos)) {
		return usagef(name, "wrong number of arguments: want %s", c.args)
	}
	t := &tool{ctx: ctx, env: ev, g: g, cmd: name}
	defer t.close()
	return runCmd(t, pos)
}

// help prints the main usage, or one command's.
func help(args []string, ev *env) error {
	if len(args) == 0 {
		_, err := io.WriteString(ev.stdout, mainUsage())
		return err
	}
	c, ok := commands[args[0]]
	if !ok || len(args) > 1 {
		return usagef("", "help: unknown command %q", strings.Join(args, " "))
	}
	fl := flag.NewFlagSet("arvfile "+c.name, flag.ContinueOnError)
	(&globals{}).register(fl)
	c.setup(fl)
	_, err := io.WriteString(ev.stdout, commandUsage(c, fl))
	return err
}

// parseInterspersed parses flags anywhere among the arguments, as long as
// they come before a "--"; it returns the other arguments in order. A lone
// "-" is an argument (standard input or output).
func parseInterspersed(fl *flag.FlagSet, args []string) ([]string, error) {
	var pos, tail []string
	for i, a := range args {
		if a == "--" {
			args, tail = args[:i], args[i+1:]
			break
		}
	}
	for {
		if err := fl.Parse(args); err != nil {
			return nil, err
		}
		args = fl.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	return append(pos, tail...), nil
}

func atLeast(n int) func(int) bool { return func(k int) bool { return k >= n } }
func between(lo, hi int) func(int) bool {
	return func(k int) bool { return k >= lo && k <= hi }
}
