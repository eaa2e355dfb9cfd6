package serve

import (
	"errors"
	"net/http"

	"google.golang.org/grpc/codes"

	"github.com/hone-ml/hone/api"
	"github.com/hone-ml/hone/runtime"
)

// Sentinel errors; every error the server returns wraps one of these (or api.ErrBadRequest /
// runtime.ErrInvalid for malformed input), and statusOf maps them to HTTP and gRPC codes.
var (
	// ErrNotFound: no such model or version.
	ErrNotFound = errors.New("not found")
	// ErrQueueFull: the model's queue is at max_queue_size.
	ErrQueueFull = errors.New("queue full")
	// ErrClosed: the server or model is shutting down or unloading.
	ErrClosed = errors.New("shutting down")
	// ErrTimeout: the request's timeout passed before it was answered.
	ErrTimeout = errors.New("timeout")
	// ErrTooLarge: the body exceeds the request size limit.
	ErrTooLarge = errors.New("request too large")
)

// statusOf maps an error to its HTTP status and gRPC code.
func statusOf(err error) (int, codes.Code) {
	switch {
	case errors.Is(err, api.ErrBadRequest), errors.Is(err, runtime.ErrInvalid):
		return http.StatusBadRequest, codes.InvalidArgument
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound, codes.NotFound
	case errors.Is(err, ErrQueueFull):
		return http.StatusTooManyRequests, codes.ResourceExhausted
	case errors.Is(err, ErrClosed):
		return http.StatusServiceUnavailable, codes.Unavailable
	case errors.Is(err, ErrTimeout):
		return http.StatusGatewayTimeout, codes.DeadlineExceeded
	case errors.Is(err, ErrTooLarge):
		return http.StatusRequestEntityTooLarge, codes.ResourceExhausted
	case errors.Is(err, runtime.ErrUnsupported):
		return http.StatusBadRequest, codes.InvalidArgument
	}
	return http.StatusInternalServerError, codes.Internal
}

// ErrBadRequestf is api.ErrBadRequest, named here for wrapping.
var ErrBadRequestf = api.ErrBadRequest
