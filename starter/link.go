package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/config"
)

func runLink(_ context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("link", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	contact := fs.String("contact", "", "the contact's id")
	purpose := fs.String("purpose", "*", "unsubscribe: the consent purpose to withdraw (* for every purpose)")
	valid := fs.Duration("valid", 60*24*time.Hour, "how long the link works")
	delivery := fs.String("delivery", "", "open, click: the message (or campaign) id the open or click belongs to")
	dest := fs.String("url", "", "click: the destination (https:// or http://)")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: starter link unsubscribe|profile|open|click -contact ID [-purpose P] [-delivery D] [-url U] [-valid 1440h]")
		fmt.Fprintln(e.stderr, "Prints a signed link for one contact (KITH_LINK_KEY signs it; KITH_PUBLIC_URL is its host):")
		fmt.Fprintln(e.stderr, "  unsubscribe  the one-click unsubscribe link (RFC 8058) for a message's List-Unsubscribe header")
		fmt.Fprintln(e.stderr, "  profile      a form link that tells the form who the person is")
		fmt.Fprintln(e.stderr, "  open         an email's open pixel (<img src=…>)")
		fmt.Fprintln(e.stderr, "  click        a tracked link that redirects to exactly -url")
		fs.PrintDefaults()
	}
	if len(args) == 0 {
		fs.Usage()
		return usagef("say which link: unsubscribe or profile")
	}
	kind := args[0]
	if err := fs.Parse(args[1:]); err != nil {
		return usagef("%v", err)
	}
	if _, err := uuid.Parse(*contact); err != nil {
		return usagef("-contact %q is not a contact id (a UUID, as the API and the Temporal UI show it)", *contact)
	}
	cfg, err := config.FromEnv(e.getenv, false)
	if err != nil {
		return err
	}
	if cfg.LinkKeyRandom {
		return fmt.Errorf("KITH_LINK_KEY is not set: a link signed with a random key would never work; set the key the API runs with")
	}
	link, err := signedLink(cfg, kith.Link{Kind: kind, ContactID: *contact, Purpose: *purpose, Delivery: *delivery, URL: *dest,
		Expires: time.Now().Add(*valid)})
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, link)
	return nil
}

// signedLink is the URL of a signed link for a contact.
func signedLink(cfg config.Config, l kith.Link) (string, error) {
	u, err := kith.Signer{Key: cfg.LinkKey}.URL(cfg.PublicURL, l)
	if err != nil {
		return "", usagef("%v", err)
	}
	return u, nil
}
