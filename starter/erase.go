package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os/user"
	"time"

	"github.com/google/uuid"

	"github.com/kithhq/kith/config"
	"github.com/kithhq/kith/workflows"
)

// runErase erases a contact from every store (the right to be forgotten) and
// prints the receipt:
//
//	starter erase [-wait 2m] CONTACT_ID
func runErase(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("erase", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	wait := fs.Duration("wait", 2*time.Minute, "how long to wait for the erasure before printing the receipt so far")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: starter erase [-wait 2m] CONTACT_ID")
		fmt.Fprintln(e.stderr, "Removes the contact from PostgreSQL, BigQuery and Temporal (the Erasure workflow, erasure/<id>);")
		fmt.Fprintln(e.stderr, "its email, phone and CRM ids are kept only as keyed hashes, so they are refused when they come back.")
		fs.PrintDefaults()
	}
	id, err := contactArg(fs, args)
	if err != nil {
		return err
	}
	cfg, err := config.FromEnv(e.getenv, true)
	if err != nil {
		return err
	}
	if cfg.LinkKeyRandom {
		return fmt.Errorf("KITH_LINK_KEY is not set: erased identifiers are hashed with it; set the key the API and the worker run with")
	}
	store, _, err := openMigrated(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer store.Close()
	tc, err := cfg.DialTemporal(ctx, cfg.Logger())
	if err != nil {
		return err
	}
	defer tc.Close()
	svc := &workflows.PrivacyService{Client: tc, Store: store, Wait: *wait}
	r, err := svc.Erase(ctx, id, cliActor())
	if err != nil {
		return err
	}
	b, _ := json.MarshalIndent(r, "", "  ")
	fmt.Fprintln(e.stdout, string(b))
	if r.CompletedAt.IsZero() {
		fmt.Fprintf(e.stderr, "the erasure is still running: see %s in the Temporal UI, or run this again\n", workflows.ErasureWorkflowID(id))
	}
	return nil
}

// contactArg parses fs's flags and the one contact id that follows them.
func contactArg(fs *flag.FlagSet, args []string) (string, error) {
	if err := fs.Parse(args); err != nil {
		return "", usagef("%v", err)
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return "", usagef("name one contact id")
	}
	id := fs.Arg(0)
	if _, err := uuid.Parse(id); err != nil {
		return "", usagef("%q is not a contact id (a UUID, as the API and `starter link` show it)", id)
	}
	return id, nil
}

// cliActor is who the audit log records for a command run by hand.
func cliActor() string {
	if u, err := user.Current(); err == nil {
		return "cli:" + u.Username
	}
	return "cli"
}
