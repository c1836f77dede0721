package arvfile

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/arvfile/arvfile/keep"
)

var loadFiles = flag.Int("arvfile.loadfiles", 1_000_000, "files in BenchmarkLoadMillionFiles's manifest")

// millionFileManifest returns a manifest of n files of 1 KiB, 1000 per
// directory, all cut from one 1 MiB block stored in st.
func millionFileManifest(b *testing.B, st keep.Store, n int) string {
	block := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
	l, err := st.Put(bg, block, keep.PutOptions{})
	if err != nil {
		b.Fatal(err)
	}
	var sb strings.Builder
	sb.Grow(n * 24)
	for i := 0; i < n; i++ {
		if i%1000 == 0 {
			if i > 0 {
				sb.WriteByte('\n')
			}
			fmt.Fprintf(&sb, "./dir%04d %s", i/1000, l)
		}
		sb.WriteString(" ")
		sb.WriteString(strconv.Itoa(i % 1000 * 1024))
		sb.WriteString(":1024:file")
		sb.WriteString(strconv.Itoa(i))
	}
	sb.WriteByte('\n')
	return sb.String()
}

// BenchmarkLoadMillionFiles loads a manifest of -arvfile.loadfiles files
// (default 1,000,000) as a read-only collection and reads one file, and
// reports the seconds that took and the heap the collection holds (HeapAlloc
// after the load, minus before; the manifest text itself, already in the heap
// before, is not counted: the collection keeps it). The manifest is made once.
func BenchmarkLoadMillionFiles(b *testing.B) {
	st := keep.NewMemoryStore()
	text := millionFileManifest(b, st, *loadFiles)
	last := *loadFiles - 1
	name := fmt.Sprintf("dir%04d/file%d", last/1000, last)
	var secs, heap float64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		e, err := New(WithStore(st))
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		b.StartTimer()
		start := time.Now()
		c, err := e.LoadCollection(text, ReadOnly())
		if err != nil {
			b.Fatal(err)
		}
		f, err := c.Open(name)
		if err != nil {
			b.Fatal(err)
		}
		got, err := io.ReadAll(f)
		if err != nil || len(got) != 1024 {
			b.Fatalf("read %d bytes, %v", len(got), err)
		}
		secs += time.Since(start).Seconds()
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&after)
		heap += float64(after.HeapAlloc) - float64(before.HeapAlloc)
		runtime.KeepAlive(c)
		_ = f.Close()
		_ = e.Close()
	}
	b.ReportMetric(secs/float64(b.N), "s/load")
	b.ReportMetric(heap/float64(b.N)/(1<<20), "heap-MiB")
	b.ReportMetric(float64(len(text))/(1<<20), "text-MiB")
}
