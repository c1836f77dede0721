package segments

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

// threeSegments is a 30-byte file: a[0,10) b[10,20) c[20,30), at block
// offsets 0, 100 and 200.
func threeSegments() []Range {
	return []Range{
		{Locator: "a", RangeStart: 0, RangeSize: 10, SegmentOffset: 0},
		{Locator: "b", RangeStart: 10, RangeSize: 10, SegmentOffset: 100},
		{Locator: "c", RangeStart: 20, RangeSize: 10, SegmentOffset: 200},
	}
}

// readCase is one LocatorsAndRanges call and its exact result.
type readCase struct {
	name        string
	ranges      []Range
	start, size int64
	limit       int
	want        []LocatorAndRange
}

// readCases covers every geometry of a read; List runs them too.
func readCases() []readCase {
	return []readCase{
		{"a read inside one segment gives one piece", threeSegments(), 12, 5, 0,
			[]LocatorAndRange{{"b", 10, 102, 5}}},
		{"a read of a whole segment gives that segment", threeSegments(), 10, 10, 0,
			[]LocatorAndRange{{"b", 10, 100, 10}}},
		{"a read at the start of the file", threeSegments(), 0, 3, 0,
			[]LocatorAndRange{{"a", 10, 0, 3}}},
		{"a read at the end of the file", threeSegments(), 27, 3, 0,
			[]LocatorAndRange{{"c", 10, 207, 3}}},
		{"a read ending on a segment boundary stops there", threeSegments(), 0, 10, 0,
			[]LocatorAndRange{{"a", 10, 0, 10}}},
		{"a read starting on a segment boundary starts there", threeSegments(), 10, 1, 0,
			[]LocatorAndRange{{"b", 10, 100, 1}}},
		{"a read across two segments gives two pieces", threeSegments(), 8, 4, 0,
			[]LocatorAndRange{{"a", 10, 8, 2}, {"b", 10, 100, 2}}},
		{"a read across three segments gives three pieces", threeSegments(), 5, 20, 0,
			[]LocatorAndRange{{"a", 10, 5, 5}, {"b", 10, 100, 10}, {"c", 10, 200, 5}}},
		{"a read of the whole file gives every segment", threeSegments(), 0, 30, 0,
			[]LocatorAndRange{{"a", 10, 0, 10}, {"b", 10, 100, 10}, {"c", 10, 200, 10}}},
		{"a read running past the end is cut at the end", threeSegments(), 25, 100, 0,
			[]LocatorAndRange{{"c", 10, 205, 5}}},
		{"a huge read does not overflow", threeSegments(), 25, math.MaxInt64, 0,
			[]LocatorAndRange{{"c", 10, 205, 5}}},
		{"a read at the end of the file is empty", threeSegments(), 30, 1, 0, nil},
		{"a read past the end of the file is empty", threeSegments(), 31, 5, 0, nil},
		{"a zero-length read is empty", threeSegments(), 5, 0, 0, nil},
		{"a negative size is empty", threeSegments(), 5, -1, 0, nil},
		{"a negative start is empty", threeSegments(), -1, 5, 0, nil},
		{"a read of no segments is empty", nil, 0, 5, 0, nil},
		{"a limit keeps the first pieces", threeSegments(), 5, 20, 2,
			[]LocatorAndRange{{"a", 10, 5, 5}, {"b", 10, 100, 10}}},
		{"a limit of one keeps the first piece", threeSegments(), 5, 20, 1,
			[]LocatorAndRange{{"a", 10, 5, 5}}},
		{"a limit above the piece count keeps them all", threeSegments(), 8, 4, 5,
			[]LocatorAndRange{{"a", 10, 8, 2}, {"b", 10, 100, 2}}},
		{"a negative limit means no limit", threeSegments(), 8, 4, -1,
			[]LocatorAndRange{{"a", 10, 8, 2}, {"b", 10, 100, 2}}},
		{"zero-length segments give no piece", []Range{{"a", 0, 10, 0}, {"z", 10, 0, 0}, {"b", 10, 10, 100}}, 5, 10, 0,
			[]LocatorAndRange{{"a", 10, 5, 5}, {"b", 10, 100, 5}}},
		{"zero-length segments do not count towards the limit", []Range{{"a", 0, 10, 0}, {"z", 10, 0, 0}, {"b", 10, 10, 100}}, 5, 10, 2,
			[]LocatorAndRange{{"a", 10, 5, 5}, {"b", 10, 100, 5}}},
	}
}

