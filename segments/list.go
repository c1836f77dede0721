package segments

import (
	"fmt"
	"math"
)

// defaultChunkTarget is the number of segments a List puts in a chunk; a
// chunk is split when it grows past twice this, and merged with a neighbour
// when it shrinks below a quarter of it.
const defaultChunkTarget = 256

// List holds the segments of one file for the engine, so that ReplaceRange
// and LocatorsAndRanges cost O(log n + chunk) instead of O(n) for n segments.
//
// The segments are kept in file order in a slice of chunks, each a slice of
// at most about 2×256 segments. A write never changes the RangeStart of the
// segments after the bytes it replaces, so a lookup is a binary search over
// the chunks (by the RangeStart of their first segment) followed by one
// within a chunk, and an update moves only the segments of one chunk (or
// drops whole chunks that a large write covers).
//
// A List always describes a well-formed file: segments contiguous from 0,
// none of size 0. Its operations give exactly the segments that the slice
// functions ReplaceRange and LocatorsAndRanges give for the same input.
// A List is not safe for concurrent use; the zero List is not usable, call
// NewList, or Init. A List must not be copied (its chunk list starts inside it, so
// that a file of one chunk costs one allocation less).
type List struct {
	chunks [][]Range // non-empty chunks in file order; backed by chunk0 while there is one
	chunk0 [1][]Range
	n      int     // number of segments over all chunks
	size   int64   // file size: end of the last segment
	target int     // chunk size aimed at (defaultChunkTarget outside tests)
	counts []count // the locators whose bytes Bytes keeps counting, few
}

// count is the number of bytes of the file that come from one locator.
type count struct {
	locator string
	bytes   int64
}

// NewList returns a List holding a copy of ranges. Segments with RangeSize
// ≤ 0 are dropped, and RangeStart is recomputed so that the segments are
// contiguous from 0 in the given order (for well-formed input this changes
// nothing).
func NewList(ranges []Range) *List {
	return newListTarget(ranges, defaultChunkTarget)
}

// newListTarget is NewList with a chosen chunk size (small in tests, to
// exercise chunk splits and merges).
func newListTarget(ranges []Range, target int) *List {
	l := new(List)
	l.init(ranges, target)
	return l
}

// Init makes l, a zero List (one inside a struct of its own: one
// allocation less than NewList), hold a copy of ranges as NewList does.
func (l *List) Init(ranges []Range) {
	l.init(ranges, defaultChunkTarget)
}

func (l *List) init(ranges []Range, target int) {
	*l = List{target: target}
	l.chunks = l.chunk0[:0]
	for _, r := range ranges {
		if r.RangeSize <= 0 {
			continue
		}
		r.RangeStart = l.size
		l.appendRange(r)
	}
}

// Len returns the number of segments.
func (l *List) Len() int { return l.n }

// Size returns the file size, the end of the last segment.
func (l *List) Size() int64 { return l.size }

// Ranges returns a copy of the segments in file order (nil when empty).
func (l *List) Ranges() []Range {
	if l.n == 0 {
		return nil
	}
	return l.AppendRanges(make([]Range, 0, l.n))
}

// AppendRanges appends the segments in file order to dst and returns the
// extended slice: a caller with room in dst copies them without allocating.
func (l *List) AppendRanges(dst []Range) []Range {
	for _, c := range l.chunks {
		dst = append(dst, c...)
	}
	return dst
}

// View returns the segments in file order without copying them when the
// List holds them in one chunk (up to 2×256 segments; otherwise it returns
// a copy, as Ranges does; nil when empty). The slice aliases the List's
// storage: it must not be changed, and it is valid only until the List's
// next change. It suits a List about to be dropped, handing its segments
// over (a file actor that retires).
func (l *List) View() []Range {
	switch len(l.chunks) {
	case 0:
		return nil
	case 1:
		c := l.chunks[0]
		return c[:len(c):len(c)] // an append by the caller copies
	}
	return l.Ranges()
}

