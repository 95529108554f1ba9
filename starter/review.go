package main

import (
	"context"
	"flag"
	"fmt"
)

// runReview shows the de-duplication review queue and records decisions:
//
//	starter review                      list the pending pairs
//	starter review -a ID -b ID -merge   merge them (the next run applies it)
//	starter review -a ID -b ID -keep    keep them apart for good
func runReview(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("review", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	a := fs.String("a", "", "one contact id of the pair")
	b := fs.String("b", "", "the other contact id")
	merge := fs.Bool("merge", false, "they are the same person")
	keep := fs.Bool("keep", false, "they are different people")
	by := fs.String("by", "", "who decides (recorded with the decision)")
	limit := fs.Int("n", 20, "how many pending pairs to list")
	if err := fs.Parse(args); err != nil {
		return usagef("%v", err)
	}
	_, store, err := storeFromEnv(ctx, e)
	if err != nil {
		return err
	}
	defer store.Close()
	if *a == "" && *b == "" {
		pairs, err := store.PendingReviews(ctx, *limit)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%d pairs waiting for a decision (most likely matches first):\n", len(pairs))
		for _, p := range pairs {
			fmt.Fprintf(e.stdout, "  %s  %s  p=%.3f\n", p.A, p.B, p.Probability)
			if p.Reason != "" {
				fmt.Fprintf(e.stdout, "      held back: %s\n", p.Reason)
			}
		}
		return nil
	}
	if *a == "" || *b == "" || *merge == *keep || *by == "" {
		return usagef("review: give -a, -b, one of -merge or -keep, and -by (who decides)")
	}
	if err := store.DecideReview(ctx, *a, *b, *merge, *by); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "decision recorded; the next de-duplication run applies it")
	return nil
}
