package main

import (
	"fmt"
	"time"

	"github.com/arvfile/arvfile/segments"
)

func init() {
	register(scenario{id: "f", title: "manifest format and parse", run: runManifest})
}

// runManifest formats and parses a manifest of 100,000 files (10,000 with
// --quick). The limit is a memory copy of the manifest text.
func runManifest(cfg config) ([]result, error) {
	files := 100_000
	if cfg.quick {
		files = 10_000
	}
	tree := manifestTree(files)
	text := segments.FormatManifest(tree, segments.FormatOptions{})
	copyLimit := float64(len(text)) / copyRate([]byte(text), int64(len(text)), len(text))

	format, err := repeat(cfg.reps, result{Scenario: "f1", Title: fmt.Sprintf("format %d files", files),
		Unit: "s", LimitName: "memcopy", Limit: copyLimit}, true, func() (sample, error) {
		start := time.Now()
		out := segments.FormatManifest(tree, segments.FormatOptions{})
		d := time.Since(start).Seconds()
		if out != text {
			return sample{}, fmt.Errorf("formatting the same tree twice gave different text")
		}
		return sample{value: d}, nil
	})
	if err != nil {
		return nil, err
	}
	parse, err := repeat(cfg.reps, result{Scenario: "f2", Title: fmt.Sprintf("parse %d files", files),
		Unit: "s", LimitName: "memcopy", Limit: copyLimit}, true, func() (sample, error) {
		start := time.Now()
		d, err := segments.ParseManifest(text)
		secs := time.Since(start).Seconds()
		if err != nil {
			return sample{}, err
		}
		if n := countFiles(d); n != files {
			return sample{}, fmt.Errorf("parsed %d files, want %d", n, files)
		}
		return sample{value: secs}, nil
	})
	if err != nil {
		return nil, err
	}
	return []result{format, parse}, nil
}

// manifestTree builds a collection of n files in 100 directories, each file
// 4 KiB within 64 MiB blocks, as the bench issue's manifest scenario asks.
func manifestTree(n int) *segments.Dir {
	root := &segments.Dir{Dirs: map[string]*segments.Dir{}, Files: map[string]*segments.File{}}
	const perBlock = 1 << 14 // 4 KiB files per 64 MiB block
	for i := 0; i < n; i++ {
		dir := root
		if d := i % 100; d > 0 {
			name := fmt.Sprintf("dir%02d", d)
			sub, ok := root.Dirs[name]
			if !ok {
				sub = &segments.Dir{Dirs: map[string]*segments.Dir{}, Files: map[string]*segments.File{}}
				root.Dirs[name] = sub
			}
			dir = sub
		}
		block := i / perBlock
		loc := fmt.Sprintf("%032x+67108864", block+1)
		dir.Files[fmt.Sprintf("file%07d.dat", i)] = &segments.File{Segments: []segments.Range{{
			Locator: loc, RangeStart: 0, RangeSize: 4096, SegmentOffset: int64(i%perBlock) * 4096,
		}}}
	}
	return root
}

func countFiles(d *segments.Dir) int {
	n := len(d.Files)
	for _, sub := range d.Dirs {
		n += countFiles(sub)
	}
	return n
}
