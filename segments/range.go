package segments

import "math"

// Range is one segment of a file: bytes [RangeStart, RangeStart+RangeSize)
// of the file come from offset SegmentOffset of the block named by Locator.
//
// A file's segments are contiguous and in file order: the first starts at 0
// and each starts where the previous one ends. The functions here never
// produce a segment with RangeSize 0.
type Range struct {
	Locator       string
	RangeStart    int64
	RangeSize     int64
	SegmentOffset int64
}

// LocatorAndRange is a piece of a read: SegmentSize bytes at SegmentOffset of
// the block named by Locator, whose size is BlockSize.
//
// As in the Python SDK's locators_and_ranges, BlockSize is the RangeSize of
// the segment the piece comes from (not the size of the Keep block).
type LocatorAndRange struct {
	Locator       string
	BlockSize     int64
	SegmentOffset int64
	SegmentSize   int64
}

// LocatorsAndRanges returns the pieces of blocks that hold bytes
// [start, start+size) of the file described by ranges, in file order, one
// piece per segment touched, at most limit pieces (limit ≤ 0: no limit).
//
// A range that runs past the end of the file is cut at the end. The result
// is nil when size ≤ 0, start < 0 or start ≥ the file size. Segments with
// RangeSize 0 are skipped. ranges is not modified. The cost is
// O(log len(ranges) + pieces returned).
func LocatorsAndRanges(ranges []Range, start, size int64, limit int) []LocatorAndRange {
	if size <= 0 || start < 0 {
		return nil
	}
	end := addClamped(start, size)
	i := searchEndAfter(ranges, start)
	j := searchStartFrom(ranges, end)
	n := j - i
	if limit > 0 && n > limit {
		n = limit
	}
	if n <= 0 {
		return nil
	}
	return appendPieces(make([]LocatorAndRange, 0, n), ranges[i:j], start, end, limit)
}

// appendPieces appends to out the pieces of the segments in ranges that
// overlap [start, end), until out holds limit pieces (limit ≤ 0: no limit).
func appendPieces(out []LocatorAndRange, ranges []Range, start, end int64, limit int) []LocatorAndRange {
	for k := range ranges {
		if limit > 0 && len(out) >= limit {
			break
		}
		r := &ranges[k]
		lo := max(start, r.RangeStart)
		hi := min(end, r.RangeStart+r.RangeSize)
		if hi <= lo {
			continue
		}
		out = append(out, LocatorAndRange{
			Locator:       r.Locator,
			BlockSize:     r.RangeSize,
			SegmentOffset: r.SegmentOffset + (lo - r.RangeStart),
			SegmentSize:   hi - lo,
		})
	}
	return out
}

// ReplaceRange makes bytes [start, start+size) of the file come from
// segmentOffset of locator, and returns the updated ranges. Like append, it
// may modify the input's backing array; use only the returned slice.
//
// It follows the Python SDK's replace_range. When start is the end of the
// file and the last segment is on the same locator and ends at
// segmentOffset, that segment is extended (the append fast path); otherwise
// a write at the end adds a segment. A write inside the file finds its first
// segment by binary search, cuts the old segments it overlaps into up to
// three pieces (before, new, after), drops those it covers, and may run past
// the end of the file, which then grows. No zero-length segment is left in
// the replaced span. Adjacent segments are not merged otherwise.
//
// Inputs outside that contract leave ranges unchanged: size ≤ 0, start < 0,
// segmentOffset < 0, start past the end of the file (callers pad first), or
// start+size overflowing int64. The cost is O(log n) to find the span plus
// the move of the segments after it.
func ReplaceRange(ranges []Range, start, size int64, locator string, segmentOffset int64) []Range {
	if size <= 0 || start < 0 || segmentOffset < 0 || start > math.MaxInt64-size {
		return ranges
	}
	eof := fileSize(ranges)
	if start > eof {
		return ranges
	}
	if n := len(ranges); n > 0 && start == eof {
		last := &ranges[n-1]
		if last.Locator == locator && last.SegmentOffset+last.RangeSize == segmentOffset {
			last.RangeSize += size
			return ranges
		}
	}
	return replaceSpan(ranges, start, size, locator, segmentOffset)
}