func TestLocatorsAndRanges(t *testing.T) {
	for _, tt := range readCases() {
		t.Run(tt.name, func(t *testing.T) {
			before := append([]Range(nil), tt.ranges...)
			got := LocatorsAndRanges(tt.ranges, tt.start, tt.size, tt.limit)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, before, tt.ranges, "ranges must not be modified")
		})
	}
}

// writeCase is one ReplaceRange call and its exact result.
type writeCase struct {
	name        string
	ranges      []Range
	start, size int64
	locator     string
	offset      int64
	want        []Range
}

// writeCases covers every geometry of a write; List runs them too.
func writeCases() []writeCase {
	return []writeCase{
		{"a write inside one segment splits it in three", threeSegments(), 13, 4, "X", 0,
			[]Range{{"a", 0, 10, 0}, {"b", 10, 3, 100}, {"X", 13, 4, 0}, {"b", 17, 3, 107}, {"c", 20, 10, 200}}},
		{"a write at the start of a segment splits it in two", threeSegments(), 10, 4, "X", 0,
			[]Range{{"a", 0, 10, 0}, {"X", 10, 4, 0}, {"b", 14, 6, 104}, {"c", 20, 10, 200}}},
		{"a write at the end of a segment splits it in two", threeSegments(), 16, 4, "X", 0,
			[]Range{{"a", 0, 10, 0}, {"b", 10, 6, 100}, {"X", 16, 4, 0}, {"c", 20, 10, 200}}},
		{"a write of a whole segment replaces it", threeSegments(), 10, 10, "X", 5,
			[]Range{{"a", 0, 10, 0}, {"X", 10, 10, 5}, {"c", 20, 10, 200}}},
		{"a write across two segments cuts both", threeSegments(), 15, 10, "X", 0,
			[]Range{{"a", 0, 10, 0}, {"b", 10, 5, 100}, {"X", 15, 10, 0}, {"c", 25, 5, 205}}},
		{"a write across three segments drops the middle one", threeSegments(), 5, 20, "X", 0,
			[]Range{{"a", 0, 5, 0}, {"X", 5, 20, 0}, {"c", 25, 5, 205}}},
		{"a write from a segment start across two leaves no empty segment", threeSegments(), 10, 15, "X", 0,
			[]Range{{"a", 0, 10, 0}, {"X", 10, 15, 0}, {"c", 25, 5, 205}}},
		{"a write covering two whole segments replaces both", threeSegments(), 10, 20, "X", 0,
			[]Range{{"a", 0, 10, 0}, {"X", 10, 20, 0}}},
		{"a write at the start of the file", threeSegments(), 0, 5, "X", 0,
			[]Range{{"X", 0, 5, 0}, {"a", 5, 5, 5}, {"b", 10, 10, 100}, {"c", 20, 10, 200}}},
		{"a write at the end of the file", threeSegments(), 25, 5, "X", 0,
			[]Range{{"a", 0, 10, 0}, {"b", 10, 10, 100}, {"c", 20, 5, 200}, {"X", 25, 5, 0}}},
		{"a write of the whole file leaves one segment", threeSegments(), 0, 30, "X", 0,
			[]Range{{"X", 0, 30, 0}}},
		{"a write running past the end grows the file", threeSegments(), 25, 10, "X", 0,
			[]Range{{"a", 0, 10, 0}, {"b", 10, 10, 100}, {"c", 20, 5, 200}, {"X", 25, 10, 0}}},
		{"a write over the whole file and beyond leaves one segment", threeSegments(), 0, 50, "X", 0,
			[]Range{{"X", 0, 50, 0}}},
		{"an append on another locator adds a segment", threeSegments(), 30, 5, "X", 0,
			[]Range{{"a", 0, 10, 0}, {"b", 10, 10, 100}, {"c", 20, 10, 200}, {"X", 30, 5, 0}}},
		{"an append continuing the last segment's block extends it", threeSegments(), 30, 5, "c", 210,
			[]Range{{"a", 0, 10, 0}, {"b", 10, 10, 100}, {"c", 20, 15, 200}}},
		{"an append on the same locator elsewhere adds a segment", threeSegments(), 30, 5, "c", 300,
			[]Range{{"a", 0, 10, 0}, {"b", 10, 10, 100}, {"c", 20, 10, 200}, {"c", 30, 5, 300}}},
		{"an append to an empty file adds the first segment", nil, 0, 5, "X", 7,
			[]Range{{"X", 0, 5, 7}}},
		{"an overwrite continuing the previous segment's block is not merged", threeSegments(), 10, 10, "a", 10,
			[]Range{{"a", 0, 10, 0}, {"a", 10, 10, 10}, {"c", 20, 10, 200}}},
		{"a write past the end changes nothing", threeSegments(), 31, 5, "X", 0, threeSegments()},
		{"a write past the end of an empty file changes nothing", nil, 1, 5, "X", 0, nil},
		{"a zero-length write changes nothing", threeSegments(), 5, 0, "X", 0, threeSegments()},
		{"a zero-length append changes nothing", threeSegments(), 30, 0, "X", 0, threeSegments()},
		{"a negative size changes nothing", threeSegments(), 5, -3, "X", 0, threeSegments()},
		{"a negative start changes nothing", threeSegments(), -1, 3, "X", 0, threeSegments()},
		{"a negative block offset changes nothing", threeSegments(), 5, 3, "X", -1, threeSegments()},
		{"an overflowing range changes nothing", threeSegments(), 5, math.MaxInt64, "X", 0, threeSegments()},
		{"a write over an empty segment removes it", []Range{{"a", 0, 10, 0}, {"z", 10, 0, 0}, {"b", 10, 10, 100}}, 10, 5, "X", 0,
			[]Range{{"a", 0, 10, 0}, {"X", 10, 5, 0}, {"b", 15, 5, 105}}},
		{"a write ending at an empty segment removes it", []Range{{"a", 0, 10, 0}, {"z", 10, 0, 0}, {"b", 10, 10, 100}}, 5, 5, "X", 0,
			[]Range{{"a", 0, 5, 0}, {"X", 5, 5, 0}, {"b", 10, 10, 100}}},
		{"an append after an empty last segment replaces it", []Range{{"a", 0, 10, 0}, {"z", 10, 0, 0}}, 10, 5, "X", 0,
			[]Range{{"a", 0, 10, 0}, {"X", 10, 5, 0}}},
		{"an append continuing an empty last segment extends it", []Range{{"a", 0, 10, 0}, {"z", 10, 0, 5}}, 10, 3, "z", 5,
			[]Range{{"a", 0, 10, 0}, {"z", 10, 3, 5}}},
	}
}

