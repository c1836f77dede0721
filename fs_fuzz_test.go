package arvfile

import (
	"errors"
	"io"
	"io/fs"
	"path"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arvfile/arvfile/keep"
)

// fuzzBlocks are the blocks the store of FuzzManifestFS holds; manifests
// name others too, which reads must report as missing.
var fuzzBlocks = []string{"hello", "world", "0123456789"}

// FuzzManifestFS loads arbitrary manifest text and, when it loads, walks the
// collection through FS() and through its own ReadDir, reads every file
// (bounded), copies, renames and removes through the namespace, and loads
// the manifest of the result again, which must list the same files with the
// same sizes. Nothing may panic, hang or allocate by declared sizes; every
// error must be one the API documents.
func FuzzManifestFS(f *testing.F) {
	l := func(s string) string { return loc(s) }
	for _, seed := range []struct {
		text string
		ops  byte
	}{
		{". " + l("hello") + " 0:5:a.txt\n", 0},
		{". " + l("hello") + " " + l("world") + " 3:4:x 0:10:y\n./sub " + l("0123456789") + " 0:4:c 4:6:d\n", 1},
		{loadedManifest, 2},
		{". " + keep.PaddingBlockLocator + " 0:67108864:z 0:67108864:z 5:3:small\n", 3},
		{"./d\\040x " + keep.EmptyBlockLocator + " 0:0:\\056\n./e " + l("world") + " 0:5:caf\xe9 0:0:\\134\n", 4},
		{"." + strings.Repeat("/a", 50) + " " + keep.EmptyBlockLocator + " 0:0:f\n", 5},
		{". " + strings.Repeat("7", 32) + "+67108864 0:67108864:missing\n", 6},
		{". " + l("hello") + "+A" + strings.Repeat("5", 40) + "@65f0c5d2 0:5:signed\n", 7},
	} {
		f.Add(seed.text, seed.ops)
	}
	st := newTestStore()
	for _, b := range fuzzBlocks {
		if _, err := st.Put(bg, []byte(b), keep.PutOptions{}); err != nil {
			f.Fatal(err)
		}
	}
	// One engine serves fuzzEngineRuns inputs (starting one costs ~10 ms;
	// collections are not released before issue 11's Collection.Close).
	var mu sync.Mutex
	var e *Engine
	runs := 0
	f.Cleanup(func() {
		if e != nil {
			_ = e.Close()
		}
	})
	f.Fuzz(func(t *testing.T, text string, ops byte) {
		mu.Lock()
		defer mu.Unlock()
		if runs++; e == nil || runs%fuzzEngineRuns == 0 {
			if e != nil {
				_ = e.Close()
			}
			var err error
			if e, err = New(WithStore(st), WithTimeout(10*time.Second), WithPrefetch(0), WithCacheBytes(1<<20)); err != nil {
				t.Fatal(err)
			}
		}
		var opts []CollectionOption
		if ops&1 != 0 {
			opts = append(opts, ReadOnly())
		}
		c, err := e.LoadCollection(text, opts...)
		if err != nil {
			var me *ManifestError
			if !errors.As(err, &me) {
				t.Fatalf("LoadCollection: %v is not a *ManifestError", err)
			}
			return
		}
		files := fuzzWalk(t, c)
		fuzzWalkFS(t, c, files)
		for name, size := range files {
			fuzzRead(t, c, name, size)
		}
		if ops&1 != 0 {
			return
		}
		fuzzChange(t, c, files, ops)
		changed := fuzzWalk(t, c)
		text, err = c.ManifestText(bg, ManifestOptions{Normalized: ops&2 != 0})
		if err != nil {
			t.Fatalf("ManifestText: %v", err)
		}
		again, err := e.LoadCollection(text)
		if err != nil {
			t.Fatalf("the manifest of the changed collection does not load: %v\n%q", err, text)
		}
		reloaded := fuzzWalk(t, again)
		if len(reloaded) != len(changed) {
			t.Fatalf("reloaded %d files and directories, want %d\n%q", len(reloaded), len(changed), text)
		}
		for name, size := range changed {
			if got, ok := reloaded[name]; !ok || got != size {
				t.Fatalf("%q: reloaded size %d (present %v), want %d\n%q", name, got, ok, size, text)
			}
		}
	})
}

// fuzzEngineRuns is how many inputs FuzzManifestFS runs on one engine.
const fuzzEngineRuns = 500

// fuzzLimit bounds the entries a fuzz walk visits.
const fuzzLimit = 2000

