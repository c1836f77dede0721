package arvfile

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/arvfile/arvfile/keep"
	"github.com/arvfile/arvfile/segments"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// storeWith returns a test store holding each string as a block.
func storeWith(t *testing.T, blocks ...string) *testStore {
	t.Helper()
	st := newTestStore()
	for _, b := range blocks {
		_, err := st.Put(bg, []byte(b), keep.PutOptions{})
		require.NoError(t, err)
	}
	return st
}

// signed adds a permission hint to a locator.
func signed(locator string) string {
	return locator + "+A" + strings.Repeat("5", 40) + "@65f0c5d2"
}

// A manifest as another SDK may write it: signed locators, files out of
// order, a block listed twice.
var loadedManifest = ". " + signed(loc("hello")) + " " + loc("world") + " 5:5:b.txt 0:5:a.txt\n" +
	"./sub " + signed(loc("xyz")) + " " + signed(loc("xyz")) + " 0:3:c 3:3:c2\n"

func loadTestCollection(t *testing.T, opts ...CollectionOption) (*Engine, *Collection) {
	t.Helper()
	e := newTestEngine(t, storeWith(t, "hello", "world", "xyz"))
	c, err := e.LoadCollection(loadedManifest, opts...)
	require.NoError(t, err)
	return e, c
}

// modes are the two ways to load a collection, for tables.
var modes = []struct {
	name string
	opts []CollectionOption
}{
	{"writable", nil},
	{"read-only", []CollectionOption{ReadOnly()}},
}

func TestALoadedCollectionServesItsFiles(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			_, c := loadTestCollection(t, mode.opts...)
			assert.Equal(t, "hello", contents(t, c, "a.txt"))
			assert.Equal(t, "world", contents(t, c, "./b.txt"))
			assert.Equal(t, "xyz", contents(t, c, "sub/c"))
			assert.Equal(t, "xyz", contents(t, c, "sub/c2"))
			f, err := c.Open("sub/c")
			require.NoError(t, err)
			info, err := f.Stat()
			require.NoError(t, err)
			assert.Equal(t, "c", info.Name())
			assert.Equal(t, int64(3), info.Size())
			b := make([]byte, 2)
			n, err := f.ReadAt(b, 2)
			assert.Equal(t, 1, n)
			assert.Equal(t, io.EOF, err)
			assert.Equal(t, "z", string(b[:n]))
			require.NoError(t, f.Close())
			assert.Equal(t, mode.opts != nil, c.ReadOnly())
			assert.False(t, c.Modified())
		})
	}
}

func TestAnUnmodifiedCollectionGivesBackItsText(t *testing.T) {
	normalized := ". " + signed(loc("hello")) + " " + loc("world") + " 0:5:a.txt 5:5:b.txt\n" +
		"./sub " + signed(loc("xyz")) + " 0:3:c 0:3:c2\n"
	tests := []struct {
		name string
		opts ManifestOptions
		want string
	}{
		{"verbatim by default", ManifestOptions{}, loadedManifest},
		{"verbatim when only committed bytes are asked for", ManifestOptions{OnlyCommitted: true}, loadedManifest},
		{"stripped but otherwise verbatim", ManifestOptions{Stripped: true},
			". " + loc("hello") + " " + loc("world") + " 5:5:b.txt 0:5:a.txt\n./sub " + loc("xyz") + " " + loc("xyz") + " 0:3:c 3:3:c2\n"},
		{"normalized when asked", ManifestOptions{Normalized: true}, normalized},
		{"normalized and stripped", ManifestOptions{Normalized: true, Stripped: true},
			". " + loc("hello") + " " + loc("world") + " 0:5:a.txt 5:5:b.txt\n./sub " + loc("xyz") + " 0:3:c 0:3:c2\n"},
	}
	for _, mode := range modes {
		for _, tt := range tests {
			t.Run(mode.name+"/"+tt.name, func(t *testing.T) {
				_, c := loadTestCollection(t, mode.opts...)
				assert.Equal(t, "hello", contents(t, c, "a.txt"), "reading changes nothing")
				got, err := c.ManifestText(bg, tt.opts)
				require.NoError(t, err)
				assert.Equal(t, tt.want, got)
			})
		}
	}
}

