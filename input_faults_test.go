package arvfile

// The fault matrix of issue 11 for input and reads: blocks that come back
// wrong or flaky, crafted manifests, offsets far past the end, names that
// are not UTF-8. Each test fails on the engine before the fix it names.

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/arvfile/arvfile/keep"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readPaths are the ways a committed block reaches a reader.
var readPaths = []struct {
	name string
	opts []Option
	load []CollectionOption
}{
	{"a writable collection through its file actor and the cache", nil, nil},
	{"a read-only collection through the fast path and the cache", nil, []CollectionOption{ReadOnly()}},
	{"a writable collection without a cache", []Option{WithCacheBytes(0)}, nil},
	{"a read-only collection without a cache", []Option{WithCacheBytes(0)}, []CollectionOption{ReadOnly()}},
}

// Item 2: a block whose bytes do not match its md5 is an error, is never
// served and never cached: once the store is healthy the right bytes come.
func TestACorruptBlockIsNeitherServedNorCached(t *testing.T) {
	for _, p := range readPaths {
		t.Run(p.name, func(t *testing.T) {
			st := newTestStore()
			e := newTestEngine(t, st, append([]Option{WithPrefetch(0)}, p.opts...)...)
			text, content := blocksManifest(t, st, []byte("the right bytes"))
			c, err := e.LoadCollection(text, p.load...)
			require.NoError(t, err)
			st.SetCorrupt(func(string) bool { return true })

			f, err := c.Open("f")
			require.NoError(t, err)
			defer f.Close()
			buf := make([]byte, 64)
			n, err := f.ReadAt(buf, 0)
			assert.Equal(t, 0, n)
			assert.ErrorIs(t, err, keep.ErrCorrupt)
			if e.cache != nil {
				assert.Equal(t, 0, e.cache.Stats().Entries, "nothing cached")
			}

			st.SetCorrupt(nil)
			n, err = f.ReadAt(buf, 0)
			assert.Equal(t, io.EOF, err)
			assert.Equal(t, string(content), string(buf[:n]))
		})
	}
}

// Item 2: a block prefetched while the store corrupts it is not cached, so a
// later read fetches it again.
func TestACorruptPrefetchedBlockIsNotCached(t *testing.T) {
	for _, p := range readPaths[:2] {
		t.Run(p.name, func(t *testing.T) {
			st := newTestStore()
			e := newTestEngine(t, st, WithPrefetch(1))
			text, _ := blocksManifest(t, st, []byte("first block"), []byte("second block"))
			c, err := e.LoadCollection(text, p.load...)
			require.NoError(t, err)
			st.SetCorrupt(func(l string) bool { return l == loc("second block") })

			f, err := c.Open("f")
			require.NoError(t, err)
			defer f.Close()
			buf := make([]byte, len("first block"))
			_, err = io.ReadFull(f, buf)
			require.NoError(t, err)
			require.Eventually(t, func() bool {
				s := e.cache.Stats()
				return s.Prefetches == 1 && s.InFlight == 0
			}, waitFor, tick, "the second block was prefetched")
			require.Equal(t, 2, st.Gets())

			st.SetCorrupt(nil)
			rest, err := io.ReadAll(f)
			require.NoError(t, err)
			assert.Equal(t, "second block", string(rest))
			assert.Equal(t, 3, st.Gets(), "the corrupt prefetch was fetched again")
		})
	}
}

