package segments

import "testing"

// cell is what the naive model knows about one byte of a file: the block
// it comes from and its offset there.
type cell struct {
	loc string
	off int64
}

// fuzzLocators are the blocks the fuzz targets write from; few, so that
// the append fast path and same-locator neighbours happen often.
var fuzzLocators = []string{"a", "b", "c", "d"}

// byteModel maps each byte of ranges to its block and offset, and each byte
// to the index of its segment, reusing the space of cells and seg. It fails
// the test when ranges are not contiguous from 0.
func byteModel(t *testing.T, ranges []Range, cells []cell, seg []int) ([]cell, []int) {
	t.Helper()
	cells, seg = cells[:0], seg[:0]
	for i, r := range ranges {
		if r.RangeStart != int64(len(cells)) || r.RangeSize < 0 {
			t.Fatalf("segment %d %+v is not contiguous (file so far %d bytes): %+v", i, r, len(cells), ranges)
		}
		for k := int64(0); k < r.RangeSize; k++ {
			cells = append(cells, cell{r.Locator, r.SegmentOffset + k})
			seg = append(seg, i)
		}
	}
	return cells, seg
}

// checkWellFormed fails the test when a segment has size 0 or the
// segments are not contiguous from 0.
func checkWellFormed(t *testing.T, ranges []Range) {
	t.Helper()
	var pos int64
	for i, r := range ranges {
		if r.RangeSize <= 0 || r.RangeStart != pos {
			t.Fatalf("segment %d %+v is empty or not at %d: %+v", i, r, pos, ranges)
		}
		pos += r.RangeSize
	}
}

// maxFuzzOps bounds the calls one fuzz input makes, so that long inputs
// do not make the quadratic model checks slow.
const maxFuzzOps = 100

// equalCells reports whether two byte models are the same.
func equalCells(a, b []cell) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// maxFuzzSegments bounds the segments decodeRanges makes.
const maxFuzzSegments = 256

// equalPieces reports whether two reads gave the same pieces.
func equalPieces(a, b []LocatorAndRange) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// equalRanges reports whether two files have the same segments.
func equalRanges(a, b []Range) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// fuzzOp is one decoded ReplaceRange call.
type fuzzOp struct {
	start, size int64
	loc         string
	off         int64
}

// decodeOp turns 4 fuzz bytes into a ReplaceRange call on a file of eof
// bytes whose last segment is last (if any): mostly valid calls, with some
// zero, negative and past-the-end ones, and offsets that hit the append
// fast path.
func decodeOp(b []byte, eof int64, last *Range) fuzzOp {
	op := fuzzOp{loc: fuzzLocators[b[0]&3]}
	switch {
	case b[1] == 255:
		op.start = eof + 1 // past the end: must change nothing
	case b[1] >= 224:
		op.start = eof // an append
	default:
		op.start = int64(b[1]) * (eof + 1) / 224
	}
	op.size = int64(b[2]%72) - 4 // -4 … 67
	switch {
	case b[3] == 255:
		op.off = -1
	case b[3] < 96 && last != nil:
		op.loc = last.Locator
		op.off = last.SegmentOffset + last.RangeSize
	default:
		op.off = int64(b[3]) * 3
	}
	return op
}

// applyModel applies a valid ReplaceRange call to the byte model.
func applyModel(cells []cell, op fuzzOp) []cell {
	if op.size <= 0 || op.start < 0 || op.off < 0 || op.start > int64(len(cells)) {
		return cells
	}
	for k := int64(0); k < op.size; k++ {
		c := cell{op.loc, op.off + k}
		if p := op.start + k; p < int64(len(cells)) {
			cells[p] = c
		} else {
			cells = append(cells, c)
		}
	}
	return cells
}

