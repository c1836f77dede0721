package segments

import (
	"errors"
	"testing"
)

// FuzzManifestRoundTrip parses arbitrary text. Text that parses must format
// to normalized text that parses to the same tree and formats to itself
// (plain and stripped), and each file of its root, formatted alone, must
// parse back to the same file; text that does not parse must give a
// *ManifestError on a line of the text. Nothing may panic.
func FuzzManifestRoundTrip(f *testing.F) {
	for _, seed := range []string{
		"",
		"\n",
		". " + locA + " 0:3:foo\n",
		". " + locA + " 0:3:foo",
		". " + locA + " " + locB + " " + locC + " 2:5:x 0:0:e 1:1:x\n",
		". " + locA + " " + locB + " 0:3:z 3:3:a 0:3:z\n. " + locC + " 0:3:z\n",
		". " + locA + " " + locA + " 0:3:a 3:3:b 2:1:a\n",
		". " + locA + " " + locE + " " + locB + " 2:2:x\n",
		"./d " + locE + " 0:0:\\056\n",
		". " + locE + " 0:0:a/b/\\056\n",
		". " + locE + " 0:0:\\056\n",
		"./a/b " + locA + " 0:3:x\n./a " + locA + " 0:1:y/z\n",
		"./b " + locA + " 0:1:x\n./a\\040c " + locA + " 0:1:x\n./a/b " + locA + " 0:1:x\n",
		". " + locA + " 0:1:a\\040b 0:1:c\\072d 0:1:e\\134f 0:1:g\\011h 0:1:i\\012j\n",
		". " + locA + " 0:3:a:b 0:3:a\\057b\n",
		". " + locAS + " " + locAK + " 0:3:x 3:3:y 0:1:z 4:2:z\n",
		". " + locA + " 0:3:a 0:3:a/b\n",
		". " + locA + " 0:4:a\n",
		". 0:3:a\n",
		". acbd18db4cc2f85cedef654fccc4a4d8 0:3:a\n",
		". " + locA + " 0:3:a\n\n",
		"./a/../b " + locA + " 0:3:a\n",
		". " + locA + " 0:3:\\056\n",
		". " + locA + " 0:3:a\\400\n",
		". 7f614da9329cd3aebf59b91aadc30bf0+67108864 0:67108864:big 67108863:1:big\n",
		". " + locA + " 0:1:a\\09b 0:1:foo\\444 0:1:c\\ 0:1:e\\\\040\n",
		"./a\\9 " + locA + "+Z " + locB + "+K@xyzzy+Aasignature@5f612ee6 0:6:f\n",
		docManifestFourFiles, docManifestSigned, docManifestDocker, docManifestArvGet, docManifestZHint,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		root, err := ParseManifest(text)
		if err != nil {
			var me *ManifestError
			if !errors.As(err, &me) || root != nil {
				t.Fatalf("ParseManifest(%q) = %v, %v; want nil and a *ManifestError", text, root, err)
			}
			if lines := 1 + countLines(text); me.Line < 1 || me.Line > lines {
				t.Fatalf("ParseManifest(%q): error on line %d of %d: %v", text, me.Line, lines, err)
			}
			return
		}
		for _, opts := range []FormatOptions{{}, {Stripped: true}} {
			once := FormatManifest(root, opts)
			again, err := ParseManifest(once)
			if err != nil {
				t.Fatalf("ParseManifest(%q), %+v: formatted %q, which does not parse: %v", text, opts, once, err)
			}
			if twice := FormatManifest(again, opts); twice != once {
				t.Fatalf("ParseManifest(%q), %+v: formatted %q, then %q", text, opts, once, twice)
			}
			if !opts.Stripped && !equalDirs(root, again) {
				t.Fatalf("ParseManifest(%q): the tree changed after formatting as %q", text, once)
			}
		}
		// Each file of the root alone (FormatFileManifest) reads back as the
		// same file.
		for name, f := range root.Files {
			one, err := FormatFileManifest("./s", name, f, FormatOptions{})
			if err != nil {
				t.Fatalf("FormatFileManifest of %q from %q: %v", name, text, err)
			}
			back, err := ParseManifest(one)
			if err != nil {
				t.Fatalf("FormatFileManifest of %q from %q gave %q, which does not parse: %v", name, text, one, err)
			}
			want := &Dir{Dirs: map[string]*Dir{"s": {Files: map[string]*File{name: f}}}}
			if !equalDirs(want, back) {
				t.Fatalf("FormatFileManifest of %q from %q gave %q, which names other bytes", name, text, one)
			}
		}
	})
}

// countLines returns the number of newlines in s.
func countLines(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			n++
		}
	}
	return n
}

// equalDirs reports whether two trees hold the same names and segments.
func equalDirs(a, b *Dir) bool {
	if len(a.Dirs) != len(b.Dirs) || len(a.Files) != len(b.Files) {
		return false
	}
	for name, d := range a.Dirs {
		if e, ok := b.Dirs[name]; !ok || !equalDirs(d, e) {
			return false
		}
	}
	for name, f := range a.Files {
		g, ok := b.Files[name]
		if !ok || len(f.Segments) != len(g.Segments) {
			return false
		}
		for i := range f.Segments {
			if f.Segments[i] != g.Segments[i] {
				return false
			}
		}
	}
	return true
}
