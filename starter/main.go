// Command starter is Kith's command line: it serves the HTTP API, runs migrations,
// starts imports and runs the demo. One file per subcommand.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"

	"go.temporal.io/sdk/client"

	"github.com/kithhq/kith/config"
)

// command is one subcommand.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, env env) error
}

// env is what a subcommand may touch of the outside world.
type env struct {
	getenv func(string) string
	stdout io.Writer
	stderr io.Writer
}

var commands = map[string]command{
	"migrate":      {"apply the PostgreSQL migrations (idempotent)", runMigrate},
	"import":       {"import a CSV file of contacts through the ImportContacts workflow", runImport},
	"demo":         {"start the local stack, the worker, and import the sample contacts", runDemo},
	"serve":        {"serve the HTTP API: forms, inline validation, consent, form pages, CRM webhooks", runServe},
	"sync":         {"pull CRM contacts changed since the last backfill (or schedule it with -every)", runSync},
	"load":         {"load rows changed since the last load into the BigQuery star schema (WarehouseLoad)", runLoad},
	"schedules":    {"apply the Temporal Schedules in schemas/schedules.json (idempotent), or list them", runSchedules},
	"review":       {"list the de-duplication review queue, or record a decision on a pair", runReview},
	"dedup-eval":   {"generate labeled contacts, de-duplicate them, print accuracy, speed and memory", runDedupEval},
	"crm-sim":      {"run the CRM simulator (HubSpot API subset, signed webhooks, faults) for demos", runCRMSim},
	"link":         {"print a signed unsubscribe or profile link for a contact", runLink},
	"esp-sim":      {"run the ESP simulator (SendGrid Mail Send subset, signed event webhooks, faults) for demos", runESPSim},
	"deliveries":   {"list triggered messages, or replay one from the dead letter", runDeliveries},
	"erase":        {"erase a contact from every store (the right to be forgotten) and print the receipt", runErase},
	"report":       {"print the data-quality figures, or write the report page as one HTML file (-html)", runReport},
	"probe":        {"check that an HTTP endpoint answers 200 (the containers' health check)", runProbe},
	"lake":         {"the raw lake on GCS: archive the spool now, list a partition, load one into a scratch BigQuery table", runLake},
	"replay":       {"re-run archived records through today's rules (LakeReplay) and print what changed", runReplay},
	"codec-server": {"serve Temporal's remote codec (/encode, /decode) so the Web UI and CLI show payloads in clear to token holders", runCodecServer},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, env{os.Getenv, os.Stdout, os.Stderr}); err != nil {
		fmt.Fprintln(os.Stderr, "starter:", err)
		var u usageError
		if errors.As(err, &u) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// usageError is a mistake in the command line; main exits 2 for it.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

func run(ctx context.Context, args []string, e env) error {
	if len(args) < 2 || args[1] == "help" || args[1] == "-h" || args[1] == "--help" {
		fmt.Fprint(e.stdout, usage())
		if len(args) < 2 {
			return usagef("no subcommand")
		}
		return nil
	}
	cmd, ok := commands[args[1]]
	if !ok {
		return usagef("unknown subcommand %q\n%s", args[1], usage())
	}
	return cmd.run(ctx, args[2:], e)
}

func usage() string {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	s := "usage: starter <subcommand> [flags]\n\nsubcommands:\n"
	for _, n := range names {
		s += fmt.Sprintf("  %-10s %s\n", n, commands[n].summary)
	}
	return s + "\nRun `starter <subcommand> -h` for its flags. Configuration comes from the environment (see README).\n"
}

// dialTemporal connects a CLI command to Temporal, saying how to get a server
// when there is none.
// temporalFromEnv dials the Temporal server the environment names.
func temporalFromEnv(ctx context.Context, e env) (client.Client, error) {
	cfg, err := config.FromEnv(e.getenv, false)
	if err != nil {
		return nil, err
	}
	return dialTemporal(ctx, cfg)
}

func dialTemporal(ctx context.Context, cfg config.Config) (client.Client, error) {
	c, err := cfg.DialTemporal(ctx, cfg.Logger())
	if err != nil {
		return nil, fmt.Errorf("%w (is the server running? `make demo` starts one)", err)
	}
	return c, nil
}
