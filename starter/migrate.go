package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/kithhq/kith/config"
	"github.com/kithhq/kith/postgres"
)

func runMigrate(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	if err := fs.Parse(args); err != nil {
		return usagef("%v", err)
	}
	cfg, err := config.FromEnv(e.getenv, true)
	if err != nil {
		return err
	}
	store, err := postgres.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer store.Close()
	applied, err := store.Migrate(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "migrations applied: %d %v\n", len(applied), applied)
	return nil
}
