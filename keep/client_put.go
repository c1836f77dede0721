package keep

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// maxLocatorAnswer bounds the body of a PUT's answer (a signed locator).
const maxLocatorAnswer = 1024

// Put stores data on the services as Client describes and returns the
// locator the first confirming server signed. opts.Copies (or the Client's
// replicas) replicas are wanted in each of opts.StorageClasses (or, with
// none, in the servers' default classes). With opts.MD5 the PUT starts at
// once, without hashing data first. A Put that cannot reach them fails
// with a *PutError (see there for when it is temporary); replicas already
// stored stay (Keep collects unreferenced blocks).
func (c *Client) Put(ctx context.Context, data []byte, opts PutOptions) (string, error) {
	if err := checkPutSize(data); err != nil {
		return "", err
	}
	if len(data) == 0 {
		return EmptyBlockLocator, nil
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	wanted := opts.Copies
	if wanted <= 0 {
		wanted = c.cfg.replicas
	}
	sum := sumOf(data, opts) // the servers hash the body and refuse a mismatch
	hash := hex.EncodeToString(sum[:])
	p := &put{
		c:        c,
		hash:     hash,
		stripped: hash + "+" + strconv.Itoa(len(data)),
		data:     data,
		classes:  opts.StorageClasses,
		wanted:   wanted,
		tally:    make(map[string]int),
	}
	return p.run(ctx)
}

// put is one Put in progress. Only run's goroutine touches its fields; the
// request goroutines report through a channel.
type put struct {
	c        *Client
	hash     string
	stripped string
	data     []byte
	classes  []string
	wanted   int

	signed   string         // the first confirmed locator
	stored   int            // replicas confirmed
	storedOn []string       // services that confirmed them
	tally    map[string]int // replicas confirmed per storage class
	failures []ServerFailure
}

// putAnswer is what one PUT to one server came back with.
type putAnswer struct {
	service  int
	expect   int // replicas this request was counted for while in flight
	status   int
	locator  string
	replicas int
	classes  map[string]int // nil when the server did not say
	err      error
}

// missing returns how many replicas are still missing in the worst-off
// wanted class (or overall, without classes).
func (p *put) missing() int {
	if len(p.classes) == 0 {
		return p.wanted - p.stored
	}
	m := 0
	for _, class := range p.classes {
		m = max(m, p.wanted-p.tally[class])
	}
	return m
}

// run sends PUTs down the rendezvous order, as many at once as replicas are
// missing, until none is missing or every writable service has been tried.
func (p *put) run(ctx context.Context) (string, error) {
	c := p.c
	var order []int
	for _, i := range RendezvousOrder(p.hash, c.uuids) {
		if !c.services[i].ReadOnly {
			order = append(order, i)
		}
	}
	rctx, cancel := context.WithCancel(ctx)
	body := &blockBodies{data: p.data}
	answers := make(chan putAnswer)
	inflight, expected, next := 0, 0, 0
	defer func() {
		// No request may read data once Put returns.
		cancel()
		for ; inflight > 0; inflight-- {
			<-answers
		}
		body.revoke()
	}()
	for {
		need := p.missing()
		if need <= 0 {
			c.log.Debug("keep put", "locator", p.stripped, "replicas", p.stored, "on", p.storedOn, "failures", len(p.failures))
			return p.signed, nil
		}
		for need-expected > 0 && next < len(order) {
			i := order[next]
			next++
			expect := 1
			if c.services[i].Type == ServiceProxy {
				expect = need - expected
			}
			inflight++
			expected += expect
			go func() { answers <- p.putTo(rctx, i, expect, body) }()
		}
		if inflight == 0 {
			return "", p.failed()
		}
		a := <-answers
		inflight--
		expected -= a.expect
		if err := ctx.Err(); err != nil {
			return "", fmt.Errorf("keep: put %s: %w", p.stripped, err)
		}
		p.record(a)
	}
}

// record adds one answer to the tallies.
func (p *put) record(a putAnswer) {
	svc := p.c.services[a.service]
	if a.err != nil {
		p.failures = append(p.failures, ServerFailure{Service: svc.UUID, URL: svc.URL, Status: a.status, Err: a.err})
		p.c.log.Warn("keep put failed on one server", "locator", p.stripped, "service", svc.UUID, "status", a.status, "err", a.err)
		return
	}
	if p.signed == "" {
		p.signed = a.locator
	}
	p.stored += a.replicas
	p.storedOn = append(p.storedOn, svc.UUID)
	if a.classes == nil {
		// A server that does not report classes: count its replicas for
		// every wanted class, as older servers stored in all of them.
		for _, class := range p.classes {
			p.tally[class] += a.replicas
		}
		return
	}
	for class, n := range a.classes {
		p.tally[class] += n
	}
}

// failed builds the error of a Put that ran out of services.
func (p *put) failed() error {
	e := &PutError{
		Locator: p.stripped, Wanted: p.wanted, Classes: p.classes,
		Stored: p.stored, StoredOn: p.storedOn, Confirmed: p.tally, Failures: p.failures,
	}
	if len(p.failures) == 0 {
		e.Failures = nil
	}
	for _, f := range p.failures {
		if IsTemporary(f.Err) {
			return Temporary(e)
		}
	}
	return e
}

// putTo sends the block to service i and reads its answer.
func (p *put) putTo(ctx context.Context, i, expect int, bodies *blockBodies) putAnswer {
	c := p.c
	a := putAnswer{service: i, expect: expect}
	release, err := c.acquire(ctx, i)
	if err != nil {
		a.err = err
		return a
	}
	defer release()
	rctx, cancel := context.WithTimeout(ctx, c.cfg.requestTimeout)
	defer cancel()
	body := bodies.open()
	if body == nil {
		a.err = ctx.Err()
		return a
	}
	req, err := http.NewRequestWithContext(rctx, http.MethodPut, c.services[i].URL+"/"+p.hash, body)
	if err != nil {
		a.err = err
		return a
	}
	req.ContentLength = int64(len(p.data))
	c.authorize(req)
	req.Header.Set("X-Keep-Desired-Replicas", strconv.Itoa(p.wanted))
	if len(p.classes) > 0 {
		req.Header.Set("X-Keep-Storage-Classes", strings.Join(p.classes, ", "))
	}
	resp, err := c.http.Do(req)
	if err != nil {
		a.err = Temporary(err)
		return a
	}
	defer resp.Body.Close()
	a.status = resp.StatusCode
	what := "PUT " + c.services[i].URL + "/" + p.stripped
	if resp.StatusCode != http.StatusOK {
		a.err = statusError(what, resp, true)
		return a
	}
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxLocatorAnswer+1))
	if err != nil {
		a.err = Temporary(fmt.Errorf("%s: reading the answer: %w", what, err))
		return a
	}
	text := trimBody(answer)
	loc, err := ParseLocator(text)
	if err != nil || loc.Stripped() != p.stripped || len(answer) > maxLocatorAnswer {
		a.err = fmt.Errorf("%s: server answered %q, not a locator of this block", what, shorten(text))
		return a
	}
	a.locator = loc.String()
	a.replicas = 1
	if h := resp.Header.Get("X-Keep-Replicas-Stored"); h != "" {
		n, err := strconv.Atoi(strings.TrimSpace(h))
		if err != nil || n < 0 || n > maxReplicasAnswer {
			a.err = fmt.Errorf("%s: bad X-Keep-Replicas-Stored %q", what, shorten(h))
			return a
		}
		a.replicas = n
	}
	if h := resp.Header.Get("X-Keep-Storage-Classes-Confirmed"); h != "" {
		if a.classes, err = parseClassesConfirmed(h); err != nil {
			a.err = fmt.Errorf("%s: %w", what, err)
			return a
		}
	}
	return a
}

