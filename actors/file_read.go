package actors

import (
	"github.com/arvfile/arvfile/keep"
	"github.com/arvfile/arvfile/messages"
	"github.com/arvfile/arvfile/segments"
)

// The file actor's read path: reads served from buffer blocks or handed
// back as Keep pieces, the prefetch choice, and segment snapshots.

func (f *fileActor) onRead(ctx actorContext, m *messages.Read) {
	r := m.Reply
	size := f.segs.Size()
	if m.Offset >= size || len(m.Buf) == 0 {
		r.Finish()
		return
	}
	n := min(int64(len(m.Buf)), size-m.Offset)
	lrs := f.segs.LocatorsAndRanges(m.Offset, n, 0)
	fetch := make([]messages.Fetch, len(lrs))
	var pos int64
	for i, lr := range lrs {
		dst := m.Buf[pos : pos+lr.SegmentSize]
		pos += lr.SegmentSize
		switch {
		case isPadding(lr.Locator):
			clear(dst)
		case messages.IsBlockID(lr.Locator):
			pid := f.block(lr.Locator)
			if pid == nil {
				r.SetErr(errBlockMissing)
				continue
			}
			r.Add(1)
			ctx.Send(pid, &messages.ReadBlock{Offset: lr.SegmentOffset, Dst: dst, Fetch: &fetch[i], Reply: r})
		default:
			fetch[i] = messages.Fetch{Locator: lr.Locator, BlockOffset: lr.SegmentOffset, Dst: dst}
		}
	}
	m.Out.Fetch = fetch
	if f.rt.Prefetch > 0 {
		m.Out.Prefetch = f.prefetch(m.Offset+n, lrs)
	}
	r.N = n
	r.Finish()
}

// prefetch lists at most Prefetch Keep blocks named past end, within
// Prefetch blocks' worth of bytes, that the read did not touch.
func (f *fileActor) prefetch(end int64, read []segments.LocatorAndRange) []string {
	next := f.segs.LocatorsAndRanges(end, keep.BlockSize*int64(f.rt.Prefetch), 32)
	return segments.PrefetchChoice(next, f.rt.Prefetch, func(loc string) bool {
		if messages.IsBlockID(loc) || isPadding(loc) {
			return true
		}
		for _, r := range read {
			if r.Locator == loc {
				return true
			}
		}
		return false
	})
}

// isPadding reports whether loc names the padding block (by id or locator).
func isPadding(loc string) bool {
	if loc == messages.PaddingBlockID {
		return true
	}
	return keep.IsPaddingLocator(loc)
}

func (f *fileActor) onGetSegments(m *messages.GetSegments) {
	ranges := f.segs.Ranges()
	if m.OnlyCommitted {
		kept := ranges[:0]
		var pos int64
		for _, r := range ranges {
			if messages.IsBlockID(r.Locator) {
				continue
			}
			r.RangeStart = pos
			pos += r.RangeSize
			kept = append(kept, r)
		}
		ranges = kept
	}
	*m.Out = ranges
	m.Reply.Finish()
}