func TestAChangedCollectionGivesNormalizedText(t *testing.T) {
	_, c := loadTestCollection(t)
	f, err := c.OpenFile("a.txt", os.O_WRONLY, 0)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	assert.False(t, c.Modified(), "opening for writing changes nothing")
	got, err := c.ManifestText(bg, ManifestOptions{})
	require.NoError(t, err)
	assert.Equal(t, loadedManifest, got)

	f, err = c.OpenFile("a.txt", os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteAt([]byte("J"), 0)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	assert.True(t, c.Modified())
	got, err = c.ManifestText(bg, ManifestOptions{})
	require.NoError(t, err)
	assert.Equal(t, ". "+loc("J")+" "+signed(loc("hello"))+" "+loc("world")+" 0:1:a.txt 2:4:a.txt 6:5:b.txt\n"+
		"./sub "+signed(loc("xyz"))+" 0:3:c 0:3:c2\n", got)
	assert.Equal(t, "Jello", contents(t, c, "a.txt"))
}

func TestLoadCollectionRejectsMalformedText(t *testing.T) {
	tests := []struct {
		name     string
		manifest string
		want     string
		line     int
	}{
		{"no locator", ". 0:1:a\n", `manifest line 1: token "0:1:a": file token before any locator`, 1},
		{"a bad stream name", "x " + loc("a") + " 0:1:a\n", `manifest line 1: token "x": stream name must be "." or start with "./"`, 1},
		{"a span past the blocks", ". " + loc("a") + " 0:1:a\n. " + loc("a") + " 0:2:b\n",
			`manifest line 2: token "0:2:b": span ends past the end of the stream's blocks (1 bytes)`, 2},
	}
	e := newTestEngine(t, newTestStore())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := e.LoadCollection(tt.manifest)
			assert.Nil(t, c)
			require.Error(t, err)
			assert.Equal(t, tt.want, err.Error())
			var me *ManifestError
			require.True(t, errors.As(err, &me))
			assert.Equal(t, tt.line, me.Line)
		})
	}
}

// liveActors counts the actor system's processes and cells.
func liveActors(e *Engine) int {
	n := e.sys.Cells()
	for _, m := range e.sys.RT.System.ProcessRegistry.LocalPIDs.LocalPIDs {
		n += m.Count()
	}
	return n
}

func TestLoadingSpawnsNoFileActorUntilAFileIsOpened(t *testing.T) {
	var b strings.Builder
	b.WriteString(". " + loc("xyz"))
	for i := 0; i < 1000; i++ {
		b.WriteString(" 0:3:f" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + "_" + strconv.Itoa(i))
	}
	b.WriteString("\n")
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			e := newTestEngine(t, storeWith(t, "xyz"))
			before := liveActors(e)
			c, err := e.LoadCollection(b.String(), mode.opts...)
			require.NoError(t, err)
			assert.Equal(t, before+2, liveActors(e), "the collection's actor and its event actor")
			list, err := c.ReadDir(".")
			require.NoError(t, err)
			assert.Len(t, list, 1000)
			f, err := c.Open("fa_0")
			require.NoError(t, err)
			want := before + 3
			if mode.opts != nil {
				want = before + 2 // a read-only file is read without an actor
			}
			assert.Equal(t, want, liveActors(e))
			assert.Equal(t, "xyz", contents(t, c, "fa_0"))
			require.NoError(t, f.Close())
		})
	}
}

