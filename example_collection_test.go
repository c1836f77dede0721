package arvfile_test

import (
	"context"
	"fmt"
	"io/fs"
	"log"

	"github.com/arvfile/arvfile"
	"github.com/arvfile/arvfile/keep"
)

// Load a collection from its manifest, read-only, and walk it like any
// fs.FS.
func ExampleEngine_LoadCollection() {
	st := keep.NewMemoryStore()
	locator, err := st.Put(context.Background(), []byte("hello, world\n"), keep.PutOptions{})
	if err != nil {
		log.Fatal(err)
	}
	e, err := arvfile.New(arvfile.WithStore(st))
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()

	c, err := e.LoadCollection(". "+locator+" 0:6:greeting 0:13:letter.txt\n./docs "+locator+" 7:5:world\n", arvfile.ReadOnly())
	if err != nil {
		log.Fatal(err)
	}
	err = fs.WalkDir(c.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(c.FS(), p)
		fmt.Printf("%s: %q\n", p, b)
		return err
	})
	if err != nil {
		log.Fatal(err)
	}
	_, err = c.Create("new")
	fmt.Println(err)
	// Output:
	// docs/world: "world"
	// greeting: "hello,"
	// letter.txt: "hello, world\n"
	// open new: read-only file system
}

// Reorganize a collection: every change shows in its manifest.
func ExampleCollection_Rename() {
	e, err := arvfile.New(arvfile.WithStore(keep.NewMemoryStore()))
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()
	c, err := e.LoadCollection(". 5d41402abc4b2a76b9719d911017c592+5 0:5:hello.txt\n")
	if err != nil {
		log.Fatal(err)
	}
	check := func(err error) {
		if err != nil {
			log.Fatal(err)
		}
	}
	check(c.MkdirAll("archive/2024", 0o755))
	check(c.Copy("hello.txt", "archive/2024/"))
	check(c.Rename("hello.txt", "hi there.txt"))
	check(c.Mkdir("empty", 0o755))
	text, err := c.ManifestText(context.Background(), arvfile.ManifestOptions{})
	check(err)
	fmt.Print(text)
	fmt.Println(c.Remove("archive"))
	// Output:
	// . 5d41402abc4b2a76b9719d911017c592+5 0:5:hi\040there.txt
	// ./archive/2024 5d41402abc4b2a76b9719d911017c592+5 0:5:hello.txt
	// ./empty d41d8cd98f00b204e9800998ecf8427e+0 0:0:\056
	// remove archive: directory not empty
}

// The portable data hash names a collection's content; computing it stores
// nothing.
func ExampleCollection_PortableDataHash() {
	st := keep.NewMemoryStore()
	e, err := arvfile.New(arvfile.WithStore(st))
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()
	c := e.NewCollection()
	f, err := c.Create("hello.txt")
	if err != nil {
		log.Fatal(err)
	}
	if _, err := f.WriteString("hello"); err != nil {
		log.Fatal(err)
	}
	text, err := c.PortableManifestText(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	pdh, err := c.PortableDataHash(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(text)
	fmt.Println(pdh, st.TotalPuts())
	// Output:
	// . 5d41402abc4b2a76b9719d911017c592+5 0:5:hello.txt
	// 185fc7001351ec6c4d6472b8409c8d13+51 0
}

// Read a file line by line.
func ExampleFile_Lines() {
	e, err := arvfile.New(arvfile.WithStore(keep.NewMemoryStore()))
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()
	c := e.NewCollection()
	f, err := c.Create("poem.txt")
	if err != nil {
		log.Fatal(err)
	}
	if _, err := f.WriteString("roses are red\nviolets are blue\nno newline at the end"); err != nil {
		log.Fatal(err)
	}
	if _, err := f.Seek(0, 0); err != nil {
		log.Fatal(err)
	}
	for line, err := range f.Lines() {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%q\n", line)
	}
	// Output:
	// "roses are red\n"
	// "violets are blue\n"
	// "no newline at the end"
}
