package segments

import (
	"crypto/md5"
	"encoding/hex"
	"slices"
	"strconv"

	"github.com/arvfile/arvfile/keep"
)

// FormatManifest formats a tree as normalized manifest text.
//
// Each directory that has files, and each empty directory other than the
// root, is one stream line. Streams come depth first with the names sorted
// (bytewise) at each level: ".", "./a", "./a/b", "./a c", "./b". This is
// the order of the Arvados Python and Go SDKs; it differs from sorting whole
// stream names only when a name holds a byte below "/" (such as " "), which
// sorts "./a c" after "./a/b" here. Within a line the files are sorted by
// name, each distinct block is listed once, in the order the sorted files
// first use it, and a file's spans that follow each other in the stream are
// merged into one pos:len token. An empty file is `0:0:name`; a line whose
// files are all empty lists the empty block d41d8cd98f00b204e9800998ecf8427e+0;
// an empty directory is `<stream> d41d8cd98f00b204e9800998ecf8427e+0 0:0:\056`;
// an empty collection is "". Names are escaped. With opts.Stripped every
// locator loses its hints (md5+size), and locators that differ only in hints
// are listed once.
//
// FormatManifest trusts the tree to be well formed, as ParseManifest,
// MkdirAll and AddFile keep it: valid names, valid locators, segments inside
// their blocks. On a tree that is not, its text is unspecified, but it does
// not panic. The time is linear in the output plus sorting the names.
func FormatManifest(root *Dir, opts FormatOptions) string {
	if root == nil || len(root.Files) == 0 && len(root.Dirs) == 0 {
		return ""
	}
	f := formatter{
		stripped: opts.Stripped,
		index:    map[string]int{},
		byText:   map[string]int{},
		path:     []byte{'.'},
	}
	f.dir(root, true)
	return string(f.buf)
}

// PortableDataHash returns the portable data hash of manifest text: the
// md5 of text in hex, "+", and its length in bytes. A collection's portable
// data hash is that of its stripped, normalized text,
// FormatManifest(root, FormatOptions{Stripped: true}).
func PortableDataHash(text string) string {
	sum := md5.Sum([]byte(text))
	return hex.EncodeToString(sum[:]) + "+" + strconv.Itoa(len(text))
}

// formatter holds the state of one FormatManifest call.
type formatter struct {
	stripped bool
	buf      []byte // the text so far
	path     []byte // the escaped stream name of the directory being formatted

	// The current line's blocks. index maps each locator used by a
	// segment to its block; byText maps each listed locator text to its
	// block (only with stripped, where locators differing in hints share
	// one); starts[i] is the stream position of block i.
	index  map[string]int
	byText map[string]int
	starts []int64
	names  []string // the current line's sorted file names
}

// dir formats d and its subdirectories depth first.
func (f *formatter) dir(d *Dir, root bool) {
	if len(d.Files) > 0 {
		f.files(d)
	} else if !root && len(d.Dirs) == 0 {
		f.buf = append(f.buf, f.path...)
		f.buf = append(f.buf, " "+keep.EmptyBlockLocator+" 0:0:"+emptyDirPlaceholder+"\n"...)
	}
	if len(d.Dirs) == 0 {
		return
	}
	names := make([]string, 0, len(d.Dirs))
	for name, sub := range d.Dirs {
		if sub != nil {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		n := len(f.path)
		f.path = append(f.path, '/')
		f.path = append(f.path, escapeName(name)...)
		f.dir(d.Dirs[name], false)
		f.path = f.path[:n]
	}
}

// files writes the stream line of d, which has files.
func (f *formatter) files(d *Dir) {
	f.names = f.names[:0]
	for name := range d.Files {
		f.names = append(f.names, name)
	}
	slices.Sort(f.names)
	clear(f.index)
	clear(f.byText)
	f.starts = f.starts[:0]

	f.buf = append(f.buf, f.path...)
	f.listBlocks(d)
	if len(f.starts) == 0 {
		f.buf = append(f.buf, " "+keep.EmptyBlockLocator...)
	}
	for _, name := range f.names {
		f.fileTokens(name, d.Files[name])
	}
	f.buf = append(f.buf, '\n')
}

// listBlocks writes the locators of d's files, each once, in first-use
// order, and records their positions.
func (f *formatter) listBlocks(d *Dir) {
	var end int64
	last := ""
	for _, name := range f.names {
		file := d.Files[name]
		if file == nil {
			continue
		}
		for _, s := range file.Segments {
			if s.RangeSize <= 0 || s.Locator == last {
				continue
			}
			last = s.Locator
			if _, ok := f.index[s.Locator]; ok {
				continue
			}
			text := s.Locator
			if f.stripped {
				text = strippedLocator(text)
				if i, ok := f.byText[text]; ok {
					f.index[s.Locator] = i
					continue
				}
				f.byText[text] = len(f.starts)
			}
			f.index[s.Locator] = len(f.starts)
			f.starts = append(f.starts, end)
			size, _ := blockSize(s.Locator)
			end += size
			f.buf = append(f.buf, ' ')
			f.buf = append(f.buf, text...)
		}
	}
}

// fileTokens writes the pos:len:name tokens of one file, merging spans
// that follow each other in the stream.
func (f *formatter) fileTokens(name string, file *File) {
	escaped := escapeName(name)
	var pos, n int64
	tokens := 0
	lastLocator, lastStart := "", int64(0)
	if file != nil {
		for _, s := range file.Segments {
			if s.RangeSize <= 0 {
				continue
			}
			if s.Locator != lastLocator {
				lastLocator, lastStart = s.Locator, f.starts[f.index[s.Locator]]
			}
			p := lastStart + s.SegmentOffset
			if tokens > 0 && p == pos+n {
				n += s.RangeSize
				continue
			}
			if tokens > 0 {
				f.token(pos, n, escaped)
			}
			pos, n = p, s.RangeSize
			tokens++
		}
	}
	f.token(pos, n, escaped)
}

// token writes one ` pos:len:name` token.
func (f *formatter) token(pos, n int64, escaped string) {
	f.buf = append(f.buf, ' ')
	f.buf = strconv.AppendInt(f.buf, pos, 10)
	f.buf = append(f.buf, ':')
	f.buf = strconv.AppendInt(f.buf, n, 10)
	f.buf = append(f.buf, ':')
	f.buf = append(f.buf, escaped...)
}
