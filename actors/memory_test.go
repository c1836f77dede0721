package actors

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCapacityClass(t *testing.T) {
	tests := []struct {
		need, have, min, block, want int64
	}{
		{1, 0, 64 << 10, 64 << 20, 64 << 10},
		{70 << 10, 64 << 10, 64 << 10, 64 << 20, 128 << 10},
		{300 << 10, 64 << 10, 64 << 10, 64 << 20, 512 << 10},
		{40 << 20, 32 << 20, 64 << 10, 64 << 20, 64 << 20},
		{4096, 0, MinCapacity, 64 << 20, 4096},
		{100, 0, MinCapacity, 64 << 20, MinCapacity},
		{5000, 0, MinCapacity, 64 << 20, 8192},
		{5, 0, 16, 16, 16},
		{11, 8, 10, 12, 12},
		{3, 0, 10, 10, 10},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, capacityClass(tt.need, tt.have, tt.min, tt.block), "%+v", tt)
	}
}

func TestMemoryReservesWithinTheBudgetAndRecyclesBuffers(t *testing.T) {
	m := NewMemory(100, 100)
	require.True(t, m.Reserve(60, false))
	assert.False(t, m.Reserve(50, false), "60+50 > 100")
	assert.Equal(t, int64(60), m.Used())
	b := m.Alloc(60)
	assert.Equal(t, 0, len(b))
	assert.Equal(t, 60, cap(b))
	require.True(t, m.Reserve(50, true), "forced")
	assert.True(t, m.Over())
	m.Unreserve(50)
	assert.False(t, m.Over())
	m.Free(b)
	assert.Equal(t, int64(0), m.Used())
	require.True(t, m.Reserve(60, false))
	again := m.Alloc(60)
	assert.Equal(t, &b[:1][0], &again[:1][0], "the freed buffer is recycled")
	m.Free(again)
	require.True(t, m.Reserve(90, false), "recycled buffers are dropped to make room")
	assert.Equal(t, int64(90), m.Used())
}

func TestARetiredBufferIsFreedWhenItsLastReaderGivesItBack(t *testing.T) {
	tests := []struct {
		name  string
		steps string // l: Lend, r: Retire, g: GiveBack
		held  []int  // Retired() after each step
	}{
		{"retired while uploading", "lrg", []int{0, 1, 0}},
		{"upload ended first", "lgr", []int{0, 0, 0}},
		{"never lent", "r", []int{0}},
		{"two readers", "llrgg", []int{0, 0, 1, 1, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMemory(1<<20, 1<<20)
			require.True(t, m.Reserve(4096, false))
			buf := m.Alloc(4096)
			for i, step := range tt.steps {
				switch step {
				case 'l':
					m.Lend(buf)
				case 'r':
					m.Retire(buf)
				case 'g':
					m.GiveBack(buf)
				}
				assert.Equal(t, tt.held[i], m.Retired(), "after step %d (%c)", i, step)
			}
			live, pooled := m.Stats()
			assert.Equal(t, int64(0), live)
			assert.Equal(t, int64(0), pooled, "a retired buffer is freed, never recycled")
		})
	}
}

// Grow keeps the bytes and the accounting whichever way it goes: into a
// recycled buffer of the new capacity, by remapping a mapped buffer (Linux,
// without -race), or by copying into a new one.
func TestMemoryGrowKeepsTheBytesAndReleasesTheOldCapacity(t *testing.T) {
	const small, large = 2 << 20, 8 << 20 // mapped buffers outside -race builds
	tests := []struct {
		name         string
		from, to     int64
		recycled     bool
		wantRecycled bool
	}{
		{"a mapped buffer, nothing recycled", small, large, false, false},
		{"a recycled buffer of the new capacity is taken", small, large, true, true},
		{"a small heap buffer", 1 << 10, 4 << 10, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMemory(64<<20, 64<<20)
			defer m.Close()
			var spare []byte
			if tt.recycled {
				require.True(t, m.Reserve(tt.to, false))
				spare = m.Alloc(tt.to)
				m.Free(spare)
			}
			require.True(t, m.Reserve(tt.from, false))
			b := m.Alloc(tt.from)
			for i := int64(0); i < tt.from; i++ {
				b = append(b, byte(i*7+i>>12))
			}
			want := append([]byte(nil), b...)
			require.True(t, m.Reserve(tt.to, false))
			g := m.Grow(b, tt.to)
			assert.Equal(t, want, g, "the bytes moved with the buffer")
			assert.Equal(t, int(tt.to), cap(g))
			assert.Equal(t, tt.to, m.Used(), "the old capacity is released, the new one stays reserved")
			if tt.wantRecycled {
				assert.Equal(t, &spare[:1][0], &g[:1][0], "the recycled buffer was used")
			}
			g = append(g, 1, 2, 3)
			assert.Equal(t, []byte{1, 2, 3}, g[tt.from:])
			m.Free(g)
			assert.Equal(t, int64(0), m.Used())
		})
	}
}

func TestGrowInPlaceKeepsRecycledBuffersWithinTheBudget(t *testing.T) {
	m := NewMemory(6<<20, 8<<20)
	require.True(t, m.Reserve(4<<20, false))
	m.Free(m.Alloc(4 << 20)) // a recycled 4 MiB buffer
	require.True(t, m.Reserve(1<<20, false))
	buf := append(m.Alloc(1<<20), "abc"...)
	require.True(t, m.Reserve(4<<20, false), "the recycled buffer is counted as the one Alloc would take")
	grown, ok := m.GrowInPlace(buf, 4<<20)
	if !ok { // a heap buffer (-race builds, or not unix): grown by copying instead
		grown = m.Grow(buf, 4<<20)
	}
	assert.Equal(t, "abc", string(grown))
	live, pooled := m.Stats()
	assert.LessOrEqual(t, live+pooled, int64(6<<20), "live and recycled buffers stay within the budget")
	assert.Equal(t, int64(4<<20), live)
	m.Free(grown)
	m.Close()
}
