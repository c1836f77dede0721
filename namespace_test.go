package arvfile

import (
	"errors"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The collection every namespace test starts from.
var (
	locA       = loc("aaa")
	locB       = loc("bb")
	locC       = loc("c")
	nsManifest = ". " + locA + " " + locB + " 0:3:a 3:2:b\n./d " + locC + " 0:1:e\n"
)

const emptyDir = "d41d8cd98f00b204e9800998ecf8427e+0 0:0:\\056"

func nsCollection(t *testing.T) (*Engine, *Collection) {
	t.Helper()
	e := newTestEngine(t, storeWith(t, "aaa", "bb", "c"))
	c, err := e.LoadCollection(nsManifest)
	require.NoError(t, err)
	return e, c
}

func manifest(t *testing.T, c *Collection) string {
	t.Helper()
	got, err := c.ManifestText(bg, ManifestOptions{})
	require.NoError(t, err)
	return got
}

func TestEachNamespaceOperationGivesItsManifest(t *testing.T) {
	tests := []struct {
		name string
		op   func(c *Collection) error
		want string
	}{
		{"mkdir", func(c *Collection) error { return c.Mkdir("x", 0o755) },
			nsManifest + "./x " + emptyDir + "\n"},
		{"mkdir in a subdirectory", func(c *Collection) error { return c.Mkdir("d/x", 0o755) },
			nsManifest + "./d/x " + emptyDir + "\n"},
		{"mkdir all", func(c *Collection) error { return c.MkdirAll("x/y/z", 0o755) },
			nsManifest + "./x/y/z " + emptyDir + "\n"},
		{"mkdir all of an existing directory", func(c *Collection) error { return c.MkdirAll("./d", 0o755) },
			nsManifest},
		{"mkdir all of the root", func(c *Collection) error { return c.MkdirAll(".", 0o755) },
			nsManifest},
		{"remove a file", func(c *Collection) error { return c.Remove("a") },
			". " + locB + " 0:2:b\n./d " + locC + " 0:1:e\n"},
		{"remove the last file of a directory", func(c *Collection) error { return c.Remove("d/e") },
			". " + locA + " " + locB + " 0:3:a 3:2:b\n./d " + emptyDir + "\n"},
		{"remove all of a directory", func(c *Collection) error { return c.RemoveAll("d/") },
			". " + locA + " " + locB + " 0:3:a 3:2:b\n"},
		{"remove all of a missing name", func(c *Collection) error { return c.RemoveAll("nope/x") },
			nsManifest},
		{"rename a file", func(c *Collection) error { return c.Rename("a", "z") },
			". " + locB + " " + locA + " 0:2:b 2:3:z\n./d " + locC + " 0:1:e\n"},
		{"rename a file into a directory", func(c *Collection) error { return c.Rename("a", "d/a2") },
			". " + locB + " 0:2:b\n./d " + locA + " " + locC + " 0:3:a2 3:1:e\n"},
		{"rename a file over another", func(c *Collection) error { return c.Rename("b", "a") },
			". " + locB + " 0:2:a\n./d " + locC + " 0:1:e\n"},
		{"rename a directory", func(c *Collection) error { return c.Rename("d/", "x/") },
			". " + locA + " " + locB + " 0:3:a 3:2:b\n./x " + locC + " 0:1:e\n"},
		{"rename a directory over an empty one", func(c *Collection) error {
			if err := c.Mkdir("x", 0); err != nil {
				return err
			}
			return c.Rename("d", "x")
		}, ". " + locA + " " + locB + " 0:3:a 3:2:b\n./x " + locC + " 0:1:e\n"},
		{"rename to the same name", func(c *Collection) error { return c.Rename("a", "./a") },
			nsManifest},
		{"copy a file", func(c *Collection) error { return c.Copy("a", "a2") },
			". " + locA + " " + locB + " 0:3:a 0:3:a2 3:2:b\n./d " + locC + " 0:1:e\n"},
		{"copy a file into a directory by a trailing slash", func(c *Collection) error { return c.Copy("a", "d/") },
			". " + locA + " " + locB + " 0:3:a 3:2:b\n./d " + locA + " " + locC + " 0:3:a 3:1:e\n"},
		{"copy a file into an existing directory", func(c *Collection) error { return c.Copy("a", "d") },
			". " + locA + " " + locB + " 0:3:a 3:2:b\n./d " + locA + " " + locC + " 0:3:a 3:1:e\n"},
		{"copy a file creating its directories", func(c *Collection) error { return c.Copy("b", "x/y/b2") },
			nsManifest + "./x/y " + locB + " 0:2:b2\n"},
		{"copy a file over another when asked to overwrite", func(c *Collection) error { return c.Copy("b", "a", Overwrite()) },
			". " + locB + " 0:2:a 0:2:b\n./d " + locC + " 0:1:e\n"},
		{"copy a file over one of its name in a directory when asked to overwrite", func(c *Collection) error {
			if err := c.Copy("a", "d/e", Overwrite()); err != nil {
				return err
			}
			return c.Copy("b", "d/", Overwrite())
		}, nsManifest[:strings.Index(nsManifest, "./d")] + "./d " + locB + " " + locA + " 0:2:b 2:3:e\n"},
		{"copy a directory", func(c *Collection) error { return c.Copy("d", "x/d2") },
			nsManifest + "./x/d2 " + locC + " 0:1:e\n"},
		{"copy a file into the root", func(c *Collection) error { return c.Copy("d/e", "./") },
			". " + locA + " " + locB + " " + locC + " 0:3:a 3:2:b 5:1:e\n./d " + locC + " 0:1:e\n"},
		{"copy a directory with an empty one inside", func(c *Collection) error {
			if err := c.Mkdir("d/empty", 0); err != nil {
				return err
			}
			return c.Copy("d", "x")
		}, nsManifest + "./d/empty " + emptyDir + "\n./x " + locC + " 0:1:e\n./x/empty " + emptyDir + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, c := nsCollection(t)
			require.NoError(t, tt.op(c))
			assert.Equal(t, tt.want, manifest(t, c))
		})
	}
}

