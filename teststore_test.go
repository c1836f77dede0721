package arvfile

import (
	"context"
	"crypto/md5"
	"fmt"
	"sync"

	"github.com/arvfile/arvfile/keep"
)

// testStore is an in-memory keep.Store for the engine's tests: it copies
// what it stores, counts Puts per locator, and fails Puts while failPut
// says so. (Stand-in until keep.MemoryStore and keep.FaultStore land.)
type testStore struct {
	mu      sync.Mutex
	blocks  map[string][]byte
	puts    map[string]int
	order   []string
	failPut func(data []byte) error
}

func newTestStore() *testStore {
	return &testStore{blocks: map[string][]byte{}, puts: map[string]int{}}
}

func (s *testStore) Put(ctx context.Context, data []byte, _ keep.PutOptions) (string, error) {
	sum := md5.Sum(data)
	loc := fmt.Sprintf("%x+%d", sum, len(data))
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failPut != nil {
		if err := s.failPut(data); err != nil {
			return "", err
		}
	}
	s.puts[loc]++
	s.order = append(s.order, loc)
	if _, ok := s.blocks[loc]; !ok {
		s.blocks[loc] = append([]byte(nil), data...)
	}
	return loc, nil
}

func (s *testStore) Get(ctx context.Context, loc string) ([]byte, error) {
	l, err := keep.ParseLocator(loc)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.blocks[l.Stripped()]
	if !ok {
		return nil, keep.ErrNotFound
	}
	return b, nil
}

// putCounts returns the number of Puts of each locator.
func (s *testStore) putCounts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[string]int, len(s.puts))
	for k, v := range s.puts {
		m[k] = v
	}
	return m
}

// putOrder returns the locators in the order they were put.
func (s *testStore) putOrder() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.order...)
}

func (s *testStore) setFailPut(fn func([]byte) error) {
	s.mu.Lock()
	s.failPut = fn
	s.mu.Unlock()
}
