package postgres

import (
	"context"
	"database/sql/driver"
	"strings"

	"github.com/lib/pq"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// tracedConnector gives each statement run under a traced context (an HTTP
// request's, an activity's) a client span of the same trace: its SQL text
// (Kith's own, with placeholders — never the arguments) and its SQLSTATE. A
// statement with no span in its context (a poller, a migration) makes none.
type tracedConnector struct{ driver.Connector }

func newTracedConnector(dsn string) (driver.Connector, error) {
	c, err := pq.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	c.Dialer(bufferedDialer{})
	return tracedConnector{c}, nil
}

func (c tracedConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &tracedConn{conn.(pqConn)}, nil
}

// pqConn is what lib/pq's connection does that database/sql asks of a driver.
type pqConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
	driver.NamedValueChecker
}

type tracedConn struct{ pqConn }

func (c *tracedConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	ctx, end := startSpan(ctx, query)
	r, err := c.pqConn.ExecContext(ctx, query, args)
	end(err)
	return r, err
}

func (c *tracedConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	ctx, end := startSpan(ctx, query)
	r, err := c.pqConn.QueryContext(ctx, query, args)
	end(err)
	return r, err
}

func (c *tracedConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	ctx, end := startSpan(ctx, "BEGIN")
	tx, err := c.pqConn.BeginTx(ctx, opts)
	end(err)
	return tx, err
}

// startSpan starts a span for one statement when ctx carries a recording span,
// from that span's own provider (so no global is read).
func startSpan(ctx context.Context, query string) (context.Context, func(error)) {
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return ctx, func(error) {}
	}
	q := strings.TrimSpace(query)
	op, _, _ := strings.Cut(q, " ")
	if len(q) > 2000 {
		q = q[:2000]
	}
	ctx, span := parent.TracerProvider().Tracer("github.com/kithhq/kith/postgres").Start(ctx, "postgres "+strings.ToUpper(op),
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("db.system.name", "postgresql"), attribute.String("db.query.text", q)))
	return ctx, func(err error) {
		if err != nil {
			// The SQLSTATE only: a server's message can quote a value (a key
			// that already exists).
			status := "failed"
			if pe, ok := err.(*pq.Error); ok {
				status = string(pe.Code)
				span.SetAttributes(attribute.String("db.response.status_code", status))
			}
			span.SetStatus(codes.Error, "statement "+status)
		}
		span.End()
	}
}
