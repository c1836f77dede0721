package arvfile_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"strings"

	"github.com/arvfile/arvfile"
	"github.com/arvfile/arvfile/keep"
)

// io.Copy into and out of a File goes through the File's ReadFrom and
// WriteTo: 1 MiB at a time, whatever buffer io.Copy would have used.
func ExampleFile_ReadFrom() {
	e, err := arvfile.New(arvfile.WithStore(keep.NewMemoryStore()))
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()
	c := e.NewCollection()

	f, err := c.Create("notes.txt")
	if err != nil {
		log.Fatal(err)
	}
	// A reader with only a Read method, as a network stream is.
	src := struct{ io.Reader }{strings.NewReader("copied in one request\n")}
	n, err := io.Copy(f, src)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(n, "bytes in")
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}

	g, err := c.Open("notes.txt")
	if err != nil {
		log.Fatal(err)
	}
	defer g.Close()
	if _, err := io.Copy(os.Stdout, g); err != nil {
		log.Fatal(err)
	}
	text, err := c.ManifestText(context.Background(), arvfile.ManifestOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(text)
	// Output:
	// 22 bytes in
	// copied in one request
	// . cbba0df29957cb1d39a0e176be7dccf9+22 0:22:notes.txt
}
