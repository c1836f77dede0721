package arvfile

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const mib = 1 << 20

// cycle251 is the bytes 0…250 repeated over a little more than a MiB.
var cycle251 = func() []byte {
	b := make([]byte, mib+251)
	for k := range b {
		b[k] = byte(k % 251)
	}
	return b
}()

// mibPiece returns the i-th MiB (i < 36) of the test files of this file:
// bytes that differ from one MiB to the next and inside each.
func mibPiece(i int) []byte {
	s := i * 7 % 251
	return append([]byte(nil), cycle251[s:s+mib]...)
}

// mibRange returns MiBs [from, to) of mibPiece, as one string.
func mibRange(from, to int) string {
	var b bytes.Buffer
	for i := from; i < to; i++ {
		b.Write(mibPiece(i))
	}
	return b.String()
}

// readAll reads the whole file at path of c.
func readAll(t *testing.T, c *Collection, path string) []byte {
	t.Helper()
	f, err := c.Open(path)
	require.NoError(t, err)
	defer f.Close()
	b, err := io.ReadAll(f)
	require.NoError(t, err)
	return b
}

func TestASyncSplitsALargeBlockOutOfFileOrderAcrossThePutWorkers(t *testing.T) {
	backwards := func(n int) []int { // MiB n-1 first, 0 last
		order := make([]int, n)
		for i := range order {
			order[i] = n - 1 - i
		}
		return order
	}
	forwards := func(n int) []int {
		order := make([]int, n)
		for i := range order {
			order[i] = i
		}
		return order
	}
	tests := []struct {
		name  string
		opts  []Option
		whole int      // MiBs [0, whole) written first, in one WriteAt
		order []int    // the MiBs written then, one WriteAt each, at their offset
		parts [][2]int // the blocks stored: MiB ranges of the file
	}{
		{"16 MiB written backwards is stored as two blocks of 8 MiB in file order", nil, 0,
			backwards(16), [][2]int{{0, 8}, {8, 16}}},
		{"8 MiB written in file order is stored as written, one block", nil, 0,
			forwards(8), [][2]int{{0, 8}}},
		{"7 MiB written backwards is too small to split: one block", nil, 0,
			backwards(7), [][2]int{{0, 7}}},
		{"9 MiB written backwards is cut at the first MiB past its half", nil, 0,
			backwards(9), [][2]int{{0, 5}, {5, 9}}},
		{"three put workers store three parts", []Option{WithPutWorkers(3)}, 0,
			backwards(12), [][2]int{{0, 4}, {4, 8}, {8, 12}}},
		{"no more parts than 4 MiB each", []Option{WithPutWorkers(4)}, 0,
			backwards(11), [][2]int{{0, 6}, {6, 11}}},
		{"one put worker stores one block", []Option{WithPutWorkers(1)}, 0,
			backwards(8), [][2]int{{0, 8}}},
		{"9 MiB written at once and 1 MiB over its end stay one block: no cut leaves 4 MiB on each side", nil, 10,
			[]int{9}, [][2]int{{0, 10}}},
		{"8 MiB written at once and 4 MiB over its start are cut between them", nil, 8,
			[]int{0, 1, 2, 3}, [][2]int{{0, 4}, {4, 8}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newTestStore()
			e := newTestEngine(t, st, tt.opts...)
			c := e.NewCollection()
			f, err := c.Create("f")
			require.NoError(t, err)
			if tt.whole > 0 {
				n, err := f.WriteAt([]byte(mibRange(0, tt.whole)), 0)
				require.NoError(t, err)
				require.Equal(t, tt.whole*mib, n)
			}
			for _, i := range tt.order {
				n, err := f.WriteAt(mibPiece(i), int64(i)*mib)
				require.NoError(t, err)
				require.Equal(t, mib, n)
			}
			require.NoError(t, f.Sync())

			var locs []string
			wantPuts := map[string]int{}
			for _, p := range tt.parts {
				l := loc(mibRange(p[0], p[1]))
				locs = append(locs, l)
				wantPuts[l] = 1
			}
			size := max(tt.whole, len(tt.order))
			total := size * mib
			want := fmt.Sprintf(". %s 0:%d:f\n", joinFields(locs), total)
			text, err := c.ManifestText(context.Background(), ManifestOptions{})
			require.NoError(t, err)
			assert.Equal(t, want, text)
			assert.Equal(t, wantPuts, st.putCounts())
			assert.True(t, bytes.Equal([]byte(mibRange(0, size)), readAll(t, c, "f")), "read back after the Sync")
			require.NoError(t, f.Close())

			loaded, err := e.LoadCollection(text)
			require.NoError(t, err)
			assert.True(t, bytes.Equal([]byte(mibRange(0, size)), readAll(t, loaded, "f")), "read back from the manifest")
		})
	}
}

