package segments

import (
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// checkList fails the test when l's internal structure is broken: an empty
// or oversized chunk, a wrong count or size, or segments that are not
// contiguous from 0 or have size 0.
func checkList(t *testing.T, l *List) {
	t.Helper()
	n := 0
	for c, chunk := range l.chunks {
		if len(chunk) == 0 || len(chunk) > 2*l.target {
			t.Fatalf("chunk %d has %d segments (target %d)", c, len(chunk), l.target)
		}
		n += len(chunk)
	}
	ranges := l.Ranges()
	checkWellFormed(t, ranges)
	if n != l.Len() || len(ranges) != l.Len() || fileSize(ranges) != l.Size() {
		t.Fatalf("Len %d Size %d, but chunks hold %d segments, Ranges %d ending at %d",
			l.Len(), l.Size(), n, len(ranges), fileSize(ranges))
	}
}

// hasEmptySegment reports whether ranges holds a segment of size 0, which
// NewList drops.
func hasEmptySegment(ranges []Range) bool {
	for _, r := range ranges {
		if r.RangeSize == 0 {
			return true
		}
	}
	return false
}

func TestListWritesLikeReplaceRange(t *testing.T) {
	for _, target := range []int{1, 2, defaultChunkTarget} {
		for _, tt := range writeCases() {
			if hasEmptySegment(tt.ranges) {
				continue // NewList drops empty segments; see TestNewList
			}
			t.Run(fmt.Sprintf("%s with chunks of %d", tt.name, target), func(t *testing.T) {
				l := newListTarget(tt.ranges, target)
				l.ReplaceRange(tt.start, tt.size, tt.locator, tt.offset)
				assert.Equal(t, tt.want, l.Ranges())
				checkList(t, l)
			})
		}
	}
}

func TestListReadsLikeLocatorsAndRanges(t *testing.T) {
	for _, target := range []int{1, 2, defaultChunkTarget} {
		for _, tt := range readCases() {
			if hasEmptySegment(tt.ranges) {
				continue
			}
			t.Run(fmt.Sprintf("%s with chunks of %d", tt.name, target), func(t *testing.T) {
				l := newListTarget(tt.ranges, target)
				assert.Equal(t, tt.want, l.LocatorsAndRanges(tt.start, tt.size, tt.limit))
			})
		}
	}
}

func TestNewList(t *testing.T) {
	tests := []struct {
		name   string
		in     []Range
		want   []Range
		length int
		size   int64
	}{
		{"no segments make an empty file", nil, nil, 0, 0},
		{"well-formed segments are kept", threeSegments(), threeSegments(), 3, 30},
		{"empty and negative segments are dropped and starts recomputed",
			[]Range{{"a", 5, 10, 0}, {"z", 0, 0, 0}, {"b", 99, 5, 3}, {"n", 0, -1, 0}},
			[]Range{{"a", 0, 10, 0}, {"b", 10, 5, 3}}, 2, 15},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := NewList(tt.in)
			assert.Equal(t, tt.want, l.Ranges())
			assert.Equal(t, tt.length, l.Len())
			assert.Equal(t, tt.size, l.Size())
			checkList(t, l)
		})
	}
}

func TestNewListCopiesItsInput(t *testing.T) {
	in := threeSegments()
	l := NewList(in)
	in[0].Locator = "changed"
	l.ReplaceRange(12, 2, "X", 0)
	assert.Equal(t, "a", l.Ranges()[0].Locator)
	assert.Equal(t, threeSegments()[1:], in[1:])
}

func TestListTruncate(t *testing.T) {
	tests := []struct {
		name string
		size int64
		want []Range
	}{
		{"cutting inside the last segment shortens it", 25, []Range{{"a", 0, 10, 0}, {"b", 10, 10, 100}, {"c", 20, 5, 200}}},
		{"cutting on a segment boundary drops what follows", 20, []Range{{"a", 0, 10, 0}, {"b", 10, 10, 100}}},
		{"cutting inside a middle segment drops the rest", 15, []Range{{"a", 0, 10, 0}, {"b", 10, 5, 100}}},
		{"cutting to one byte keeps one byte", 1, []Range{{"a", 0, 1, 0}}},
		{"cutting to zero empties the file", 0, nil},
		{"the current size changes nothing", 30, threeSegments()},
		{"a larger size changes nothing", 40, threeSegments()},
		{"a negative size changes nothing", -1, threeSegments()},
	}
	for _, target := range []int{1, defaultChunkTarget} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s with chunks of %d", tt.name, target), func(t *testing.T) {
				l := newListTarget(threeSegments(), target)
				l.Truncate(tt.size)
				assert.Equal(t, tt.want, l.Ranges())
				assert.Equal(t, fileSize(tt.want), l.Size())
				checkList(t, l)
			})
		}
	}
}