func TestNamespaceErrorsUseTheFSVocabulary(t *testing.T) {
	tests := []struct {
		name   string
		op     func(c *Collection) error
		want   string
		target error
	}{
		{"mkdir of an existing file", func(c *Collection) error { return c.Mkdir("a", 0) }, "mkdir a: file already exists", fs.ErrExist},
		{"mkdir of an existing directory", func(c *Collection) error { return c.Mkdir("d", 0) }, "mkdir d: file already exists", fs.ErrExist},
		{"mkdir of the root", func(c *Collection) error { return c.Mkdir(".", 0) }, "mkdir .: file already exists", fs.ErrExist},
		{"mkdir without a parent", func(c *Collection) error { return c.Mkdir("x/y", 0) }, "mkdir x/y: file does not exist", fs.ErrNotExist},
		{"mkdir below a file", func(c *Collection) error { return c.Mkdir("a/x", 0) }, "mkdir a/x: not a directory", syscall.ENOTDIR},
		{"mkdir all through a file", func(c *Collection) error { return c.MkdirAll("a/x/y", 0) }, "mkdir a/x/y: not a directory", syscall.ENOTDIR},
		{"mkdir of a bad name", func(c *Collection) error { return c.Mkdir("x/../y", 0) }, "mkdir x/../y: invalid argument", fs.ErrInvalid},
		{"remove of a missing file", func(c *Collection) error { return c.Remove("nope") }, "remove nope: file does not exist", fs.ErrNotExist},
		{"remove of a directory that is not empty", func(c *Collection) error { return c.Remove("d") }, "remove d: directory not empty", syscall.ENOTEMPTY},
		{"remove below a file", func(c *Collection) error { return c.Remove("a/x") }, "remove a/x: not a directory", syscall.ENOTDIR},
		{"remove of the root", func(c *Collection) error { return c.RemoveAll(".") }, "remove .: invalid argument", fs.ErrInvalid},
		{"rename of a missing file", func(c *Collection) error { return c.Rename("nope", "x") }, "rename nope: file does not exist", fs.ErrNotExist},
		{"rename into a missing directory", func(c *Collection) error { return c.Rename("a", "nope/a") }, "rename nope/a: file does not exist", fs.ErrNotExist},
		{"rename of a file onto a directory", func(c *Collection) error { return c.Rename("a", "d") }, "rename d: is a directory", syscall.EISDIR},
		{"rename of a directory onto a file", func(c *Collection) error { return c.Rename("d", "a") }, "rename a: not a directory", syscall.ENOTDIR},
		{"rename of a directory onto a full one", func(c *Collection) error {
			require.NoError(t, c.MkdirAll("x/y", 0))
			return c.Rename("d", "x")
		}, "rename x: directory not empty", syscall.ENOTEMPTY},
		{"rename of a directory below itself", func(c *Collection) error { return c.Rename("d", "d/x") }, "rename d/x: invalid argument", fs.ErrInvalid},
		{"rename of the root", func(c *Collection) error { return c.Rename(".", "x") }, "rename .: invalid argument", fs.ErrInvalid},
		{"copy of a missing file", func(c *Collection) error { return c.Copy("nope", "x") }, "copy nope: file does not exist", fs.ErrNotExist},
		{"copy of a directory onto a file", func(c *Collection) error { return c.Copy("d", "a") }, "copy a: file already exists", fs.ErrExist},
		{"copy of a file into a directory where it exists", func(c *Collection) error {
			require.NoError(t, c.Copy("a", "d/"))
			return c.Copy("d", ".")
		}, "copy .: file already exists", fs.ErrExist},
		{"copy through a file", func(c *Collection) error { return c.Copy("b", "a/x") }, "copy a/x: not a directory", syscall.ENOTDIR},
		{"copy of a file onto a file", func(c *Collection) error { return c.Copy("b", "a") }, "copy a: file already exists", fs.ErrExist},
		{"copy of a file to a directory holding a file of its name", func(c *Collection) error { return c.Copy("a", ".") }, "copy .: file already exists", fs.ErrExist},
		{"copy of a file to another collection onto a file", func(c *Collection) error {
			other, err := c.e.LoadCollection(nsManifest)
			require.NoError(t, err)
			err = c.CopyTo("b", other, "a")
			assert.Equal(t, nsManifest, manifest(t, other), "a failed copy changes nothing")
			return err
		}, "copy a: file already exists", fs.ErrExist},
		{"copy of a directory onto a file even when asked to overwrite", func(c *Collection) error { return c.Copy("d", "a", Overwrite()) }, "copy a: file already exists", fs.ErrExist},
		{"copy of a directory to a directory holding one of its name even when asked to overwrite", func(c *Collection) error { return c.Copy("d", ".", Overwrite()) }, "copy .: file already exists", fs.ErrExist},
		{"stat of a missing file", func(c *Collection) error { _, err := c.Stat("d/nope"); return err }, "stat d/nope: file does not exist", fs.ErrNotExist},
		{"readdir of a file", func(c *Collection) error { _, err := c.ReadDir("a"); return err }, "readdir a: not a directory", syscall.ENOTDIR},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, c := nsCollection(t)
			before := manifest(t, c)
			err := tt.op(c)
			require.Error(t, err)
			assert.Equal(t, tt.want, err.Error())
			assert.ErrorIs(t, err, tt.target)
			var pe *fs.PathError
			assert.True(t, errors.As(err, &pe), "a *fs.PathError")
			if !strings.HasPrefix(tt.name, "copy of a file into") && !strings.HasPrefix(tt.name, "rename of a directory onto a full") {
				assert.Equal(t, before, manifest(t, c), "a failed operation changes nothing")
			}
		})
	}
}

