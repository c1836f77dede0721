package actors

import (
	"io/fs"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// validPathModel is validPath written the plain way: split on "/" and check
// each component.
func validPathModel(name string) bool {
	for _, elem := range strings.Split(name, "/") {
		if elem == "" || elem == "." || elem == ".." || strings.IndexByte(elem, 0) >= 0 {
			return false
		}
	}
	return true
}

func TestValidPath(t *testing.T) {
	tests := map[string]bool{
		"a": true, "a/b": true, "caf\xe9/\xff": true, "a b/c:d": true, `a\b`: true, "...": true, ".a/a.": true,
		"": false, ".": false, "..": false, "/a": false, "a/": false, "a//b": false, "./a": false, "../a": false,
		"a/.": false, "a/..": false, "a/./b": false, "a/../b": false, "a\x00b": false, "a/\x00": false,
	}
	for name, want := range tests {
		if got := validPath(name); got != want {
			t.Errorf("validPath(%q) = %v, want %v", name, got, want)
		}
		if got := validPathModel(name); got != want {
			t.Errorf("validPathModel(%q) = %v, want %v", name, got, want)
		}
	}
}

func FuzzValidPath(f *testing.F) {
	for _, s := range []string{"a", "a/b", "./a", "a/./b", "a/../b", "..", "a//b", "\xff", "a\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if got, want := validPath(name), validPathModel(name); got != want {
			t.Fatalf("validPath(%q) = %v, model says %v", name, got, want)
		}
	})
}

// The directory the last walk reached is kept across changes of a file's
// bytes (which bump the change counter from the file actors) and forgotten
// at every change of names.
func TestTheLastWalkSurvivesChangesOfBytesNotOfNames(t *testing.T) {
	c := &collectionActor{coll: &CollectionRuntime{}, root: newDirNode()}
	b, err := c.walk("a/b", true)
	if err != nil {
		t.Fatal(err)
	}
	c.coll.Changes.Add(1) // what a file actor does after a write
	// Swap "a" behind the walker's back: a walk from the root would miss b.
	c.root.dirs["a"] = newDirNode()
	for _, p := range []string{"a/b", "a/b/c"} {
		if _, err := c.walk(p, true); err != nil {
			t.Fatal(err)
		}
	}
	if b.dirs["c"] == nil {
		t.Errorf("the walk of a/b/c went from the root, not from where the last walk ended")
	}
	c.touched(c.root)
	c.root.dirs["a"] = newDirNode()
	if _, err := c.walk("a/b", false); err == nil {
		t.Errorf("after a change of names, a walk still used the forgotten directory")
	}
}

func TestDescendCreatesMissingDirectoriesAndNamesThem(t *testing.T) {
	tests := []struct {
		path    string
		create  bool
		created []string
		err     error
	}{
		{"", true, nil, nil},
		{"a", false, nil, nil},
		{"a/b/c", true, []string{"a/b", "a/b/c"}, nil},
		{"a/x", false, nil, fs.ErrNotExist},
		{"a/f/y", true, nil, syscall.ENOTDIR},
		{"a/z/f", true, []string{"a/z", "a/z/f"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			root := newDirNode()
			a := newDirNode()
			root.dirs["a"] = a
			a.files["f"] = &fileNode{}
			var created []string
			d, err := root.descend(tt.path, tt.create, func(parent *dirNode, rel string) {
				created = append(created, rel)
			})
			assert.Equal(t, tt.created, created)
			if tt.err != nil {
				assert.ErrorIs(t, err, tt.err)
				assert.Nil(t, d)
				return
			}
			require.NoError(t, err)
			if tt.path == "" {
				assert.Same(t, root, d)
			}
		})
	}
}
