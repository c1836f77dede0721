package arvfile

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fileWith returns a handle open for reading on a new file holding content.
func fileWith(t *testing.T, name, content string) *File {
	t.Helper()
	c := newTestEngine(t, newTestStore(), WithBlockSize(1<<20)).NewCollection()
	require.NoError(t, create(t, c, name, write{0, content}).Close())
	f, err := c.Open(name)
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.Close() })
	return f
}

// readLines calls ReadLine(max) until it fails and returns what it got,
// with the error that ended it.
func readLines(f *File, max int) ([]string, error) {
	var got []string
	for {
		line, err := f.ReadLine(max)
		if err != nil {
			return got, err
		}
		got = append(got, string(line))
	}
}

func TestReadLineReturnsEachLineWithItsNewline(t *testing.T) {
	long := strings.Repeat("x", lineChunk+10)
	tests := []struct {
		name    string
		content string
		max     int
		want    []string
	}{
		{"lines ending in a newline", "a\nbb\n", 0, []string{"a\n", "bb\n"}},
		{"a last line without a newline", "a\nbb", 0, []string{"a\n", "bb"}},
		{"an empty file", "", 0, nil},
		{"empty lines", "\n\n", 0, []string{"\n", "\n"}},
		{"a limit splitting a line", "abcdef\ngh\n", 4, []string{"abcd", "ef\n", "gh\n"}},
		{"a limit equal to a line with its newline", "abc\nd", 4, []string{"abc\n", "d"}},
		{"a limit one short of the newline", "abc\nd", 3, []string{"abc", "\n", "d"}},
		{"a limit of one byte", "ab\n", 1, []string{"a", "b", "\n"}},
		{"a line longer than a read-ahead chunk", long + "\ny", 0, []string{long + "\n", "y"}},
		{"a negative limit is no limit", "abc\n", -1, []string{"abc\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := fileWith(t, "f", tt.content)
			got, err := readLines(f, tt.max)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, io.EOF, err)
		})
	}
}

func TestReadLineKeepsTheHandleOffsetAtTheEndOfTheLine(t *testing.T) {
	f := fileWith(t, "f", "one\ntwo\nthree\n")
	line, err := f.ReadLine(0)
	require.NoError(t, err)
	assert.Equal(t, "one\n", string(line))
	pos, err := f.Seek(0, io.SeekCurrent)
	require.NoError(t, err)
	assert.Equal(t, int64(4), pos)

	b := make([]byte, 3)
	_, err = io.ReadFull(f, b)
	require.NoError(t, err)
	assert.Equal(t, "two", string(b), "Read continues where ReadLine stopped")
	line, err = f.ReadLine(0)
	require.NoError(t, err)
	assert.Equal(t, "\n", string(line))

	_, err = f.Seek(1, io.SeekStart)
	require.NoError(t, err)
	line, err = f.ReadLine(0)
	require.NoError(t, err)
	assert.Equal(t, "ne\n", string(line), "a Seek back is honoured")
	rest, err := io.ReadAll(f)
	require.NoError(t, err)
	assert.Equal(t, "two\nthree\n", string(rest))
}

func TestReadLineSeesAWriteThroughAnotherHandle(t *testing.T) {
	c := newTestEngine(t, newTestStore(), WithBlockSize(1<<20)).NewCollection()
	w := create(t, c, "f", write{0, "aaa\nbbb\nccc\n"})
	r, err := c.Open("f")
	require.NoError(t, err)
	line, err := r.ReadLine(0)
	require.NoError(t, err)
	assert.Equal(t, "aaa\n", string(line))
	_, err = w.WriteAt([]byte("XY"), 5)
	require.NoError(t, err)
	line, err = r.ReadLine(0)
	require.NoError(t, err)
	assert.Equal(t, "bXY\n", string(line))
	require.NoError(t, r.Close())
	require.NoError(t, w.Close())
}