// LocatorsAndRanges returns the pieces of blocks holding bytes
// [start, start+size), exactly as the function LocatorsAndRanges does on
// Ranges(): in file order, at most limit pieces (limit ≤ 0: no limit), cut
// at the end of the file, nil when size ≤ 0, start < 0 or start ≥ Size().
func (l *List) LocatorsAndRanges(start, size int64, limit int) []LocatorAndRange {
	if size <= 0 || start < 0 || start >= l.size {
		return nil
	}
	end := addClamped(start, size)
	var out []LocatorAndRange
	for c := l.chunkFor(start); c < len(l.chunks); c++ {
		chunk := l.chunks[c]
		if chunk[0].RangeStart >= end || (limit > 0 && len(out) >= limit) {
			break
		}
		i := searchEndAfter(chunk, start)
		j := searchStartFrom(chunk, end)
		if out == nil {
			out = make([]LocatorAndRange, 0, pieceCap(j-i, limit))
		}
		out = appendPieces(out, chunk[i:j], start, end, limit)
	}
	return out
}

// AppendLocatorsAndRanges appends the pieces of blocks holding bytes
// [start, start+size) to dst, as LocatorsAndRanges lists them (without a
// limit), and returns the extended slice: a caller with room in dst (an
// array on its stack) looks at them without allocating.
func (l *List) AppendLocatorsAndRanges(dst []LocatorAndRange, start, size int64) []LocatorAndRange {
	if size <= 0 || start < 0 || start >= l.size {
		return dst
	}
	end := addClamped(start, size)
	for c := l.chunkFor(start); c < len(l.chunks); c++ {
		chunk := l.chunks[c]
		if chunk[0].RangeStart >= end {
			break
		}
		i := searchEndAfter(chunk, start)
		j := searchStartFrom(chunk, end)
		dst = appendPieces(dst, chunk[i:j], start, end, 0)
	}
	return dst
}

// pieceCap returns the capacity to allocate for n pieces under limit.
func pieceCap(n, limit int) int {
	if limit > 0 && n > limit {
		return limit
	}
	return n
}

// ReplaceRange makes bytes [start, start+size) come from segmentOffset of
// locator, with the semantics of the function ReplaceRange (append fast
// path, split into up to three pieces, the file grows when the range runs
// past its end). Arguments outside its contract change nothing: size ≤ 0,
// start < 0, segmentOffset < 0, start > Size(), or an int64 overflow.
func (l *List) ReplaceRange(start, size int64, locator string, segmentOffset int64) {
	if size <= 0 || start < 0 || segmentOffset < 0 || start > math.MaxInt64-size || start > l.size {
		return
	}
	end := start + size
	if start == l.size {
		if l.n > 0 {
			lc := l.chunks[len(l.chunks)-1]
			last := &lc[len(lc)-1]
			if last.Locator == locator && last.SegmentOffset+last.RangeSize == segmentOffset {
				last.RangeSize += size
				l.size = end
				l.addBytes(locator, size)
				return
			}
		}
		l.appendRange(Range{Locator: locator, RangeStart: start, RangeSize: size, SegmentOffset: segmentOffset})
		return
	}

	if len(l.counts) > 0 {
		l.uncount(start, end)
		l.addBytes(locator, size)
	}
	ci := l.chunkFor(start)
	cj := l.chunkFor(end - 1)
	before := len(l.chunks[ci])
	l.chunks[ci] = replaceSpan(l.chunks[ci], start, size, locator, segmentOffset)
	l.n += len(l.chunks[ci]) - before
	if cj > ci {
		// Chunks strictly between ci and cj lie inside [start, end): drop
		// them. In cj, drop the segments ending by end and cut the one
		// running past it; replaceSpan already dropped the rest of ci.
		for c := ci + 1; c < cj; c++ {
			l.n -= len(l.chunks[c])
		}
		last := l.chunks[cj]
		k := searchEndAfter(last, end)
		if k < len(last) && last[k].RangeStart < end {
			r := &last[k]
			cut := end - r.RangeStart
			r.RangeStart, r.RangeSize, r.SegmentOffset = end, r.RangeSize-cut, r.SegmentOffset+cut
		}
		l.n -= k
		kept := copy(last, last[k:])
		clear(last[kept:])
		l.chunks[cj] = last[:kept]
		l.removeChunks(ci+1, cj) // cj, if now empty, is removed by rebalance
		l.rebalance(ci + 1)
	}
	if end > l.size {
		l.size = end
	}
	l.rebalance(ci)
}

