package actors

import "github.com/arvfile/arvfile/segments"

// segList is a file's segments with the method set of segments.List. This
// slice-backed version is a stand-in until segments.List lands; its
// ReplaceRange moves the tail of the slice, so it grows with fragmentation.
type segList struct {
	r []segments.Range
}

func newSegList(ranges []segments.Range) *segList {
	return &segList{r: append([]segments.Range(nil), ranges...)}
}

func (l *segList) Len() int { return len(l.r) }

func (l *segList) Size() int64 {
	if len(l.r) == 0 {
		return 0
	}
	last := l.r[len(l.r)-1]
	return last.RangeStart + last.RangeSize
}

func (l *segList) ReplaceRange(start, size int64, locator string, segmentOffset int64) {
	l.r = segments.ReplaceRange(l.r, start, size, locator, segmentOffset)
}

func (l *segList) LocatorsAndRanges(start, size int64, limit int) []segments.LocatorAndRange {
	return segments.LocatorsAndRanges(l.r, start, size, limit)
}

func (l *segList) Ranges() []segments.Range { return append([]segments.Range(nil), l.r...) }

func (l *segList) Truncate(size int64) {
	for i := range l.r {
		r := &l.r[i]
		if r.RangeStart >= size {
			l.r = l.r[:i]
			return
		}
		if r.RangeStart+r.RangeSize > size {
			r.RangeSize = size - r.RangeStart
			l.r = l.r[:i+1]
			return
		}
	}
}

func (l *segList) Append(r segments.Range) { l.r = append(l.r, r) }

func (l *segList) Each(fn func(i int, r *segments.Range) bool) {
	for i := range l.r {
		if !fn(i, &l.r[i]) {
			return
		}
	}
}