// Item 2: a temporary Get failure is retried with the store retry policy; a
// permanent one is not.
func TestTemporaryGetFailuresAreRetried(t *testing.T) {
	flaky := errors.New("flaky disk")
	tests := []struct {
		name     string
		fail     []error // the errors of the first Gets
		wantErr  error
		wantGets int
	}{
		{"one temporary failure", []error{keep.Temporary(flaky)}, nil, 2},
		{"two temporary failures", []error{keep.Temporary(flaky), keep.Temporary(flaky)}, nil, 3},
		{"more temporary failures than retries", []error{keep.Temporary(flaky), keep.Temporary(flaky), keep.Temporary(flaky)}, flaky, 3},
		{"a permanent failure", []error{flaky}, flaky, 1},
	}
	for _, p := range readPaths {
		for _, tt := range tests {
			t.Run(p.name+"/"+tt.name, func(t *testing.T) {
				st := newTestStore()
				e := newTestEngine(t, st, append([]Option{WithPrefetch(0), WithRetries(2)}, p.opts...)...)
				text, content := blocksManifest(t, st, []byte("flaky block"))
				c, err := e.LoadCollection(text, p.load...)
				require.NoError(t, err)
				for i, err := range tt.fail {
					st.FailGet(i+1, err)
				}
				f, err := c.Open("f")
				require.NoError(t, err)
				defer f.Close()
				buf := make([]byte, 64)
				n, err := f.ReadAt(buf, 0)
				if tt.wantErr != nil {
					assert.ErrorIs(t, err, tt.wantErr)
					assert.Equal(t, 0, n)
				} else {
					assert.Equal(t, io.EOF, err)
					assert.Equal(t, string(content), string(buf[:n]))
				}
				assert.Equal(t, tt.wantGets, st.Gets())
			})
		}
	}
}

// hugeFileManifest declares one file, "big", of n times the 64 MiB block
// locator, over a single stream token: a manifest of about 14 bytes per
// 64 MiB.
func hugeFileManifest(locator string, n int) string {
	var b strings.Builder
	b.WriteString(". " + locator)
	for range n {
		b.WriteString(" 0:67108864:big")
	}
	b.WriteString("\n")
	return b.String()
}

// allocatedDuring returns the bytes the process allocated while fn ran.
func allocatedDuring(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// Item 3: reading a crafted file does not allocate its declared size. The
// manifest declares a 1 GiB file over a 64 MiB block that no store has; the
// issue's 1 TiB version kills the process before the fix.
func TestAHugeDeclaredFileIsNotAllocated(t *testing.T) {
	missing := strings.Repeat("7", 32) + "+67108864"
	text := hugeFileManifest(missing, 16)
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			e := newTestEngine(t, newTestStore(), WithPrefetch(0))
			c, err := e.LoadCollection(text, m.opts...)
			require.NoError(t, err)
			info, err := fs.Stat(c.FS(), "big")
			require.NoError(t, err)
			require.Equal(t, int64(1<<30), info.Size())
			var data []byte
			allocated := allocatedDuring(func() { data, err = fs.ReadFile(c.FS(), "big") })
			assert.ErrorIs(t, err, keep.ErrNotFound)
			assert.Nil(t, data)
			assert.Less(t, allocated, uint64(16<<20), "bytes allocated by ReadFile")
		})
	}
}

// ReadFile still reads whole files of every size around its first buffer,
// each byte from its place (the block's bytes are all different, so a
// buffer grown in the wrong place shows).
func TestReadFileReadsWholeFiles(t *testing.T) {
	st := newTestStore()
	e := newTestEngine(t, st)
	block := make([]byte, 3*readFileChunk+5)
	for i := range block {
		block[i] = byte(i*7 + i>>10)
	}
	blockLoc, err := st.Put(bg, block, keep.PutOptions{})
	require.NoError(t, err)
	for _, size := range []int{0, 1, readFileChunk - 1, readFileChunk, readFileChunk + 1, len(block)} {
		t.Run(itoa64(int64(size)), func(t *testing.T) {
			text := ". " + blockLoc + " 0:" + itoa64(int64(size)) + ":f\n"
			c, err := e.LoadCollection(text, ReadOnly())
			require.NoError(t, err)
			data, err := fs.ReadFile(c.FS(), "f")
			require.NoError(t, err)
			assert.Equal(t, len(block[:size]), len(data))
			assert.True(t, string(block[:size]) == string(data), "the file's bytes")
		})
	}
}

