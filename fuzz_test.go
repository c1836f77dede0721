package arvfile

import (
	"io"
	"os"
	"regexp"
	"testing"
)

// validMode is the Python SDK's test of a mode (Collection.open).
var validMode = regexp.MustCompile(`^[rwa][bt]?\+?$`)

func FuzzOpenMode(f *testing.F) {
	for _, m := range []string{"r", "r+", "rb", "rb+", "r+b", "w", "wt", "a+", "", "x", "r++", "rbt", "+r"} {
		f.Add(m)
	}
	f.Fuzz(func(t *testing.T, mode string) {
		flag, ok := parseMode(mode)
		if ok != validMode.MatchString(mode) {
			t.Fatalf("parseMode(%q) ok=%v", mode, ok)
		}
		if !ok {
			return
		}
		write := flag&(os.O_WRONLY|os.O_RDWR) != 0
		if write != (mode[0] != 'r' || mode[len(mode)-1] == '+') {
			t.Fatalf("parseMode(%q) = %#x: writable %v", mode, flag, write)
		}
	})
}

// FuzzFileOps runs a sequence of writes, truncates, syncs and reads on one
// file with 8-byte blocks against a byte slice, then commits, and reads the
// file back through its manifest (loaded into a new collection).
func FuzzFileOps(f *testing.F) {
	f.Add([]byte{0, 0, 10, 0, 5, 10, 3, 0, 0})
	f.Add([]byte{0, 30, 4, 1, 10, 0, 0, 2, 9, 2, 0, 0, 0, 0, 17})
	f.Add([]byte{0, 0, 16, 2, 0, 0, 0, 4, 3, 0, 12, 3, 1, 40, 0, 3, 0, 0})
	f.Add([]byte{0, 200, 3, 0, 100, 19, 1, 150, 0, 0, 0, 19, 2, 0, 0, 0, 20, 19})
	st := newTestStore()
	e, err := New(WithStore(st), WithBlockSize(8))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = e.Close() })
	f.Fuzz(func(t *testing.T, ops []byte) {
		c := e.NewCollection()
		fh, err := c.Create("f")
		if err != nil {
			t.Fatal(err)
		}
		var model []byte
		for k := 0; len(ops) >= 3 && k < 40; k++ {
			op, a, b := ops[0]%4, int64(ops[1]), int(ops[2]%20)
			ops = ops[3:]
			switch op {
			case 0:
				data := make([]byte, b)
				for i := range data {
					data[i] = byte('a' + (k+i)%26)
				}
				if _, err := fh.WriteAt(data, a); err != nil {
					t.Fatal(err)
				}
				if b == 0 {
					break // an empty write does not extend the file
				}
				if end := a + int64(b); end > int64(len(model)) {
					model = append(model, make([]byte, end-int64(len(model)))...)
				}
				copy(model[a:], data)
			case 1:
				if err := fh.Truncate(a); err != nil {
					t.Fatal(err)
				}
				if a < int64(len(model)) {
					model = model[:a]
				} else {
					model = append(model, make([]byte, a-int64(len(model)))...)
				}
			case 2:
				if err := fh.Sync(); err != nil {
					t.Fatal(err)
				}
			case 3:
				checkContents(t, fh, model)
			}
		}
		checkContents(t, fh, model)
		if err := fh.Close(); err != nil {
			t.Fatal(err)
		}
		text, err := c.ManifestText(bg, ManifestOptions{})
		if err != nil {
			t.Fatal(err)
		}
		loaded, err := e.LoadCollection(text)
		if err != nil {
			t.Fatalf("%v\n%s", err, text)
		}
		g, err := loaded.Open("f")
		if err != nil {
			t.Fatalf("%v\n%s", err, text)
		}
		checkContents(t, g, model)
	})
}

func checkContents(t *testing.T, f *File, want []byte) {
	t.Helper()
	got := make([]byte, len(want)+5)
	n, err := f.ReadAt(got, 0)
	if err != io.EOF {
		t.Fatalf("ReadAt: %v", err)
	}
	if string(got[:n]) != string(want) {
		t.Fatalf("contents %q, want %q", got[:n], want)
	}
	size, err := f.Size()
	if err != nil || size != int64(len(want)) {
		t.Fatalf("size %d (%v), want %d", size, err, len(want))
	}
}
