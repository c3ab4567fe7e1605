// Command syncd is Bürgerkoffer's sync daemon and ops tool: `syncd agent`
// on the laptop, `syncd serve` for the central server, and the subcommands
// an operator or technician runs by hand. One file per subcommand.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// command is one subcommand: run gets the arguments after its name.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

var commands = map[string]command{
	"audit":   {"verify a field store's audit chain", runAudit},
	"serve":   {"run the central sync server", runServe},
	"office":  {"run the town hall's web application (inbox, decisions, planning, laptops, staff)", runOffice},
	"agent":   {"run the laptop's sync agent; enroll; sync once; status", runAgent},
	"admin":   {"operate the central server: tenants, enrolment codes, devices, revocation", runAdmin},
	"export":  {"canonical dump of a field store or a server tenant", runExport},
	"handoff": {"hand sealed cases off to the authorities through FIT-Connect; their answers back", runHandoff},
	"bench":   {"load generator and benchmark of the whole sync path", runBench},
	"version": {"print the version", runVersion},
}

func main() {
	if code, ok := runAsService(os.Args[1:]); ok {
		os.Exit(code)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches to a subcommand and returns the process exit code:
// 0 success, 1 the thing checked is not right, 2 usage or operational error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "--version" {
		args = []string{"version"}
	}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stderr)
		return 2
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "syncd: unknown command %q\n", args[0])
		usage(stderr)
		return 2
	}
	return c.run(ctx, args[1:], stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: syncd <command> [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, commands[n].summary)
	}
}
