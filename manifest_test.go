package arvfile

import (
	"context"
	"testing"

	"github.com/arvfile/arvfile/keep"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// signingStore signs every locator it returns, as a Keep server does.
type signingStore struct{ *testStore }

const sig = "+A0123456789abcdef0123456789abcdef01234567@65f1a2b3"

func (s signingStore) Put(ctx context.Context, data []byte, opts keep.PutOptions) (string, error) {
	l, err := s.testStore.Put(ctx, data, opts)
	if err != nil {
		return "", err
	}
	return l + sig, nil
}

func TestManifestText(t *testing.T) {
	tests := []struct {
		name  string
		build func(t *testing.T, c *Collection)
		want  string
	}{
		{"of an empty collection", func(*testing.T, *Collection) {}, ""},
		{"of an empty file", func(t *testing.T, c *Collection) {
			require.NoError(t, create(t, c, "empty").Close())
		}, ". d41d8cd98f00b204e9800998ecf8427e+0 0:0:empty\n"},
		{"of files in directories with names to escape", func(t *testing.T, c *Collection) {
			require.NoError(t, create(t, c, "a b/c:d", write{0, "0123456789abcdefXYZ"}).Close())
			require.NoError(t, create(t, c, "top", write{0, "top"}).Close())
		}, ". " + loc("top") + " 0:3:top\n" +
			"./a\\040b " + loc("0123456789abcdef") + " " + loc("XYZ") + " 0:19:c\\072d\n"},
		{"of sparse writes in reverse order", func(t *testing.T, c *Collection) {
			require.NoError(t, create(t, c, "f", write{16, "cccc"}, write{8, "bbbb"}, write{0, "aaaa"}).Close())
		}, ". " + loc("aaaabbbbcccc") + " " + pad + " 0:4:f 16:4:f 4:4:f 24:4:f 8:4:f\n"},
		{"of small files packed into one block", func(t *testing.T, c *Collection) {
			require.NoError(t, create(t, c, "x/a", write{0, "aaa"}).Close())
			require.NoError(t, create(t, c, "b", write{0, "bbbbb"}).Close())
			require.NoError(t, create(t, c, "x/c", write{0, "cc"}).Close())
		}, ". " + loc("aaabbbbbcc") + " 3:5:b\n./x " + loc("aaabbbbbcc") + " 0:3:a 8:2:c\n"},
		{"of an overwritten committed file", func(t *testing.T, c *Collection) {
			f := create(t, c, "f", write{0, "0123456789abcdef"})
			require.NoError(t, f.Sync())
			_, err := f.WriteAt([]byte("XY"), 4)
			require.NoError(t, err)
			require.NoError(t, f.Close())
		}, ". " + loc("0123456789abcdef") + " " + loc("XY") + " 0:4:f 16:2:f 6:10:f\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestEngine(t, newTestStore(), WithBlockSize(16)).NewCollection()
			tt.build(t, c)
			text, err := c.ManifestText(bg, ManifestOptions{})
			require.NoError(t, err)
			assert.Equal(t, tt.want, text)
			text, err = c.ManifestText(bg, ManifestOptions{Normalized: true, Stripped: true})
			require.NoError(t, err)
			assert.Equal(t, tt.want, text, "unsigned locators: stripped is the same")
		})
	}
}

func TestManifestTextKeepsOrStripsSignatures(t *testing.T) {
	st := signingStore{newTestStore()}
	e, err := New(WithStore(st), WithBlockSize(16))
	require.NoError(t, err)
	defer e.Close()
	c := e.NewCollection()
	require.NoError(t, create(t, c, "f", write{0, "hello"}).Close())
	text, err := c.ManifestText(bg, ManifestOptions{})
	require.NoError(t, err)
	assert.Equal(t, ". "+loc("hello")+sig+" 0:5:f\n", text)
	text, err = c.ManifestText(bg, ManifestOptions{Stripped: true})
	require.NoError(t, err)
	assert.Equal(t, ". "+loc("hello")+" 0:5:f\n", text)
	assert.Equal(t, "hello", contents(t, c, "f"), "signed locators are read back")
}

func TestManifestTextOnlyCommittedLeavesOutBufferedBytesAndCommitsNothing(t *testing.T) {
	st := newTestStore()
	c := newTestEngine(t, st, WithBlockSize(16)).NewCollection()
	f := create(t, c, "f", write{0, "aaaa"})
	require.NoError(t, f.Sync())
	_, err := f.WriteAt([]byte("bbbb"), 4)
	require.NoError(t, err)
	g := create(t, c, "g", write{0, "gggg"})
	text, err := c.ManifestText(bg, ManifestOptions{OnlyCommitted: true})
	require.NoError(t, err)
	assert.Equal(t, ". "+loc("aaaa")+" 0:4:f 0:0:g\n", text)
	assert.Equal(t, map[string]int{loc("aaaa"): 1}, st.putCounts())
	require.NoError(t, f.Close())
	require.NoError(t, g.Close())
	text, err = c.ManifestText(bg, ManifestOptions{})
	require.NoError(t, err)
	assert.Equal(t, ". "+loc("aaaa")+" "+loc("bbbbgggg")+" 0:8:f 8:4:g\n", text)
}

func TestManifestTextFailsAsCommitDoes(t *testing.T) {
	st := newTestStore()
	st.setFailPut(func(string) error { return errStoreDown })
	c := newTestEngine(t, st, WithBlockSize(16)).NewCollection()
	f := create(t, c, "f", write{0, "data"})
	_, err := c.ManifestText(bg, ManifestOptions{})
	var kwe *KeepWriteError
	require.ErrorAs(t, err, &kwe)
	assert.Equal(t, loc("data"), kwe.Failed[0].Locator)
	st.setFailPut(nil)
	text, err := c.ManifestText(bg, ManifestOptions{})
	require.NoError(t, err)
	assert.Equal(t, ". "+loc("data")+" 0:4:f\n", text)
	require.NoError(t, f.Close())
}

func TestCommitHonoursItsContext(t *testing.T) {
	st := newTestStore()
	st.SetLatency(waitFor)
	c := newTestEngine(t, st, WithBlockSize(16)).NewCollection()
	f := create(t, c, "f", write{0, "data"})
	ctx, cancel := context.WithCancel(bg)
	cancel()
	assert.ErrorIs(t, c.Commit(ctx), context.Canceled)
	_, err := c.ManifestText(ctx, ManifestOptions{})
	assert.ErrorIs(t, err, context.Canceled)
	_ = f
}
