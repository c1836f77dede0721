package arvfile

import (
	"context"
	"io/fs"
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
