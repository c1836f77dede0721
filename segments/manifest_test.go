package segments

import (
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arvfile/arvfile/keep"
)

// Locators of the blocks "foo", "bar", "baz" and the empty block, and "foo"
// with a permission signature and with another hint.
const (
	locA  = "acbd18db4cc2f85cedef654fccc4a4d8+3"
	locB  = "37b51d194a7513e45b56f6524f2d51f2+3"
	locC  = "73feffa4b7f6bb68e44cf984c85f6e88+3"
	locE  = "d41d8cd98f00b204e9800998ecf8427e+0"
	locAS = locA + "+A0123456789abcdef0123456789abcdef01234567@65f00000"
	locAK = locA + "+K@zzzzz"
)

// seg is a Range literal in the order locator, start, size, offset.
func seg(locator string, start, size, offset int64) Range {
	return Range{Locator: locator, RangeStart: start, RangeSize: size, SegmentOffset: offset}
}

// file is a File with the given segments (none: an empty file).
func file(segs ...Range) *File {
	if len(segs) == 0 {
		return &File{}
	}
	return &File{Segments: segs}
}

// tree describes a Dir: names map to *File or to a nested tree.
type tree map[string]any

// mk builds the Dir that t describes, as ParseManifest would.
func mk(t tree) *Dir {
	d := NewDir()
	for name, v := range t {
		switch v := v.(type) {
		case *File:
			d.Files[name] = v
		case tree:
			d.Dirs[name] = mk(v)
		default:
			panic(fmt.Sprintf("tree entry %q is a %T", name, v))
		}
	}
	return d
}