// Truncate cuts the file to size bytes: segments after it are dropped and
// the one holding its last byte is shortened. It does nothing when size is
// negative or not less than Size(); growing is done with Append.
func (l *List) Truncate(size int64) {
	if size < 0 || size >= l.size {
		return
	}
	if len(l.counts) > 0 {
		l.uncount(size, l.size)
	}
	if size == 0 {
		clear(l.chunks)
		l.chunks, l.n, l.size = l.chunks[:0], 0, 0
		return
	}
	c := l.chunkFor(size - 1)
	for d := c + 1; d < len(l.chunks); d++ {
		l.n -= len(l.chunks[d])
	}
	l.removeChunks(c+1, len(l.chunks))
	chunk := l.chunks[c]
	k := searchEndAfter(chunk, size-1) // the segment holding byte size-1
	chunk[k].RangeSize = size - chunk[k].RangeStart
	l.n -= len(chunk) - (k + 1)
	clear(chunk[k+1:])
	l.chunks[c] = chunk[:k+1]
	l.size = size
	l.rebalance(c)
}

// Append adds r after the last segment, without merging it with that
// segment (ReplaceRange at Size() does merge). r.RangeStart must equal
// Size(), r.RangeSize and r.SegmentOffset must not be negative; otherwise
// Append returns an error and changes nothing. A segment of size 0 is
// ignored.
func (l *List) Append(r Range) error {
	if r.RangeStart != l.size || r.RangeSize < 0 || r.SegmentOffset < 0 || r.RangeSize > math.MaxInt64-l.size {
		return fmt.Errorf("segments: cannot append %+v to a file of size %d", r, l.size)
	}
	if r.RangeSize > 0 {
		l.appendRange(r)
	}
	return nil
}

// Each calls fn for each segment in file order with its index and a pointer
// to it, until fn returns false. fn may change the segment's Locator and
// SegmentOffset in place (to rename a buffer block to its Keep locator, or
// to remap a file packed into another block); changes to RangeStart or
// RangeSize are undone, since they would break the file's geometry. fn must
// not call other methods of the List.
func (l *List) Each(fn func(i int, r *Range) bool) {
	i := 0
	for _, chunk := range l.chunks {
		for k := range chunk {
			r := &chunk[k]
			start, size, locator := r.RangeStart, r.RangeSize, r.Locator
			more := fn(i, r)
			r.RangeStart, r.RangeSize = start, size
			if len(l.counts) > 0 && r.Locator != locator {
				l.addBytes(locator, -size)
				l.addBytes(r.Locator, size)
			}
			if !more {
				return
			}
			i++
		}
	}
}

// Bytes returns how many bytes of the file come from locator. The first
// call for a locator counts them over every segment (O(n)); from then on the
// List keeps that count as its segments change (each change costs O(k) more
// for the k locators counted), so that later calls cost O(k). Forget stops
// counting.
func (l *List) Bytes(locator string) int64 {
	for i := range l.counts {
		if l.counts[i].locator == locator {
			return l.counts[i].bytes
		}
	}
	var n int64
	for _, chunk := range l.chunks {
		for k := range chunk {
			if chunk[k].Locator == locator {
				n += chunk[k].RangeSize
			}
		}
	}
	l.counts = append(l.counts, count{locator: locator, bytes: n})
	return n
}

// Forget stops counting the bytes of every locator for which keep returns
// false (see Bytes).
func (l *List) Forget(keep func(locator string) bool) {
	kept := l.counts[:0]
	for _, c := range l.counts {
		if keep(c.locator) {
			kept = append(kept, c)
		}
	}
	clear(l.counts[len(kept):])
	l.counts = kept
}