// replaceSpan is ReplaceRange without the argument checks and the append
// fast path: it replaces the segments overlapping [start, start+size) by the
// new segment and the surviving pieces of the first and last of them.
func replaceSpan(ranges []Range, start, size int64, locator string, segmentOffset int64) []Range {
	end := start + size
	i := searchTouching(ranges, start)
	j := searchAfter(ranges, end)
	if j < i {
		j = i // only on input that is not in file order
	}
	var pieces [3]Range
	np := 0
	if i < len(ranges) && ranges[i].RangeStart < start {
		r := &ranges[i]
		pieces[np] = Range{Locator: r.Locator, RangeStart: r.RangeStart, RangeSize: start - r.RangeStart, SegmentOffset: r.SegmentOffset}
		np++
	}
	pieces[np] = Range{Locator: locator, RangeStart: start, RangeSize: size, SegmentOffset: segmentOffset}
	np++
	if j > i {
		r := &ranges[j-1]
		if rEnd := r.RangeStart + r.RangeSize; rEnd > end {
			pieces[np] = Range{Locator: r.Locator, RangeStart: end, RangeSize: rEnd - end, SegmentOffset: r.SegmentOffset + (end - r.RangeStart)}
			np++
		}
	}
	return splice(ranges, i, j, pieces[:np])
}

// splice replaces ranges[i:j] by pieces, moving the tail once, and returns
// the result (which may share ranges' backing array).
func splice(ranges []Range, i, j int, pieces []Range) []Range {
	delta := len(pieces) - (j - i)
	switch {
	case delta > 0:
		n := len(ranges)
		ranges = append(ranges, pieces[:delta]...) // grow; values overwritten below
		copy(ranges[j+delta:], ranges[j:n])
	case delta < 0:
		n := len(ranges)
		copy(ranges[i+len(pieces):], ranges[j:])
		clear(ranges[n+delta:]) // drop references to locator strings
		ranges = ranges[:n+delta]
	}
	copy(ranges[i:], pieces)
	return ranges
}

// fileSize returns the end of the last segment, or 0 when there is none.
func fileSize(ranges []Range) int64 {
	if len(ranges) == 0 {
		return 0
	}
	last := &ranges[len(ranges)-1]
	return last.RangeStart + last.RangeSize
}

// firstRange returns the index of the first segment for which in is true,
// or len(ranges); in must be false for a prefix of ranges and true after it.
func firstRange(ranges []Range, in func(r *Range) bool) int {
	lo, hi := 0, len(ranges)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if in(&ranges[m]) {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return lo
}

// searchEndAfter returns the index of the first segment ending after pos:
// the one holding byte pos when there is one.
func searchEndAfter(ranges []Range, pos int64) int {
	return firstRange(ranges, func(r *Range) bool { return r.RangeStart+r.RangeSize > pos })
}

// searchStartFrom returns the index of the first segment starting at or
// after pos.
func searchStartFrom(ranges []Range, pos int64) int {
	return firstRange(ranges, func(r *Range) bool { return r.RangeStart >= pos })
}

// searchTouching returns the index of the first segment that a write
// starting at pos touches: the one holding byte pos, or an empty segment at
// pos, or len(ranges).
func searchTouching(ranges []Range, pos int64) int {
	return firstRange(ranges, func(r *Range) bool { return r.RangeStart+r.RangeSize > pos || r.RangeStart >= pos })
}

// searchAfter returns the index of the first segment that a write ending at
// pos leaves alone: the first non-empty segment starting at pos or after,
// or any segment starting after pos.
func searchAfter(ranges []Range, pos int64) int {
	return firstRange(ranges, func(r *Range) bool { return r.RangeStart > pos || (r.RangeStart == pos && r.RangeSize > 0) })
}

// addClamped returns a+b for non-negative a and b, saturating at MaxInt64.
func addClamped(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// PrefetchChoice picks the blocks to fetch ahead of a read: the distinct
// locators of next (the pieces that follow the read, in file order) for
// which skip reports false, the first n of them (n ≤ 0: none).
func PrefetchChoice(next []LocatorAndRange, n int, skip func(locator string) bool) []string {
	var locs []string
outer:
	for _, lr := range next {
		if len(locs) >= n {
			break
		}
		if skip(lr.Locator) {
			continue
		}
		for _, l := range locs {
			if l == lr.Locator {
				continue outer
			}
		}
		locs = append(locs, lr.Locator)
	}
	return locs
}
