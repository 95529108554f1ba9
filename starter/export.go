package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
)

// runExport prints (or writes to -o) everything Kith holds on a contact, as
// one JSON document (the right of access):
//
//	starter export [-o FILE] CONTACT_ID
func runExport(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	out := fs.String("o", "", "write the document to this file (mode 0600) instead of standard output")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: starter export [-o FILE] CONTACT_ID")
		fmt.Fprintln(e.stderr, "Prints the contact's profile with provenance, identities, consent ledger, events, form submissions,")
		fmt.Fprintln(e.stderr, "orders, tickets, merges and deliveries as one JSON document; the audit log records who asked.")
		fs.PrintDefaults()
	}
	id, err := contactArg(fs, args)
	if err != nil {
		return err
	}
	_, store, err := storeFromEnv(ctx, e)
	if err != nil {
		return err
	}
	defer store.Close()
	doc, err := store.ExportContact(ctx, id, cliActor())
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := json.Indent(&b, doc, "", "  "); err != nil {
		return err
	}
	b.WriteByte('\n')
	if *out == "" {
		_, err := e.stdout.Write(b.Bytes())
		return err
	}
	if err := os.WriteFile(*out, b.Bytes(), 0o600); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "wrote the export of %s to %s (%d bytes)\n", id, *out, b.Len())
	return nil
}