// Item 6: names that are not UTF-8 work end to end through the
// collection's own methods; FS() refuses them, and its ReadDir leaves them
// out so that fs.WalkDir visits the rest.
func TestNamesThatAreNotUTF8WorkThroughTheCollection(t *testing.T) {
	const latin1, bytesName, dir = "caf\xe9", "\xff\xfe", "d\xe9"
	st := storeWith(t, "hello", "world")
	e := newTestEngine(t, st)
	text := ". " + loc("hello") + " 0:5:" + latin1 + " 0:5:ok.txt\n./" + dir + " " + loc("world") + " 0:5:" + bytesName + "\n"
	c, err := e.LoadCollection(text)
	require.NoError(t, err)

	list, err := c.ReadDir(".")
	require.NoError(t, err)
	assert.Equal(t, []string{latin1, dir, "ok.txt"}, entryNames(list))
	assert.Equal(t, "hello", contents(t, c, latin1))
	assert.Equal(t, "world", contents(t, c, dir+"/"+bytesName))
	info, err := c.Stat(dir + "/" + bytesName)
	require.NoError(t, err)
	assert.Equal(t, bytesName, info.Name())
	assert.Equal(t, int64(5), info.Size())

	require.NoError(t, c.Rename(latin1, dir+"/\xe8t\xe9"))
	require.NoError(t, c.Copy(dir+"/\xe8t\xe9", "copy\xa0"))
	require.NoError(t, c.Remove(dir+"/"+bytesName))
	require.NoError(t, c.Mkdir("new\xc0", 0))
	f, err := c.Create("new\xc0/\x80")
	require.NoError(t, err)
	_, err = f.WriteString("written")
	require.NoError(t, err)
	require.NoError(t, f.Close())
	_, err = c.Create("nul\x00byte")
	assert.ErrorIs(t, err, fs.ErrInvalid, "NUL is the one byte a name cannot hold, with /")
	assert.ErrorIs(t, c.Mkdir("nul\x00dir", 0), fs.ErrInvalid)

	manifest, err := c.ManifestText(bg, ManifestOptions{Normalized: true})
	require.NoError(t, err)
	assert.Equal(t, ". "+loc("hello")+" 0:5:copy\xa0 0:5:ok.txt\n./d\xe9 "+loc("hello")+" 0:5:\xe8t\xe9\n./new\xc0 "+loc("written")+" 0:7:\x80\n", manifest)
	again, err := e.LoadCollection(manifest)
	require.NoError(t, err)
	assert.Equal(t, "written", contents(t, again, "new\xc0/\x80"))

	fsys := c.FS()
	_, err = fsys.Open("copy\xa0")
	assert.ErrorIs(t, err, fs.ErrInvalid, "io/fs paths are UTF-8")
	list, err = fs.ReadDir(fsys, ".")
	require.NoError(t, err)
	assert.Equal(t, []string{"ok.txt"}, entryNames(list))
	root, err := fsys.Open(".")
	require.NoError(t, err)
	list, err = root.(fs.ReadDirFile).ReadDir(-1)
	require.NoError(t, err)
	assert.Equal(t, []string{"ok.txt"}, entryNames(list))
	var walked []string
	require.NoError(t, fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		walked = append(walked, p)
		return err
	}))
	assert.Equal(t, []string{".", "ok.txt"}, walked)
}

// Item 6: a manifest name may not hold a NUL byte.
func TestAManifestNameWithANULByteIsRefused(t *testing.T) {
	e := newTestEngine(t, newTestStore())
	_, err := e.LoadCollection(". " + keep.EmptyBlockLocator + " 0:0:a\\000b\n")
	var me *ManifestError
	assert.ErrorAs(t, err, &me)
	assert.EqualError(t, err, `manifest line 1: token "0:0:a\\000b": path component with a NUL byte`)
}

