package devstack

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"
)

// TestMain starts the stack opts asks for, runs the package's tests and stops it,
// returning the exit code. In -short mode it starts nothing (integration tests
// skip through Require). A failure to start fails the run with the reason, never
// skips it. Use it as:
//
//	var stack *devstack.Stack
//	func TestMain(m *testing.M) { os.Exit(devstack.TestMain(m, devstack.Options{Postgres: true}, &stack)) }
func TestMain(m *testing.M, opts Options, out **Stack) int {
	if !flag.Parsed() {
		flag.Parse()
	}
	if testing.Short() {
		return m.Run()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	s, err := Start(ctx, opts)
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "devstack: %v\n", err)
		return 1
	}
	*out = s
	// Ctrl-C or a CI timeout: stop the servers before going.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sig
		s.Stop()
		os.Exit(130)
	}()
	code := m.Run()
	signal.Stop(sig)
	if err := s.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "devstack: stop: %v\n", err)
	}
	return code
}

// Require skips t in -short mode and otherwise returns the stack, failing t when
// TestMain did not start one.
func Require(t testing.TB, s *Stack) *Stack {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: skipped in -short mode")
	}
	if s == nil {
		t.Fatal("devstack: no stack: call devstack.TestMain from the package's TestMain")
	}
	return s
}
