package s3

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Errors that New, Check, Create and the Object methods wrap, for errors.Is.
var (
	// ErrBucketNotFound: the bucket does not exist.
	ErrBucketNotFound = errors.New("bucket does not exist")
	// ErrAccessDenied: the store refused the credentials or their rights.
	ErrAccessDenied = errors.New("access denied")
	// ErrUnreachable: no HTTP answer came from the endpoint.
	ErrUnreachable = errors.New("endpoint unreachable")
	// ErrWrongRegion: the bucket lives in another region than configured.
	ErrWrongRegion = errors.New("bucket is in another region")
	// ErrNoCredentials: static keys are not configured and the AWS default
	// credential chain found none.
	ErrNoCredentials = errors.New("no credentials")
	// ErrClosed: the Backend was closed.
	ErrClosed = errors.New("s3: backend closed")
	// ErrFinished: the Object was used after Commit or Abort.
	ErrFinished = errors.New("s3: object already committed or aborted")
	// ErrTooLarge: the object outgrew MaxParts parts of Config.PartSize.
	ErrTooLarge = errors.New("s3: object too large for partSize")
	// ErrConditionalWrites: the store does not implement If-None-Match,
	// needed by the Keep and Reject policies (see
	// Config.DisableConditionalWrites).
	ErrConditionalWrites = errors.New("store does not support conditional writes (If-None-Match)")
)

// kind classifies an error from the SDK.
type kind int

const (
	kindOther          kind = iota
	kindUnreachable         // no HTTP response at all
	kindCanceled            // the caller's context ended
	kindNotFound            // 404 (bucket, key or upload)
	kindDenied              // 403
	kindPrecondition        // 412: If-None-Match failed, the key exists
	kindConflict            // 409 ConditionalRequestConflict: retry the write
	kindNotImplemented      // 501
	kindRedirect            // 301/307: wrong region
	kindBadRequest          // 400
)

// classify sorts err by the HTTP status of the response that caused it, or
// by its cause when no response came.
func classify(err error) kind {
	if err == nil {
		return kindOther
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() != 0 {
		switch code := re.HTTPStatusCode(); {
		case code == http.StatusNotFound:
			return kindNotFound
		case code == http.StatusForbidden:
			return kindDenied
		case code == http.StatusPreconditionFailed:
			return kindPrecondition
		case code == http.StatusConflict && apiCode(err) == "ConditionalRequestConflict":
			return kindConflict
		case code == http.StatusNotImplemented:
			return kindNotImplemented
		case code == http.StatusMovedPermanently || code == http.StatusTemporaryRedirect:
			return kindRedirect
		case code == http.StatusBadRequest:
			return kindBadRequest
		}
		return kindOther
	}
	if errors.Is(err, context.Canceled) {
		return kindCanceled
	}
	// No response: the request was not sent or got no answer (refused,
	// reset, DNS, TLS, timeouts), possibly after retries.
	var se *smithyhttp.RequestSendError
	var ce *smithy.CanceledError
	if errors.As(err, &se) || errors.As(err, &ce) || errors.Is(err, context.DeadlineExceeded) {
		return kindUnreachable
	}
	return kindOther
}

// credentialCodes are the S3 error codes that mean the credentials are
// wrong, unknown or lack the right (XAdminUserNotFound is versitygw's answer
// to an unknown access key in single-account mode).
var credentialCodes = map[string]bool{
	"AccessDenied": true, "AllAccessDisabled": true, "InvalidAccessKeyId": true,
	"SignatureDoesNotMatch": true, "InvalidToken": true, "ExpiredToken": true,
	"TokenRefreshRequired": true, "InvalidSecurity": true, "XAdminUserNotFound": true,
}

// apiCode returns the S3 error code of err, or "".
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// responseHeader returns a header of the HTTP response behind err, or "".
func responseHeader(err error, name string) string {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.Response != nil && re.Response.Response != nil {
		return re.Response.Header.Get(name)
	}
	return ""
}

// cleanError carries an error whose text has been scrubbed of credentials;
// Unwrap still reaches the original for errors.Is and errors.As.
type cleanError struct {
	msg string
	err error
}

func (e *cleanError) Error() string { return e.msg }
func (e *cleanError) Unwrap() error { return e.err }

// kindError is an error of one of the exported kinds (ErrBucketNotFound...)
// with a message written for the operator and the SDK error as its cause.
type kindError struct {
	kind  error
	msg   string
	cause error
}

func (e *kindError) Error() string   { return e.msg }
func (e *kindError) Unwrap() []error { return []error{e.kind, e.cause} }

// redactor removes credentials from error text. The SDK does not put them
// in its messages (it reports status, code, message and request IDs), but a
// store may echo anything in its error message, and errors travel into logs
// and events: scrub rather than trust.
type redactor struct {
	secrets []string
}

func newRedactor(cfg Config) redactor {
	var r redactor
	if cfg.SecretKey != "" {
		r.secrets = append(r.secrets, cfg.SecretKey)
	}
	// An access key ID is not a secret to AWS, but it identifies an account:
	// long enough ones are scrubbed too (short ones would mangle text).
	if len(cfg.AccessKey) >= 8 {
		r.secrets = append(r.secrets, cfg.AccessKey)
	}
	return r
}

func (r redactor) string(s string) string {
	for _, sec := range r.secrets {
		s = strings.ReplaceAll(s, sec, "[REDACTED]")
	}
	return s
}

// clean wraps err so that its text holds no credential.
func (r redactor) clean(err error) error {
	if err == nil {
		return nil
	}
	return &cleanError{msg: r.string(err.Error()), err: err}
}
