package segments

import "fmt"

// A manifest is the text form of a collection: one line per stream
// (directory),
//
//	<stream name> <locator>… <pos>:<len>:<file name>…
//
// where the file tokens name spans of the concatenation of the stream's
// blocks. ParseManifest turns such text into a tree of Dirs and Files whose
// segments point straight at the blocks; FormatManifest turns a tree back into
// normalized text. Parsing then formatting is a fixed point: formatting a
// parsed normalized manifest gives the same text back.

// emptyDirPlaceholder is the escaped file name "." that marks an empty
// directory: a stream line whose only file token is `0:0:\056`.
const emptyDirPlaceholder = `\056`

// Dir is one directory of a collection's tree. The two maps share one
// namespace: a name is never both a file and a subdirectory. Names are
// unescaped single path components (never "", "." or "..", never containing
// "/"). Build trees with NewDir, MkdirAll and AddFile, or ParseManifest.
type Dir struct {
	// Dirs holds the subdirectories by (unescaped) name.
	Dirs map[string]*Dir
	// Files holds the files by (unescaped) name.
	Files map[string]*File
}

// File is one file of a collection: its segments in file order, with
// RangeStart running from 0 and Locator the full locator text (hints kept).
// Segments are contiguous, none is empty, and each lies inside its block.
// An empty file has no segments.
type File struct {
	Segments []Range
}

// Size returns the file's length in bytes: the end of its last segment.
func (f *File) Size() int64 {
	if f == nil || len(f.Segments) == 0 {
		return 0
	}
	last := f.Segments[len(f.Segments)-1]
	return last.RangeStart + last.RangeSize
}

// FormatOptions chooses the form of formatted manifest text.
type FormatOptions struct {
	// Stripped drops every locator hint (md5+size only).
	Stripped bool
}

// ManifestError reports malformed manifest text: the line, the offending
// token and why it is wrong. When the cause is a malformed locator, Err is
// the error from keep.ParseLocator, so errors.Is finds
// keep.ErrInvalidLocator through the ManifestError.
type ManifestError struct {
	Line   int    // 1-based line number
	Token  string // the offending token ("" for a line-level problem)
	Reason string
	Err    error // the underlying error, or nil
}

// Error formats the error as `manifest line N: token "T": reason`.
func (e *ManifestError) Error() string {
	if e.Token == "" {
		return fmt.Sprintf("manifest line %d: %s", e.Line, e.Reason)
	}
	return fmt.Sprintf("manifest line %d: token %q: %s", e.Line, e.Token, e.Reason)
}

// Unwrap returns the underlying error, if any.
func (e *ManifestError) Unwrap() error { return e.Err }
