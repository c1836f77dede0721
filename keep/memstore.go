package keep

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"
)

// MemoryStore is a Store that keeps blocks in memory, for tests and
// benchmarks. It is safe for concurrent use.
//
// Put hashes the data (or takes PutOptions.MD5 as its md5), keeps a private copy under `md5+size` and returns that
// unsigned locator; storing a block it already has keeps the first copy. Get
// returns the stored slice itself (callers must not modify it). Get does not
// re-hash a block Put hashed: nothing can change the private copy, so the md5
// check is done once, at Put. A block named by the caller's PutOptions.MD5 is
// checked at its first Get instead (a wrong sum fails it with ErrCorrupt).
//
// Every Put and Get that does I/O is counted per stripped locator (Puts, Gets)
// and in total, including Gets of blocks it does not have; the empty block
// needs no I/O and is neither counted nor delayed. An optional latency
// (SetLatency) delays every counted call, honouring the caller's context.
type MemoryStore struct {
	mu sync.Mutex
	// blocks maps `md5+size` to the block's private copy.
	blocks map[string][]byte
	// unchecked holds the blocks named by a caller's sum and not yet
	// checked against it (by the first Get).
	unchecked map[string]bool
	// puts and gets count calls per `md5+size`.
	puts, gets map[string]int
	// totalPuts and totalGets count every counted call.
	totalPuts, totalGets int
	// bytes is the sum of the lengths of blocks.
	bytes int64
	// latency delays every counted call.
	latency time.Duration
}

// NewMemoryStore returns an empty MemoryStore without latency.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{
		blocks:    make(map[string][]byte),
		unchecked: make(map[string]bool),
		puts:      make(map[string]int),
		gets:      make(map[string]int),
	}
}

// SetLatency makes every later Put and Get wait d first (0 for none); a call
// whose context ends while waiting returns the context's error.
func (m *MemoryStore) SetLatency(d time.Duration) {
	m.mu.Lock()
	m.latency = d
	m.mu.Unlock()
}

// Put stores a private copy of data and returns `md5+size`, named by
// opts.MD5 when given (else it hashes data).
func (m *MemoryStore) Put(ctx context.Context, data []byte, opts PutOptions) (string, error) {
	if err := checkPutSize(data); err != nil {
		return "", err
	}
	if len(data) == 0 {
		return EmptyBlockLocator, nil
	}
	if err := waitLatency(ctx, m.currentLatency()); err != nil {
		return "", err
	}
	locator := locatorOfSum(sumOf(data, opts), len(data))
	m.mu.Lock()
	defer m.mu.Unlock()
	m.puts[locator]++
	m.totalPuts++
	if _, ok := m.blocks[locator]; !ok {
		m.blocks[locator] = append([]byte(nil), data...)
		m.bytes += int64(len(data))
		if opts.MD5 != nil {
			m.unchecked[locator] = true
		}
	}
	return locator, nil
}

// Get returns the block named by locator (hints are ignored), or an error
// wrapping ErrNotFound.
func (m *MemoryStore) Get(ctx context.Context, locator string) ([]byte, error) {
	loc, empty, err := parseGetLocator(locator)
	if err != nil {
		return nil, err
	}
	if empty {
		return []byte{}, nil
	}
	if err := waitLatency(ctx, m.currentLatency()); err != nil {
		return nil, err
	}
	key := loc.Stripped()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gets[key]++
	m.totalGets++
	data, ok := m.blocks[key]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	if m.unchecked[key] {
		if err := VerifyBlock(loc, data); err != nil {
			return nil, err
		}
		delete(m.unchecked, key)
	}
	return data, nil
}

// RefreshSignature returns the stripped locator of a block the store has,
// whatever hints locator carries (+R… included): a MemoryStore stands for the
// local cluster and does not sign. It fails with ErrNotFound otherwise.
func (m *MemoryStore) RefreshSignature(ctx context.Context, locator string) (string, error) {
	loc, err := ParseLocator(locator)
	if err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	key := loc.Stripped()
	if key == EmptyBlockLocator {
		return key, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.blocks[key]; !ok {
		return "", fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	return key, nil
}

// Delete removes the block named by locator and reports whether it was
// there. Slices already returned by Get stay valid.
func (m *MemoryStore) Delete(locator string) bool {
	key := memoryStoreKey(locator)
	m.mu.Lock()
	defer m.mu.Unlock()
	data, ok := m.blocks[key]
	if ok {
		delete(m.blocks, key)
		delete(m.unchecked, key)
		m.bytes -= int64(len(data))
	}
	return ok
}

// Puts returns how many Puts stored the block named by locator (hints are
// ignored), duplicates included.
func (m *MemoryStore) Puts(locator string) int {
	key := memoryStoreKey(locator)
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.puts[key]
}

// Gets returns how many Gets asked for the block named by locator (hints are
// ignored), failed ones included.
func (m *MemoryStore) Gets(locator string) int {
	key := memoryStoreKey(locator)
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.gets[key]
}

// TotalPuts returns the number of counted Puts.
func (m *MemoryStore) TotalPuts() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.totalPuts
}

// TotalGets returns the number of counted Gets.
func (m *MemoryStore) TotalGets() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.totalGets
}

// BytesStored returns the total size of the distinct blocks held.
func (m *MemoryStore) BytesStored() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.bytes
}

// Locators returns the stripped locators of the blocks held, sorted.
func (m *MemoryStore) Locators() []string {
	m.mu.Lock()
	locators := make([]string, 0, len(m.blocks))
	for k := range m.blocks {
		locators = append(locators, k)
	}
	m.mu.Unlock()
	sort.Strings(locators)
	return locators
}

func (m *MemoryStore) currentLatency() time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.latency
}

// memoryStoreKey returns the stripped form of locator, or locator itself when
// it does not parse (such a key matches nothing).
func memoryStoreKey(locator string) string {
	if loc, err := ParseLocator(locator); err == nil {
		return loc.Stripped()
	}
	return locator
}
