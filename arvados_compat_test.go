package arvfile

import (
	"context"
	"io/fs"
	"syscall"
	"testing"
	"time"

	"github.com/arvfile/arvfile/keep"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Manifests from the Arvados manifest format documentation and the Python
// SDK's behaviour with them (issue 13).

// putBlocks stores each string in st's memory store; the manifests of the
// tests name them with loc.
func putBlocks(t *testing.T, st *testStore, blocks ...string) {
	t.Helper()
	for _, b := range blocks {
		_, err := st.mem.Put(context.Background(), []byte(b), keep.PutOptions{})
		require.NoError(t, err)
	}
}

func TestManifestsWithEveryArvadosHintLoadAndRead(t *testing.T) {
	const opaque = "+Aasignatureforthisblockaaaaaaaaaaaaaaaaaa@5f612ee6"
	const sig = "+Ada39a3ee5e6b4b0d3255bfef95601890afd80709@53bed294"
	tests := []struct {
		name     string
		text     string
		files    map[string]string // path → content
		stripped string
		expired  bool // PermissionExpired as of 2020-01-01 (before 0x5f612ee6, after 0x53bed294)
	}{
		{"a one-letter hint",
			". " + loc("hello") + "+Z 0:5:a\n",
			map[string]string{"a": "hello"},
			". " + loc("hello") + " 0:5:a\n", false},
		{"a one-letter hint before a permission hint, as in the documentation",
			". " + loc("hello") + "+Z" + sig + " 0:5:a\n",
			map[string]string{"a": "hello"},
			". " + loc("hello") + " 0:5:a\n", true},
		{"a K hint",
			". " + loc("hello") + "+K@xyzzy 0:5:a\n",
			map[string]string{"a": "hello"},
			". " + loc("hello") + " 0:5:a\n", false},
		{"an opaque signature, as in the documentation's arv-get example",
			". " + loc("hello") + opaque + " " + loc("world") + opaque + " 0:10:hw 5:5:w\n",
			map[string]string{"hw": "helloworld", "w": "world"},
			". " + loc("hello") + " " + loc("world") + " 0:10:hw 5:5:w\n", true},
		{"without its final newline",
			". " + loc("hello") + opaque + " 0:5:a",
			map[string]string{"a": "hello"},
			". " + loc("hello") + " 0:5:a\n", true},
		{"names with literal backslashes",
			". " + loc("hello") + " 0:1:a\\09b 1:1:foo\\444 2:1:c\\ 3:1:d\\\\040\n./e\\9 " + loc("world") + " 0:5:f\\134g\n",
			map[string]string{`a\09b`: "h", `foo\444`: "e", `c\`: "l", "d\\ ": "l", `e\9/f\g`: "world"},
			". " + loc("hello") + " 0:1:a\\09b 1:1:foo\\444 2:1:c\\ 3:1:d\\\\040\n./e\\9 " + loc("world") + " 0:5:f\\134g\n", false},
	}
	asOf := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, mode := range modes {
		for _, tt := range tests {
			t.Run(mode.name+"/"+tt.name, func(t *testing.T) {
				st := newTestStore()
				putBlocks(t, st, "hello", "world")
				e := newTestEngine(t, st)
				c, err := e.LoadCollection(tt.text, mode.opts...)
				require.NoError(t, err)
				for name, want := range tt.files {
					assert.Equal(t, want, contents(t, c, name), name)
				}
				got, err := c.ManifestText(bg, ManifestOptions{})
				require.NoError(t, err)
				assert.Equal(t, tt.text, got, "the text round-trips")
				got, err = c.ManifestText(bg, ManifestOptions{Stripped: true})
				require.NoError(t, err)
				assert.Equal(t, tt.stripped, got, "stripping removes every hint and ends the text with a newline")
				expired, err := c.PermissionExpired(bg, asOf)
				require.NoError(t, err)
				assert.Equal(t, tt.expired, expired)
			})
		}
	}
}

func TestFilesWithAnyTestNameReloadWithTheirNamesAndBytes(t *testing.T) {
	names := []string{
		"a b", "c:d", `e\f`, `a\09b`, `foo\444`, `c\`, `d\04`, `e\\f`, "g\\ ", `h\400`, `\134`, `\\040`,
		`\9\101`, "Docker image.tar", "é", "..a", `\056`, "sub dir/x\\y", `q\/r\`,
	}
	st := newTestStore()
	e := newTestEngine(t, st, WithBlockSize(64))
	c := e.NewCollection()
	want := map[string]string{}
	for i, name := range names {
		data := name + string(rune('A'+i))
		want[name] = data
		require.NoError(t, create(t, c, name, write{0, data}).Close(), name)
	}
	text, err := c.ManifestText(bg, ManifestOptions{})
	require.NoError(t, err)
	for _, opts := range [][]CollectionOption{nil, {ReadOnly()}} {
		back, err := e.LoadCollection(text, opts...)
		require.NoError(t, err)
		got := map[string]string{}
		require.NoError(t, fs.WalkDir(back.FS(), ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			got[p] = contents(t, back, p)
			return nil
		}))
		assert.Equal(t, want, got, "manifest %q", text)
	}
}

func TestSmallFilesArePackedInTheOrderTheirBlocksWereCreated(t *testing.T) {
	type step struct {
		name, mode, data string
		sync             bool // Sync after writing: the file's block is stored alone
	}
	tests := []struct {
		name     string
		steps    []step
		manifest string
	}{
		{"a file rewritten after another keeps its place (the issue's example)",
			[]step{{"b1", "w", "1a", false}, {"b2", "w", "b2", false}, {"b1", "w", "1b", false}},
			". ed4f3f67c70b02b29c50ce1ea26666bd+4 0:2:b1 2:2:b2\n"},
		{"a file appended to after another keeps its place",
			[]step{{"a", "w", "aa", false}, {"b", "w", "bb", false}, {"c", "w", "cc", false}, {"b", "a", "BB", false}},
			". " + loc("aabbBBcc") + " 0:2:a 2:4:b 6:2:c\n"},
		{"files are packed in creation order, not name or close order",
			[]step{{"z", "w", "zz", false}, {"a", "w", "aa", false}, {"z", "r+", "Z", false}},
			". " + loc("Zzaa") + " 2:2:a 0:2:z\n"},
		{"a file whose block was stored gets a new block, packed after the others",
			[]step{{"b1", "w", "1a", true}, {"b2", "w", "b2", false}, {"b1", "w", "1b", false}},
			". " + loc("b21b") + " 2:2:b1 0:2:b2\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestEngine(t, newTestStore(), WithBlockSize(64)).NewCollection()
			for _, s := range tt.steps {
				f, err := c.OpenMode(s.name, s.mode)
				require.NoError(t, err)
				_, err = f.WriteString(s.data)
				require.NoError(t, err)
				if s.sync {
					require.NoError(t, f.Sync())
				}
				require.NoError(t, f.Close())
			}
			got, err := c.ManifestText(bg, ManifestOptions{})
			require.NoError(t, err)
			assert.Equal(t, tt.manifest, got)
		})
	}
}

func TestOneFilesManifestText(t *testing.T) {
	st := newTestStore()
	e := newTestEngine(t, st, WithBlockSize(64))
	c := e.NewCollection()
	f := create(t, c, "dir/a.txt", write{0, "hello"})
	defer f.Close()
	ctx := context.Background()
	tests := []struct {
		name   string
		stream string
		opts   ManifestOptions
		want   string
	}{
		{"bytes in a buffer block are named by their md5, as the SDK does", ".", ManifestOptions{},
			". " + loc("hello") + " 0:5:a.txt\n"},
		{"an empty stream name is the root stream", "", ManifestOptions{},
			". " + loc("hello") + " 0:5:a.txt\n"},
		{"the stream name is escaped", "./x y", ManifestOptions{Stripped: true},
			"./x\\040y " + loc("hello") + " 0:5:a.txt\n"},
		{"only committed bytes: none yet", "./dir", ManifestOptions{OnlyCommitted: true},
			"./dir " + keep.EmptyBlockLocator + " 0:0:a.txt\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := f.ManifestText(ctx, tt.stream, tt.opts)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
	assert.Empty(t, st.putCounts(), "nothing was stored")

	require.NoError(t, f.Sync())
	_, err := f.WriteAt([]byte("J"), 0)
	require.NoError(t, err)
	got, err := f.ManifestText(ctx, "./dir", ManifestOptions{})
	require.NoError(t, err)
	assert.Equal(t, "./dir "+loc("J")+" "+loc("hello")+" 0:1:a.txt 2:4:a.txt\n", got)
	got, err = f.ManifestText(ctx, "./dir", ManifestOptions{OnlyCommitted: true})
	require.NoError(t, err)
	assert.Equal(t, "./dir "+loc("hello")+" 1:4:a.txt\n", got, "the uncommitted first byte is left out")
	got, err = c.FileManifestText(ctx, "dir/a.txt", ".", ManifestOptions{Normalized: true})
	require.NoError(t, err)
	assert.Equal(t, ". "+loc("J")+" "+loc("hello")+" 0:1:a.txt 2:4:a.txt\n", got, "by path, through another handle")
}

func TestOneFilesManifestTextOfALoadedCollection(t *testing.T) {
	tests := []struct {
		name, file, stream string
		opts               ManifestOptions
		want               string
	}{
		{"signatures are kept", "a.txt", ".", ManifestOptions{}, ". " + signed(loc("hello")) + " 0:5:a.txt\n"},
		{"stripped drops them", "a.txt", ".", ManifestOptions{Stripped: true}, ". " + loc("hello") + " 0:5:a.txt\n"},
		{"a block listed twice in the stream is listed once", "sub/c2", "./sub", ManifestOptions{},
			"./sub " + signed(loc("xyz")) + " 0:3:c2\n"},
		{"only committed: everything is", "sub/c", "./elsewhere", ManifestOptions{OnlyCommitted: true},
			"./elsewhere " + signed(loc("xyz")) + " 0:3:c\n"},
	}
	for _, mode := range modes {
		for _, tt := range tests {
			t.Run(mode.name+"/"+tt.name, func(t *testing.T) {
				_, c := loadTestCollection(t, mode.opts...)
				got, err := c.FileManifestText(bg, tt.file, tt.stream, tt.opts)
				require.NoError(t, err)
				assert.Equal(t, tt.want, got)
			})
		}
	}
}

func TestOneFilesManifestTextErrors(t *testing.T) {
	_, c := loadTestCollection(t)
	tests := []struct {
		name   string
		op     func() error
		want   string
		target error
	}{
		{"a stream name not starting with ./", func() error {
			_, err := c.FileManifestText(bg, "a.txt", "sub", ManifestOptions{})
			return err
		}, `manifest a.txt: invalid argument: stream name "sub": want "." or a name starting with "./"`, fs.ErrInvalid},
		{"a stream name with ..", func() error {
			_, err := c.FileManifestText(bg, "a.txt", "./a/../b", ManifestOptions{})
			return err
		}, `manifest a.txt: invalid argument: stream name "./a/../b": path component "." or ".."`, fs.ErrInvalid},
		{"a missing file", func() error {
			_, err := c.FileManifestText(bg, "nope", ".", ManifestOptions{})
			return err
		}, "open nope: file does not exist", fs.ErrNotExist},
		{"a directory", func() error {
			_, err := c.FileManifestText(bg, "sub", ".", ManifestOptions{})
			return err
		}, "open sub: is a directory", syscall.EISDIR},
		{"a closed handle", func() error {
			f, err := c.Open("a.txt")
			require.NoError(t, err)
			require.NoError(t, f.Close())
			_, err = f.ManifestText(bg, ".", ManifestOptions{})
			return err
		}, "manifest a.txt: file already closed", fs.ErrClosed},
		{"a cancelled context", func() error {
			ctx, cancel := context.WithCancel(bg)
			cancel()
			f, err := c.Open("a.txt")
			require.NoError(t, err)
			defer f.Close()
			for {
				// The actor may answer before the cancellation is seen;
				// a cancelled wait is what this row checks.
				if _, err := f.ManifestText(ctx, ".", ManifestOptions{}); err != nil {
					return err
				}
			}
		}, "manifest a.txt: context canceled", context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.op()
			assert.EqualError(t, err, tt.want)
			assert.ErrorIs(t, err, tt.target)
		})
	}
}
