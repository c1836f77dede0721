package segments

import (
	"fmt"
	"io/fs"
	"strings"
)

// FormatFileManifest formats one file alone as a manifest line, the
// normalized stream of the Python SDK's ArvadosFile.manifest_text: the
// stream name stream (unescaped; "." or "./a/b"), the blocks the file's
// segments use, each once in the order of first use, and its pos:len:name
// tokens with the spans that follow each other in the stream merged. An
// empty file is `<stream> d41d8cd98f00b204e9800998ecf8427e+0 0:0:<name>`.
// With opts.Stripped every locator loses its hints. Names are escaped.
//
// stream must be "." or "./" followed by path components, and name a single
// path component (neither may hold an empty, "." or ".." component; name no
// "/"): otherwise the error wraps fs.ErrInvalid and names the bad part. As
// FormatManifest does, it trusts f's segments to be well formed.
func FormatFileManifest(stream, name string, f *File, opts FormatOptions) (string, error) {
	if err := checkStreamName(stream); err != nil {
		return "", fmt.Errorf("%w: stream name %q: %v", fs.ErrInvalid, stream, err)
	}
	if err := checkComponent(name); err != nil || strings.IndexByte(name, '/') >= 0 {
		if err == nil {
			err = fmt.Errorf("%q is not one path component", name)
		}
		return "", fmt.Errorf("%w: file name %q: %v", fs.ErrInvalid, name, err)
	}
	escaped := EscapeName(stream) // "/" is never escaped, so this escapes each component
	fm := formatter{
		stripped: opts.Stripped,
		index:    map[string]int{},
		byText:   map[string]int{},
		path:     []byte(escaped),
		buf:      make([]byte, 0, len(escaped)+64),
	}
	fm.files(&Dir{Files: map[string]*File{name: f}})
	return string(fm.buf), nil
}

// checkStreamName refuses a stream name that is not "." or "./" followed by
// valid path components.
func checkStreamName(stream string) error {
	if stream == "." {
		return nil
	}
	rest, ok := strings.CutPrefix(stream, "./")
	if !ok {
		return fmt.Errorf(`want "." or a name starting with "./"`)
	}
	for _, part := range strings.Split(rest, "/") {
		if err := checkComponent(part); err != nil {
			return err
		}
	}
	return nil
}
