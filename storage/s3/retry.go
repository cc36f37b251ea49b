package s3

import (
	"context"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
)

// Retry tuning. The SDK's standard retryer decides what is transient (5xx,
// throttling codes, connection errors, timeouts), backs off exponentially
// with full jitter from a 50 ms base, and keeps a per-client retry quota so
// that an outage fails fast instead of multiplying the load. The deadline,
// not the attempt count, is what bounds a request.
const (
	// retryMaxAttempts is high on purpose: Config.RetryDeadline ends the
	// retries first in practice.
	retryMaxAttempts = 20
	// retryMaxBackoff caps one back-off delay (the SDK's default of 20 s
	// would eat most of a 30 s deadline in one sleep).
	retryMaxBackoff = 5 * time.Second
	// startupAttempts limits the attempts of the bucket check of New and
	// Check: a refused connection should fail them in well under a second.
	startupAttempts = 3
)

// errRetryDeadline ends retrying when the request's deadline leaves no room
// for another back-off and attempt.
var errRetryDeadline = errors.New("retry deadline reached")

// newRetryer returns the SDK's standard retryer, tuned for deadline, that
// refuses to retry once the request context's deadline is nearer than one
// maximum back-off. Without that, the last back-off would be cut by the
// deadline and the SDK would report only "context deadline exceeded",
// losing the error that caused the retries.
func newRetryer(deadline time.Duration) aws.Retryer {
	maxBackoff := min(retryMaxBackoff, deadline/4)
	std := retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = retryMaxAttempts
		o.MaxBackoff = maxBackoff
	})
	return &deadlineRetryer{RetryerV2: std, maxBackoff: maxBackoff}
}

type deadlineRetryer struct {
	aws.RetryerV2
	maxBackoff time.Duration
}

// GetRetryToken refuses a retry that could not finish before the deadline.
func (r *deadlineRetryer) GetRetryToken(ctx context.Context, opErr error) (func(error) error, error) {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < r.maxBackoff {
		return nil, errRetryDeadline
	}
	return r.RetryerV2.GetRetryToken(ctx, opErr)
}
