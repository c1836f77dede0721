package segments

import (
	"crypto/md5"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"

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
// MkdirAll and AddFile keep it: a tree (no directory reachable twice), valid
// names, valid locators, segments inside their blocks. On a tree that is not, its text is unspecified, but it does
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
		buf:      make([]byte, 0, estimateSize(root)),
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

// estimateSize returns a likely size of the text of the tree below d, from
// its numbers of files and directories: enough for short names in a few
// blocks, so most trees' text is written without growing the buffer.
func estimateSize(d *Dir) int {
	n := 64 + 40*len(d.Files)
	for _, sub := range d.Dirs {
		if sub != nil {
			n += estimateSize(sub)
		}
	}
	return n
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

	entries     []fileEntry // the current line's files, sorted by name
	sorted      []fileEntry // scratch for sortEntries
	keys        []sortKey   // scratch for sortEntries
	lastLocator string      // the locator of the last segment written
	lastStart   int64       // the stream position of its block
}

// sortKey is 8 bytes of a name, big-endian, and the name's index.
type sortKey struct {
	key uint64
	i   int32
}

// fileEntry is one file of the line being formatted.
type fileEntry struct {
	name string
	file *File
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
		f.path = append(f.path, EscapeName(name)...)
		f.dir(d.Dirs[name], false)
		f.path = f.path[:n]
	}
}

// files writes the stream line of d, which has files.
func (f *formatter) files(d *Dir) {
	f.entries = f.entries[:0]
	need := len(f.path) + 1 + len(keep.EmptyBlockLocator)
	for name, file := range d.Files {
		f.entries = append(f.entries, fileEntry{name, file})
		need += len(name) + 16
		if file != nil {
			need += 16 * len(file.Segments)
		}
	}
	f.sortEntries()
	clear(f.index)
	clear(f.byText)
	f.starts = f.starts[:0]
	if cap(f.buf)-len(f.buf) < need {
		f.buf = append(make([]byte, 0, 2*cap(f.buf)+need), f.buf...)
	}

	f.buf = append(f.buf, f.path...)
	f.listBlocks()
	if len(f.starts) == 0 {
		f.buf = append(f.buf, " "+keep.EmptyBlockLocator...)
	}
	f.lastLocator = ""
	for _, e := range f.entries {
		f.fileTokens(e.name, e.file)
	}
	f.buf = append(f.buf, '\n')
}

// sortEntries sorts f.entries by name. Names in a directory often share
// a long prefix ("sample_0001.fastq"), so it sorts keys made of the 8
// bytes that follow the common prefix, comparing whole names only on ties,
// and then applies the order.
func (f *formatter) sortEntries() {
	e := f.entries
	common := len(e[0].name)
	for _, x := range e[1:] {
		common = commonPrefix(e[0].name[:common], x.name)
	}
	f.keys = f.keys[:0]
	for i, x := range e {
		var k uint64
		for j := common; j < common+8; j++ {
			k <<= 8
			if j < len(x.name) {
				k |= uint64(x.name[j])
			}
		}
		f.keys = append(f.keys, sortKey{k, int32(i)})
	}
	slices.SortFunc(f.keys, func(a, b sortKey) int {
		if a.key != b.key {
			if a.key < b.key {
				return -1
			}
			return 1
		}
		return strings.Compare(e[a.i].name, e[b.i].name)
	})
	f.sorted = f.sorted[:0]
	for _, k := range f.keys {
		f.sorted = append(f.sorted, e[k.i])
	}
	f.entries, f.sorted = f.sorted, f.entries
}

// commonPrefix returns the length of the common prefix of a and b.
func commonPrefix(a, b string) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// listBlocks writes the locators of the current line's files, each once,
// in first-use order, and records their positions.
func (f *formatter) listBlocks() {
	var end int64
	last := ""
	for _, e := range f.entries {
		if e.file == nil {
			continue
		}
		for _, s := range e.file.Segments {
			if s.RangeSize <= 0 || s.Locator == last {
				continue
			}
			last = s.Locator
			if _, ok := f.index[s.Locator]; ok {
				continue
			}
			// A locator that does not parse breaks FormatManifest's
			// precondition; it is written as it is, holding no bytes.
			text, size := s.Locator, int64(0)
			if l, err := keep.ParseLocator(s.Locator); err == nil {
				size = l.Size()
				if f.stripped {
					text = l.Stripped()
				}
			}
			if f.stripped {
				if i, ok := f.byText[text]; ok {
					f.index[s.Locator] = i
					continue
				}
				f.byText[text] = len(f.starts)
			}
			f.index[s.Locator] = len(f.starts)
			f.starts = append(f.starts, end)
			end += size
			f.buf = append(f.buf, ' ')
			f.buf = append(f.buf, text...)
		}
	}
}

// fileTokens writes the pos:len:name tokens of one file, merging spans
// that follow each other in the stream.
func (f *formatter) fileTokens(name string, file *File) {
	escaped := EscapeName(name)
	var pos, n int64
	tokens := 0
	if file != nil {
		for _, s := range file.Segments {
			if s.RangeSize <= 0 {
				continue
			}
			if s.Locator != f.lastLocator {
				f.lastLocator, f.lastStart = s.Locator, f.starts[f.index[s.Locator]]
			}
			p := f.lastStart + s.SegmentOffset
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
