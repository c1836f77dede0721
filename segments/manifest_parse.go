package segments

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/arvfile/arvfile/keep"
)

// ParseManifest parses manifest text into a tree.
//
// Each line is `<stream> <locator>… <pos>:<len>:<name>…`, tokens separated by
// single spaces. The stream name is "." or starts with "./"; it and the file
// names are escaped (\ooo octal) and unescaped here as the Python SDK reads
// them (see UnescapeName: a backslash that starts no escape is a literal
// backslash). Each locator is checked by keep.ParseLocator, which accepts
// every hint of the Arvados format. A file token names the
// bytes [pos, pos+len) of the concatenation of the line's blocks, which
// become one segment per block touched, each with the full locator text; a
// segment that continues the file's previous one in the same block is
// merged into it. A file name may contain "/" (the file lives in
// subdirectories of the stream); a last component "." (`\056`, with length
// 0) only creates the directory. A file named in several tokens, lines or
// streams gets their bytes concatenated in order of appearance; `0:0:name`
// alone makes an empty file. A missing final newline is tolerated and ""
// gives an empty root.
//
// Malformed text gives a *ManifestError naming the line and token (no
// tree). The time and allocations are linear in the text; the tree's names
// and locators are substrings of text, so the tree keeps text alive.
func ParseManifest(text string) (*Dir, error) {
	p := parser{root: NewDir()}
	for len(text) > 0 {
		p.line++
		line := text
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			line, text = text[:i], text[i+1:]
		} else {
			text = ""
		}
		if err := p.parseLine(line); err != nil {
			return nil, err
		}
	}
	return p.root, nil
}

// streamBlock is one non-empty block of the current line, at bytes
// [start, start+size) of the stream.
type streamBlock struct {
	locator     string
	start, size int64
}

// parser holds the state of one ParseManifest call.
type parser struct {
	root *Dir
	line int // number of the current line, from 1

	// The current line's stream.
	stream   *Dir
	locators int           // how many locator tokens it has so far
	blocks   []streamBlock // its non-empty blocks, reused from line to line
	end      int64         // its size: the end of the last block
	cursor   int           // index in blocks of the last span's last block

	// The directory that the last file name with a "/" resolved to.
	prefixBase *Dir   // the stream it was resolved from
	prefix     string // the unescaped name up to its last "/"
	prefixDir  *Dir

	// Slabs that new files and their first segments are cut from, so a
	// 100,000-file manifest does not make 200,000 small allocations.
	files []File
	segs  []Range
}

// fail returns a *ManifestError for the current line.
func (p *parser) fail(token, reason string, err error) error {
	return &ManifestError{Line: p.line, Token: token, Reason: reason, Err: err}
}

// parseLine parses one line into the tree.
func (p *parser) parseLine(line string) error {
	if line == "" {
		return p.fail("", "empty line", nil)
	}
	rest := line
	nfiles := 0
	for first := true; ; first = false {
		tok, next, more := strings.Cut(rest, " ")
		var err error
		switch {
		case tok == "":
			err = p.fail("", "empty token (two spaces, or a space at the start or end of the line)", nil)
		case first:
			err = p.startStream(tok, strings.Count(rest, " "))
		case nfiles == 0 && strings.IndexByte(tok, ':') < 0:
			err = p.addBlock(tok)
		default:
			nfiles++
			err = p.fileToken(tok)
		}
		if err != nil {
			return err
		}
		if !more {
			break
		}
		rest = next
	}
	switch {
	case nfiles > 0:
		return nil
	case p.locators == 0:
		return p.fail("", "line has no locator", nil)
	default:
		return p.fail("", "line has no file token", nil)
	}
}

// startStream makes tok the current stream. tokens is at most the number
// of tokens after it, a hint for the size of a new directory's file map.
func (p *parser) startStream(tok string, tokens int) error {
	p.locators, p.blocks, p.end, p.cursor = 0, p.blocks[:0], 0, 0
	name, err := p.unescape(tok, tok)
	if err != nil {
		return err
	}
	dir := p.root
	switch {
	case name == ".":
	case strings.HasPrefix(name, "./"):
		if dir, err = p.root.walk(name[2:]); err != nil {
			return p.fail(tok, err.Error(), nil)
		}
	default:
		return p.fail(tok, `stream name must be "." or start with "./"`, nil)
	}
	if len(dir.Files) == 0 && tokens > 8 {
		dir.Files = make(map[string]*File, tokens)
	}
	p.stream = dir
	return nil
}

// addBlock appends the block named by tok to the current stream.
func (p *parser) addBlock(tok string) error {
	l, err := keep.ParseLocator(tok)
	if err != nil {
		return p.fail(tok, err.Error(), err)
	}
	p.locators++
	if size := l.Size(); size > 0 {
		p.blocks = append(p.blocks, streamBlock{locator: tok, start: p.end, size: size})
		p.end += size
	}
	return nil
}

