package arvfile

import (
	"github.com/arvfile/arvfile/keep"
)

// testStore is the store of the engine's tests: a keep.MemoryStore (which
// counts Puts per locator) behind a keep.FaultStore (which fails Puts on
// demand).
type testStore struct {
	*keep.FaultStore
	mem *keep.MemoryStore
}

func newTestStore() *testStore {
	mem := keep.NewMemoryStore()
	return &testStore{FaultStore: keep.NewFaultStore(mem), mem: mem}
}

// putCounts returns the number of Puts of each stored block.
func (s *testStore) putCounts() map[string]int {
	m := map[string]int{}
	for _, l := range s.mem.Locators() {
		m[l] = s.mem.Puts(l)
	}
	return m
}

// setFailPut makes every Put of a block (named by md5+size) for which fail
// returns an error fail with it; nil makes the store recover.
func (s *testStore) setFailPut(fail func(locator string) error) {
	if fail == nil {
		s.SetFault(nil)
		return
	}
	s.SetFault(func(op, locator string, _ int) error {
		if op != keep.OpPut {
			return nil
		}
		return fail(locator)
	})
}
