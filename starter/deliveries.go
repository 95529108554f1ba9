package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/workflows"
)

// runDeliveries shows triggered messages and replays the dead letter:
//
//	starter deliveries list [-status failed] [-n 20]
//	starter deliveries retry ID     send a failed delivery again (RetryDelivery)
func runDeliveries(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("deliveries", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	status := fs.String("status", "", "only this status: sending, accepted, suppressed, capped or failed (the dead letter)")
	limit := fs.Int("n", 20, "how many to list, newest first")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: starter deliveries list [-status failed] [-n 20]")
		fmt.Fprintln(e.stderr, "       starter deliveries retry DELIVERY_ID")
		fs.PrintDefaults()
	}
	if len(args) == 0 {
		fs.Usage()
		return usagef("say list or retry")
	}
	verb := args[0]
	if err := fs.Parse(args[1:]); err != nil {
		return usagef("%v", err)
	}
	switch kith.DeliveryStatus(*status) {
	case "", kith.DeliverySending, kith.DeliveryAccepted, kith.DeliverySuppressed, kith.DeliveryCapped, kith.DeliveryFailed:
	default:
		return usagef("-status %q: use sending, accepted, suppressed, capped or failed", *status)
	}
	cfg, store, err := storeFromEnv(ctx, e)
	if err != nil {
		return err
	}
	defer store.Close()
	switch verb {
	case "list":
		ds, err := store.ListDeliveries(ctx, kith.DeliveryStatus(*status), *limit)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%d deliveries (newest first):\n", len(ds))
		for _, d := range ds {
			why := d.Reason
			if d.LastError != "" {
				why = d.LastError
			}
			fmt.Fprintf(e.stdout, "  %s  %-10s %-20s contact %s  %s  %s\n", d.ID, d.Status, d.Rule, d.ContactID, d.CreatedAt.Format("2006-01-02 15:04"), why)
		}
		return nil
	case "retry":
		if fs.NArg() != 1 {
			return usagef("retry takes one delivery id (see `starter deliveries list -status failed`)")
		}
		c, err := cfg.DialTemporal(ctx, cfg.Logger())
		if err != nil {
			return err
		}
		defer c.Close()
		res, err := workflows.ReplayDelivery(ctx, c, store, fs.Arg(0), cliActor())
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "delivery %s: %s %s\n", fs.Arg(0), res.Status, res.Reason)
		return nil
	}
	return usagef("unknown deliveries command %q: list or retry", verb)
}