func entryNames(list []fs.DirEntry) []string {
	names := make([]string, len(list))
	for i, d := range list {
		names[i] = d.Name()
	}
	return names
}

// Item 5: a write or truncation past the largest file size fails with
// ErrFileTooLarge (syscall.EFBIG) and changes nothing; up to it, a hole
// costs one padding segment per 64 MiB.
func TestWritesPastTheLargestFileSizeFail(t *testing.T) {
	const max = DefaultMaxFileSize
	tests := []struct {
		name     string
		op       func(f *File) error
		wantErr  error
		wantSize int64
		wantSegs int
	}{
		{"WriteAt at math.MaxInt64-1", func(f *File) error { _, err := f.WriteAt([]byte("xyz"), math.MaxInt64-1); return err }, ErrFileTooLarge, 3, 1},
		{"WriteAt ending one byte past the bound", func(f *File) error { _, err := f.WriteAt([]byte("xyz"), max-2); return err }, ErrFileTooLarge, 3, 1},
		{"WriteAt ending at the bound", func(f *File) error { _, err := f.WriteAt([]byte("xy"), max-2); return err }, nil, max, 1 + max>>26 + 1}, // abc, the hole, xy
		{"Truncate to 1<<48", func(f *File) error { return f.Truncate(1 << 48) }, ErrFileTooLarge, 3, 1},
		{"Truncate to the bound", func(f *File) error { return f.Truncate(max) }, nil, max, 1 + max>>26}, // abc, the hole
		{"Write at an offset past the bound", func(f *File) error {
			if _, err := f.Seek(max, io.SeekStart); err != nil {
				return err
			}
			_, err := f.Write([]byte("x"))
			return err
		}, ErrFileTooLarge, 3, 1},
	}
	e := newTestEngine(t, newTestStore())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := e.NewCollection()
			f := create(t, c, "f", write{0, "abc"})
			err := tt.op(f)
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
				assert.ErrorIs(t, err, syscall.EFBIG)
				var pe *fs.PathError
				assert.ErrorAs(t, err, &pe)
			} else {
				assert.NoError(t, err)
			}
			size, err := f.Size()
			require.NoError(t, err)
			assert.Equal(t, tt.wantSize, size)
			require.NoError(t, f.Close())
			assert.Len(t, committedSegments(t, c)["f"], tt.wantSegs)
		})
	}
}

// Item 5: the bound is configurable, and appends respect it too.
func TestTheLargestFileSizeIsConfigurable(t *testing.T) {
	_, err := New(WithStore(newTestStore()), WithMaxFileSize(0))
	assert.EqualError(t, err, "arvfile: largest file size 0: need at least 1")

	c := newTestEngine(t, newTestStore(), WithMaxFileSize(10)).NewCollection()
	f, err := c.OpenMode("log", "a+")
	require.NoError(t, err)
	defer f.Close()
	_, err = f.WriteString("12345678")
	require.NoError(t, err)
	n, err := f.WriteString("abc")
	assert.Equal(t, 0, n)
	assert.ErrorIs(t, err, ErrFileTooLarge)
	_, err = f.WriteString("ab")
	require.NoError(t, err)
	assert.ErrorIs(t, f.Truncate(11), ErrFileTooLarge)
	require.NoError(t, f.Truncate(4))
	assert.Equal(t, "1234", contents(t, c, "log"))

	// A loaded file past the bound can be read and shrunk, not grown.
	big, err := c.e.LoadCollection(". " + keep.PaddingBlockLocator + " 0:20:big\\040file\n")
	require.NoError(t, err)
	g, err := big.OpenFile("big file", os.O_RDWR, 0)
	require.NoError(t, err)
	defer g.Close()
	n, err = g.ReadAt(make([]byte, 30), 0)
	assert.Equal(t, 20, n)
	assert.Equal(t, io.EOF, err)
	assert.ErrorIs(t, g.Truncate(21), ErrFileTooLarge)
	require.NoError(t, g.Truncate(15))
	require.NoError(t, g.Truncate(12))
	_, err = g.WriteAt([]byte("x"), 10)
	assert.ErrorIs(t, err, ErrFileTooLarge, "a write must end within the bound")
	_, err = g.WriteAt([]byte("x"), 9)
	require.NoError(t, err)
	size, err := g.Size()
	require.NoError(t, err)
	assert.Equal(t, int64(12), size)
}

