package arvfile

import (
	"io"
	"io/fs"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fsManifest has nested directories, an empty file, an empty directory and
// names with spaces, colons and unicode.
var fsManifest = ". " + loc("hello") + " " + loc("world") + " 0:5:a.txt 0:0:empty 5:5:with\\040space\n" +
	"./d " + loc("world") + " 0:5:b:c\n" +
	"./d/e/f " + loc("hello") + " 0:3:ünï\n" +
	"./z " + emptyDir + "\n"

var fsFiles = []string{"a.txt", "empty", "with space", "d/b:c", "d/e/f/ünï", "z"}

func TestTheFSPassesFSTest(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			e := newTestEngine(t, storeWith(t, "hello", "world"))
			c, err := e.LoadCollection(fsManifest, mode.opts...)
			require.NoError(t, err)
			require.NoError(t, fstest.TestFS(c.FS(), fsFiles...))
		})
	}
	t.Run("built and partly open", func(t *testing.T) {
		c := newTestEngine(t, newTestStore(), WithBlockSize(8)).NewCollection()
		open := create(t, c, "d/open", write{0, "0123456789abc"}) // spans sealed and writable blocks
		defer open.Close()
		require.NoError(t, create(t, c, "x/y", write{0, "small"}).Close())
		require.NoError(t, c.MkdirAll("x/empty/deeper", 0))
		require.NoError(t, fstest.TestFS(c.FS(), "d/open", "x/y", "x/empty/deeper"))
	})
}

func TestTheFSWorksWithTheStandardLibrary(t *testing.T) {
	e := newTestEngine(t, storeWith(t, "hello", "world"))
	c, err := e.LoadCollection(fsManifest, ReadOnly())
	require.NoError(t, err)
	fsys := c.FS()
	var walked []string
	require.NoError(t, fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		walked = append(walked, p+" "+d.Type().String())
		return nil
	}))
	assert.Equal(t, []string{
		". d---------", "a.txt ----------", "d d---------", "d/b:c ----------", "d/e d---------",
		"d/e/f d---------", "d/e/f/ünï ----------", "empty ----------", "with space ----------", "z d---------",
	}, walked)

	b, err := fs.ReadFile(fsys, "d/e/f/ünï")
	require.NoError(t, err)
	assert.Equal(t, "hel", string(b))
	b, err = fs.ReadFile(fsys, "empty")
	require.NoError(t, err)
	assert.Equal(t, "", string(b))
	matches, err := fs.Glob(fsys, "d/*")
	require.NoError(t, err)
	assert.Equal(t, []string{"d/b:c", "d/e"}, matches)

	f, err := fsys.Open("d")
	require.NoError(t, err)
	_, err = f.Read(make([]byte, 1))
	assert.EqualError(t, err, "read d: is a directory")
	dir := f.(fs.ReadDirFile)
	first, err := dir.ReadDir(1)
	require.NoError(t, err)
	assert.Equal(t, []string{"- b:c"}, entries(first))
	rest, err := dir.ReadDir(5)
	require.NoError(t, err)
	assert.Equal(t, []string{"d e/"}, entries(rest))
	_, err = dir.ReadDir(1)
	assert.Equal(t, io.EOF, err)
	require.NoError(t, f.Close())

	for _, bad := range []string{"/a.txt", "d/../a.txt", "d/", ""} {
		_, err := fsys.Open(bad)
		assert.ErrorIs(t, err, fs.ErrInvalid, bad)
	}
	_, err = fsys.Open("nope")
	assert.ErrorIs(t, err, fs.ErrNotExist)
}
