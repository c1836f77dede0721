package arvfile

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSmallFilesCostTheirSizeInTheBudget writes 2,000 files of 4 KiB by 4
// goroutines inside a budget of one block (64 MiB): each file's block
// reserves 4 KiB (8 MiB in all, where a 64 KiB start would need 125 MiB),
// so no write is ever refused memory (none seals early or waits), and
// Commit packs them into one stored block.
func TestSmallFilesCostTheirSizeInTheBudget(t *testing.T) {
	const files, size, workers = 2000, 4096, 4
	st := newTestStore()
	e := newTestEngine(t, st, WithMemoryBudget(64<<20))
	c := e.NewCollection()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < files; i += workers {
				f, err := c.Create(fmt.Sprintf("d%d/f%04d", i%8, i))
				if !assert.NoError(t, err) {
					return
				}
				n, err := f.Write(pattern(i, size))
				assert.NoError(t, err)
				assert.Equal(t, size, n)
				assert.NoError(t, f.Close())
			}
		}()
	}
	wg.Wait()
	mem := e.sys.RT.Memory
	live, _ := mem.Stats()
	assert.Equal(t, int64(files*size), live, "a 4 KiB file's block reserves 4 KiB")
	assert.Equal(t, int64(0), mem.Denied(), "no write was refused memory")

	require.NoError(t, c.Commit(bg))
	assert.Equal(t, int64(0), mem.Denied())
	live, _ = mem.Stats()
	assert.Equal(t, int64(0), live, "every buffer is released once everything is stored")
	puts := st.putCounts()
	assert.Len(t, puts, 1, "the small files are packed into one block")
	for _, p := range puts {
		assert.Equal(t, 1, p)
	}
	for _, i := range []int{0, 1, 999, 1999} {
		assert.Equal(t, string(pattern(i, size)), contents(t, c, fmt.Sprintf("d%d/f%04d", i%8, i)))
	}
}