// deepManifest is a manifest of one chain of depth directories called "a"
// with the file "f" at the bottom: about 2 bytes per level.
func deepManifest(depth int) string {
	return "." + strings.Repeat("/a", depth) + " " + keep.EmptyBlockLocator + " 0:0:f\n"
}

// Item 4: no operation costs more than a constant per directory of a
// 30,000-deep tree (before the fix, walking it by ReadDir allocated 16 bytes
// per level per request, 7 GB; a copy 8.9 GB and 86 s; a rename 0.9 GB; the
// manifest of a changed tree 1.9 GB). The paths the test passes are slices
// of one string, so what is counted is the engine's work alone.
func TestNoOperationIsQuadraticInPathDepth(t *testing.T) {
	const depth = 30000
	const perLevel = 2 << 10 // bytes allocated per directory, at most (1.3 KiB at most measured)
	chain := strings.Repeat("a/", depth)
	e := newTestEngine(t, newTestStore())
	var c *Collection
	steps := []struct {
		name string
		run  func() error
	}{
		{"LoadCollection", func() (err error) { c, err = e.LoadCollection(deepManifest(depth)); return err }},
		{"ReadDir of every level, top down", func() error {
			for k := 0; k <= depth; k++ {
				name := "."
				if k > 0 {
					name = chain[:2*k-1]
				}
				list, err := c.ReadDir(name)
				if err != nil {
					return err
				}
				if len(list) != 1 {
					return fmt.Errorf("level %d lists %d entries", k, len(list))
				}
			}
			return nil
		}},
		{"Stat of the bottom file", func() error { _, err := c.Stat(chain + "f"); return err }},
		{"Open of the bottom file", func() error {
			f, err := c.Open(chain + "f")
			if err != nil {
				return err
			}
			return f.Close()
		}},
		{"Rename of the top", func() error { return c.Rename("a", "b") }},
		{"Copy of the tree", func() error { return c.Copy("b", "c") }},
		{"MkdirAll of a new chain", func() error { return c.MkdirAll("d/"+chain[:len(chain)-1], 0) }},
		{"ManifestText of the changed tree", func() error {
			text, err := c.ManifestText(bg, ManifestOptions{Normalized: true})
			if err == nil && len(text) > 4*len(deepManifest(depth))+200 {
				err = fmt.Errorf("manifest of %d bytes", len(text))
			}
			return err
		}},
		{"RemoveAll of the copy", func() error { return c.RemoveAll("c") }},
	}
	for _, s := range steps {
		var err error
		allocated := allocatedDuring(func() { err = s.run() })
		require.NoError(t, err, s.name)
		t.Logf("%s: %d bytes allocated", s.name, allocated)
		assert.Less(t, allocated, uint64(perLevel*depth), "bytes allocated by %s", s.name)
	}
	info, err := c.Stat("b/" + chain[2:] + "f")
	require.NoError(t, err)
	assert.Equal(t, "f", info.Name())
	_, err = c.Stat("c")
	assert.ErrorIs(t, err, fs.ErrNotExist)
	info, err = c.Stat("d/" + chain[:len(chain)-1])
	require.NoError(t, err)
	assert.True(t, info.IsDir())
}

