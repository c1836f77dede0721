package arvfile

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Writers of their own files, more than the memory budget has blocks for,
// wait for memory instead of sealing small blocks: within the budget, every
// block stored once and holding only bytes its file names.
func TestConcurrentWritersOfOwnFilesStayWithinTheBudget(t *testing.T) {
	tests := []struct {
		name                   string
		writers, budgetBlocks  int
		putWorkers, queueDepth int
	}{
		{"4 writers, 3 blocks of memory, 1 put worker", 4, 3, 1, 1},
		{"8 writers, 4 blocks of memory, 2 put workers", 8, 4, 2, 2},
		{"16 writers, 6 blocks of memory, 2 put workers", 16, 6, 2, 2},
	}
	const (
		blockSize = 4096
		fileSize  = 2*blockSize + 1000
		chunk     = 256
	)
	content := func(w int) []byte {
		b := make([]byte, fileSize)
		for i := range b {
			b[i] = byte(i*7) ^ byte(i>>8)*13 ^ byte(w*101)
		}
		// Every write starts with its writer and offset, so that no two
		// blocks (each starts at a write) are alike: "stored once" then
		// counts uploads, not coincidences of content.
		for off := 0; off+3 <= len(b); off += chunk {
			b[off], b[off+1], b[off+2] = byte(w), byte(off/chunk), 0xA5
		}
		return b
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newTestStore()
			budget := tt.budgetBlocks * blockSize
			e := newTestEngine(t, st, WithBlockSize(blockSize), WithMemoryBudget(int64(budget)),
				WithPutWorkers(tt.putWorkers), WithQueueDepth(tt.queueDepth))
			c := e.NewCollection()
			var wg sync.WaitGroup
			errs := make([]error, tt.writers)
			for w := 0; w < tt.writers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					f, err := c.Create(fmt.Sprintf("own%02d", w))
					if err != nil {
						errs[w] = err
						return
					}
					data := content(w)
					for off := 0; off < len(data) && err == nil; off += chunk {
						_, err = f.Write(data[off:min(off+chunk, len(data))])
					}
					if err == nil {
						err = f.Sync()
					}
					if cerr := f.Close(); err == nil {
						err = cerr
					}
					errs[w] = err
				}()
			}
			wg.Wait()
			for _, err := range errs {
				require.NoError(t, err)
			}
			segs := committedSegments(t, c)
			assert.LessOrEqual(t, e.sys.RT.Memory.Peak(), int64(budget), "the engine's accounting never exceeded the budget")
			for loc, n := range st.putCounts() {
				assert.Equal(t, 1, n, "block %s stored once", loc)
			}
			for w := 0; w < tt.writers; w++ {
				path := fmt.Sprintf("own%02d", w)
				assert.Equal(t, string(content(w)), contents(t, c, path))
				var stored int64
				seen := map[string]bool{}
				for _, r := range segs[path] {
					if !seen[r.Locator] {
						seen[r.Locator] = true
						size, err := strconv.ParseInt(strings.Split(r.Locator, "+")[1], 10, 64)
						require.NoError(t, err)
						stored += size
					}
				}
				assert.Equal(t, int64(fileSize), stored, "%s: its blocks hold its bytes and nothing else", path)
				assert.GreaterOrEqual(t, len(seen), 3, "%s: at least ceil(size/block) blocks", path)
			}
		})
	}
}