// FuzzReplaceRange applies a sequence of ReplaceRange calls and checks after
// each one that the segments are well formed, map every byte exactly as a
// naive byte-array model does, grow by at most 2, and that the append fast
// path adds no segment.
func FuzzReplaceRange(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 0, 20, 200, 1, 100, 10, 200, 2, 224, 10, 0, 2, 224, 10, 0})
	f.Add([]byte{0, 0, 60, 200, 1, 0, 70, 200, 2, 50, 30, 200, 3, 255, 10, 200})
	f.Add([]byte{0, 0, 40, 200, 1, 10, 3, 200, 2, 20, 3, 200, 3, 30, 3, 200, 0, 5, 60, 200})
	f.Fuzz(func(t *testing.T, data []byte) {
		var ranges []Range
		var cells, got []cell
		var seg []int
		for ops := 0; len(data) >= 4 && ops < maxFuzzOps; ops++ {
			var last *Range
			if len(ranges) > 0 {
				last = &ranges[len(ranges)-1]
			}
			op := decodeOp(data[:4], int64(len(cells)), last)
			data = data[4:]
			fastPath := last != nil && op.size > 0 && op.start == int64(len(cells)) && op.loc == last.Locator &&
				op.off == last.SegmentOffset+last.RangeSize
			before := len(ranges)
			ranges = ReplaceRange(ranges, op.start, op.size, op.loc, op.off)
			cells = applyModel(cells, op)
			checkWellFormed(t, ranges)
			got, seg = byteModel(t, ranges, got, seg)
			if !equalCells(got, cells) {
				t.Fatalf("after %+v: segments %+v map %v, model %v", op, ranges, got, cells)
			}
			if len(ranges) > before+2 {
				t.Fatalf("after %+v: %d segments grew to %d", op, before, len(ranges))
			}
			if fastPath && len(ranges) != before {
				t.Fatalf("after %+v: the append fast path added a segment: %+v", op, ranges)
			}
		}
	})
}

// decodeRanges builds a file from fuzz bytes, two per segment: its size
// (0–15, so some are empty) and its block and offset.
func decodeRanges(data []byte) []Range {
	var ranges []Range
	var pos int64
	for ; len(data) >= 2 && len(ranges) < maxFuzzSegments; data = data[2:] {
		size := int64(data[0] & 15)
		ranges = append(ranges, Range{Locator: fuzzLocators[data[1]&3], RangeStart: pos, RangeSize: size, SegmentOffset: int64(data[1] >> 2)})
		pos += size
	}
	return ranges
}

// FuzzLocatorsAndRanges checks that the pieces of a read hold exactly the
// bytes the byte model holds for it, one piece per non-empty segment
// touched, each with its segment's size as BlockSize, and that a limit keeps
// a prefix of the unlimited pieces.
func FuzzLocatorsAndRanges(f *testing.F) {
	f.Add([]byte{10, 0, 10, 1, 10, 2}, int64(5), int64(20), 0)
	f.Add([]byte{10, 0, 0, 1, 10, 2}, int64(0), int64(100), 1)
	f.Add([]byte{}, int64(0), int64(1), 0)
	f.Add([]byte{3, 4, 5, 6, 7, 8, 9, 10}, int64(-1), int64(3), 2)
	f.Add([]byte{3, 4, 5, 6}, int64(8), int64(0), 0)
	f.Fuzz(func(t *testing.T, data []byte, start, size int64, limit int) {
		ranges := decodeRanges(data)
		cells, seg := byteModel(t, ranges, nil, nil)
		all := LocatorsAndRanges(ranges, start, size, 0)
		got := LocatorsAndRanges(ranges, start, size, limit)

		// The unlimited pieces, byte by byte, against the model.
		var want []cell
		touched := map[int]bool{}
		if size > 0 && start >= 0 && start < int64(len(cells)) {
			end := int64(len(cells))
			if size < end-start {
				end = start + size
			}
			want = cells[start:end]
			for p := start; p < end; p++ {
				touched[seg[p]] = true
			}
		}
		if len(all) != len(touched) {
			t.Fatalf("read %d+%d of %+v: %d pieces, want %d: %+v", start, size, ranges, len(all), len(touched), all)
		}
		var pieces []cell
		pos := start
		for _, p := range all {
			if p.SegmentSize <= 0 || pos >= int64(len(seg)) {
				t.Fatalf("read %d+%d: empty or out-of-file piece %+v", start, size, p)
			}
			if r := ranges[seg[pos]]; p.BlockSize != r.RangeSize || p.Locator != r.Locator {
				t.Fatalf("read %d+%d: piece %+v is not from segment %+v", start, size, p, r)
			}
			for k := int64(0); k < p.SegmentSize; k++ {
				pieces = append(pieces, cell{p.Locator, p.SegmentOffset + k})
			}
			pos += p.SegmentSize
		}
		if !equalCells(pieces, want) {
			t.Fatalf("read %d+%d of %+v: pieces %+v hold %v, model %v", start, size, ranges, all, pieces, want)
		}

		// A limit keeps a prefix.
		n := len(all)
		if limit > 0 && n > limit {
			n = limit
		}
		if !equalPieces(got, all[:n]) {
			t.Fatalf("read %d+%d limit %d: %+v, want %+v", start, size, limit, got, all[:n])
		}
	})
}
