package arvfile

import (
	"fmt"
	"sort"
	"sync/atomic"
	"time"

	"github.com/arvfile/arvfile/keep"
	"github.com/arvfile/arvfile/messages"
	"github.com/arvfile/arvfile/segments"
)

// roFile is the read path of a file of a read-only collection, the role of
// the Python SDK's StreamFileReader. Such a file never changes, so no actor
// guards it: the handle keeps the file's segments (shared with the
// collection's tree, never modified) and a read goes from them straight to
// the engine's block cache — a cached block costs a map lookup and the copy
// into the caller's buffer. A read that starts where the previous one ended
// is sequential: when it enters a new segment, the blocks of the next
// WithPrefetch blocks' worth of segments are handed to the cache's prefetch
// workers. Safe for concurrent use.
type roFile struct {
	segs []segments.Range
	info messages.FileInfo

	next       atomic.Int64 // where the last read ended
	prefetched atomic.Int64 // 1 + the segment whose successors were last prefetched
}

func newROFile(segs []segments.Range, modTime time.Time) *roFile {
	return &roFile{segs: segs, info: messages.FileInfo{Size: (&segments.File{Segments: segs}).Size(), ModTime: modTime}}
}

// readAt fills p from off; short only at the end of the file. It honours
// the handle's read deadline (SetReadDeadline) as the actor path does: a
// read made after it fails at once, and a block still being fetched at it
// is abandoned, leaving p as it was from that block on.
func (r *roFile) readAt(f *File, op string, p []byte, off int64) (int, error) {
	deadline := f.readDeadline.Load()
	if err := f.expired(op, deadline); err != nil {
		return 0, err
	}
	size := r.info.Size
	if off >= size {
		return 0, nil
	}
	n := int(min(int64(len(p)), size-off))
	e := f.c.e
	i := sort.Search(len(r.segs), func(i int) bool { return r.segs[i].RangeStart+r.segs[i].RangeSize > off })
	for pos := 0; pos < n; i++ {
		s := &r.segs[i]
		in := off + int64(pos) - s.RangeStart
		k := int(min(int64(n-pos), s.RangeSize-in))
		if err := e.readBlock(s.Locator, s.SegmentOffset+in, p[pos:pos+k], deadline); err != nil {
			return 0, f.pathErr(op, err)
		}
		pos += k
	}
	end := off + int64(n)
	if r.next.Swap(end) == off && e.cfg.prefetch > 0 {
		r.prefetch(e, i-1)
	}
	return n, nil
}

// prefetch hands the cache the blocks after segment last, once per segment.
func (r *roFile) prefetch(e *Engine, last int) {
	if r.prefetched.Swap(int64(last)+1) == int64(last)+1 {
		return
	}
	s := &r.segs[last]
	next := segments.LocatorsAndRanges(r.segs, s.RangeStart+s.RangeSize, int64(e.cfg.prefetch)*keep.BlockSize, 32)
	e.prefetch(segments.PrefetchChoice(next, e.cfg.prefetch, func(loc string) bool {
		return keep.IsPaddingLocator(loc) || loc == s.Locator
	}))
}

// readBlock copies bytes [off, off+len(dst)) of the block locator into dst:
// zeros for the padding block, else from the cache (a hit needs no context,
// timer or allocation), else through a Get that gives up at deadline (Unix
// nanoseconds; 0: the engine's timeout).
func (e *Engine) readBlock(locator string, off int64, dst []byte, deadline int64) error {
	if keep.IsPaddingLocator(locator) {
		clear(dst)
		return nil
	}
	if e.cache != nil {
		if data, ok := e.cache.Cached(locator); ok {
			end := off + int64(len(dst))
			if off < 0 || end > int64(len(data)) {
				return fmt.Errorf("arvfile: block %s has %d bytes, segment wants [%d,%d)", locator, len(data), off, end)
			}
			copy(dst, data[off:end])
			return nil
		}
	}
	return e.fetchBy(messages.Fetch{Locator: locator, BlockOffset: off, Dst: dst}, deadline)
}
