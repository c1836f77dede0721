package keep

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// Has reports whether a service holds the block named by locator (signed as
// for Get), asking the services in rendezvous order with HEAD requests until
// one answers 200 with the locator's size: a cheap check that the block is
// there and the signature is accepted, not that its bytes are intact (Get
// does that). It answers false, nil when every service said 404; a refused
// signature or token is an error wrapping ErrPermission; when no service
// answered either way the error is temporary. The empty block is always
// there.
func (c *Client) Has(ctx context.Context, locator string) (bool, error) {
	loc, empty, err := beginGet(ctx, locator)
	if err != nil || empty {
		return empty, err
	}
	var failures []ServerFailure
	for _, i := range RendezvousOrder(loc.Hash(), c.uuids) {
		status, err := c.headFrom(ctx, i, loc, locator)
		if err == nil {
			return true, nil
		}
		if ctx.Err() != nil {
			return false, fmt.Errorf("keep: head %s: %w", locator, ctx.Err())
		}
		failures = append(failures, ServerFailure{Service: c.services[i].UUID, URL: c.services[i].URL, Status: status, Err: err})
	}
	err = newGetError(locator, failures)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return false, err
}

// headFrom asks service i whether it has the block, returning the HTTP
// status (0 without an answer) and, unless it has it, what went wrong.
func (c *Client) headFrom(ctx context.Context, i int, loc Locator, locator string) (int, error) {
	release, err := c.acquire(ctx, i)
	if err != nil {
		return 0, err
	}
	defer release()
	rctx, cancel := context.WithTimeout(ctx, c.cfg.requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodHead, c.services[i].URL+"/"+locator, nil)
	if err != nil {
		return 0, err
	}
	c.authorize(req)
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, Temporary(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, statusError("HEAD "+c.services[i].URL+"/"+loc.Stripped(), resp, false)
	}
	if resp.ContentLength >= 0 && resp.ContentLength != loc.Size() {
		return resp.StatusCode, fmt.Errorf("%w: %s: server announced %d bytes", ErrCorrupt, loc.Stripped(), resp.ContentLength)
	}
	return resp.StatusCode, nil
}