// oddNames holds every byte a manifest must escape, and more.
var oddNames = []string{"with space", "co:lon", `back\slash`, "tab\there", "new\nline", "ünïcødé ✓", "dir with space/inner:file"}

func TestOddNamesRoundTripThroughTheManifest(t *testing.T) {
	e := newTestEngine(t, newTestStore())
	c := e.NewCollection()
	for _, name := range oddNames {
		require.NoError(t, create(t, c, name, write{0, "x"}).Close())
	}
	require.NoError(t, c.Mkdir("empty\tdir", 0))
	text := manifest(t, c)
	x7 := loc("xxxxxxx") // the seven small files, packed in the order they were closed
	assert.Equal(t, ". "+x7+" 2:1:back\\134slash 1:1:co\\072lon 4:1:new\\012line 3:1:tab\\011here "+
		"0:1:with\\040space 5:1:ünïcødé\\040✓\n"+
		"./dir\\040with\\040space "+x7+" 6:1:inner\\072file\n"+
		"./empty\\011dir "+emptyDir+"\n", text)

	back, err := e.LoadCollection(text, ReadOnly())
	require.NoError(t, err)
	for _, name := range oddNames {
		assert.Equal(t, "x", contents(t, back, name), name)
	}
	info, err := back.Stat("empty\tdir")
	require.NoError(t, err)
	assert.True(t, info.IsDir())
	assert.Equal(t, text, manifest(t, back))

	require.NoError(t, c.Rename("co:lon", "dir with space/re named\\"))
	assert.Equal(t, ". "+x7+" 2:1:back\\134slash 4:1:new\\012line 3:1:tab\\011here "+
		"0:1:with\\040space 5:1:ünïcødé\\040✓\n"+
		"./dir\\040with\\040space "+x7+" 6:1:inner\\072file 1:1:re\\040named\\134\n"+
		"./empty\\011dir "+emptyDir+"\n", manifest(t, c))
}

