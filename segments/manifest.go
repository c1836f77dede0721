package segments

import "fmt"

// Dir is one directory of a collection's tree. CONTRACT STUB: the manifest
// codec work owns this file and may add fields and methods, but keeps these.
type Dir struct {
	// Dirs holds the subdirectories by (unescaped) name.
	Dirs map[string]*Dir
	// Files holds the files by (unescaped) name.
	Files map[string]*File
}

// File is one file of a collection: its segments in file order, with
// RangeStart running from 0 and Locator the full locator text (hints kept).
type File struct {
	Segments []Range
}

// FormatOptions chooses the form of formatted manifest text.
type FormatOptions struct {
	// Stripped drops every locator hint (md5+size only).
	Stripped bool
}

// ManifestError reports malformed manifest text.
type ManifestError struct {
	Line   int    // 1-based line number
	Token  string // the offending token ("" for a line-level problem)
	Reason string
}

func (e *ManifestError) Error() string {
	return fmt.Sprintf("manifest line %d: token %q: %s", e.Line, e.Token, e.Reason)
}

// ParseManifest parses manifest text into a tree. CONTRACT STUB.
func ParseManifest(text string) (*Dir, error) { panic("not yet") }

// FormatManifest formats a tree as normalized manifest text. CONTRACT STUB.
func FormatManifest(root *Dir, opts FormatOptions) string { panic("not yet") }
