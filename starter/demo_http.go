package main

import (
	"context"
	"io"
	"net/http"
	"strings"
)

// demoAPI sends the demo's requests to the API the way a browser, a mail
// client or an SDK would.
type demoAPI struct {
	ctx  context.Context
	base string // the API's URL
}

// noRedirects is a client that shows redirects instead of following them.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// do sends one request with client c (nil: noRedirects); set adds headers. It
// returns the status, the body trimmed and the response headers.
func (d demoAPI) do(c *http.Client, method, path, contentType, body string, set func(*http.Request)) (int, string, http.Header, error) {
	if c == nil {
		c = noRedirects
	}
	req, err := http.NewRequestWithContext(d.ctx, method, d.base+path, strings.NewReader(body))
	if err != nil {
		return 0, "", nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if set != nil {
		set(req)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b)), resp.Header, nil
}
