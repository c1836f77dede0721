package arvfile_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"

	"github.com/arvfile/arvfile"
	"github.com/arvfile/arvfile/keep"
)

// The Go spelling of a Python SDK session: open(path, "w+"), writelines,
// tell, seek, readline, readlines, flush, close, the file's own manifest
// text, and copy without and with overwrite.
func Example_pythonEquivalents() {
	e, err := arvfile.New(arvfile.WithStore(keep.NewMemoryStore()))
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()
	c := e.NewCollection()

	f, err := c.OpenMode("notes.txt", "w+") // c.open("notes.txt", "w+")
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range []string{"one\n", "two\n", "three\n"} { // f.writelines([...])
		if _, err := f.WriteString(s); err != nil {
			log.Fatal(err)
		}
	}
	pos, _ := f.Seek(0, io.SeekCurrent) // f.tell()
	fmt.Println("tell:", pos)
	if _, err := f.Seek(0, io.SeekStart); err != nil { // f.seek(0)
		log.Fatal(err)
	}
	line, _ := f.ReadLine(0)  // f.readline()
	rest, _ := f.ReadLines(0) // f.readlines()
	fmt.Printf("readline: %q readlines: %q\n", line, rest)
	if err := f.Sync(); err != nil { // f.flush()
		log.Fatal(err)
	}
	text, _ := f.ManifestText(context.Background(), ".", arvfile.ManifestOptions{}) // arvadosfile.manifest_text()
	fmt.Print("manifest_text: ", text)
	if err := f.Close(); err != nil { // f.close()
		log.Fatal(err)
	}

	fmt.Println("copy:", c.Copy("notes.txt", "backup.txt")) // c.copy("notes.txt", "backup.txt")
	err = c.Copy("notes.txt", "backup.txt")                 // again: EEXIST
	fmt.Println("copy again:", errors.Is(err, fs.ErrExist), err)
	err = c.Copy("notes.txt", "backup.txt", arvfile.Overwrite()) // overwrite=True
	fmt.Println("copy with overwrite:", err)
	// Output:
	// tell: 14
	// readline: "one\n" readlines: ["two\n" "three\n"]
	// manifest_text: . deed54b823522e0525693b090363f9df+14 0:14:notes.txt
	// copy: <nil>
	// copy again: true copy backup.txt: file already exists
	// copy with overwrite: <nil>
}