func TestParseManifestAndFormatNormalized(t *testing.T) {
	tests := []struct {
		name string
		text string
		want tree
		norm string // FormatManifest of the parsed tree
	}{
		{"an empty text is an empty collection", "", tree{}, ""},
		{"one file in one block",
			". " + locA + " 0:3:foo\n",
			tree{"foo": file(seg(locA, 0, 3, 0))},
			". " + locA + " 0:3:foo\n"},
		{"a missing final newline is tolerated",
			". " + locA + " 0:3:foo",
			tree{"foo": file(seg(locA, 0, 3, 0))},
			". " + locA + " 0:3:foo\n"},
		{"a span across two blocks is two segments",
			". " + locA + " " + locB + " 1:4:x\n",
			tree{"x": file(seg(locA, 0, 2, 1), seg(locB, 2, 2, 0))},
			". " + locA + " " + locB + " 1:4:x\n"},
		{"a span across three blocks is three segments",
			". " + locA + " " + locB + " " + locC + " 2:5:x\n",
			tree{"x": file(seg(locA, 0, 1, 2), seg(locB, 1, 3, 0), seg(locC, 4, 1, 0))},
			". " + locA + " " + locB + " " + locC + " 2:5:x\n"},
		{"files come sorted and blocks in first-use order",
			". " + locA + " " + locB + " 0:3:z 3:3:a\n",
			tree{"z": file(seg(locA, 0, 3, 0)), "a": file(seg(locB, 0, 3, 0))},
			". " + locB + " " + locA + " 0:3:a 3:3:z\n"},
		{"a duplicated locator is listed once",
			". " + locA + " " + locA + " 0:3:a 3:3:b\n",
			tree{"a": file(seg(locA, 0, 3, 0)), "b": file(seg(locA, 0, 3, 0))},
			". " + locA + " 0:3:a 0:3:b\n"},
		{"an unused block is dropped",
			". " + locA + " " + locB + " 3:3:b\n",
			tree{"b": file(seg(locB, 0, 3, 0))},
			". " + locB + " 0:3:b\n"},
		{"spans that follow each other in the stream are merged",
			". " + locA + " " + locB + " 0:3:x 3:3:x\n",
			tree{"x": file(seg(locA, 0, 3, 0), seg(locB, 3, 3, 0))},
			". " + locA + " " + locB + " 0:6:x\n"},
		{"spans that continue in one block are one segment",
			". " + locA + " 0:1:x 1:2:x\n",
			tree{"x": file(seg(locA, 0, 3, 0))},
			". " + locA + " 0:3:x\n"},
		{"a file named on two lines concatenates their spans",
			". " + locA + " 0:3:x\n. " + locB + " 0:3:x\n",
			tree{"x": file(seg(locA, 0, 3, 0), seg(locB, 3, 3, 0))},
			". " + locA + " " + locB + " 0:6:x\n"},
		{"a file named in two streams concatenates their spans",
			". " + locA + " 0:3:d/x\n./d " + locB + " 0:3:x\n",
			tree{"d": tree{"x": file(seg(locA, 0, 3, 0), seg(locB, 3, 3, 0))}},
			"./d " + locA + " " + locB + " 0:6:x\n"},
		{"0:0:name is an empty file",
			". " + locA + " 0:0:e 0:3:f\n",
			tree{"e": file(), "f": file(seg(locA, 0, 3, 0))},
			". " + locA + " 0:0:e 0:3:f\n"},
		{"a line of empty files lists the empty block",
			". " + locA + " 0:0:e\n",
			tree{"e": file()},
			". " + locE + " 0:0:e\n"},
		{"a zero-length span adds nothing",
			". " + locA + " 0:3:x 3:0:x\n",
			tree{"x": file(seg(locA, 0, 3, 0))},
			". " + locA + " 0:3:x\n"},
		{"the empty block between two blocks holds no bytes",
			". " + locA + " " + locE + " " + locB + " 2:2:x\n",
			tree{"x": file(seg(locA, 0, 1, 2), seg(locB, 1, 1, 0))},
			". " + locA + " " + locB + " 2:2:x\n"},
		{"part of a block lists the whole block",
			". " + locA + " " + locB + " 4:2:x\n",
			tree{"x": file(seg(locB, 0, 2, 1))},
			". " + locB + " 1:2:x\n"},
		{"one block at two offsets of one file is listed once",
			". " + locA + " 2:1:x 0:1:x\n",
			tree{"x": file(seg(locA, 0, 1, 2), seg(locA, 1, 1, 0))},
			". " + locA + " 2:1:x 0:1:x\n"},
		{"the placeholder \\056 makes an empty directory",
			"./d " + locE + " 0:0:\\056\n",
			tree{"d": tree{}},
			"./d " + locE + " 0:0:\\056\n"},
		{"a placeholder in a file name makes the directories",
			". " + locE + " 0:0:a/b/\\056\n",
			tree{"a": tree{"b": tree{}}},
			"./a/b " + locE + " 0:0:\\056\n"},
		{"a placeholder of the root leaves an empty collection",
			". " + locE + " 0:0:\\056\n",
			tree{},
			""},
		{"a placeholder beside files is dropped",
			"./d " + locA + " 0:3:x 0:0:\\056\n",
			tree{"d": tree{"x": file(seg(locA, 0, 3, 0))}},
			"./d " + locA + " 0:3:x\n"},
		{"an unescaped . as last component is a placeholder too",
			"./d " + locE + " 0:0:.\n",
			tree{"d": tree{}},
			"./d " + locE + " 0:0:\\056\n"},
		{"a directory with only subdirectories has no line",
			"./a/b " + locA + " 0:3:x\n",
			tree{"a": tree{"b": tree{"x": file(seg(locA, 0, 3, 0))}}},
			"./a/b " + locA + " 0:3:x\n"},
		{"streams come depth first with names sorted at each level",
			"./b " + locA + " 0:1:x\n./a\\040c " + locA + " 0:1:x\n./a/b " + locA + " 0:1:x\n./a " + locA + " 0:1:x\n. " + locA + " 0:1:x\n",
			tree{
				"x":   file(seg(locA, 0, 1, 0)),
				"a":   tree{"x": file(seg(locA, 0, 1, 0)), "b": tree{"x": file(seg(locA, 0, 1, 0))}},
				"a c": tree{"x": file(seg(locA, 0, 1, 0))},
				"b":   tree{"x": file(seg(locA, 0, 1, 0))},
			},
			". " + locA + " 0:1:x\n./a " + locA + " 0:1:x\n./a/b " + locA + " 0:1:x\n./a\\040c " + locA + " 0:1:x\n./b " + locA + " 0:1:x\n"},
		{"file names are unescaped",
			". " + locA + " 0:1:a\\040b 0:1:c\\072d 0:1:e\\134f 0:1:g\\011h 0:1:i\\012j\n",
			tree{
				"a b": file(seg(locA, 0, 1, 0)), "c:d": file(seg(locA, 0, 1, 0)), `e\f`: file(seg(locA, 0, 1, 0)),
				"g\th": file(seg(locA, 0, 1, 0)), "i\nj": file(seg(locA, 0, 1, 0)),
			},
			". " + locA + " 0:1:a\\040b 0:1:c\\072d 0:1:e\\134f 0:1:g\\011h 0:1:i\\012j\n"},
		{"stream names are unescaped",
			"./x\\040y " + locA + " 0:3:f\n",
			tree{"x y": tree{"f": file(seg(locA, 0, 3, 0))}},
			"./x\\040y " + locA + " 0:3:f\n"},
		{"the stream name . may be escaped",
			"\\056 " + locA + " 0:3:f\n",
			tree{"f": file(seg(locA, 0, 3, 0))},
			". " + locA + " 0:3:f\n"},
		{"a raw colon in a file name is tolerated",
			". " + locA + " 0:3:a:b\n",
			tree{"a:b": file(seg(locA, 0, 3, 0))},
			". " + locA + " 0:3:a\\072b\n"},
		{"an escaped slash separates directories",
			". " + locA + " 0:3:a\\057b\n",
			tree{"a": tree{"b": file(seg(locA, 0, 3, 0))}},
			"./a " + locA + " 0:3:b\n"},
		{"a slash in a file name makes its stream",
			". " + locA + " 0:3:sub/x 0:3:sub/y 0:3:z\n",
			tree{"sub": tree{"x": file(seg(locA, 0, 3, 0)), "y": file(seg(locA, 0, 3, 0))}, "z": file(seg(locA, 0, 3, 0))},
			". " + locA + " 0:3:z\n./sub " + locA + " 0:3:x 0:3:y\n"},
		{"leading zeros are dropped",
			". " + locA + " 00:03:x\n",
			tree{"x": file(seg(locA, 0, 3, 0))},
			". " + locA + " 0:3:x\n"},
		{"a backslash that starts no escape is a literal backslash",
			". " + locA + " 0:1:a\\09b 0:1:foo\\444 0:1:c\\ 0:1:d\\04 0:1:e\\\\f 0:1:g\\\\040 0:1:h\\400\n",
			tree{
				`a\09b`: file(seg(locA, 0, 1, 0)), `foo\444`: file(seg(locA, 0, 1, 0)), `c\`: file(seg(locA, 0, 1, 0)),
				`d\04`: file(seg(locA, 0, 1, 0)), `e\\f`: file(seg(locA, 0, 1, 0)), "g\\ ": file(seg(locA, 0, 1, 0)),
				`h\400`: file(seg(locA, 0, 1, 0)),
			},
			". " + locA + " 0:1:a\\13409b 0:1:c\\134 0:1:d\\13404 0:1:e\\134\\134f 0:1:foo\\134444 0:1:g\\134\\040 0:1:h\\134400\n"},
		{"a literal backslash in a stream name",
			"./a\\9 " + locA + " 0:3:f\n",
			tree{`a\9`: tree{"f": file(seg(locA, 0, 3, 0))}},
			"./a\\1349 " + locA + " 0:3:f\n"},
		{"one-letter hints and opaque signatures are kept",
			". " + locA + "+Z " + locB + "+K@xyzzy+Aasignature@5f612ee6 0:3:x 3:3:y\n",
			tree{"x": file(seg(locA+"+Z", 0, 3, 0)), "y": file(seg(locB+"+K@xyzzy+Aasignature@5f612ee6", 0, 3, 0))},
			". " + locA + "+Z " + locB + "+K@xyzzy+Aasignature@5f612ee6 0:3:x 3:3:y\n"},
		{"hints are kept",
			". " + locAS + " " + locAK + " 0:3:x 3:3:y\n",
			tree{"x": file(seg(locAS, 0, 3, 0)), "y": file(seg(locAK, 0, 3, 0))},
			". " + locAS + " " + locAK + " 0:3:x 3:3:y\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root, err := ParseManifest(tc.text)
			require.NoError(t, err)
			assert.Equal(t, mk(tc.want), root)
			assert.Equal(t, tc.norm, FormatManifest(root, FormatOptions{}))
		})
	}
}

func TestParseManifestErrors(t *testing.T) {
	tests := []struct {
		name   string
		text   string
		line   int
		token  string
		reason string
	}{
		{"a lone newline is an empty line", "\n", 1, "", "empty line"},
		{"an empty line in the middle", ". " + locA + " 0:3:a\n\n. " + locA + " 0:3:b\n", 2, "", "empty line"},
		{"an empty line at the end", ". " + locA + " 0:3:a\n\n", 2, "", "empty line"},
		{"two spaces", ". " + locA + "  0:3:a", 1, "", "empty token"},
		{"a space at the end", ". " + locA + " 0:3:a ", 1, "", "empty token"},
		{"a space at the start", " . " + locA + " 0:3:a", 1, "", "empty token"},
		{"a stream name not starting with .", "foo " + locA + " 0:3:a", 1, "foo", `stream name must be "." or start with "./"`},
		{"a stream name .a", ".a " + locA + " 0:3:a", 1, ".a", `stream name must be "." or start with "./"`},
		{"a stream name ./", "./ " + locA + " 0:3:a", 1, "./", "empty path component"},
		{"a stream name with //", "./a//b " + locA + " 0:3:a", 1, "./a//b", "empty path component"},
		{"a stream name with ..", "./a/../b " + locA + " 0:3:a", 1, "./a/../b", `path component "." or ".."`},
		{"a stream name ./.", "./. " + locA + " 0:3:a", 1, "./.", `path component "." or ".."`},
		{"a locator without size", ". acbd18db4cc2f85cedef654fccc4a4d8 0:3:a", 1, "acbd18db4cc2f85cedef654fccc4a4d8", "missing size after the hash"},
		{"a short hash", ". acbd18db4cc2f85cedef654fccc4a4d+3 0:3:a", 1, "acbd18db4cc2f85cedef654fccc4a4d+3", `hash "acbd18db4cc2f85cedef654fccc4a4d" is not 32 lower-case hex digits`},
		{"a hash with a non-hex digit", ". acbd18db4cc2f85cedef654fccc4a4dX+3 0:3:a", 1, "acbd18db4cc2f85cedef654fccc4a4dX+3", `hash "acbd18db4cc2f85cedef654fccc4a4dX" is not 32 lower-case hex digits`},
		{"an upper-case hash", ". ACBD18DB4CC2F85CEDEF654FCCC4A4D8+3 0:3:a", 1, "ACBD18DB4CC2F85CEDEF654FCCC4A4D8+3", `hash "ACBD18DB4CC2F85CEDEF654FCCC4A4D8" is not 32 lower-case hex digits`},
		{"a non-numeric size", ". acbd18db4cc2f85cedef654fccc4a4d8+x 0:3:a", 1, "acbd18db4cc2f85cedef654fccc4a4d8+x", `size "x" is not a decimal number`},
		{"a size with a leading zero", ". acbd18db4cc2f85cedef654fccc4a4d8+03 0:3:a", 1, "acbd18db4cc2f85cedef654fccc4a4d8+03", `size "03" has a leading zero`},
		{"a size over 64 MiB", ". acbd18db4cc2f85cedef654fccc4a4d8+67108865 0:3:a", 1, "acbd18db4cc2f85cedef654fccc4a4d8+67108865", "size 67108865 is larger than the block size 67108864"},
		{"a hint not starting upper-case", ". " + locA + "+a1 0:3:a", 1, locA + "+a1", `hint "a1" does not match [A-Z][-A-Za-z0-9@_]*`},
		{"an empty hint", ". " + locA + "+ 0:3:a", 1, locA + "+", "empty hint"},
		{"a file token before any locator", ". 0:3:a", 1, "0:3:a", "file token before any locator"},
		{"a line with only a stream name", ".", 1, "", "line has no locator"},
		{"a line with no file token", ". " + locA, 1, "", "line has no file token"},
		{"a locator after a file token", ". " + locA + " 0:3:a " + locB, 1, locB, "locator after a file token"},
		{"a word after a file token", ". " + locA + " 0:3:a foo", 1, "foo", "not pos:len:name"},
		{"a file token with one colon", ". " + locA + " 0:3", 1, "0:3", "not pos:len:name"},
		{"a span past the end", ". " + locA + " 0:4:a", 1, "0:4:a", "past the end of the stream's blocks (3 bytes)"},
		{"a position past the end", ". " + locA + " 4:0:a", 1, "4:0:a", "past the end of the stream's blocks (3 bytes)"},
		{"a huge span", ". " + locA + " 1:9223372036854775807:a", 1, "1:9223372036854775807:a", "past the end"},
		{"a non-numeric position", ". " + locA + " x:3:a", 1, "x:3:a", "bad position"},
		{"a negative position", ". " + locA + " -1:1:a", 1, "-1:1:a", "bad position"},
		{"a signed position", ". " + locA + " +1:1:a", 1, "+1:1:a", "bad position"},
		{"an empty position", ". " + locA + " :3:a", 1, ":3:a", "bad position"},
		{"a negative length", ". " + locA + " 0:-1:a", 1, "0:-1:a", "bad length"},
		{"a length over 63 bits", ". " + locA + " 0:9223372036854775808:a", 1, "0:9223372036854775808:a", "bad length"},
		{"an empty file name", ". " + locA + " 0:3:", 1, "0:3:", "empty path component"},
		{"a file name ending in /", ". " + locA + " 0:3:a/", 1, "0:3:a/", "empty path component"},
		{"a file name starting with /", ". " + locA + " 0:3:/a", 1, "0:3:/a", "empty path component"},
		{"a file name ..", ". " + locA + " 0:3:..", 1, "0:3:..", `path component "." or ".."`},
		{"a file name with /./", ". " + locA + " 0:3:a/./b", 1, "0:3:a/./b", `path component "." or ".."`},
		{"a file name with ../", ". " + locA + " 0:3:../b", 1, "0:3:../b", `path component "." or ".."`},
		{"a placeholder with bytes", ". " + locA + " 0:3:\\056", 1, "0:3:\\056", "placeholder with a nonzero length"},
		{"a file then a directory of one name", ". " + locA + " 0:3:a 0:3:a/b", 1, "0:3:a/b", "a file and a directory with the same name"},
		{"a directory then a file of one name", ". " + locA + " 0:3:a/b 0:3:a", 1, "0:3:a", "a file and a directory with the same name"},
		{"a stream named like a file", ". " + locA + " 0:3:a\n./a " + locA + " 0:3:b", 2, "./a", "a file and a directory with the same name"},
		{"a placeholder named like a file", ". " + locA + " 0:3:a 0:0:a/\\056", 1, "0:0:a/\\056", "a file and a directory with the same name"},
		{"the documentation's two sizes", ". d41d8cd98f00b204e9800998ecf8427e+0+0 0:0:a", 1, "d41d8cd98f00b204e9800998ecf8427e+0+0", `hint "0" does not match [A-Z][-A-Za-z0-9@_]*`},
		{"the documentation's lower-case hint", ". d41d8cd98f00b204e9800998ecf8427e+0+z 0:0:a", 1, "d41d8cd98f00b204e9800998ecf8427e+0+z", `hint "z" does not match [A-Z][-A-Za-z0-9@_]*`},
		{"the documentation's hint with a *", ". d41d8cd98f00b204e9800998ecf8427e+0+Zfoo*bar 0:0:a", 1, "d41d8cd98f00b204e9800998ecf8427e+0+Zfoo*bar", `hint "Zfoo*bar" does not match [A-Z][-A-Za-z0-9@_]*`},
		{"the documentation's hint before the size", ". d41d8cd98f00b204e9800998ecf8427e+Z+0 0:0:a", 1, "d41d8cd98f00b204e9800998ecf8427e+Z+0", `size "Z" is not a decimal number`},
		{"a raw control byte in a stream name", "./a\x01b " + locA + " 0:3:a", 1, "./a\x01b", `unescaped control character '\x01'`},
		{"a raw tab in a stream name", "./a\tb " + locA + " 0:3:a", 1, "./a\tb", `unescaped control character '\t'`},
		{"a raw tab", ". " + locA + " 0:3:a\tb", 1, "0:3:a\tb", `unescaped control character '\t'`},
		{"a carriage return", ". " + locA + " 0:3:a\r\n", 1, "0:3:a\r", `unescaped control character '\r'`},
		{"an error on a later line", ". " + locA + " 0:3:a\n./b " + locA + " 0:4:c\n", 2, "0:4:c", "past the end"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root, err := ParseManifest(tc.text)
			assert.Nil(t, root)
			var me *ManifestError
			require.ErrorAs(t, err, &me)
			assert.Equal(t, tc.line, me.Line)
			assert.Equal(t, tc.token, me.Token)
			assert.Contains(t, me.Reason, tc.reason)
		})
	}
}

func TestManifestErrorWrapsCause(t *testing.T) {
	_, err := ParseManifest(". acbd18db4cc2f85cedef654fccc4a4d8 0:3:a")
	assert.ErrorIs(t, err, keep.ErrInvalidLocator)
	_, err = ParseManifest(". " + locA + " 0:4:a")
	assert.NotErrorIs(t, err, keep.ErrInvalidLocator)
}

func TestManifestErrorText(t *testing.T) {
	assert.Equal(t, `manifest line 3: token "0:4:a": span past the end`,
		(&ManifestError{Line: 3, Token: "0:4:a", Reason: "span past the end"}).Error())
	assert.Equal(t, "manifest line 2: empty line", (&ManifestError{Line: 2, Reason: "empty line"}).Error())
}

func TestFormatManifest(t *testing.T) {
	tests := []struct {
		name string
		root *Dir
		opts FormatOptions
		want string
	}{
		{"a nil tree is an empty collection", nil, FormatOptions{}, ""},
		{"an empty root is an empty collection", NewDir(), FormatOptions{}, ""},
		{"an empty subdirectory is a placeholder line",
			mk(tree{"a": tree{}}), FormatOptions{},
			"./a " + locE + " 0:0:\\056\n"},
		{"empty subdirectories beside a file",
			mk(tree{"a": tree{}, "f": file(seg(locA, 0, 3, 0)), "z": tree{"y": tree{}}}), FormatOptions{},
			". " + locA + " 0:3:f\n./a " + locE + " 0:0:\\056\n./z/y " + locE + " 0:0:\\056\n"},
		{"segments in file order, blocks in first-use order",
			mk(tree{"a": file(seg(locB, 0, 2, 1), seg(locA, 2, 3, 0)), "b": file(seg(locC, 0, 3, 0), seg(locA, 3, 1, 2))}), FormatOptions{},
			". " + locB + " " + locA + " " + locC + " 1:5:a 6:3:b 5:1:b\n"},
		{"hints are kept",
			mk(tree{"x": file(seg(locAS, 0, 3, 0)), "y": file(seg(locAK, 0, 3, 0))}), FormatOptions{},
			". " + locAS + " " + locAK + " 0:3:x 3:3:y\n"},
		{"stripped drops hints and lists a block once",
			mk(tree{"x": file(seg(locAS, 0, 3, 0)), "y": file(seg(locAK, 0, 1, 0), seg(locB, 1, 3, 0))}), FormatOptions{Stripped: true},
			". " + locA + " " + locB + " 0:3:x 0:1:y 3:3:y\n"},
		{"stripped merges spans of one block under two hints",
			mk(tree{"x": file(seg(locAS, 0, 1, 0), seg(locAK, 1, 2, 1))}), FormatOptions{Stripped: true},
			". " + locA + " 0:3:x\n"},
		{"names are escaped",
			mk(tree{"a b": file(seg(locA, 0, 3, 0)), "c:d": file(), `e\f`: file(), "g\th": file(), "i\nj": file(),
				"x y": tree{"\x01": file(seg(locA, 0, 3, 0))}}), FormatOptions{},
			". " + locA + " 0:3:a\\040b 0:0:c\\072d 0:0:e\\134f 0:0:g\\011h 0:0:i\\012j\n./x\\040y " + locA + " 0:3:\\001\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, FormatManifest(tc.root, tc.opts))
		})
	}
}

func TestEscapedNamesRoundTrip(t *testing.T) {
	names := []string{"a b", "c:d", `e\f`, "g\th", "i\nj", "\x01", " ", "\x7f", `\056`, "..a", "é"}
	root := NewDir()
	for i, name := range names {
		require.NoError(t, root.AddFile(name, []Range{seg(locA, 0, int64(i%3+1), 0)}))
		sub, err := root.MkdirAll("d" + name + "/" + name)
		require.NoError(t, err)
		require.NoError(t, sub.AddFile(name, nil))
	}
	text := FormatManifest(root, FormatOptions{})
	again, err := ParseManifest(text)
	require.NoError(t, err)
	assert.Equal(t, root, again)
	assert.Equal(t, text, FormatManifest(again, FormatOptions{}))
	assert.Contains(t, text, ". "+locA+` 0:3:\001 0:1:\040 0:1:..a 0:3:\134056 0:1:a\040b 0:2:c\072d 0:3:e\134f 0:1:g\011h 0:2:i\012j 0:2:`+"\x7f 0:2:é\n")
}

func TestNormalizeFixture(t *testing.T) {
	in, err := os.ReadFile("testdata/manifest_unnormalized.txt")
	require.NoError(t, err)
	want, err := os.ReadFile("testdata/manifest_normalized.txt")
	require.NoError(t, err)
	wantStripped, err := os.ReadFile("testdata/manifest_normalized_stripped.txt")
	require.NoError(t, err)

	root, err := ParseManifest(string(in))
	require.NoError(t, err)
	assert.Equal(t, string(want), FormatManifest(root, FormatOptions{}))
	assert.Equal(t, string(wantStripped), FormatManifest(root, FormatOptions{Stripped: true}))
	assert.Equal(t, "5ce2590456be334991c6050e78726a6b+352", PortableDataHash(string(wantStripped)))
}

func TestPortableDataHash(t *testing.T) {
	assert.Equal(t, "d41d8cd98f00b204e9800998ecf8427e+0", PortableDataHash(""))
	assert.Equal(t, "1f4b0bc7583c2a7f9102c395f4ffc5e3+45", PortableDataHash(". "+locA+" 0:3:foo\n"))
}

func TestFileSize(t *testing.T) {
	assert.Equal(t, int64(0), (*File)(nil).Size())
	assert.Equal(t, int64(0), file().Size())
	assert.Equal(t, int64(5), file(seg(locA, 0, 2, 1), seg(locB, 2, 3, 0)).Size())
}

func TestMkdirAll(t *testing.T) {
	root := mk(tree{"f": file(), "a": tree{"b": tree{}}})
	tests := []struct {
		name string
		path string
		want *Dir   // nil: a new directory, checked by a second lookup
		err  error  // errors.Is target
		text string // the error's text
	}{
		{"the empty path is the directory itself", "", root, nil, ""},
		{"the path . is the directory itself", ".", root, nil, ""},
		{"an existing directory", "a/b", root.Dirs["a"].Dirs["b"], nil, ""},
		{"a new directory below an existing one", "a/c/d", nil, nil, ""},
		{"a file on the way", "f/x", nil, syscall.ENOTDIR, "mkdir f/x: not a directory"},
		{"a file at the end", "f", nil, syscall.ENOTDIR, "mkdir f: not a directory"},
		{"an empty component", "a//b", nil, fs.ErrInvalid, "mkdir a//b: invalid argument: empty path component"},
		{"a trailing slash", "a/", nil, fs.ErrInvalid, "mkdir a/: invalid argument: empty path component"},
		{"a .. component", "a/../b", nil, fs.ErrInvalid, `mkdir a/../b: invalid argument: path component "." or ".."`},
		{"a . component", "./a", nil, fs.ErrInvalid, `mkdir ./a: invalid argument: path component "." or ".."`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := root.MkdirAll(tc.path)
			if tc.err != nil {
				assert.Nil(t, got)
				assert.ErrorIs(t, err, tc.err)
				assert.EqualError(t, err, tc.text)
				return
			}
			require.NoError(t, err)
			if tc.want != nil {
				assert.Same(t, tc.want, got)
				return
			}
			assert.Equal(t, NewDir(), got)
			again, err := root.MkdirAll(tc.path)
			require.NoError(t, err)
			assert.Same(t, got, again)
		})
	}
	assert.Equal(t, ". "+locE+" 0:0:f\n./a/b "+locE+" 0:0:\\056\n./a/c/d "+locE+" 0:0:\\056\n", FormatManifest(root, FormatOptions{}))
}

func TestAddFile(t *testing.T) {
	tests := []struct {
		name string
		path string
		segs []Range
		err  error  // errors.Is target; nil for success
		text string // the error's text
	}{
		{"an empty file", "e", nil, nil, ""},
		{"a file in new directories", "a/b/c", []Range{seg(locA, 0, 3, 0), seg(locB, 3, 2, 1)}, nil, ""},
		{"a file beside an existing file", "a/b/d", []Range{seg(locAS, 0, 1, 2)}, nil, ""},
		{"an existing file", "e", nil, fs.ErrExist, "addfile e: file already exists"},
		{"an existing directory", "a/b", nil, fs.ErrExist, "addfile a/b: file already exists"},
		{"a file as parent", "e/x", nil, syscall.ENOTDIR, "addfile e/x: not a directory"},
		{"an empty name", "a/", nil, fs.ErrInvalid, "addfile a/: invalid argument: empty path component"},
		{"a . name", "a/.", nil, fs.ErrInvalid, `addfile a/.: invalid argument: path component "." or ".."`},
		{"a .. name", "..", nil, fs.ErrInvalid, `addfile ..: invalid argument: path component "." or ".."`},
		{"a .. parent", "../x", nil, fs.ErrInvalid, `addfile ../x: invalid argument: path component "." or ".."`},
		{"a gap between segments", "g", []Range{seg(locA, 0, 1, 0), seg(locB, 2, 1, 0)}, fs.ErrInvalid,
			"addfile g: invalid argument: segment 1 starts at 2, want 1"},
		{"a first segment not at 0", "g", []Range{seg(locA, 1, 1, 0)}, fs.ErrInvalid,
			"addfile g: invalid argument: segment 0 starts at 1, want 0"},
		{"an empty segment", "g", []Range{seg(locA, 0, 0, 0)}, fs.ErrInvalid,
			"addfile g: invalid argument: segment 0 has size 0"},
		{"a negative offset", "g", []Range{seg(locA, 0, 1, -1)}, fs.ErrInvalid,
			"addfile g: invalid argument: segment 0 has offset -1"},
		{"a segment past its block", "g", []Range{seg(locA, 0, 2, 2)}, fs.ErrInvalid,
			"addfile g: invalid argument: segment 0: bytes [2, 4) are past the end of its 3-byte block"},
		{"a bad locator", "g", []Range{seg("acbd18db4cc2f85cedef654fccc4a4d8", 0, 1, 0)}, keep.ErrInvalidLocator, ""},
	}
	root := NewDir()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := root.AddFile(tc.path, tc.segs)
			if tc.err == nil {
				require.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, tc.err)
			if tc.text != "" {
				assert.EqualError(t, err, tc.text)
			}
		})
	}
	assert.Equal(t, ". "+locE+" 0:0:e\n./a/b "+locA+" "+locB+" "+locAS+" 0:3:c 4:2:c 8:1:d\n", FormatManifest(root, FormatOptions{}))
	assert.Equal(t, ". "+locE+" 0:0:e\n./a/b "+locA+" "+locB+" 0:3:c 4:2:c 2:1:d\n", FormatManifest(root, FormatOptions{Stripped: true}))
}

// ExampleParseManifest parses a manifest with a file across two blocks and
// formats it again, normalized: the files sorted and the spans merged.
func ExampleParseManifest() {
	root, err := ParseManifest("./docs acbd18db4cc2f85cedef654fccc4a4d8+3 37b51d194a7513e45b56f6524f2d51f2+3 3:3:b\\040c 0:2:a 2:1:a\n")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(root.Dirs["docs"].Files["a"].Segments)
	fmt.Print(FormatManifest(root, FormatOptions{}))
	_, err = ParseManifest(". acbd18db4cc2f85cedef654fccc4a4d8+3 0:4:a\n")
	fmt.Println(err)
	// Output:
	// [{acbd18db4cc2f85cedef654fccc4a4d8+3 0 3 0}]
	// ./docs acbd18db4cc2f85cedef654fccc4a4d8+3 37b51d194a7513e45b56f6524f2d51f2+3 0:3:a 3:3:b\040c
	// manifest line 1: token "0:4:a": span ends past the end of the stream's blocks (3 bytes)
}

// TestParseManifestFileOnManyLines checks that a file named on 10,000 lines
// gets all their spans without an allocation per line: appending to its
// segments must not copy them each time.
func TestParseManifestFileOnManyLines(t *testing.T) {
	text := strings.Repeat(". "+locA+" 0:3:x\n", 10000)
	root, err := ParseManifest(text)
	require.NoError(t, err)
	segs := root.Files["x"].Segments
	require.Len(t, segs, 10000)
	assert.Equal(t, seg(locA, 29997, 3, 0), segs[9999])
	allocs := testing.AllocsPerRun(3, func() { _, _ = ParseManifest(text) })
	assert.Less(t, allocs, 100.0)
}

// The example manifests of the Arvados manifest format documentation
// (doc/architecture/manifest-format.html.textile.liquid), and a line using
// its example locator with a one-letter hint.
const (
	docManifestFourFiles = ". 930625b054ce894ac40596c3f5a0d947+33 0:0:a 0:0:b 0:33:output.txt\n" +
		"./c d41d8cd98f00b204e9800998ecf8427e+0 0:0:d\n"
	docManifestSigned = ". 930625b054ce894ac40596c3f5a0d947+33+A1f27a35dd9af37191d63ad8eb8985624451e7b79@5835c8bc 0:0:a 0:0:b 0:33:output.txt\n" +
		"./c d41d8cd98f00b204e9800998ecf8427e+0+A27117dcd30c013a6e85d6d74c9a50179a1446efa@5835c8bc 0:0:d\n"
	docManifestDocker = ". c449ed86671e4a34a8b8b9430850beba+67108864 09fcfea01c3a141b89dd0dcfa1b7768e+22534144 0:89643008:Docker\\040image.tar\n"
	docManifestArvGet = ". 204e43b8a1185621ca55a94839582e6f+67108864+Aasignatureforthisblockaaaaaaaaaaaaaaaaaa@5f612ee6 " +
		"b9677abbac956bd3e86b1deb28dfac03+67108864+Aasignatureforthisblockbbbbbbbbbbbbbbbbbb@5f612ee6 " +
		"fc15aff2a762b13f521baf042140acec+67108864+Aasignatureforthisblockcccccccccccccccccc@5f612ee6 " +
		"323d2a3ce20370c4ca1d3462a344f8fd+25885655+Aasignatureforthisblockdddddddddddddddddd@5f612ee6 0:227212247:var-GS000016015-ASM.tsv.bz2\n"
	docManifestZHint = ". d41d8cd98f00b204e9800998ecf8427e+0+Z+Ada39a3ee5e6b4b0d3255bfef95601890afd80709@53bed294 0:0:empty\n"
)

func TestParseManifestReadsTheArvadosDocumentationExamples(t *testing.T) {
	const (
		out   = "930625b054ce894ac40596c3f5a0d947+33"
		outS  = out + "+A1f27a35dd9af37191d63ad8eb8985624451e7b79@5835c8bc"
		emptS = locE + "+A27117dcd30c013a6e85d6d74c9a50179a1446efa@5835c8bc"
		dk1   = "c449ed86671e4a34a8b8b9430850beba+67108864"
		dk2   = "09fcfea01c3a141b89dd0dcfa1b7768e+22534144"
		ag1   = "204e43b8a1185621ca55a94839582e6f+67108864"
		ag2   = "b9677abbac956bd3e86b1deb28dfac03+67108864"
		ag3   = "fc15aff2a762b13f521baf042140acec+67108864"
		ag4   = "323d2a3ce20370c4ca1d3462a344f8fd+25885655"
		sig   = "+Aasignatureforthisblock"
		exp   = "@5f612ee6"
	)
	tests := []struct {
		name     string
		text     string
		want     tree
		norm     string // FormatManifest of the parsed tree
		stripped string // the same, stripped
	}{
		{"four files in two directories", docManifestFourFiles,
			tree{"a": file(), "b": file(), "output.txt": file(seg(out, 0, 33, 0)), "c": tree{"d": file()}},
			docManifestFourFiles, docManifestFourFiles},
		{"the same with permission signatures", docManifestSigned,
			tree{"a": file(), "b": file(), "output.txt": file(seg(outS, 0, 33, 0)), "c": tree{"d": file()}},
			// A line of empty files lists the unsigned empty block.
			". " + outS + " 0:0:a 0:0:b 0:33:output.txt\n./c " + locE + " 0:0:d\n", docManifestFourFiles},
		{"two blocks and a space in the name", docManifestDocker,
			tree{"Docker image.tar": file(seg(dk1, 0, 67108864, 0), seg(dk2, 67108864, 22534144, 0))},
			docManifestDocker, docManifestDocker},
		{"arv-get's placeholder signatures", docManifestArvGet,
			tree{"var-GS000016015-ASM.tsv.bz2": file(
				seg(ag1+sig+"aaaaaaaaaaaaaaaaaa"+exp, 0, 67108864, 0),
				seg(ag2+sig+"bbbbbbbbbbbbbbbbbb"+exp, 67108864, 67108864, 0),
				seg(ag3+sig+"cccccccccccccccccc"+exp, 134217728, 67108864, 0),
				seg(ag4+sig+"dddddddddddddddddd"+exp, 201326592, 25885655, 0))},
			docManifestArvGet, ". " + ag1 + " " + ag2 + " " + ag3 + " " + ag4 + " 0:227212247:var-GS000016015-ASM.tsv.bz2\n"},
		{"the example locator with a one-letter hint", docManifestZHint,
			tree{"empty": file()}, ". " + locE + " 0:0:empty\n", ". " + locE + " 0:0:empty\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root, err := ParseManifest(tc.text)
			require.NoError(t, err)
			assert.Equal(t, mk(tc.want), root)
			assert.Equal(t, tc.norm, FormatManifest(root, FormatOptions{}))
			assert.Equal(t, tc.stripped, FormatManifest(root, FormatOptions{Stripped: true}))
		})
	}
}

func TestManifestNamesRoundTrip(t *testing.T) {
	// Every name of the escaping tests (NUL aside: no name may hold one), as file and directory names: the
	// formatted text parses back to the same names.
	names := []string{
		"a b", "c:d", `e\f`, "g\th", "i\nj", "\x01", " ", "\x7f", `\056`, "..a", "é",
		`a\09b`, `foo\444`, `c\`, `d\04`, `e\\f`, "g\\ ", `h\400`, `\134`, `\\040`, `\9\101`, "Docker image.tar",
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			root := NewDir()
			require.NoError(t, root.AddFile(name, []Range{seg(locA, 0, 3, 0)}))
			sub, err := root.MkdirAll("d" + name + "/" + name)
			require.NoError(t, err)
			require.NoError(t, sub.AddFile(name, []Range{seg(locB, 0, 3, 0)}))
			text := FormatManifest(root, FormatOptions{})
			again, err := ParseManifest(text)
			require.NoError(t, err)
			assert.Equal(t, root, again, "text %q", text)
			e := EscapeName(name)
			assert.Equal(t, ". "+locA+" 0:3:"+e+"\n./d"+e+"/"+e+" "+locB+" 0:3:"+e+"\n", text)
		})
	}
}

func TestFormatFileManifest(t *testing.T) {
	tests := []struct {
		name   string
		stream string
		file   string
		f      *File
		opts   FormatOptions
		want   string
		err    string
	}{
		{"a file in the root stream", ".", "foo", file(seg(locA, 0, 3, 0)), FormatOptions{},
			". " + locA + " 0:3:foo\n", ""},
		{"an empty file lists the empty block", ".", "e", file(), FormatOptions{},
			". " + locE + " 0:0:e\n", ""},
		{"a nil file is empty", "./d", "e", nil, FormatOptions{},
			"./d " + locE + " 0:0:e\n", ""},
		{"blocks in first-use order, each once, adjacent spans merged", "./a/b", "x",
			file(seg(locB, 0, 2, 1), seg(locA, 2, 3, 0), seg(locB, 5, 1, 0), seg(locB, 6, 2, 1)), FormatOptions{},
			"./a/b " + locB + " " + locA + " 1:5:x 0:3:x\n", ""},
		{"hints are kept", ".", "x", file(seg(locAS, 0, 3, 0), seg(locAK, 3, 3, 0)), FormatOptions{},
			". " + locAS + " " + locAK + " 0:6:x\n", ""},
		{"stripped drops hints and lists a block once", ".", "x", file(seg(locAS, 0, 3, 0), seg(locAK, 3, 3, 0)), FormatOptions{Stripped: true},
			". " + locA + " 0:3:x 0:3:x\n", ""},
		{"names are escaped", "./a b/c:d", `e\f g`, file(seg(locA, 0, 3, 0)), FormatOptions{},
			"./a\\040b/c\\072d " + locA + " 0:3:e\\134f\\040g\n", ""},
		{"a stream not starting with ./", "foo", "x", file(), FormatOptions{}, "",
			`invalid argument: stream name "foo": want "." or a name starting with "./"`},
		{"an empty stream name", "", "x", file(), FormatOptions{}, "",
			`invalid argument: stream name "": want "." or a name starting with "./"`},
		{"a stream with an empty component", ".//a", "x", file(), FormatOptions{}, "",
			`invalid argument: stream name ".//a": empty path component`},
		{"a stream with ..", "./a/..", "x", file(), FormatOptions{}, "",
			`invalid argument: stream name "./a/..": path component "." or ".."`},
		{"an empty file name", ".", "", file(), FormatOptions{}, "",
			`invalid argument: file name "": empty path component`},
		{"a file name .", ".", ".", file(), FormatOptions{}, "",
			`invalid argument: file name ".": path component "." or ".."`},
		{"a file name with /", ".", "a/b", file(), FormatOptions{}, "",
			`invalid argument: file name "a/b": "a/b" is not one path component`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FormatFileManifest(tc.stream, tc.file, tc.f, tc.opts)
			if tc.err != "" {
				assert.EqualError(t, err, tc.err)
				assert.ErrorIs(t, err, fs.ErrInvalid)
				assert.Equal(t, "", got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			root, err := ParseManifest(got)
			require.NoError(t, err, "the text is a manifest")
			assert.Equal(t, 1, countLines(got))
			dir, err := root.MkdirAll(strings.TrimPrefix(strings.TrimPrefix(tc.stream, "."), "/"))
			require.NoError(t, err)
			require.Contains(t, dir.Files, tc.file)
			assert.Equal(t, tc.f.Size(), dir.Files[tc.file].Size(), "it names the file's bytes")
		})
	}
}
