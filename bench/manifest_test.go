package main

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/arvfile/arvfile/segments"
)

// The goals for a 100,000-file manifest; the Arvados Go SDK's collection
// filesystem takes 0.174 s to format and 0.397 s to parse one on the
// project's machines.
const (
	formatGoal = 80 * time.Millisecond
	parseGoal  = 180 * time.Millisecond
)

// Shape of the benchmark manifest.
const (
	benchStreams        = 100
	benchFilesPerStream = 1000
	benchBlocksPerLine  = 20
)

// manifest100k returns a deterministic, normalized 100,000-file manifest:
// 100 streams ./dir000 … ./dir099 of 1,000 files file0000.dat … of 1–5 KiB,
// each stream's bytes packed in 20 blocks with signed locators
// (+A<40 hex>@<8 hex>), so 19 files a stream span two blocks.
func manifest100k() string {
	var b strings.Builder
	sizes := make([]int64, benchFilesPerStream)
	for s := 0; s < benchStreams; s++ {
		var total int64
		for i := range sizes {
			sizes[i] = 1024 + int64((s*benchFilesPerStream+i)*7919%4096)
			total += sizes[i]
		}
		blockSize := (total + benchBlocksPerLine - 1) / benchBlocksPerLine
		fmt.Fprintf(&b, "./dir%03d", s)
		for k := int64(0); k < benchBlocksPerLine; k++ {
			size := min(blockSize, total-k*blockSize)
			sum := md5.Sum([]byte(fmt.Sprintf("stream %d block %d", s, k)))
			sig := md5.Sum([]byte(fmt.Sprintf("signature %d %d", s, k)))
			fmt.Fprintf(&b, " %s+%d+A%s%s@%08x", hex.EncodeToString(sum[:]), size,
				hex.EncodeToString(sig[:]), hex.EncodeToString(sig[:4]), 0x6a000000+s)
		}
		var pos int64
		for i, size := range sizes {
			b.WriteString(" " + strconv.FormatInt(pos, 10) + ":" + strconv.FormatInt(size, 10) + ":")
			fmt.Fprintf(&b, "file%04d.dat", i)
			pos += size
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// reportGoal reports the time per operation as a ratio to goal (below 1
// meets it).
func reportGoal(b *testing.B, goal time.Duration) {
	perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(perOp/float64(goal.Nanoseconds()), "x-goal")
}

// BenchmarkManifestFormat100k formats the tree of a 100,000-file manifest.
func BenchmarkManifestFormat100k(b *testing.B) {
	text := manifest100k()
	root, err := segments.ParseManifest(text)
	if err != nil {
		b.Fatal(err)
	}
	if got := segments.FormatManifest(root, segments.FormatOptions{}); got != text {
		b.Fatal("formatting the parsed benchmark manifest does not give it back")
	}
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		segments.FormatManifest(root, segments.FormatOptions{})
	}
	b.StopTimer()
	reportGoal(b, formatGoal)
}

// BenchmarkManifestParse100k parses a 100,000-file manifest.
func BenchmarkManifestParse100k(b *testing.B) {
	text := manifest100k()
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := segments.ParseManifest(text); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportGoal(b, parseGoal)
}

// TestManifest100kShape checks the benchmark manifest itself: its size,
// its number of files, and that it is normalized.
func TestManifest100kShape(t *testing.T) {
	text := manifest100k()
	root, err := segments.ParseManifest(text)
	if err != nil {
		t.Fatal(err)
	}
	files, spanning := 0, 0
	for _, d := range root.Dirs {
		files += len(d.Files)
		for _, f := range d.Files {
			if len(f.Segments) > 1 {
				spanning++
			}
		}
	}
	if files != benchStreams*benchFilesPerStream || spanning != benchStreams*(benchBlocksPerLine-1) {
		t.Errorf("got %d files, %d spanning two blocks", files, spanning)
	}
	if got := segments.FormatManifest(root, segments.FormatOptions{}); got != text {
		t.Error("the benchmark manifest is not normalized")
	}
	if got := strings.Count(text, "\n"); got != benchStreams {
		t.Errorf("got %d lines", got)
	}
}