func TestListAppend(t *testing.T) {
	tests := []struct {
		name string
		r    Range
		err  string
		want []Range
	}{
		{"a segment at the end is added without merging", Range{"c", 30, 5, 210}, "",
			append(threeSegments(), Range{"c", 30, 5, 210})},
		{"an empty segment at the end is ignored", Range{"d", 30, 0, 0}, "", threeSegments()},
		{"a segment before the end is refused", Range{"d", 29, 5, 0},
			"segments: cannot append {Locator:d RangeStart:29 RangeSize:5 SegmentOffset:0} to a file of size 30", threeSegments()},
		{"a segment after the end is refused", Range{"d", 31, 5, 0},
			"segments: cannot append {Locator:d RangeStart:31 RangeSize:5 SegmentOffset:0} to a file of size 30", threeSegments()},
		{"a negative size is refused", Range{"d", 30, -5, 0},
			"segments: cannot append {Locator:d RangeStart:30 RangeSize:-5 SegmentOffset:0} to a file of size 30", threeSegments()},
		{"a negative block offset is refused", Range{"d", 30, 5, -1},
			"segments: cannot append {Locator:d RangeStart:30 RangeSize:5 SegmentOffset:-1} to a file of size 30", threeSegments()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := NewList(threeSegments())
			err := l.Append(tt.r)
			if tt.err == "" {
				assert.NoError(t, err)
			} else {
				assert.EqualError(t, err, tt.err)
			}
			assert.Equal(t, tt.want, l.Ranges())
			checkList(t, l)
		})
	}
}

func TestListAppendFillsChunksThenStartsNewOnes(t *testing.T) {
	l := newListTarget(nil, 4)
	for i := 0; i < 10; i++ {
		require.NoError(t, l.Append(Range{Locator: "p", RangeStart: int64(i) * 3, RangeSize: 3}))
	}
	assert.Equal(t, []int{4, 4, 2}, chunkLens(l))
	assert.Equal(t, 10, l.Len())
	assert.Equal(t, int64(30), l.Size())
	checkList(t, l)
}

// chunkLens returns the number of segments in each chunk of l.
func chunkLens(l *List) []int {
	var lens []int
	for _, c := range l.chunks {
		lens = append(lens, len(c))
	}
	return lens
}

func TestListEachRewritesLocatorsInPlace(t *testing.T) {
	l := newListTarget(threeSegments(), 1)
	var seen []int
	l.Each(func(i int, r *Range) bool {
		seen = append(seen, i)
		if r.Locator == "b" {
			r.Locator, r.SegmentOffset = "B", r.SegmentOffset+1000
			r.RangeStart, r.RangeSize = 99, 99 // undone by Each
		}
		return true
	})
	assert.Equal(t, []int{0, 1, 2}, seen)
	assert.Equal(t, []Range{{"a", 0, 10, 0}, {"B", 10, 10, 1100}, {"c", 20, 10, 200}}, l.Ranges())
	checkList(t, l)

	seen = nil
	l.Each(func(i int, r *Range) bool {
		seen = append(seen, i)
		return i < 1
	})
	assert.Equal(t, []int{0, 1}, seen, "Each stops when fn returns false")
}