// maxReplicasAnswer bounds the replicas one answer may claim.
const maxReplicasAnswer = 1000

// parseClassesConfirmed parses "class=n, class=n" (the value of
// X-Keep-Storage-Classes-Confirmed).
func parseClassesConfirmed(h string) (map[string]int, error) {
	classes := make(map[string]int)
	for _, part := range strings.Split(h, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		class, count, ok := strings.Cut(part, "=")
		n, err := strconv.Atoi(count)
		if !ok || class == "" || err != nil || n < 0 || n > maxReplicasAnswer {
			return nil, fmt.Errorf("bad X-Keep-Storage-Classes-Confirmed %q", shorten(h))
		}
		classes[class] += n
	}
	return classes, nil
}

// shorten cuts s for an error message.
func shorten(s string) string {
	if len(s) > 100 {
		return s[:100] + "..."
	}
	return s
}

// blockBodies hands out request bodies over one block and, once revoked,
// guarantees that none of them reads the block any more (the transport may
// still be sending a body after Do returned).
type blockBodies struct {
	mu      sync.Mutex
	data    []byte
	revoked bool
}

// open returns a new body over the block, or nil after revoke.
func (b *blockBodies) open() *blockBody {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.revoked {
		return nil
	}
	return &blockBody{owner: b}
}

// revoke waits for any read in progress and makes every later one fail.
func (b *blockBodies) revoke() {
	b.mu.Lock()
	b.revoked = true
	b.data = nil
	b.mu.Unlock()
}

// errRevoked is what a body reads after its Put returned.
var errRevoked = errors.New("keep: put already returned")

// bodyChunk is how much a body writes to the connection per lock.
const bodyChunk = 1 << 20

// blockBody is one request's body: a reader over the block that writes
// straight from it to the connection (WriteTo) without another copy.
type blockBody struct {
	owner *blockBodies
	off   int
}

// Read copies the next bytes of the block into p.
func (r *blockBody) Read(p []byte) (int, error) {
	b := r.owner
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.revoked {
		return 0, errRevoked
	}
	if r.off >= len(b.data) {
		return 0, io.EOF
	}
	n := copy(p, b.data[r.off:])
	r.off += n
	return n, nil
}

// WriteTo writes the rest of the block to w, one chunk per lock.
func (r *blockBody) WriteTo(w io.Writer) (int64, error) {
	var total int64
	b := r.owner
	for {
		b.mu.Lock()
		if b.revoked {
			b.mu.Unlock()
			return total, errRevoked
		}
		if r.off >= len(b.data) {
			b.mu.Unlock()
			return total, nil
		}
		chunk := b.data[r.off:min(len(b.data), r.off+bodyChunk)]
		n, err := w.Write(chunk)
		b.mu.Unlock()
		r.off += n
		total += int64(n)
		if err != nil {
			return total, err
		}
	}
}

// Close does nothing; the block belongs to the caller of Put.
func (r *blockBody) Close() error { return nil }
