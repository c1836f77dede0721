package arvfile_test

import (
	"context"
	"fmt"
	"io/fs"
	"log"
	"os"
	"path/filepath"

	"github.com/arvfile/arvfile"
	"github.com/arvfile/arvfile/keep"
)

// The README's example, kept compiling and correct here: store a file in a
// keep directory, save the collection's manifest, and open the collection
// again from it.
func Example_readme() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "arvfile-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// Blocks go to files under dir/keep, named by their md5.
	st, err := keep.NewDirStore(filepath.Join(dir, "keep"))
	if err != nil {
		log.Fatal(err)
	}
	e, err := arvfile.New(arvfile.WithStore(st))
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()

	// Write a collection.
	c := e.NewCollection()
	f, err := c.Create("docs/hello.txt")
	if err != nil {
		log.Fatal(err)
	}
	if _, err := f.Write([]byte("hello, world\n")); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}

	// Save it: ManifestText stores every block first, then describes them.
	text, err := c.ManifestText(ctx, arvfile.ManifestOptions{})
	if err != nil {
		log.Fatal(err)
	}
	manifestPath := filepath.Join(dir, "hello.manifest")
	if err := os.WriteFile(manifestPath, []byte(text), 0o644); err != nil {
		log.Fatal(err)
	}
	pdh, err := c.PortableDataHash(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(text)
	fmt.Println(pdh)

	// Later, maybe in another process: reopen it from the saved manifest.
	saved, err := os.ReadFile(manifestPath)
	if err != nil {
		log.Fatal(err)
	}
	ro, err := e.LoadCollection(string(saved), arvfile.ReadOnly())
	if err != nil {
		log.Fatal(err)
	}
	data, err := fs.ReadFile(ro.FS(), "docs/hello.txt")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s", data)
	// Output:
	// ./docs 22c3683b094136c3398391ae71b20f04+13 0:13:hello.txt
	// 5f6300b3a8dff80e83efba6270bce416+58
	// hello, world
}
