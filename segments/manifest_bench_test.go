package segments

import (
	"fmt"
	"strings"
	"testing"
)

// nestedManifest returns a one-line manifest of n files spread by their
// names over 100 subdirectories ("d07/f00042"), all in one block, and the
// normalized text of the same collection (one line per subdirectory).
func nestedManifest(n int) string {
	var b strings.Builder
	b.WriteString(". 7f614da9329cd3aebf59b91aadc30bf0+67108864")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, " %d:100:d%02d/f%05d", i*100%(1<<26-100), i%100, i)
	}
	b.WriteByte('\n')
	return b.String()
}

// BenchmarkParseManifestNested parses 10,000 files whose names carry their
// directories, the path that the 100k benchmark in bench/ does not take.
func BenchmarkParseManifestNested(b *testing.B) {
	text := nestedManifest(10000)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := ParseManifest(text); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFormatManifestNested formats the tree of nestedManifest: 100
// lines of 100 files.
func BenchmarkFormatManifestNested(b *testing.B) {
	root, err := ParseManifest(nestedManifest(10000))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		FormatManifest(root, FormatOptions{Stripped: true})
	}
}
