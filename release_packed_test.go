package arvfile

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A collection released with its small files packed into a block whose
// upload failed (ERROR) or is still in flight: every actor stops and the
// budget gets its bytes back.
func TestAReleasedCollectionsPackedBlockStops(t *testing.T) {
	for _, tt := range []struct {
		name string
		fail bool
	}{{"upload failed", true}, {"upload in flight", false}} {
		t.Run(tt.name, func(t *testing.T) {
			st := newTestStore()
			data := []string{"aaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbb", "cccccccccccccccccccc"}
			packed := loc(data[0] + data[1] + data[2])
			hold, entered := make(chan struct{}), make(chan struct{}, 1)
			st.setFailPut(func(l string) error {
				if l != packed {
					return nil
				}
				select { // the first put is awaited; a retry (the Commit's) is not
				case entered <- struct{}{}:
				default:
				}
				if tt.fail {
					return errStoreDown
				}
				<-hold
				return nil
			})
			e := newTestEngine(t, st, WithBlockSize(64), WithRetries(0))
			base := liveActors(e)
			c := e.NewCollection()
			for i, d := range append(data, "dddddddddddddddddddd") {
				require.NoError(t, create(t, c, string(rune('a'+i)), write{0, d}).Close())
			}
			select {
			case <-entered:
			case <-time.After(waitFor):
				t.Fatal("the packed block was never uploaded")
			}
			if tt.fail {
				require.Error(t, c.Commit(bg))
			}
			require.NoError(t, c.Close())
			close(hold)
			require.Eventually(t, func() bool { return liveActors(e) <= base && e.sys.RT.Memory.Used() == 0 }, waitFor, tick,
				"live %d (base %d), used %d", liveActors(e), base, e.sys.RT.Memory.Used())
		})
	}
}
