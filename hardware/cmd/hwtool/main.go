// Command hwtool is the technician's tool for the kit's serial devices: it
// decodes what an ID-document reader sends, shows what a real device sends,
// runs the simulators, and lists serial ports. One file per subcommand;
// this one wires them and holds the smallest, ports.
//
//	hwtool mrz                       < lines     decode one document's MRZ from stdin
//	hwtool sigpad ...                            signature pad tools
//	hwtool listen --port P --device mrz|sigpad [--baud N]
//	hwtool simulate --device mrz|sigpad [...]
//	hwtool ports
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/buergerkoffer/kit/hardware"
	"github.com/buergerkoffer/kit/internal/version"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first interrupt asks the subcommand to stop; a second one ends
	// the process at once (e.g. while stdin is a terminal no one types on).
	context.AfterFunc(ctx, stop)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage: hwtool <command> [arguments]

commands:
  mrz        decode one document's MRZ lines (any framing) from stdin, print JSON;
             exit 0 valid, 1 check digits failed, 2 not an MRZ
  sigpad     signature pad tools
  listen     show what a device sends: --port P --device mrz|sigpad [--baud N]
  simulate   run a simulated device and print its port: --device mrz|sigpad [...]
  ports      list candidate serial ports
  version    print the version
`

// run is hwtool with its surroundings passed in, so tests can drive it. It
// returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "mrz":
		return cmdMRZ(ctx, rest, stdin, stdout, stderr)
	case "sigpad":
		return cmdSigpad(ctx, rest, stdin, stdout, stderr)
	case "listen":
		return cmdListen(ctx, rest, stdout, stderr)
	case "simulate":
		return cmdSimulate(ctx, rest, stdout, stderr)
	case "ports":
		return cmdPorts(rest, stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "hwtool", version.String())
		return 0
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "hwtool: unknown command %q\n\n%s", cmd, usage)
	return 2
}

// cmdPorts prints the candidate serial ports, one a line.
func cmdPorts(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("ports", stderr)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ports, err := hardware.ListPorts()
	if err != nil {
		fmt.Fprintf(stderr, "hwtool ports: %v\n", err)
		return 1
	}
	if len(ports) == 0 {
		fmt.Fprintln(stderr, "hwtool ports: no serial ports found")
	}
	for _, p := range ports {
		fmt.Fprintln(stdout, p)
	}
	return 0
}

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("hwtool "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// splitDevice takes --device (or -device, with the value after "=" or as the
// next argument) out of args, so that the rest can go to the device's own
// flags.
func splitDevice(args []string) (device string, rest []string, err error) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || name != "device" {
			rest = append(rest, a)
			continue
		}
		if !hasValue {
			if i+1 >= len(args) {
				return "", nil, fmt.Errorf("flag needs an argument: %s", a)
			}
			i++
			value = args[i]
		}
		device = value
	}
	if device == "" {
		return "", nil, fmt.Errorf("--device mrz|sigpad is required")
	}
	return device, rest, nil
}