func TestListCountsTheBytesOfALocatorAsItsSegmentsChange(t *testing.T) {
	// threeSegments: a [0,10) b [10,20) c [20,30); Bytes counts a, b, c and
	// X from the start, and each step gives the counts after it.
	tests := []struct {
		name   string
		change func(l *List)
		want   map[string]int64
	}{
		{"nothing changed", func(*List) {}, map[string]int64{"a": 10, "b": 10, "c": 10, "X": 0}},
		{"a write inside one segment", func(l *List) { l.ReplaceRange(12, 3, "X", 0) },
			map[string]int64{"a": 10, "b": 7, "c": 10, "X": 3}},
		{"a write across three segments", func(l *List) { l.ReplaceRange(5, 20, "X", 0) },
			map[string]int64{"a": 5, "b": 0, "c": 5, "X": 20}},
		{"a write past the end", func(l *List) { l.ReplaceRange(28, 10, "X", 0) },
			map[string]int64{"a": 10, "b": 10, "c": 8, "X": 10}},
		{"an append merged into the last segment", func(l *List) { l.ReplaceRange(30, 4, "c", 210) },
			map[string]int64{"a": 10, "b": 10, "c": 14, "X": 0}},
		{"an append", func(l *List) { require.NoError(t, l.Append(Range{"X", 30, 6, 0})) },
			map[string]int64{"a": 10, "b": 10, "c": 10, "X": 6}},
		{"a truncation inside a segment", func(l *List) { l.Truncate(15) },
			map[string]int64{"a": 10, "b": 5, "c": 0, "X": 0}},
		{"a truncation to zero", func(l *List) { l.Truncate(0) },
			map[string]int64{"a": 0, "b": 0, "c": 0, "X": 0}},
		{"a rename by Each", func(l *List) {
			l.Each(func(_ int, r *Range) bool {
				if r.Locator == "b" {
					r.Locator = "X"
				}
				return true
			})
		}, map[string]int64{"a": 10, "b": 0, "c": 10, "X": 10}},
		{"a write over many small chunks", func(l *List) {
			for i := int64(0); i < 30; i += 2 {
				l.ReplaceRange(i, 1, "X", i)
			}
			l.ReplaceRange(3, 20, "c", 0)
		}, map[string]int64{"a": 1, "b": 0, "c": 24, "X": 5}},
	}
	for _, target := range []int{1, 2, defaultChunkTarget} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s with chunks of %d", tt.name, target), func(t *testing.T) {
				l := newListTarget(threeSegments(), target)
				for _, loc := range []string{"a", "b", "c", "X"} {
					l.Bytes(loc)
				}
				tt.change(l)
				got := map[string]int64{}
				for loc := range tt.want {
					got[loc] = l.Bytes(loc)
					assert.Equal(t, bytesOf(l.Ranges(), loc), got[loc], loc)
				}
				assert.Equal(t, tt.want, got)
				checkList(t, l)
			})
		}
	}
}

func TestListForgetStopsCounting(t *testing.T) {
	l := NewList(threeSegments())
	assert.Equal(t, int64(10), l.Bytes("a"))
	assert.Equal(t, int64(10), l.Bytes("b"))
	l.Forget(func(loc string) bool { return loc == "b" })
	assert.Equal(t, []count{{"b", 10}}, l.counts)
	l.ReplaceRange(0, 15, "b", 0)
	assert.Equal(t, []count{{"b", 20}}, l.counts, "a is not counted any more")
	assert.Equal(t, int64(0), l.Bytes("a"), "counting a again starts from the segments")
	assert.Equal(t, []count{{"b", 20}, {"a", 0}}, l.counts)
}

func TestListWriteAcrossManyChunks(t *testing.T) {
	var ranges []Range
	for i := int64(0); i < 1000; i++ {
		ranges = append(ranges, Range{Locator: fmt.Sprint("s", i), RangeStart: i * 10, RangeSize: 10, SegmentOffset: i})
	}
	l := newListTarget(ranges, 4)
	require.Equal(t, 250, len(l.chunks))

	l.ReplaceRange(15, 9970, "X", 7)
	want := []Range{{"s0", 0, 10, 0}, {"s1", 10, 5, 1}, {"X", 15, 9970, 7}, {"s998", 9985, 5, 1003}, {"s999", 9990, 10, 999}}
	assert.Equal(t, want, l.Ranges())
	assert.Equal(t, want, ReplaceRange(ranges, 15, 9970, "X", 7))
	assert.Equal(t, []LocatorAndRange{{"s1", 5, 4, 2}, {"X", 9970, 7, 9970}, {"s998", 5, 1003, 1}},
		l.LocatorsAndRanges(13, 9973, 0))
	checkList(t, l)
	assert.LessOrEqual(t, len(l.chunks), 2)
}

