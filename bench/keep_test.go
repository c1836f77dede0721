package main

import (
	"context"
	"crypto/md5"
	"encoding/binary"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/arvfile/arvfile/keep"
)

// randomBlock returns a full Keep block of pseudo-random bytes.
func randomBlock(b *testing.B) []byte {
	b.Helper()
	block := make([]byte, keep.BlockSize)
	rng := rand.NewChaCha8([32]byte{1})
	if _, err := rng.Read(block); err != nil {
		b.Fatal(err)
	}
	return block
}

// writeAndSync is the limit for a DirStore Put: create a file, write data,
// fsync and close it, with plain os calls.
func writeAndSync(b *testing.B, dir string, data []byte) {
	b.Helper()
	f, err := os.CreateTemp(dir, "plain-*")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		b.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	if err := os.Remove(f.Name()); err != nil {
		b.Fatal(err)
	}
}

// blockPath returns where DirStore keeps the block named by locator.
func blockPath(root, locator string) string {
	return filepath.Join(root, locator[:3], locator[:32])
}

// BenchmarkDirStorePut64MiB measures DirStore.Put of distinct 64 MiB blocks
// (hash, write a temp file, fsync, rename, fsync the directory) and reports it
// as a ratio (x-limit) to creating, writing and fsyncing the same bytes with
// plain os calls, and (x-limit-md5) to that plus hashing them, both measured
// in the same run, interleaved with the Puts.
func BenchmarkDirStorePut64MiB(b *testing.B) {
	ctx := context.Background()
	root := filepath.Join(b.TempDir(), "store")
	st, err := keep.NewDirStore(root)
	if err != nil {
		b.Fatal(err)
	}
	plain := b.TempDir()
	block := randomBlock(b)
	// Warm up both paths once (page cache, file system metadata) untimed.
	writeAndSync(b, plain, block)
	warm, err := st.Put(ctx, block, keep.PutOptions{})
	if err != nil {
		b.Fatal(err)
	}
	if err := os.Remove(blockPath(root, warm)); err != nil {
		b.Fatal(err)
	}
	var limit, hash time.Duration
	b.SetBytes(keep.BlockSize)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		binary.LittleEndian.PutUint64(block, uint64(i+1)) // a new block each time
		start := time.Now()
		writeAndSync(b, plain, block)
		limit += time.Since(start)
		start = time.Now()
		md5.Sum(block)
		hash += time.Since(start)
		b.StartTimer()
		locator, err := st.Put(ctx, block, keep.PutOptions{})
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if err := os.Remove(blockPath(root, locator)); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed())/float64(limit), "x-limit")
	b.ReportMetric(float64(b.Elapsed())/float64(limit+hash), "x-limit-md5")
}

// BenchmarkDirStoreGet64MiB measures DirStore.Get of a 64 MiB block (read it,
// verify size and md5) and reports it as a ratio (x-limit) to reading the same
// file with os.ReadFile, and (x-limit-md5) to reading it and hashing it, both
// measured in the same run, interleaved with the Gets. The file is in the page
// cache, so this is the CPU cost of the read path, not the disk's.
func BenchmarkDirStoreGet64MiB(b *testing.B) {
	ctx := context.Background()
	root := filepath.Join(b.TempDir(), "store")
	st, err := keep.NewDirStore(root)
	if err != nil {
		b.Fatal(err)
	}
	locator, err := st.Put(ctx, randomBlock(b), keep.PutOptions{})
	if err != nil {
		b.Fatal(err)
	}
	path := blockPath(root, locator)
	if _, err := st.Get(ctx, locator); err != nil { // warm up untimed
		b.Fatal(err)
	}
	var read, readHash time.Duration
	b.SetBytes(keep.BlockSize)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		start := time.Now()
		data, err := os.ReadFile(path)
		read += time.Since(start)
		if err != nil || len(data) != keep.BlockSize {
			b.Fatal(len(data), err)
		}
		md5.Sum(data)
		readHash += time.Since(start)
		b.StartTimer()
		if _, err := st.Get(ctx, locator); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed())/float64(read), "x-limit")
	b.ReportMetric(float64(b.Elapsed())/float64(readHash), "x-limit-md5")
}

// BenchmarkCacheHit measures a Cache.Get answered from memory.
func BenchmarkCacheHit(b *testing.B) {
	ctx := context.Background()
	backend := keep.NewMemoryStore()
	locator, err := backend.Put(ctx, []byte("a cached block"), keep.PutOptions{})
	if err != nil {
		b.Fatal(err)
	}
	c := keep.NewCache(backend, 0, 0)
	defer c.Close()
	if _, err := c.Get(ctx, locator); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Get(ctx, locator); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCacheHitParallel measures cache hits from every P at once, on a
// handful of blocks: the cost of the cache's lock under contention.
func BenchmarkCacheHitParallel(b *testing.B) {
	ctx := context.Background()
	backend := keep.NewMemoryStore()
	c := keep.NewCache(backend, 0, 0)
	defer c.Close()
	var locators []string
	for i := 0; i < 8; i++ {
		locator, err := backend.Put(ctx, []byte{byte(i)}, keep.PutOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Get(ctx, locator); err != nil {
			b.Fatal(err)
		}
		locators = append(locators, locator)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			if _, err := c.Get(ctx, locators[i%len(locators)]); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