func TestAnOpenFileKeepsWorkingAfterARename(t *testing.T) {
	_, c := nsCollection(t)
	var log eventLog
	c.Subscribe(log.add)
	f := create(t, c, "new", write{0, "12"})
	require.NoError(t, c.Mkdir("x", 0))
	require.NoError(t, c.Rename("new", "x/moved"))
	_, err := f.WriteAt([]byte("34"), 2)
	require.NoError(t, err)
	require.NoError(t, f.Sync())
	require.NoError(t, f.Close())
	assert.Equal(t, "1234", contents(t, c, "x/moved"))
	_, err = c.Open("new")
	assert.ErrorIs(t, err, fs.ErrNotExist)
	want := []Event{
		{Kind: EventAdd, Path: "new"},
		{Kind: EventWrite, Path: "new", Offset: 0, Length: 2},
		{Kind: EventAdd, Path: "x"},
		{Kind: EventDel, Path: "new"},
		{Kind: EventAdd, Path: "x/moved"},
		{Kind: EventWrite, Path: "x/moved", Offset: 2, Length: 2},
		{Kind: EventMod, Path: "x/moved"},
	}
	require.Eventually(t, func() bool { return len(log.get()) >= len(want) }, waitFor, tick)
	assert.Equal(t, want, log.get())
	assert.Equal(t, nsManifest+"./x "+loc("1234")+" 0:4:moved\n", manifest(t, c))
}

func TestNamespaceChangesEmitEvents(t *testing.T) {
	_, c := nsCollection(t)
	var log eventLog
	c.Subscribe(log.add)
	require.NoError(t, c.MkdirAll("x/y", 0))
	require.NoError(t, c.Copy("a", "x/y/"))
	require.NoError(t, c.Copy("b", "x/y/a", Overwrite()))
	require.NoError(t, c.Rename("d", "x/d"))
	require.NoError(t, c.Remove("a"))
	require.NoError(t, c.RemoveAll("x"))
	want := []Event{
		{Kind: EventAdd, Path: "x"},
		{Kind: EventAdd, Path: "x/y"},
		{Kind: EventAdd, Path: "x/y/a"},
		{Kind: EventMod, Path: "x/y/a"},
		{Kind: EventDel, Path: "d"},
		{Kind: EventAdd, Path: "x/d"},
		{Kind: EventDel, Path: "a"},
		{Kind: EventDel, Path: "x"},
	}
	require.Eventually(t, func() bool { return len(log.get()) >= len(want) }, waitFor, tick)
	assert.Equal(t, want, log.get())
}