// refTruncate is the slice model of List.Truncate.
func refTruncate(ranges []Range, size int64) []Range {
	if size < 0 || size >= fileSize(ranges) {
		return ranges
	}
	var out []Range
	for _, r := range ranges {
		if r.RangeStart >= size {
			break
		}
		if end := r.RangeStart + r.RangeSize; end > size {
			r.RangeSize = size - r.RangeStart
		}
		out = append(out, r)
	}
	return out
}

// FuzzList drives a List (with small chunks) and a plain slice with the same
// random writes, truncations, appends, reads and renames, and checks after
// each that they hold exactly the same segments and give the same reads.
func FuzzList(f *testing.F) {
	f.Add(byte(2), []byte{})
	f.Add(byte(2), []byte{0, 0, 0, 20, 200, 0, 1, 100, 10, 200, 0, 2, 224, 10, 0, 0, 2, 224, 10, 0})
	f.Add(byte(3), []byte{2, 0, 9, 0, 0, 2, 1, 9, 0, 0, 2, 2, 9, 0, 0, 2, 3, 9, 0, 0, 2, 0, 9, 0, 0, 0, 0, 20, 60, 200, 1, 90, 0, 0, 0})
	f.Add(byte(1), []byte{0, 0, 0, 60, 200, 0, 1, 30, 3, 200, 0, 2, 10, 3, 200, 3, 5, 200, 9, 0, 4, 1, 0, 0, 0, 1, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, target byte, data []byte) {
		l := newListTarget(nil, 1+int(target%8))
		var ranges []Range
		var counted []string // the high bits of target choose the locators whose bytes l counts
		for i, loc := range fuzzLocators {
			if target&(8<<i) != 0 {
				counted = append(counted, loc)
				l.Bytes(loc)
			}
		}
		for ops := 0; len(data) >= 5 && ops < maxFuzzOps; ops++ {
			kind, b := data[0]%5, data[1:5]
			data = data[5:]
			eof := fileSize(ranges)
			what := func() string { return fmt.Sprintf("op %d %v", kind, b) }
			switch kind {
			case 0: // a write
				var last *Range
				if len(ranges) > 0 {
					last = &ranges[len(ranges)-1]
				}
				op := decodeOp(b, eof, last)
				ranges = ReplaceRange(ranges, op.start, op.size, op.loc, op.off)
				l.ReplaceRange(op.start, op.size, op.loc, op.off)
			case 1: // a truncation, sometimes negative or growing
				size := int64(b[0])*(eof+2)/256 - int64(b[1]&1)
				ranges = refTruncate(ranges, size)
				l.Truncate(size)
			case 2: // an append, sometimes misplaced
				r := Range{Locator: fuzzLocators[b[0]&3], RangeStart: eof + int64(int8(b[1])>>5), RangeSize: int64(b[2]&15) - 1, SegmentOffset: int64(b[3])}
				err := l.Append(r)
				ok := r.RangeStart == eof && r.RangeSize >= 0
				if (err == nil) != ok {
					t.Fatalf("%s: error %v, want ok=%v", what(), err, ok)
				}
				if ok && r.RangeSize > 0 {
					ranges = append(ranges, r)
				}
			case 3: // a read
				start := int64(b[0])*(eof+2)/256 - int64(b[3]&1)
				size := int64(b[1]) - 8
				limit := int(b[2]%5) - 1
				got := l.LocatorsAndRanges(start, size, limit)
				want := LocatorsAndRanges(ranges, start, size, limit)
				if !equalPieces(got, want) {
					t.Fatalf("read %d+%d limit %d of %+v: List %+v, slice %+v", start, size, limit, ranges, got, want)
				}
			case 4: // a rename of one locator, with an offset shift
				from, to, delta := fuzzLocators[b[0]&3], fuzzLocators[b[1]&3], int64(b[2])
				for i := range ranges {
					if ranges[i].Locator == from {
						ranges[i].Locator, ranges[i].SegmentOffset = to, ranges[i].SegmentOffset+delta
					}
				}
				l.Each(func(_ int, r *Range) bool {
					if r.Locator == from {
						r.Locator, r.SegmentOffset = to, r.SegmentOffset+delta
					}
					return true
				})
			}
			checkList(t, l)
			if got := l.Ranges(); !equalRanges(got, ranges) {
				t.Fatalf("after %s: List %+v, slice %+v", what(), got, ranges)
			}
			for _, loc := range counted {
				if got, want := l.Bytes(loc), bytesOf(ranges, loc); got != want {
					t.Fatalf("after %s: Bytes(%s) = %d, the segments %+v hold %d", what(), loc, got, ranges, want)
				}
			}
		}
	})
}