func TestReplaceRange(t *testing.T) {
	for _, tt := range writeCases() {
		t.Run(tt.name, func(t *testing.T) {
			got := ReplaceRange(tt.ranges, tt.start, tt.size, tt.locator, tt.offset)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestReplaceRangeReusesSpareCapacity(t *testing.T) {
	ranges := make([]Range, 0, 8)
	ranges = append(ranges, threeSegments()...)
	got := ReplaceRange(ranges, 13, 4, "X", 0)
	assert.Equal(t, &ranges[:1][0], &got[0], "the backing array is reused")
	assert.Equal(t, 5, len(got))

	// A write that removes segments clears the freed slots so their
	// locator strings can be collected.
	got = ReplaceRange(got, 0, 30, "Y", 0)
	assert.Equal(t, []Range{{"Y", 0, 30, 0}}, got)
	assert.Equal(t, []Range{{}, {}, {}, {}}, got[1:5])
}

func ExampleReplaceRange() {
	// A 30-byte file in one block; bytes 10–14 are overwritten from block "new".
	ranges := []Range{{Locator: "old", RangeStart: 0, RangeSize: 30}}
	ranges = ReplaceRange(ranges, 10, 5, "new", 0)
	for _, r := range ranges {
		fmt.Printf("%+v\n", r)
	}
	// Reading bytes 8–17 touches all three segments.
	for _, p := range LocatorsAndRanges(ranges, 8, 10, 0) {
		fmt.Printf("%+v\n", p)
	}
	// Output:
	// {Locator:old RangeStart:0 RangeSize:10 SegmentOffset:0}
	// {Locator:new RangeStart:10 RangeSize:5 SegmentOffset:0}
	// {Locator:old RangeStart:15 RangeSize:15 SegmentOffset:15}
	// {Locator:old BlockSize:10 SegmentOffset:8 SegmentSize:2}
	// {Locator:new BlockSize:5 SegmentOffset:0 SegmentSize:5}
	// {Locator:old BlockSize:15 SegmentOffset:15 SegmentSize:3}
}

func TestPrefetchChoice(t *testing.T) {
	next := []LocatorAndRange{{Locator: "a"}, {Locator: "skip"}, {Locator: "a"}, {Locator: "b"}, {Locator: "c"}}
	skip := func(loc string) bool { return loc == "skip" }
	tests := []struct {
		n    int
		want []string
	}{
		{0, nil},
		{-1, nil},
		{1, []string{"a"}},
		{2, []string{"a", "b"}},
		{5, []string{"a", "b", "c"}},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, PrefetchChoice(next, tt.n, skip), "n=%d", tt.n)
	}
	assert.Nil(t, PrefetchChoice(nil, 3, skip))
}
