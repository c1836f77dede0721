package keep

import (
	"context"
	"sync"
	"time"
)

// The operations a FaultFunc is asked about.
const (
	OpPut     = "put"
	OpGet     = "get"
	OpRefresh = "refresh"
)

// FaultFunc decides whether the n-th call (counting from 1, per operation) of
// operation op (OpPut, OpGet or OpRefresh) on the block named by locator
// fails, and with what error; nil lets the call through. For a Put, locator is
// the `md5+size` of the data (made from PutOptions.MD5 when the caller gave
// it). A FaultStore passes PutOptions on unchanged.
type FaultFunc func(op string, locator string, n int) error

// FaultStore wraps a Store to make it misbehave on demand, for tests and
// benchmarks: fail the n-th Put or Get, fail calls chosen by a FaultFunc,
// delay every call, or corrupt the bytes Gets return. Wrap errors in
// *TemporaryError (see Temporary) to make a failure temporary. It is safe for
// concurrent use and can be reconfigured at any time, for example to make a
// failing store recover (Reset).
//
// A call goes: count it (Puts, Gets); wait the latency, honouring ctx; fail
// with the error registered for its number (FailPut, FailGet) if any; else ask
// the FaultFunc; else call the wrapped store. A Get chosen for corruption
// returns a copy of the wrapped store's bytes with the first byte inverted and
// no error: it deliberately breaks the Store contract, so that a consumer's
// verification (VerifyBlock) can be tested. Empty blocks are passed through
// and not counted.
type FaultStore struct {
	inner Store

	mu       sync.Mutex
	puts     int
	gets     int
	refresh  int
	failPut  map[int]error
	failGet  map[int]error
	fault    FaultFunc
	latency  time.Duration
	corrupts func(locator string) bool
}

// NewFaultStore returns a FaultStore over inner that injects nothing yet.
func NewFaultStore(inner Store) *FaultStore {
	return &FaultStore{inner: inner, failPut: make(map[int]error), failGet: make(map[int]error)}
}

// FailPut makes the n-th Put (counting from 1 since the store was made) fail
// with err; a nil err removes the fault.
func (f *FaultStore) FailPut(n int, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	setNthFault(f.failPut, n, err)
}

// FailGet makes the n-th Get (counting from 1 since the store was made) fail
// with err; a nil err removes the fault.
func (f *FaultStore) FailGet(n int, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	setNthFault(f.failGet, n, err)
}

// SetFault installs fn to decide about every later call; nil removes it.
func (f *FaultStore) SetFault(fn FaultFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fault = fn
}

// SetLatency delays every later call by d (0 for none).
func (f *FaultStore) SetLatency(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.latency = d
}

// SetCorrupt makes every later Get of a block for which pred returns true
// return corrupted bytes; nil stops corruption.
func (f *FaultStore) SetCorrupt(pred func(locator string) bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.corrupts = pred
}

// Reset removes every fault, latency and corruption; the counters go on.
func (f *FaultStore) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.failPut)
	clear(f.failGet)
	f.fault = nil
	f.latency = 0
	f.corrupts = nil
}

// Puts returns the number of Puts of non-empty blocks so far.
func (f *FaultStore) Puts() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.puts
}

// Gets returns the number of Gets of non-empty blocks so far.
func (f *FaultStore) Gets() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.gets
}

// Put injects the configured faults, then calls the wrapped Put.
func (f *FaultStore) Put(ctx context.Context, data []byte, opts PutOptions) (string, error) {
	if len(data) == 0 {
		return f.inner.Put(ctx, data, opts)
	}
	f.mu.Lock()
	f.puts++
	n, latency, nth, fault := f.puts, f.latency, f.failPut[f.puts], f.fault
	f.mu.Unlock()
	if err := f.inject(ctx, latency, nth, fault, OpPut, n, func() string { return locatorOfSum(sumOf(data, opts), len(data)) }); err != nil {
		return "", err
	}
	return f.inner.Put(ctx, data, opts)
}

// Get injects the configured faults, then calls the wrapped Get and corrupts
// its result if asked to.
func (f *FaultStore) Get(ctx context.Context, locator string) ([]byte, error) {
	if loc, err := ParseLocator(locator); err == nil && loc.Stripped() == EmptyBlockLocator {
		return f.inner.Get(ctx, locator)
	}
	f.mu.Lock()
	f.gets++
	n, latency, nth, fault, corrupts := f.gets, f.latency, f.failGet[f.gets], f.fault, f.corrupts
	f.mu.Unlock()
	if err := f.inject(ctx, latency, nth, fault, OpGet, n, func() string { return locator }); err != nil {
		return nil, err
	}
	data, err := f.inner.Get(ctx, locator)
	if err != nil || corrupts == nil || len(data) == 0 || !corrupts(locator) {
		return data, err
	}
	bad := append([]byte(nil), data...)
	bad[0] ^= 0xff
	return bad, nil
}

// RefreshSignature injects latency and the FaultFunc, then forwards to the
// wrapped store if it is a Refresher.
func (f *FaultStore) RefreshSignature(ctx context.Context, locator string) (string, error) {
	f.mu.Lock()
	f.refresh++
	n, latency, fault := f.refresh, f.latency, f.fault
	f.mu.Unlock()
	if err := f.inject(ctx, latency, nil, fault, OpRefresh, n, func() string { return locator }); err != nil {
		return "", err
	}
	return refreshVia(ctx, f.inner, locator)
}

// inject waits latency, then returns nth if set, else what fault says.
func (f *FaultStore) inject(ctx context.Context, latency time.Duration, nth error, fault FaultFunc, op string, n int, locator func() string) error {
	if err := waitLatency(ctx, latency); err != nil {
		return err
	}
	if nth != nil {
		return nth
	}
	if fault != nil {
		return fault(op, locator(), n)
	}
	return nil
}

// setNthFault records err for call n, or forgets call n when err is nil.
func setNthFault(faults map[int]error, n int, err error) {
	if err == nil {
		delete(faults, n)
		return
	}
	faults[n] = err
}
