package arvfile_test

import (
	"context"
	"fmt"
	"io"
	"log"

	"github.com/arvfile/arvfile"
	"github.com/arvfile/arvfile/keep"
)

// Create a file, write it, read it back and save the collection as
// manifest text.
func Example() {
	e, err := arvfile.New(arvfile.WithStore(keep.NewMemoryStore()))
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()

	c := e.NewCollection()
	f, err := c.Create("docs/hello.txt")
	if err != nil {
		log.Fatal(err)
	}
	if _, err := io.WriteString(f, "hello, world\n"); err != nil {
		log.Fatal(err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		log.Fatal(err)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%q\n", b)
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}

	text, err := c.ManifestText(context.Background(), arvfile.ManifestOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(text)
	// Output:
	// "hello, world\n"
	// ./docs 22c3683b094136c3398391ae71b20f04+13 0:13:hello.txt
}

// Writing past the end of a file pads it with zeros, which the manifest
// names as spans of the shared 64 MiB zero block.
func ExampleFile_WriteAt() {
	e, err := arvfile.New(arvfile.WithStore(keep.NewMemoryStore()))
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()
	c := e.NewCollection()
	f, err := c.Create("sparse")
	if err != nil {
		log.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("end"), 5); err != nil {
		log.Fatal(err)
	}
	b := make([]byte, 8)
	n, _ := f.ReadAt(b, 0)
	fmt.Printf("%q\n", b[:n])
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
	text, err := c.ManifestText(context.Background(), arvfile.ManifestOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(text)
	// Output:
	// "\x00\x00\x00\x00\x00end"
	// . 7f614da9329cd3aebf59b91aadc30bf0+67108864 7f021a1415b86f2d013b2618fb31ae53+3 0:5:sparse 67108864:3:sparse
}

// Small files closed before a commit share one block.
func ExampleCollection_Commit() {
	st := keep.NewMemoryStore()
	e, err := arvfile.New(arvfile.WithStore(st))
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()
	c := e.NewCollection()
	for _, name := range []string{"a.txt", "b.txt", "c.txt"} {
		f, err := c.Create(name)
		if err != nil {
			log.Fatal(err)
		}
		if _, err := f.WriteString(name + "\n"); err != nil {
			log.Fatal(err)
		}
		if err := f.Close(); err != nil {
			log.Fatal(err)
		}
	}
	if err := c.Commit(context.Background()); err != nil {
		log.Fatal(err)
	}
	fmt.Println(st.TotalPuts(), "block stored")
	text, err := c.ManifestText(context.Background(), arvfile.ManifestOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(text)
	// Output:
	// 1 block stored
	// . fef09bd52cdfff45106091a76b25820d+18 0:6:a.txt 6:6:b.txt 12:6:c.txt
}

// A collection's files can be opened with Python's modes; "a" appends.
func ExampleCollection_OpenMode() {
	e, err := arvfile.New(arvfile.WithStore(keep.NewMemoryStore()))
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()
	c := e.NewCollection()
	for _, line := range []string{"one\n", "two\n"} {
		f, err := c.OpenMode("log", "a")
		if err != nil {
			log.Fatal(err)
		}
		if _, err := f.WriteString(line); err != nil {
			log.Fatal(err)
		}
		if err := f.Close(); err != nil {
			log.Fatal(err)
		}
	}
	f, err := c.OpenMode("log", "r")
	if err != nil {
		log.Fatal(err)
	}
	b, _ := io.ReadAll(f)
	fmt.Printf("%q\n", b)
	// Output:
	// "one\ntwo\n"
}