// addBytes adds n to the count of locator, if it is counted.
func (l *List) addBytes(locator string, n int64) {
	for i := range l.counts {
		if l.counts[i].locator == locator {
			l.counts[i].bytes += n
			return
		}
	}
}

// uncount takes the bytes [start, end) of the file, which are about to be
// replaced or cut, off the counts of the locators they come from.
func (l *List) uncount(start, end int64) {
	end = min(end, l.size)
	for c := l.chunkFor(start); c >= 0 && c < len(l.chunks); c++ {
		chunk := l.chunks[c]
		if chunk[0].RangeStart >= end {
			return
		}
		for k := searchEndAfter(chunk, start); k < len(chunk) && chunk[k].RangeStart < end; k++ {
			r := &chunk[k]
			l.addBytes(r.Locator, max(start, r.RangeStart)-min(end, r.RangeStart+r.RangeSize))
		}
	}
}

// appendRange adds a non-empty segment starting at l.size after the last
// one. A file built by appends gets chunks of exactly target segments.
func (l *List) appendRange(r Range) {
	switch {
	case len(l.chunks) == 0:
		// Most files have one segment: let the first chunk grow by append
		// rather than reserving a whole chunk for it.
		l.chunks = append(l.chunks, make([]Range, 0, 1))
	case len(l.chunks[len(l.chunks)-1]) >= l.target:
		l.chunks = append(l.chunks, make([]Range, 0, l.target))
	}
	c := len(l.chunks) - 1
	l.chunks[c] = append(l.chunks[c], r)
	l.n++
	l.size = r.RangeStart + r.RangeSize
	l.addBytes(r.Locator, r.RangeSize)
}

// chunkFor returns the index of the chunk holding byte pos (the last chunk
// starting at or before pos), for 0 ≤ pos; -1 when there is no chunk.
func (l *List) chunkFor(pos int64) int {
	lo, hi := 0, len(l.chunks)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if l.chunks[m][0].RangeStart <= pos {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == 0 && len(l.chunks) > 0 {
		return 0
	}
	return lo - 1
}

// rebalance splits chunk c when it has grown past twice the target, and
// merges it into a neighbour when it has shrunk below a quarter of it (or
// removes it when empty).
func (l *List) rebalance(c int) {
	if c < 0 || c >= len(l.chunks) {
		return
	}
	switch n := len(l.chunks[c]); {
	case n == 0:
		l.removeChunks(c, c+1)
	case n > 2*l.target:
		l.splitChunk(c, n/2)
	case n < l.target/4 && len(l.chunks) > 1:
		d := c + 1 // merge c and d into c
		if d == len(l.chunks) {
			c, d = c-1, c
		}
		merged := make([]Range, 0, max(l.target, len(l.chunks[c])+len(l.chunks[d])))
		merged = append(append(merged, l.chunks[c]...), l.chunks[d]...)
		l.chunks[c] = merged
		l.removeChunks(d, d+1)
		if len(merged) > 2*l.target {
			l.splitChunk(c, len(merged)/2)
		}
	}
}

// splitChunk moves the segments of chunk c from index at on into a new
// chunk right after it.
func (l *List) splitChunk(c, at int) {
	chunk := l.chunks[c]
	tail := make([]Range, len(chunk)-at, max(l.target, len(chunk)-at))
	copy(tail, chunk[at:])
	clear(chunk[at:])
	l.chunks[c] = chunk[:at]
	l.chunks = append(l.chunks, nil)
	copy(l.chunks[c+2:], l.chunks[c+1:])
	l.chunks[c+1] = tail
}

// removeChunks removes chunks [from, to).
func (l *List) removeChunks(from, to int) {
	if from >= to {
		return
	}
	n := len(l.chunks)
	copy(l.chunks[from:], l.chunks[to:])
	clear(l.chunks[n-(to-from):])
	l.chunks = l.chunks[:n-(to-from)]
}
