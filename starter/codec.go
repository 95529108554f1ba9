package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"

	"github.com/kithhq/kith/codec"
	"github.com/kithhq/kith/config"
)

func runCodecServer(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("codec-server", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	addr := fs.String("addr", "", "listen address (default KITH_CODEC_ADDR or 127.0.0.1:8081)")
	if err := fs.Parse(args); err != nil {
		return usagef("%v", err)
	}
	cfg, err := config.FromEnv(e.getenv, false)
	if err != nil {
		return err
	}
	if *addr != "" {
		cfg.CodecAddr = *addr
	}
	srv, err := newCodecServer(cfg, cfg.Logger())
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.CodecAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.CodecAddr, err)
	}
	fmt.Fprintf(e.stdout, "serving the Temporal codec on http://%s (Web UI: --ui-codec-endpoint http://%s; CLI: --codec-endpoint http://%s --codec-auth 'Bearer <token>')\n", ln.Addr(), ln.Addr(), ln.Addr())
	return serveHTTP(ctx, ln, srv.Handler(), cfg.Logger())
}

// newCodecServer is the codec server for cfg's payload keys and codec tokens.
func newCodecServer(cfg config.Config, log *slog.Logger) (*codec.Server, error) {
	if len(cfg.PayloadKeys) == 0 {
		return nil, errors.New("KITH_PAYLOAD_KEYS is not set: there is nothing to decode (payloads are stored in clear)")
	}
	if len(cfg.CodecKeys) == 0 {
		return nil, errors.New("KITH_CODEC_KEYS is not set: give ops a token (name:token, at least 16 characters) to decode with")
	}
	aes, err := codec.New(cfg.PayloadKeys...)
	if err != nil {
		return nil, err
	}
	srv := &codec.Server{Codec: aes, Origins: cfg.CodecOrigins, Log: log}
	for _, k := range cfg.CodecKeys {
		srv.Tokens = append(srv.Tokens, codec.Token{Name: k.Source, SHA256: k.SHA256})
	}
	return srv, nil
}
