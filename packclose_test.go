package arvfile

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// Closing a collection while a packing round of its small files is under
// way gives the packed block's buffer back: the offers its stopped files
// never handled are refused for them, the copies their blocks never made
// give their loan back, and nothing stays retired until the engine closes.
func TestClosingACollectionDuringAPackingRoundGivesEveryBufferBack(t *testing.T) {
	tests := []struct {
		name  string
		files int
	}{
		{"a round of 4 small files", 4},
		{"a round and a half", 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEngine(t, newTestStore(), WithBlockSize(64))
			for i := 0; i < 200; i++ {
				c := e.NewCollection()
				for j := 0; j < tt.files; j++ {
					f := create(t, c, fmt.Sprintf("f%d", j), write{0, "aaaaaaaaaaaaaaaaaaaa"})
					require.NoError(t, f.Close())
				}
				require.NoError(t, c.Close())
			}
			mem := e.sys.RT.Memory
			require.Eventually(t, func() bool { return mem.Retired() == 0 && mem.Used() == 0 }, waitFor, tick,
				"retired %d, used %d", mem.Retired(), mem.Used())
		})
	}
}