func TestACopySharesStoredBlocksAndDuplicatesTheOneBeingWritten(t *testing.T) {
	st := newTestStore()
	c := newTestEngine(t, st).NewCollection()
	f := create(t, c, "a", write{0, "hello"})
	require.NoError(t, c.Copy("a", "b"))
	_, err := f.WriteAt([]byte(" world"), 5)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	assert.Equal(t, "hello", contents(t, c, "b"))
	assert.Equal(t, "hello world", contents(t, c, "a"))
	b, err := c.OpenFile("b", os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = b.WriteString("!")
	require.NoError(t, err)
	require.NoError(t, b.Close())
	assert.Equal(t, "hello!", contents(t, c, "b"))
	assert.Equal(t, "hello world", contents(t, c, "a"))
	assert.Equal(t, ". "+loc("hello worldhello!")+" 0:11:a 11:6:b\n", manifest(t, c))

	// Once stored, a copy names the same blocks and stores nothing.
	puts := st.mem.TotalPuts()
	require.NoError(t, c.Copy("a", "d/a"))
	assert.Equal(t, ". "+loc("hello worldhello!")+" 0:11:a 11:6:b\n./d "+loc("hello worldhello!")+" 0:11:a\n", manifest(t, c))
	assert.Equal(t, puts, st.mem.TotalPuts())
}

func TestACopyOfAFileWithSealedBlocksSharesThem(t *testing.T) {
	st := newTestStore()
	c := newTestEngine(t, st, WithBlockSize(4)).NewCollection()
	f := create(t, c, "a", write{0, "0123456789"}) // two sealed blocks and a writable one
	require.NoError(t, c.Copy("a", "b"))
	require.NoError(t, f.Close())
	assert.Equal(t, "0123456789", contents(t, c, "b"))
	assert.Equal(t, ". "+loc("0123")+" "+loc("4567")+" "+loc("89")+" 0:10:a 0:10:b\n", manifest(t, c))
	assert.Equal(t, map[string]int{loc("0123"): 1, loc("4567"): 1, loc("89"): 2}, st.putCounts(),
		"the sealed blocks are stored once; the writable one was duplicated")
}

func TestRenameToMovesAFileToAnotherCollection(t *testing.T) {
	e, c := nsCollection(t)
	dst := e.NewCollection()
	var log eventLog
	dst.Subscribe(log.add)
	f := create(t, c, "open", write{0, "ab"})
	require.NoError(t, dst.Mkdir("in", 0))
	require.NoError(t, c.RenameTo("open", dst, "in/moved"))
	require.NoError(t, c.RenameTo("d", dst, "d"))
	_, err := f.WriteAt([]byte("cd"), 2)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	assert.Equal(t, ". "+locA+" "+locB+" 0:3:a 3:2:b\n", manifest(t, c))
	assert.Equal(t, "./d "+locC+" 0:1:e\n./in "+loc("abcd")+" 0:4:moved\n", manifest(t, dst))
	want := []Event{
		{Kind: EventAdd, Path: "in"},
		{Kind: EventAdd, Path: "in/moved"},
		{Kind: EventAdd, Path: "d"},
		{Kind: EventWrite, Path: "in/moved", Offset: 2, Length: 2},
		{Kind: EventMod, Path: "in/moved"},
	}
	require.Eventually(t, func() bool { return len(log.get()) >= len(want) }, waitFor, tick)
	assert.Equal(t, want, log.get())

	err = c.RenameTo("a", dst, "nope/a")
	assert.EqualError(t, err, "rename nope/a: file does not exist")
	assert.Equal(t, "aaa", contents(t, c, "a"), "a refused move puts the file back")
	other := newTestEngine(t, newTestStore()).NewCollection()
	assert.EqualError(t, c.RenameTo("a", other, "a"), "rename a: invalid argument: collections of different engines")
	assert.EqualError(t, c.CopyTo("a", other, "a"), "copy a: invalid argument: collections of different engines")
}

func TestCopyToCopiesBetweenCollections(t *testing.T) {
	e, c := nsCollection(t)
	dst := e.NewCollection()
	f := create(t, c, "d/w", write{0, "buffered"})
	require.NoError(t, c.CopyTo("d", dst, "copy/"))
	require.NoError(t, f.Close())
	assert.Equal(t, "./copy/d "+loc("c")+" "+loc("buffered")+" 0:1:e 1:8:w\n", manifest(t, dst))
}

func TestStatAndReadDirDescribeTheTree(t *testing.T) {
	_, c := nsCollection(t)
	f := create(t, c, "d/open", write{0, "12345"})
	defer f.Close()
	info, err := c.Stat("d/open")
	require.NoError(t, err)
	assert.Equal(t, "open 5 -rw-r--r--", describe(info))
	info, err = c.Stat("a")
	require.NoError(t, err)
	assert.Equal(t, "a 3 -rw-r--r--", describe(info))
	info, err = c.Stat(".")
	require.NoError(t, err)
	assert.Equal(t, ". 0 drwxr-xr-x", describe(info))

	list, err := c.ReadDir(".")
	require.NoError(t, err)
	assert.Equal(t, []string{"- a", "- b", "d d/"}, entries(list))
	list, err = c.ReadDir("d")
	require.NoError(t, err)
	assert.Equal(t, []string{"- e", "- open"}, entries(list))
	fi, err := list[1].Info()
	require.NoError(t, err)
	assert.Equal(t, "open 5 -rw-r--r--", describe(fi))
	assert.WithinDuration(t, time.Now(), fi.ModTime(), time.Minute)

	ro, err := c.e.LoadCollection(nsManifest, ReadOnly())
	require.NoError(t, err)
	info, err = ro.Stat("d")
	require.NoError(t, err)
	assert.Equal(t, "d 0 dr-xr-xr-x", describe(info))
	info, err = ro.Stat("d/e")
	require.NoError(t, err)
	assert.Equal(t, "e 1 -r--r--r--", describe(info))
}

func describe(info fs.FileInfo) string {
	return info.Name() + " " + itoa64(info.Size()) + " " + info.Mode().String()
}

func entries(list []fs.DirEntry) []string {
	out := make([]string, len(list))
	for i, d := range list {
		out[i] = fs.FormatDirEntry(d)
	}
	return out
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

func TestNamespaceChangesBesideWritersLoseNothing(t *testing.T) {
	c := newTestEngine(t, newTestStore(), WithBlockSize(64)).NewCollection()
	const writers, writes = 4, 50
	handles := make([]*File, writers)
	for i := range handles {
		handles[i] = create(t, c, "d/f"+strconv.Itoa(i))
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	for i, f := range handles {
		wg.Add(1)
		go func(i int, f *File) {
			defer wg.Done()
			for k := 0; k < writes; k++ {
				if _, err := f.WriteAt([]byte{byte('a' + i)}, int64(k)); err != nil {
					t.Error(err)
					return
				}
			}
		}(i, f)
	}
	go func() {
		defer close(done)
		for k := 0; k < 20; k++ {
			from, to := "d", "e"
			if k%2 == 1 {
				from, to = to, from
			}
			if err := c.Rename(from, to); err != nil {
				t.Error(err)
				return
			}
			if err := c.Copy(to, "copies/"+strconv.Itoa(k)); err != nil {
				t.Error(err)
				return
			}
			if _, err := c.PortableDataHash(bg); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	wg.Wait()
	<-done
	for i, f := range handles {
		require.NoError(t, f.Close())
		assert.Equal(t, strings.Repeat(string(rune('a'+i)), writes), contents(t, c, "d/f"+strconv.Itoa(i)))
	}
	list, err := c.ReadDir("copies")
	require.NoError(t, err)
	assert.Len(t, list, 20)
	for k := 0; k < 20; k++ {
		for i := 0; i < writers; i++ {
			got := contents(t, c, "copies/"+strconv.Itoa(k)+"/f"+strconv.Itoa(i))
			assert.Equal(t, strings.Repeat(string(rune('a'+i)), len(got)), got, "a copy holds a prefix of the writes")
		}
	}
	require.NoError(t, c.Commit(bg))
}
