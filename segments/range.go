package segments

// Range is one segment of a file: bytes [RangeStart, RangeStart+RangeSize)
// of the file come from offset SegmentOffset of the block named by Locator.
type Range struct {
	Locator       string
	RangeStart    int64
	RangeSize     int64
	SegmentOffset int64
}

// LocatorAndRange is a piece of a read: SegmentSize bytes at SegmentOffset of
// the block named by Locator, whose size is BlockSize.
type LocatorAndRange struct {
	Locator       string
	BlockSize     int64
	SegmentOffset int64
	SegmentSize   int64
}

// LocatorsAndRanges returns the pieces of blocks that hold bytes
// [start, start+size) of the file described by ranges. CONTRACT STUB.
func LocatorsAndRanges(ranges []Range, start, size int64, limit int) []LocatorAndRange {
	panic("not yet")
}

// ReplaceRange makes bytes [start, start+size) of the file come from
// segmentOffset of locator, and returns the updated ranges. CONTRACT STUB.
func ReplaceRange(ranges []Range, start, size int64, locator string, segmentOffset int64) []Range {
	panic("not yet")
}
