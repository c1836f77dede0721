package keep

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// maxErrorBody is how much of an error answer's body goes into an error.
const maxErrorBody = 512

// Get returns the block named by locator (signed as a server signed it for
// this Client's token), trying the services in rendezvous order and
// returning the first copy whose md5 and size match. See Client and
// GetError for the errors.
func (c *Client) Get(ctx context.Context, locator string) ([]byte, error) {
	loc, empty, err := beginGet(ctx, locator)
	if err != nil {
		return nil, err
	}
	if empty {
		return []byte{}, nil
	}
	var buf []byte // reused by every attempt; allocated at the first 200
	var failures []ServerFailure
	for _, i := range RendezvousOrder(loc.Hash(), c.uuids) {
		data, status, err := c.getFrom(ctx, i, loc, locator, &buf)
		if err == nil {
			c.log.Debug("keep get", "locator", loc.Stripped(), "service", c.services[i].UUID, "failed_before", len(failures))
			return data, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("keep: get %s: %w", locator, ctx.Err())
		}
		f := ServerFailure{Service: c.services[i].UUID, URL: c.services[i].URL, Status: status, Err: err}
		failures = append(failures, f)
		if !errors.Is(err, ErrNotFound) {
			c.log.Warn("keep get failed on one server", "locator", loc.Stripped(), "service", f.Service, "status", status, "err", err)
		}
	}
	return nil, newGetError(locator, failures)
}

// newGetError classifies the failures of a Get (see GetError).
func newGetError(locator string, failures []ServerFailure) error {
	var permission, temporary, corrupt, other bool
	for _, f := range failures {
		switch {
		case errors.Is(f.Err, ErrPermission):
			permission = true
		case IsTemporary(f.Err):
			temporary = true
		case errors.Is(f.Err, ErrCorrupt):
			corrupt = true
		case !errors.Is(f.Err, ErrNotFound):
			other = true
		}
	}
	e := &GetError{Locator: locator, Failures: failures}
	switch {
	case permission:
		e.kind = ErrPermission
	case temporary:
		return Temporary(e)
	case other:
	case corrupt:
		e.kind = ErrCorrupt
	default:
		e.kind = ErrNotFound
	}
	return e
}

// getFrom asks service i for the block and returns it checked against loc,
// or the HTTP status (0 without an answer) and what went wrong. *buf is
// allocated to the block's size once and reused.
func (c *Client) getFrom(ctx context.Context, i int, loc Locator, locator string, buf *[]byte) ([]byte, int, error) {
	release, err := c.acquire(ctx, i)
	if err != nil {
		return nil, 0, err
	}
	defer release()
	rctx, cancel := context.WithTimeout(ctx, c.cfg.requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, c.services[i].URL+"/"+locator, nil)
	if err != nil {
		return nil, 0, err
	}
	c.authorize(req)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, 0, Temporary(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, resp.StatusCode, statusError("GET "+c.services[i].URL+"/"+loc.Stripped(), resp, false)
	}
	size := loc.Size()
	if resp.ContentLength >= 0 && resp.ContentLength != size {
		return nil, resp.StatusCode, fmt.Errorf("%w: %s: server announced %d bytes", ErrCorrupt, loc.Stripped(), resp.ContentLength)
	}
	if *buf == nil {
		*buf = make([]byte, size)
	}
	data := *buf
	switch err := readHashed(resp.Body, data, loc); {
	case err == nil:
	case errors.Is(err, io.ErrUnexpectedEOF) && resp.ContentLength < 0:
		// No length announced: the server sent a short block.
		return nil, resp.StatusCode, fmt.Errorf("%w: %s: %v", ErrCorrupt, loc.Stripped(), err)
	case errors.Is(err, ErrCorrupt):
		return nil, resp.StatusCode, err
	default:
		return nil, resp.StatusCode, Temporary(fmt.Errorf("GET %s/%s: %w", c.services[i].URL, loc.Stripped(), err))
	}
	return data, resp.StatusCode, nil
}

// acquire waits for a free request slot of service i (or for ctx) and
// returns the function that frees it.
func (c *Client) acquire(ctx context.Context, i int) (func(), error) {
	select {
	case c.slots[i] <- struct{}{}:
		return func() { <-c.slots[i] }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// authorize adds the token to req.
func (c *Client) authorize(req *http.Request) {
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
}

// statusError turns a failed answer into an error: 404 wraps ErrNotFound;
// 401 and 403 (and, on a read, 400: bad signature) wrap ErrPermission; 408,
// 429 and 5xx other than 507 are temporary; anything else is permanent. The
// error names the request (what, without the signature) and quotes the start
// of the answer's body.
func statusError(what string, resp *http.Response, put bool) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	msg := fmt.Errorf("%s: %s: %q", what, resp.Status, trimBody(body))
	switch code := resp.StatusCode; {
	case code == http.StatusNotFound:
		return fmt.Errorf("%w: %v", ErrNotFound, msg)
	case code == http.StatusUnauthorized || code == http.StatusForbidden || (code == http.StatusBadRequest && !put):
		return fmt.Errorf("%w: %v", ErrPermission, msg)
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests ||
		(code >= 500 && code != http.StatusInsufficientStorage):
		return Temporary(msg)
	default:
		return msg
	}
}

// trimBody returns body without trailing white space.
func trimBody(body []byte) string {
	for len(body) > 0 && (body[len(body)-1] == '\n' || body[len(body)-1] == ' ' || body[len(body)-1] == '\r') {
		body = body[:len(body)-1]
	}
	return string(body)
}

// RefreshSignature reads the block named by locator and stores it again,
// returning the locator the servers sign now: a fresh signature for an
// expiring one, or a local copy of a block Get can reach. It fails like Get
// (ErrNotFound when no server has the block), then like Put.
func (c *Client) RefreshSignature(ctx context.Context, locator string) (string, error) {
	data, err := c.Get(ctx, locator)
	if err != nil {
		return "", err
	}
	return c.Put(ctx, data, PutOptions{})
}

// hashChunk is how much readHashed reads before hashing it, while it is
// still in the CPU's cache.
const hashChunk = 256 << 10

// readHashed fills data from body, hashing each chunk as it arrives, and
// checks that body ends there and that the bytes match loc's md5. An answer
// cut short fails with an error wrapping io.ErrUnexpectedEOF (the caller
// decides whether the transfer broke or the server sent a short block); a
// longer answer or other bytes wrap ErrCorrupt.
func readHashed(body io.Reader, data []byte, loc Locator) error {
	h := md5.New()
	for off := 0; off < len(data); {
		end := min(len(data), off+hashChunk)
		n, err := io.ReadFull(body, data[off:end])
		h.Write(data[off : off+n])
		off += n
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
				return fmt.Errorf("answer cut short after %d bytes: %w", off, io.ErrUnexpectedEOF)
			}
			return fmt.Errorf("after %d bytes: %w", off, err)
		}
	}
	var one [1]byte
	if n, _ := body.Read(one[:]); n > 0 {
		return fmt.Errorf("%w: %s: answer longer than the block", ErrCorrupt, loc.Stripped())
	}
	var sum [md5.Size]byte
	var got [2 * md5.Size]byte
	hex.Encode(got[:], h.Sum(sum[:0]))
	if string(got[:]) != loc.Hash() {
		return fmt.Errorf("%w: %s: content has md5 %s", ErrCorrupt, loc.Stripped(), got[:])
	}
	return nil
}
