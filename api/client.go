package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Client calls an Open Inference Protocol v2 server over HTTP.
type Client struct {
	// BaseURL is the server's root, e.g. "http://localhost:8080".
	BaseURL string
	// HTTP is the client used; nil means http.DefaultClient.
	HTTP *http.Client
}

// StatusError is a non-2xx answer; Message is the server's {"error": …} text.
type StatusError struct {
	StatusCode int
	Message    string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("api: HTTP %d: %s", e.StatusCode, e.Message)
}

func (c *Client) do(ctx context.Context, method, path string, body []byte, header http.Header) (*http.Response, []byte, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.BaseURL, "/")+path, r)
	if err != nil {
		return nil, nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode/100 != 2 {
		var e Error
		if json.Unmarshal(b, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(b))
		}
		return resp, b, &StatusError{StatusCode: resp.StatusCode, Message: e.Error}
	}
	return resp, b, nil
}

func (c *Client) getJSON(ctx context.Context, path string, v any) error {
	_, b, err := c.do(ctx, http.MethodGet, path, nil, nil)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("api: GET %s: %w", path, err)
	}
	return nil
}

// ServerMetadata calls GET /v2.
func (c *Client) ServerMetadata(ctx context.Context) (*ServerMetadata, error) {
	var m ServerMetadata
	return &m, c.getJSON(ctx, "/v2", &m)
}

// ModelMetadata calls GET /v2/models/{name}.
func (c *Client) ModelMetadata(ctx context.Context, model string) (*ModelMetadata, error) {
	var m ModelMetadata
	return &m, c.getJSON(ctx, "/v2/models/"+url.PathEscape(model), &m)
}

// Ready calls GET /v2/health/ready; a nil error means ready.
func (c *Client) Ready(ctx context.Context) error {
	_, _, err := c.do(ctx, http.MethodGet, "/v2/health/ready", nil, nil)
	return err
}

// InferPath is the REST path of a model's inference endpoint.
func InferPath(model string) string { return "/v2/models/" + url.PathEscape(model) + "/infer" }

// NewInferBody encodes a request and the headers it needs (the binary extension's header when any input
// has Raw set).
func NewInferBody(req *InferRequest) ([]byte, http.Header, error) {
	body, headerLen, err := EncodeInferRequest(req)
	if err != nil {
		return nil, nil, err
	}
	h := http.Header{}
	if headerLen >= 0 {
		h.Set(HeaderContentLength, strconv.Itoa(headerLen))
		h.Set("Content-Type", "application/octet-stream")
	} else {
		h.Set("Content-Type", "application/json")
	}
	return body, h, nil
}

// Infer calls POST /v2/models/{model}/infer. Inputs with Raw set are sent with the binary extension.
func (c *Client) Infer(ctx context.Context, model string, req *InferRequest) (*InferResponse, error) {
	body, h, err := NewInferBody(req)
	if err != nil {
		return nil, err
	}
	resp, b, err := c.do(ctx, http.MethodPost, InferPath(model), body, h)
	if err != nil {
		return nil, err
	}
	headerLen := int64(-1)
	if v := resp.Header.Get(HeaderContentLength); v != "" {
		if headerLen, err = strconv.ParseInt(v, 10, 64); err != nil {
			return nil, fmt.Errorf("api: bad %s %q", HeaderContentLength, v)
		}
	}
	return DecodeInferResponse(b, headerLen)
}