func TestAReadOnlyCollectionRejectsEveryChange(t *testing.T) {
	e, c := loadTestCollection(t, ReadOnly())
	w := e.NewCollection()
	require.NoError(t, create(t, w, "w", write{0, "w"}).Close())
	r, err := c.Open("a.txt")
	require.NoError(t, err)
	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"open for writing", func() error { _, err := c.OpenFile("a.txt", os.O_RDWR, 0); return err }, "open a.txt: read-only file system"},
		{"create", func() error { _, err := c.Create("new"); return err }, "open new: read-only file system"},
		{"write through a reader", func() error { _, err := r.Write([]byte("x")); return err }, "write a.txt: read-only file system"},
		{"truncate through a reader", func() error { return r.Truncate(0) }, "truncate a.txt: read-only file system"},
		{"mkdir", func() error { return c.Mkdir("d", 0) }, "mkdir d: read-only file system"},
		{"mkdir all", func() error { return c.MkdirAll("d/e", 0) }, "mkdir d/e: read-only file system"},
		{"remove", func() error { return c.Remove("a.txt") }, "remove a.txt: read-only file system"},
		{"remove all", func() error { return c.RemoveAll("sub") }, "remove sub: read-only file system"},
		{"rename", func() error { return c.Rename("a.txt", "z") }, "rename a.txt: read-only file system"},
		{"rename out of it", func() error { return c.RenameTo("a.txt", w, "z") }, "rename a.txt: read-only file system"},
		{"rename into it", func() error { return w.RenameTo("w", c, "w") }, "rename w: read-only file system"},
		{"copy inside it", func() error { return c.Copy("a.txt", "z") }, "copy z: read-only file system"},
		{"copy into it", func() error { return w.CopyTo("w", c, "w") }, "copy w: read-only file system"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			require.Error(t, err)
			assert.Equal(t, tt.want, err.Error())
			assert.ErrorIs(t, err, syscall.EROFS)
			assert.ErrorIs(t, err, fs.ErrPermission)
			var pe *fs.PathError
			assert.True(t, errors.As(err, &pe))
		})
	}
	require.NoError(t, r.Close())
	got, err := c.ManifestText(bg, ManifestOptions{})
	require.NoError(t, err)
	assert.Equal(t, loadedManifest, got)
	assert.Equal(t, "w", contents(t, w, "w"), "the writable side is unchanged")
	require.NoError(t, w.CopyTo("w", w, "w2"), "copying out of a read-only collection is fine")
	require.NoError(t, c.CopyTo("a.txt", w, "a"))
	assert.Equal(t, "hello", contents(t, w, "a"))
}

func TestLoadAfterCloseFails(t *testing.T) {
	e, err := New(WithStore(newTestStore()))
	require.NoError(t, err)
	require.NoError(t, e.Close())
	_, err = e.LoadCollection("")
	assert.ErrorIs(t, err, fs.ErrClosed)
}

// parsedSegments returns the segments of every file of manifest by path.
func parsedSegments(t *testing.T, manifest string) map[string][]segments.Range {
	t.Helper()
	root, err := segments.ParseManifest(manifest)
	require.NoError(t, err)
	out := map[string][]segments.Range{}
	var walk func(prefix string, d *segments.Dir)
	walk = func(prefix string, d *segments.Dir) {
		for name, f := range d.Files {
			out[prefix+name] = f.Segments
		}
		for name, sub := range d.Dirs {
			walk(prefix+name+"/", sub)
		}
	}
	walk("", root)
	return out
}

// FuzzStripHints checks that the verbatim stripped text of any manifest is
// the same collection as the normalized stripped text.
func FuzzStripHints(f *testing.F) {
	f.Add(loadedManifest)
	f.Add(nsManifest)
	f.Add(fsManifest)
	f.Add(". " + remote(loc("a")) + "+K@zzzzz " + loc("b") + " 0:2:x\\040y\n")
	f.Fuzz(func(t *testing.T, text string) {
		root, err := segments.ParseManifest(text)
		if err != nil {
			return
		}
		stripped := stripHints(text)
		back, err := segments.ParseManifest(stripped)
		require.NoError(t, err, "stripped text %q", stripped)
		assert.Equal(t, segments.FormatManifest(root, segments.FormatOptions{Stripped: true}),
			segments.FormatManifest(back, segments.FormatOptions{}))
		assert.Equal(t, stripped, stripHints(stripped), "stripping twice changes nothing more")
	})
}
