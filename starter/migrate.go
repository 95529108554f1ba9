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
	store, applied, err := openMigrated(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	store.Close()
	fmt.Fprintf(e.stdout, "migrations applied: %d %v\n", len(applied), applied)
	return nil
}

// storeFromEnv reads the configuration and opens its migrated store: what
// every command that reads or writes PostgreSQL starts with.
func storeFromEnv(ctx context.Context, e env) (config.Config, *postgres.Store, error) {
	cfg, err := config.FromEnv(e.getenv, true)
	if err != nil {
		return cfg, nil, err
	}
	store, _, err := openMigrated(ctx, cfg.DatabaseURL)
	return cfg, store, err
}

// openMigrated connects to PostgreSQL and applies the migrations it lacks.
func openMigrated(ctx context.Context, url string) (*postgres.Store, []int, error) {
	store, err := postgres.Open(ctx, url)
	if err != nil {
		return nil, nil, err
	}
	applied, err := store.Migrate(ctx)
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	return store, applied, nil
}
