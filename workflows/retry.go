package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
)

// backoff retries from a second after the first failure, doubling the wait up
// to limit, without end (the activity options bound it); failures of the given
// application error types are final.
func backoff(limit time.Duration, final ...string) *temporal.RetryPolicy {
	return &temporal.RetryPolicy{
		InitialInterval:        time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        limit,
		NonRetryableErrorTypes: final,
	}
}