// bytesOf is the model of List.Bytes: the bytes of ranges from locator.
func bytesOf(ranges []Range, locator string) int64 {
	var n int64
	for _, r := range ranges {
		if r.Locator == locator {
			n += r.RangeSize
		}
	}
	return n
}

// BenchmarkListRandomOverwrite writes 4 KiB at random 4 KiB-aligned offsets
// of a file that starts as one segment, ops times on a fresh file, and
// reports ns per overwrite and the segments at the end: flat in ops for
// List, growing with the number of segments for the plain slice. The last
// case (List only) ends with more than 130,000 segments.
func BenchmarkListRandomOverwrite(b *testing.B) {
	const writeSize = 4 << 10
	cases := []struct {
		ops      int
		fileSize int64
		slice    bool
	}{
		{4096, 256 << 20, true},
		{65536, 256 << 20, true},
		{131072, 1 << 30, false},
	}
	for _, tc := range cases {
		rng := rand.New(rand.NewSource(1))
		offsets := make([]int64, tc.ops)
		for i := range offsets {
			offsets[i] = rng.Int63n(tc.fileSize/writeSize) * writeSize
		}
		initial := []Range{{Locator: "base", RangeStart: 0, RangeSize: tc.fileSize}}
		name := fmt.Sprintf("ops=%d/file=%dMiB", tc.ops, tc.fileSize>>20)
		b.Run("List/"+name, func(b *testing.B) {
			var elapsed time.Duration
			segments := 0
			for i := 0; i < b.N; i++ {
				l := NewList(initial)
				t0 := time.Now()
				for k, off := range offsets {
					l.ReplaceRange(off, writeSize, "w", int64(k)*writeSize)
				}
				elapsed += time.Since(t0)
				segments = l.Len()
			}
			b.ReportMetric(float64(elapsed.Nanoseconds())/float64(b.N*tc.ops), "ns/overwrite")
			b.ReportMetric(float64(segments), "segments")
		})
		if !tc.slice {
			continue
		}
		b.Run("Slice/"+name, func(b *testing.B) {
			var elapsed time.Duration
			segments := 0
			for i := 0; i < b.N; i++ {
				ranges := append([]Range(nil), initial...)
				t0 := time.Now()
				for k, off := range offsets {
					ranges = ReplaceRange(ranges, off, writeSize, "w", int64(k)*writeSize)
				}
				elapsed += time.Since(t0)
				segments = len(ranges)
			}
			b.ReportMetric(float64(elapsed.Nanoseconds())/float64(b.N*tc.ops), "ns/overwrite")
			b.ReportMetric(float64(segments), "segments")
		})
	}
}

func ExampleList() {
	l := NewList(nil)
	l.ReplaceRange(0, 4096, "block-1", 0)
	l.ReplaceRange(4096, 4096, "block-1", 4096) // extends the last segment
	l.ReplaceRange(1000, 10, "block-2", 0)      // splits it in three
	l.Each(func(i int, r *Range) bool {         // block-1 was committed to Keep
		if r.Locator == "block-1" {
			r.Locator = "acbd18db4cc2f85cedef654fccc4a4d8+8192"
		}
		return true
	})
	fmt.Println(l.Len(), l.Size())
	for _, r := range l.Ranges() {
		fmt.Printf("%+v\n", r)
	}
	// Output:
	// 3 8192
	// {Locator:acbd18db4cc2f85cedef654fccc4a4d8+8192 RangeStart:0 RangeSize:1000 SegmentOffset:0}
	// {Locator:block-2 RangeStart:1000 RangeSize:10 SegmentOffset:0}
	// {Locator:acbd18db4cc2f85cedef654fccc4a4d8+8192 RangeStart:1010 RangeSize:7182 SegmentOffset:1010}
}