// Item 4: fs.WalkDir through FS() costs the engine a constant per level; what
// remains quadratic is fs.WalkDir's own work: it joins every path it visits
// (path.Join makes two copies), which for a chain adds up to twice the sum
// of the path lengths. Before the fix the engine added 16 bytes per level
// per request on top (644 MB at this depth, against 128 MB for WalkDir).
func TestWalkDirThroughFSIsLinearBeyondItsOwnPaths(t *testing.T) {
	const depth = 8000
	const perLevel = 4 << 10 // 1.2 KiB measured
	e := newTestEngine(t, newTestStore())
	c, err := e.LoadCollection(deepManifest(depth))
	require.NoError(t, err)
	var visited int
	allocated := allocatedDuring(func() {
		err = fs.WalkDir(c.FS(), ".", func(p string, d fs.DirEntry, err error) error {
			visited++
			return err
		})
	})
	require.NoError(t, err)
	t.Logf("fs.WalkDir of %d levels: %d bytes allocated", depth, allocated)
	assert.Equal(t, depth+2, visited, "every directory and the file")
	walkDirOwn := uint64(2 * depth * depth) // Σ 2·(2k+1) bytes of joined paths
	assert.Less(t, allocated, walkDirOwn+perLevel*depth)
}

// Item 4: the collection remembers where its last walk ended; that never
// serves a directory that was removed, renamed or replaced since.
func TestWalksNeverSeeARemovedOrReplacedDirectory(t *testing.T) {
	c := newTestEngine(t, newTestStore()).NewCollection()
	require.NoError(t, create(t, c, "a/b/f1").Close())
	list := func(dir string) ([]string, error) {
		l, err := c.ReadDir(dir)
		return entryNames(l), err
	}
	steps := []struct {
		name    string
		change  func() error
		dir     string
		want    []string
		wantErr error
	}{
		{"a first walk", nil, "a/b", []string{"f1"}, nil},
		{"after renaming the parent away", func() error { return c.Rename("a", "x") }, "a/b", nil, fs.ErrNotExist},
		{"at the new name", nil, "x/b", []string{"f1"}, nil},
		{"after a new directory takes the old name", func() error {
			if err := c.MkdirAll("a/b", 0); err != nil {
				return err
			}
			return create(t, c, "a/b/f2").Close()
		}, "a/b", []string{"f2"}, nil},
		{"after replacing the directory by a rename", func() error {
			if err := c.RemoveAll("a/b"); err != nil {
				return err
			}
			return c.Rename("x/b", "a/b")
		}, "a/b", []string{"f1"}, nil},
		{"below it, once removed", func() error { return c.RemoveAll("a") }, "a/b", nil, fs.ErrNotExist},
	}
	for _, s := range steps {
		if s.change != nil {
			require.NoError(t, s.change(), s.name)
		}
		got, err := list(s.dir)
		if s.wantErr != nil {
			assert.ErrorIs(t, err, s.wantErr, s.name)
			continue
		}
		require.NoError(t, err, s.name)
		assert.Equal(t, s.want, got, s.name)
	}
}

// Item 4: replacing the remote blocks of a deep tree costs a constant per
// directory (before the fix each level built its own path, 2·depth²/2 bytes:
// 100 MB at this depth).
func TestCopyRemoteBlocksIsLinearInPathDepth(t *testing.T) {
	const depth = 10000
	const perLevel = 2 << 10
	e := newTestEngine(t, storeWith(t, "hello"))
	c, err := e.LoadCollection("." + strings.Repeat("/a", depth) + " " + remote(loc("hello")) + " 0:5:f\n")
	require.NoError(t, err)
	allocated := allocatedDuring(func() { err = c.CopyRemoteBlocks(bg) })
	require.NoError(t, err)
	t.Logf("CopyRemoteBlocks at depth %d: %d bytes allocated", depth, allocated)
	assert.Less(t, allocated, uint64(perLevel*depth))
	has, err := c.HasRemoteBlocks(bg)
	require.NoError(t, err)
	assert.False(t, has)
	assert.Equal(t, "hello", contents(t, c, strings.Repeat("a/", depth)+"f"))
}