// joinFields joins locators with spaces.
func joinFields(fields []string) string {
	var b bytes.Buffer
	for i, f := range fields {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(f)
	}
	return b.String()
}

func TestRandomWritesThenSyncStoreOnlyTheLiveBytesInFileOrder(t *testing.T) {
	// 4 KiB random writes, many over each other, into a 12 MiB file that
	// was committed first; the model is a plain byte slice.
	const size, chunk, ops = 12 * mib, 4 << 10, 4096
	st := newTestStore()
	e := newTestEngine(t, st)
	c := e.NewCollection()
	f, err := c.Create("r")
	require.NoError(t, err)
	model := []byte(mibRange(0, size/mib))
	_, err = f.Write(model)
	require.NoError(t, err)
	require.NoError(t, f.Sync())
	base := loc(string(model))

	rng := rand.New(rand.NewSource(12))
	written := make([]bool, size/chunk)
	for i := 0; i < ops; i++ {
		k := rng.Intn(size / chunk)
		data := bytes.Repeat([]byte{byte(i), byte(i >> 8), 0xa5, byte(k)}, chunk/4)
		_, err := f.WriteAt(data, int64(k)*chunk)
		require.NoError(t, err)
		copy(model[k*chunk:], data)
		written[k] = true
	}
	require.NoError(t, f.Sync())
	assert.True(t, bytes.Equal(model, readAll(t, c, "r")), "read back after the Sync")

	// What the Sync stored: the chunks written last, in file order, split
	// in two at the first chunk boundary past half of them.
	var live []byte
	for k, w := range written {
		if w {
			live = append(live, model[k*chunk:(k+1)*chunk]...)
		}
	}
	require.Greater(t, len(live), 8*mib, "enough live bytes to split")
	half := (len(live)/2 + chunk - 1) / chunk * chunk
	first, second := loc(string(live[:half])), loc(string(live[half:]))
	assert.Equal(t, map[string]int{base: 1, first: 1, second: 1}, st.putCounts(),
		"overwritten bytes never reach the store")

	text, err := c.ManifestText(context.Background(), ManifestOptions{})
	require.NoError(t, err)
	require.NoError(t, f.Close())
	loaded, err := e.LoadCollection(text)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(model, readAll(t, loaded, "r")), "read back from the manifest")
}

func TestAFailedPartOfASplitIsReportedAndRetriedAlone(t *testing.T) {
	st := newTestStore()
	second := loc(mibRange(8, 16))
	st.setFailPut(func(l string) error {
		if l == second {
			return errStoreDown
		}
		return nil
	})
	c := newTestEngine(t, st).NewCollection()
	f, err := c.Create("f")
	require.NoError(t, err)
	for i := 15; i >= 0; i-- {
		_, err := f.WriteAt(mibPiece(i), int64(i)*mib)
		require.NoError(t, err)
	}

	err = f.Sync()
	var kwe *KeepWriteError
	require.ErrorAs(t, err, &kwe)
	require.Len(t, kwe.Failed, 1)
	assert.Equal(t, second, kwe.Failed[0].Locator)
	assert.ErrorIs(t, kwe.Failed[0].Err, errStoreDown)
	assert.Equal(t, map[string]int{loc(mibRange(0, 8)): 1}, st.putCounts())
	assert.True(t, bytes.Equal([]byte(mibRange(0, 16)), readAll(t, c, "f")), "the part in ERROR keeps its bytes")

	st.setFailPut(nil)
	require.NoError(t, f.Sync())
	assert.Equal(t, map[string]int{loc(mibRange(0, 8)): 1, second: 1}, st.putCounts())
	text, err := c.ManifestText(context.Background(), ManifestOptions{})
	require.NoError(t, err)
	assert.Equal(t, fmt.Sprintf(". %s %s 0:%d:f\n", loc(mibRange(0, 8)), second, 16*mib), text)
	require.NoError(t, f.Close())
}
