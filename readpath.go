package arvfile

import "github.com/arvfile/arvfile/segments"

// roFile is the read path of a file of a read-only collection: its segments,
// which never change, read straight from the block cache.
type roFile struct {
	segs []segments.Range
	size int64
}
