package arvfile

import (
	"context"
	"errors"
	"io/fs"
	"syscall"
	"testing"
	"time"

	"github.com/arvfile/arvfile/keep"
	"github.com/arvfile/arvfile/segments"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPortableManifestTextIsStrippedAndNormalized(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			_, c := loadTestCollection(t, mode.opts...)
			want := ". " + loc("hello") + " " + loc("world") + " 0:5:a.txt 5:5:b.txt\n./sub " + loc("xyz") + " 0:3:c 0:3:c2\n"
			got, err := c.PortableManifestText(bg)
			require.NoError(t, err)
			assert.Equal(t, want, got)
			pdh, err := c.PortableDataHash(bg)
			require.NoError(t, err)
			assert.Equal(t, segments.PortableDataHash(want), pdh)
		})
	}
}

func TestPortableHashesNameUnstoredBytesWithoutStoringThem(t *testing.T) {
	st := newTestStore()
	c := newTestEngine(t, st, WithBlockSize(1024)).NewCollection()
	a := create(t, c, "d/a", write{0, "hello"}, write{10, "!"}) // sparse: padding between
	b := create(t, c, "b", write{0, "0123456789"})
	text, err := c.PortableManifestText(bg)
	require.NoError(t, err)
	want := ". " + loc("0123456789") + " 0:10:b\n./d " + loc("hello!") + " " + keep.PaddingBlockLocator + " 0:5:a 6:5:a 5:1:a\n"
	assert.Equal(t, want, text)
	assert.Equal(t, 0, st.mem.TotalPuts(), "nothing stored")
	pdh, err := c.PortableDataHash(bg)
	require.NoError(t, err)
	assert.Equal(t, segments.PortableDataHash(want), pdh)

	require.NoError(t, a.Sync())
	require.NoError(t, b.Sync())
	stored, err := c.ManifestText(bg, ManifestOptions{Stripped: true})
	require.NoError(t, err)
	assert.Equal(t, want, stored, "what is stored is named as predicted")
	require.NoError(t, a.Close())
	require.NoError(t, b.Close())
}

func TestFilesAreEqualWhenTheirSegmentsAre(t *testing.T) {
	e := newTestEngine(t, storeWith(t, "hello", "world", "xyz"))
	loaded, err := e.LoadCollection(loadedManifest)
	require.NoError(t, err)
	ro, err := e.LoadCollection(". "+loc("hello")+" "+loc("world")+" 0:5:a.txt 5:5:b.txt 0:10:ab\n", ReadOnly())
	require.NoError(t, err)
	w := e.NewCollection()
	writing := create(t, w, "hello", write{0, "hello"})
	defer writing.Close()
	require.NoError(t, create(t, w, "x", write{0, "x"}).Close())

	open := func(c *Collection, name string) *File {
		f, err := c.Open(name)
		require.NoError(t, err)
		t.Cleanup(func() { _ = f.Close() })
		return f
	}
	tests := []struct {
		name string
		a, b *File
		want bool
	}{
		{"a file and itself", open(loaded, "a.txt"), open(loaded, "a.txt"), true},
		{"a signed and an unsigned locator", open(loaded, "a.txt"), open(ro, "a.txt"), true},
		{"different blocks", open(loaded, "a.txt"), open(ro, "b.txt"), false},
		{"a copy in another directory", open(loaded, "sub/c"), open(loaded, "sub/c2"), true},
		{"bytes still being written and the same bytes stored", writing, open(ro, "a.txt"), true},
		{"one segment against two", open(ro, "ab"), open(loaded, "a.txt"), false},
		{"different files being written", writing, open(w, "x"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.a.Equal(tt.b)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			got, err = tt.b.Equal(tt.a)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got, "symmetric")
		})
	}
	closed := open(ro, "a.txt")
	require.NoError(t, closed.Close())
	_, err = closed.Equal(writing)
	assert.EqualError(t, err, "equal a.txt: file already closed")
}