// fuzzWalk lists every file (its size) and empty directory (-1) of c through
// Collection.ReadDir, which reaches every name.
func fuzzWalk(t *testing.T, c *Collection) map[string]int64 {
	out := map[string]int64{}
	var walk func(dir string)
	walk = func(dir string) {
		list, err := c.ReadDir(dir)
		if err != nil {
			t.Fatalf("ReadDir(%q): %v", dir, err)
		}
		if len(list) == 0 && dir != "." {
			out[dir+"/"] = -1
		}
		for _, d := range list {
			if len(out) >= fuzzLimit {
				return
			}
			name := pathJoin(dir, d.Name())
			info, err := c.Stat(name)
			if err != nil {
				t.Fatalf("Stat(%q) of a listed entry: %v", name, err)
			}
			if info.IsDir() != d.IsDir() || info.Name() != d.Name() {
				t.Fatalf("Stat(%q) = %v, ReadDir listed %v", name, info, d)
			}
			if d.IsDir() {
				walk(name)
				continue
			}
			out[name] = info.Size()
		}
	}
	walk(".")
	return out
}

func pathJoin(dir, name string) string {
	if dir == "." {
		return name
	}
	return dir + "/" + name
}

// fuzzWalkFS walks c through FS(), which must visit exactly the files of
// files whose paths io/fs accepts.
func fuzzWalkFS(t *testing.T, c *Collection, files map[string]int64) {
	seen := 0
	err := fs.WalkDir(c.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if seen++; seen > fuzzLimit {
			return fs.SkipAll
		}
		if d.IsDir() {
			return nil
		}
		size, ok := files[p]
		if !ok && len(files) < fuzzLimit {
			t.Fatalf("fs.WalkDir visits %q, which the collection does not list", p)
		}
		if info, err := d.Info(); err != nil || ok && info.Size() != size {
			t.Fatalf("fs.WalkDir: %q has info %v, %v; want size %d", p, info, err, size)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("fs.WalkDir: %v", err)
	}
	if len(files) < fuzzLimit && seen < fuzzLimit {
		for name := range files {
			if fs.ValidPath(strings.TrimSuffix(name, "/")) && !strings.HasSuffix(name, "/") {
				if _, err := fs.Stat(c.FS(), name); err != nil {
					t.Fatalf("fs.Stat(%q): %v", name, err)
				}
			}
		}
	}
}

// fuzzRead reads the file name of the given size: whole when small, its two
// ends otherwise; only missing blocks may fail it.
func fuzzRead(t *testing.T, c *Collection, name string, size int64) {
	if size < 0 {
		return
	}
	check := func(what string, err error) {
		if err != nil && !errors.Is(err, keep.ErrNotFound) {
			t.Fatalf("%s %q: %v", what, name, err)
		}
	}
	if size <= 1<<16 && fs.ValidPath(name) {
		data, err := fs.ReadFile(c.FS(), name)
		check("fs.ReadFile", err)
		if err == nil && int64(len(data)) != size {
			t.Fatalf("fs.ReadFile(%q) read %d bytes of %d", name, len(data), size)
		}
	}
	f, err := c.Open(name)
	if err != nil {
		t.Fatalf("Open(%q): %v", name, err)
	}
	defer f.Close()
	buf := make([]byte, 100)
	for _, off := range []int64{0, max(0, size-int64(len(buf))), size, size + 1} {
		n, err := f.ReadAt(buf, off)
		if err == io.EOF {
			err = nil
		}
		check("ReadAt", err)
		if err == nil && int64(n) != min(int64(len(buf)), max(0, size-off)) {
			t.Fatalf("ReadAt(%q, %d) read %d bytes of a %d-byte file", name, off, n, size)
		}
	}
}

// fuzzChange copies, renames and removes entries of a writable collection,
// chosen by ops; errors must be *fs.PathError values.
func fuzzChange(t *testing.T, c *Collection, files map[string]int64, ops byte) {
	var names []string
	for name := range files {
		names = append(names, strings.TrimSuffix(name, "/"))
	}
	if len(names) == 0 {
		return
	}
	pick := func(k int) string { return names[(int(ops)+k)%len(names)] }
	top := func(name string) string { d, _, _ := strings.Cut(name, "/"); return d }
	pathErr := func(what string, err error) {
		var pe *fs.PathError
		if err != nil && !errors.As(err, &pe) {
			t.Fatalf("%s: %v is not a *fs.PathError", what, err)
		}
	}
	pathErr("Copy", c.Copy(pick(0), "zz copy/"))
	pathErr("Copy", c.Copy(top(pick(1)), "zz copy/"+path.Base(pick(1))))
	pathErr("Rename", c.Rename(pick(2), "zz renamed\xe9"))
	pathErr("Rename", c.Rename(top(pick(3)), "zz dir/"))
	pathErr("Remove", c.Remove(pick(4)))
	pathErr("RemoveAll", c.RemoveAll(top(pick(5))))
	pathErr("MkdirAll", c.MkdirAll(pick(6)+"/sub", 0))
}
