package main

import (
	"context"
	"flag"
	"fmt"
	"net/url"
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
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: starter link unsubscribe|profile -contact ID [-purpose P] [-valid 1440h]")
		fmt.Fprintln(e.stderr, "Prints a signed link for one contact (KITH_LINK_KEY signs it; KITH_PUBLIC_URL is its host):")
		fmt.Fprintln(e.stderr, "  unsubscribe  the one-click unsubscribe link (RFC 8058) for a message's List-Unsubscribe header")
		fmt.Fprintln(e.stderr, "  profile      a form link that tells the form who the person is")
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
	link, err := signedLink(cfg, kind, *contact, *purpose, time.Now().Add(*valid))
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, link)
	return nil
}

// signedLink is the URL of a signed link of kind for a contact.
func signedLink(cfg config.Config, kind, contactID, purpose string, expires time.Time) (string, error) {
	s := kith.Signer{Key: cfg.LinkKey}
	switch kind {
	case kith.LinkUnsubscribe:
		return cfg.PublicURL + "/v1/unsubscribe?" + url.Values{"token": {s.Sign(kith.Link{Kind: kind, ContactID: contactID, Purpose: purpose, Expires: expires})}}.Encode(), nil
	case kith.LinkProfile:
		return cfg.PublicURL + "/forms/profile?" + url.Values{"kith_token": {s.Sign(kith.Link{Kind: kind, ContactID: contactID, Expires: expires})}}.Encode(), nil
	}
	return "", usagef("unknown link %q: unsubscribe or profile", kind)
}