func TestPermissionExpiredLooksAtSignatures(t *testing.T) {
	_, c := loadTestCollection(t) // signatures expire at 0x65f0c5d2
	expiry := time.Unix(0x65f0c5d2, 0)
	tests := []struct {
		name string
		asOf time.Time
		want bool
	}{
		{"before the expiry", expiry.Add(-time.Second), false},
		{"at the expiry", expiry, true},
		{"after the expiry", expiry.Add(time.Hour), true},
	}
	for _, tt := range tests {
		got, err := c.PermissionExpired(bg, tt.asOf)
		require.NoError(t, err)
		assert.Equal(t, tt.want, got, tt.name)
	}
	unsigned, err := c.e.LoadCollection(". " + loc("hello") + " 0:5:a\n")
	require.NoError(t, err)
	got, err := unsigned.PermissionExpired(bg, expiry.Add(time.Hour))
	require.NoError(t, err)
	assert.False(t, got, "an unsigned locator never expires")
}

// remote is a locator of a block on another cluster.
func remote(locator string) string { return locator + "+Rzzzzz-" + "1234abcd" }

// refreshSigner signs the locators it refreshes.
type refreshSigner struct {
	*testStore
	refreshed []string
}

func (s *refreshSigner) RefreshSignature(ctx context.Context, locator string) (string, error) {
	l, err := s.testStore.RefreshSignature(ctx, locator)
	if err != nil {
		return "", err
	}
	s.refreshed = append(s.refreshed, locator)
	return signed(l), nil
}

func TestCopyRemoteBlocksReplacesRemoteLocatorsByLocalOnes(t *testing.T) {
	st := &refreshSigner{testStore: storeWith(t, "hello", "world")}
	e := newTestEngine(t, nil, WithStore(st))
	text := ". " + remote(loc("hello")) + " " + loc("world") + " 0:5:a 5:5:b\n./d " + remote(loc("hello")) + " 0:5:a\n"
	c, err := e.LoadCollection(text)
	require.NoError(t, err)
	f, err := c.Open("d/a") // one file has an actor, the other not
	require.NoError(t, err)
	defer f.Close()
	var log eventLog
	c.Subscribe(log.add)

	has, err := c.HasRemoteBlocks(bg)
	require.NoError(t, err)
	assert.True(t, has)
	require.NoError(t, c.CopyRemoteBlocks(bg))
	require.Eventually(t, func() bool { return len(log.get()) == 2 }, waitFor, tick, "%v", log.get())
	assert.ElementsMatch(t, []Event{{Kind: EventTok, Path: "a"}, {Kind: EventTok, Path: "d/a"}}, log.get())
	assert.Equal(t, []string{remote(loc("hello"))}, st.refreshed, "a shared block is refreshed once")
	has, err = c.HasRemoteBlocks(bg)
	require.NoError(t, err)
	assert.False(t, has)
	assert.Equal(t, ". "+signed(loc("hello"))+" "+loc("world")+" 0:5:a 5:5:b\n./d "+signed(loc("hello"))+" 0:5:a\n", manifest(t, c))
	assert.Equal(t, "hello", contents(t, c, "d/a"))
}

// plainStore hides every optional capability of its store.
type plainStore struct{ keep.Store }

func TestCopyRemoteBlocksNeedsARefresherAndAWritableCollection(t *testing.T) {
	text := ". " + remote(loc("hello")) + " 0:5:a\n"
	e := newTestEngine(t, nil, WithStore(plainStore{storeWith(t, "hello")}))
	c, err := e.LoadCollection(text)
	require.NoError(t, err)
	err = c.CopyRemoteBlocks(bg)
	assert.ErrorIs(t, err, ErrNoRefresher)
	assert.ErrorIs(t, err, errors.ErrUnsupported)
	assert.EqualError(t, err, "arvfile: the store cannot copy remote blocks (no keep.Refresher): unsupported operation")

	_, ro := loadTestCollection(t, ReadOnly())
	err = ro.CopyRemoteBlocks(bg)
	assert.EqualError(t, err, "copyremote .: read-only file system")
	assert.ErrorIs(t, err, syscall.EROFS)
	assert.ErrorIs(t, err, fs.ErrPermission)

	e = newTestEngine(t, storeWith(t))
	c, err = e.LoadCollection(text)
	require.NoError(t, err)
	err = c.CopyRemoteBlocks(bg)
	assert.ErrorIs(t, err, keep.ErrNotFound)
	assert.Equal(t, text, manifest(t, c), "nothing replaced")
}