func TestListViewAndAppendRangesGiveTheSegments(t *testing.T) {
	one := []Range{{Locator: "a", RangeSize: 3}}
	three := []Range{{Locator: "a", RangeSize: 3}, {Locator: "b", RangeStart: 3, RangeSize: 2}, {Locator: "c", RangeStart: 5, RangeSize: 1}}
	for _, tt := range []struct {
		name   string
		ranges []Range
		target int
		shared bool // View aliases the List's one chunk
	}{
		{"an empty list views as nil", nil, defaultChunkTarget, false},
		{"one segment is viewed in place", one, defaultChunkTarget, true},
		{"three segments in one chunk are viewed in place", three, defaultChunkTarget, true},
		{"three segments in three chunks are copied", three, 1, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := newListTarget(tt.ranges, tt.target)
			view := l.View()
			assert.Equal(t, tt.ranges, view)
			assert.Equal(t, len(view), cap(view), "an append to the view must not write into the List")
			if tt.shared {
				assert.Same(t, &l.chunks[0][0], &view[0])
			} else if len(view) > 0 {
				assert.NotSame(t, &l.chunks[0][0], &view[0])
			}
			prefix := []Range{{Locator: "x", RangeSize: 9}}
			buf := make([]Range, 1, 1+len(tt.ranges))
			copy(buf, prefix)
			got := l.AppendRanges(buf)
			assert.Equal(t, append(prefix, tt.ranges...), got)
			if len(tt.ranges) > 0 {
				assert.Same(t, &buf[0], &got[0], "AppendRanges fills the room in dst")
			}
		})
	}
}

func TestListOfOneSegmentCostsTwoAllocations(t *testing.T) {
	r := Range{Locator: "a", RangeSize: 4096}
	allocs := testing.AllocsPerRun(100, func() {
		l := NewList(nil)
		l.ReplaceRange(0, r.RangeSize, r.Locator, 0)
	})
	assert.Equal(t, 2.0, allocs, "the List and its one chunk")
}

func TestListAppendLocatorsAndRangesAppendsWhatLocatorsAndRangesLists(t *testing.T) {
	prefix := LocatorAndRange{Locator: "before", SegmentSize: 1}
	for _, target := range []int{1, 2, defaultChunkTarget} {
		for _, tt := range readCases() {
			if hasEmptySegment(tt.ranges) || tt.limit > 0 {
				continue
			}
			t.Run(fmt.Sprintf("%s with chunks of %d", tt.name, target), func(t *testing.T) {
				l := newListTarget(tt.ranges, target)
				want := append([]LocatorAndRange{prefix}, tt.want...)
				assert.Equal(t, want, l.AppendLocatorsAndRanges([]LocatorAndRange{prefix}, tt.start, tt.size))
			})
		}
	}
}

func TestListInitMakesAListInsideAStruct(t *testing.T) {
	ranges := []Range{{Locator: "a", RangeSize: 3}, {Locator: "b", RangeStart: 3, RangeSize: 2}}
	for _, tt := range []struct {
		name   string
		before []Range // what the List held before Init
		init   []Range
		want   []Range
	}{
		{"a zero List gets a copy of the ranges", nil, ranges, ranges},
		{"a zero List with no ranges is empty", nil, nil, nil},
		{"Init drops what the List held", ranges, []Range{{Locator: "c", RangeSize: 1}}, []Range{{Locator: "c", RangeSize: 1}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var holder struct {
				other int
				l     List
			}
			if tt.before != nil {
				holder.l.Init(tt.before)
			}
			holder.l.Init(tt.init)
			assert.Equal(t, tt.want, holder.l.Ranges())
			checkList(t, &holder.l)
			holder.l.ReplaceRange(holder.l.Size(), 4, "d", 0)
			assert.Equal(t, append(append([]Range(nil), tt.want...), Range{Locator: "d", RangeStart: fileSize(tt.want), RangeSize: 4}), holder.l.Ranges())
		})
	}
}