func TestReadLinesStopsOnceTheHintIsReached(t *testing.T) {
	tests := []struct {
		name string
		hint int
		want []string
	}{
		{"no hint reads every line", 0, []string{"ab\n", "cd\n", "ef"}},
		{"a hint inside the first line", 1, []string{"ab\n"}},
		{"a hint at the end of the first line", 3, []string{"ab\n"}},
		{"a hint just past the first line", 4, []string{"ab\n", "cd\n"}},
		{"a hint past the end", 100, []string{"ab\n", "cd\n", "ef"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := fileWith(t, "f", "ab\ncd\nef")
			got, err := f.ReadLines(tt.hint)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestLinesIteratesOverEveryLine(t *testing.T) {
	f := fileWith(t, "f", "x\n\ny")
	var got []string
	for line, err := range f.Lines() {
		require.NoError(t, err)
		got = append(got, string(line))
	}
	assert.Equal(t, []string{"x\n", "\n", "y"}, got)

	f = fileWith(t, "f", "1\n2\n3\n")
	got = nil
	for line := range f.Lines() {
		got = append(got, string(line))
		if len(got) == 2 {
			break
		}
	}
	assert.Equal(t, []string{"1\n", "2\n"}, got)
	rest, err := io.ReadAll(f)
	require.NoError(t, err)
	assert.Equal(t, "3\n", string(rest), "breaking out leaves the offset after the last line yielded")
}

func TestChunksReadsTheRestInPiecesOfTheGivenSize(t *testing.T) {
	tests := []struct {
		name    string
		content string
		size    int
		want    []string
	}{
		{"a short last chunk", "abcdefgh", 3, []string{"abc", "def", "gh"}},
		{"an exact multiple", "abcdef", 3, []string{"abc", "def"}},
		{"an empty file", "", 3, nil},
		{"the default size", "abc", 0, []string{"abc"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := fileWith(t, "f", tt.content)
			var got []string
			for chunk, err := range f.Chunks(tt.size) {
				require.NoError(t, err)
				got = append(got, string(chunk))
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestReaderConveniencesOnAClosedHandleFail(t *testing.T) {
	f := fileWith(t, "f", "abc\n")
	require.NoError(t, f.Close())
	_, err := f.ReadLine(0)
	assert.ErrorIs(t, err, os.ErrClosed)
	var errs []error
	for _, err := range f.Lines() {
		errs = append(errs, err)
	}
	require.Len(t, errs, 1)
	assert.EqualError(t, errs[0], "read f: file already closed")
	_, err = f.DecompressedReader()
	assert.EqualError(t, err, "read f: file already closed")
}

// gzipped compresses each member separately and concatenates them.
func gzipped(t *testing.T, members ...string) string {
	t.Helper()
	var buf bytes.Buffer
	for _, m := range members {
		zw := gzip.NewWriter(&buf)
		_, err := zw.Write([]byte(m))
		require.NoError(t, err)
		require.NoError(t, zw.Close())
	}
	return buf.String()
}

func TestDecompressedReaderChoosesByName(t *testing.T) {
	bz2, err := os.ReadFile("testdata/lines.bz2") // `printf 'one\ntwo\nthree' | bzip2 -9`
	require.NoError(t, err)
	tests := []struct {
		name     string
		content  string
		want     string
		wantName string
	}{
		{"a.txt.gz", gzipped(t, "hello, gzip\n"), "hello, gzip\n", "a.txt"},
		{"two-members.gz", gzipped(t, "first ", "second"), "first second", "two-members"},
		{"d/lines.bz2", string(bz2), "one\ntwo\nthree", "d/lines"},
		{"plain.txt", "as it is", "as it is", "plain.txt"},
		{"x.gz.txt", "not gzip", "not gzip", "x.gz.txt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := fileWith(t, tt.name, tt.content)
			assert.Equal(t, tt.wantName, f.DecompressedName())
			r, err := f.DecompressedReader()
			require.NoError(t, err)
			got, err := io.ReadAll(r)
			require.NoError(t, err)
			require.NoError(t, r.Close())
			assert.Equal(t, tt.want, string(got))
			pos, err := f.Seek(0, io.SeekCurrent)
			require.NoError(t, err)
			assert.Equal(t, int64(0), pos, "the handle's offset is left alone")
		})
	}
}

func TestDecompressedReaderRejectsABadGzipHeader(t *testing.T) {
	f := fileWith(t, "bad.gz", "not gzip at all")
	_, err := f.DecompressedReader()
	assert.EqualError(t, err, "decompress bad.gz: gzip: invalid header")
	assert.ErrorIs(t, err, gzip.ErrHeader)
}
