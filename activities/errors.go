package activities

import (
	"context"
	"errors"

	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"

	"github.com/kithhq/kith"
)

// ErrInvalid is the type of an activity failure that retrying cannot fix: the
// input was refused by Kith's rules or by the store (kith.Permanent). Workflows
// see it as a non-retryable application error carrying the violations.
const ErrInvalid = "kith.invalid"

// PermanentErrors makes every activity's permanent errors non-retryable, in one
// place: without it a value PostgreSQL refuses (a NUL in a text) is retried for
// the activity's whole schedule-to-close timeout, holding up its workflow.
// Workers install it (worker.Options.Interceptors).
type PermanentErrors struct {
	interceptor.WorkerInterceptorBase
}

// InterceptActivity implements interceptor.WorkerInterceptor.
func (*PermanentErrors) InterceptActivity(_ context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &permanentErrors{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}}
}

type permanentErrors struct {
	interceptor.ActivityInboundInterceptorBase
}

func (p *permanentErrors) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	res, err := p.Next.ExecuteActivity(ctx, in)
	var app *temporal.ApplicationError
	if err == nil || errors.As(err, &app) || !kith.Permanent(err) {
		return res, err
	}
	// The message names what was refused, never the value (the store's detail
	// may quote it, and failures are kept in history).
	msg := "the store refused the data"
	var ke *kith.Error
	if errors.As(err, &ke) {
		msg = ke.Message
		return res, temporal.NewNonRetryableApplicationError(msg, ErrInvalid, nil, ke.Violations)
	}
	var st interface{ SQLState() string }
	if errors.As(err, &st) {
		msg += " (SQLSTATE " + st.SQLState() + ")"
	}
	return res, temporal.NewNonRetryableApplicationError(msg, ErrInvalid, nil)
}

// Interceptors are the interceptors every Kith worker runs with.
func Interceptors() []interceptor.WorkerInterceptor {
	return []interceptor.WorkerInterceptor{&PermanentErrors{}}
}