// fileToken parses `pos:len:name` and adds the span to the named file.
func (p *parser) fileToken(tok string) error {
	posText, rest, _ := strings.Cut(tok, ":")
	lenText, name, ok := strings.Cut(rest, ":")
	if !ok {
		if _, err := keep.ParseLocator(tok); err == nil {
			return p.fail(tok, "locator after a file token", nil)
		}
		return p.fail(tok, "file token is not pos:len:name", nil)
	}
	if p.locators == 0 {
		return p.fail(tok, "file token before any locator", nil)
	}
	pos, ok := parseDecimal(posText)
	if !ok {
		return p.fail(tok, "bad position: want a decimal number below 2^63", nil)
	}
	n, ok := parseDecimal(lenText)
	if !ok {
		return p.fail(tok, "bad length: want a decimal number below 2^63", nil)
	}
	if pos > p.end || n > p.end-pos {
		return p.fail(tok, "span ends past the end of the stream's blocks ("+strconv.FormatInt(p.end, 10)+" bytes)", nil)
	}
	f, err := p.file(tok, name, n)
	if err != nil || f == nil {
		return err
	}
	return p.addSpan(tok, f, pos, n)
}

// file returns the file that the escaped name in tok refers to, creating
// it and its directories when missing. For the empty-directory placeholder
// (a last component ".") it creates the directory and returns nil; n, the
// span's length, must then be 0.
func (p *parser) file(tok, escaped string, n int64) (*File, error) {
	name, err := p.unescape(tok, escaped)
	if err != nil {
		return nil, err
	}
	dir, base := p.stream, name
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		base = name[i+1:]
		if dir, err = p.prefixed(name[:i]); err != nil {
			return nil, p.fail(tok, err.Error(), nil)
		}
	}
	if base == "." {
		if n != 0 {
			return nil, p.fail(tok, "empty-directory placeholder with a nonzero length", nil)
		}
		return nil, nil
	}
	if f := dir.Files[base]; f != nil {
		return f, nil
	}
	if err := checkComponent(base); err != nil {
		return nil, p.fail(tok, err.Error(), nil)
	}
	if dir.Dirs[base] != nil {
		return nil, p.fail(tok, errFileIsDir.Error(), nil)
	}
	if len(p.files) == 0 {
		p.files = make([]File, 256)
	}
	f := &p.files[0]
	p.files = p.files[1:]
	if dir.Files == nil {
		dir.Files = map[string]*File{}
	}
	dir.Files[base] = f
	return f, nil
}

// unescape unescapes a stream or file name from tok. Like Arvados, it
// refuses raw control characters: they must be escaped, and a stray one
// (a carriage return before the newline) is an error, not part of a name.
func (p *parser) unescape(tok, escaped string) (string, error) {
	for i := 0; i < len(escaped); i++ {
		if escaped[i] < ' ' {
			return "", p.fail(tok, fmt.Sprintf("unescaped control character %q", escaped[i]), nil)
		}
	}
	return UnescapeName(escaped), nil
}

// prefixed returns the directory below the current stream named by prefix,
// creating it when missing; it remembers the last answer, since file names
// with a "/" usually come in runs with the same directory.
func (p *parser) prefixed(prefix string) (*Dir, error) {
	if p.prefixBase == p.stream && p.prefix == prefix {
		return p.prefixDir, nil
	}
	dir, err := p.stream.walk(prefix)
	if err != nil {
		return nil, err
	}
	p.prefixBase, p.prefix, p.prefixDir = p.stream, prefix, dir
	return dir, nil
}

// addSpan appends bytes [pos, pos+n) of the current stream to f.
func (p *parser) addSpan(tok string, f *File, pos, n int64) error {
	if n == 0 {
		return nil
	}
	if f.Size() > maxInt64-n {
		return p.fail(tok, "file size overflows", nil)
	}
	for i := p.findBlock(pos); n > 0; i++ {
		b := &p.blocks[i]
		off := pos - b.start
		take := min(b.size-off, n)
		p.appendSegment(f, b.locator, off, take)
		pos, n, p.cursor = pos+take, n-take, i
	}
	return nil
}

const maxInt64 = 1<<63 - 1

// findBlock returns the index of the block holding byte pos of the stream,
// which must be inside it. It tries the last span's block and the next
// before a binary search.
func (p *parser) findBlock(pos int64) int {
	for i := p.cursor; i < len(p.blocks) && i <= p.cursor+1; i++ {
		if b := p.blocks[i]; b.start <= pos && pos-b.start < b.size {
			return i
		}
	}
	return sort.Search(len(p.blocks), func(i int) bool {
		b := p.blocks[i]
		return pos-b.start < b.size
	})
}

// appendSegment appends n bytes at offset off of the block locator to f,
// extending f's last segment when they continue it.
func (p *parser) appendSegment(f *File, locator string, off, n int64) {
	segs := f.Segments
	var start int64
	if k := len(segs); k > 0 {
		last := &segs[k-1]
		if last.Locator == locator && last.SegmentOffset+last.RangeSize == off {
			last.RangeSize += n
			return
		}
		start = last.RangeStart + last.RangeSize
	} else if cap(segs) == 0 {
		if len(p.segs) == 0 {
			p.segs = make([]Range, 256)
		}
		segs, p.segs = p.segs[:0:1], p.segs[1:]
	}
	f.Segments = append(segs, Range{Locator: locator, RangeStart: start, RangeSize: n, SegmentOffset: off})
}

// parseDecimal parses a non-negative decimal number of at most 63 bits
// with no sign.
func parseDecimal(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	var v int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if v > (maxInt64-int64(c-'0'))/10 {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	return v, true
}
