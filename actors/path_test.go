package actors

import (
	"strings"
	"testing"
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
