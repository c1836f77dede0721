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
