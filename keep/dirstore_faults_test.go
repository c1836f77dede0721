//go:build unix

package keep

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Issue 11 item 13: opening a DirStore removes the temporary files a killed
// process left behind, and only those.
func TestDirStoreSweepsStaleTempFilesWhenOpened(t *testing.T) {
	root := t.TempDir()
	d, err := NewDirStore(root)
	require.NoError(t, err)
	_, err = d.Put(context.Background(), []byte("hello"), PutOptions{})
	require.NoError(t, err)
	const hash = "5d41402abc4b2a76b9719d911017c592"
	old := time.Now().Add(-StaleTempAge - time.Minute)
	files := []struct {
		path  string
		old   bool
		swept bool
	}{
		{"5d4/" + hash + ".tmp-123456", true, true},
		{"abc/abcdef0123456789abcdef0123456789.tmp-x", true, true},
		{"5d4/" + hash + ".tmp-young", false, false}, // a Put of another process may still run
		{"5d4/" + hash + ".tmp-", true, false},       // not a name a Put makes
		{"5d4/notahash.tmp-1", true, false},
		{"5d4/" + hash + ".old", true, false},
		{"xyz/" + hash + ".tmp-1", true, false}, // not a block directory
		{hash + ".tmp-1", true, false},          // not in a block directory
	}
	for _, f := range files {
		p := filepath.Join(root, f.path)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte("partial"), 0o600))
		if f.old {
			require.NoError(t, os.Chtimes(p, old, old))
		}
	}
	require.NoError(t, os.Chtimes(filepath.Join(root, "5d4", hash), old, old))

	// The store was swept when first opened: a second open within
	// StaleTempAge does not list the directories again.
	_, err = NewDirStore(root)
	require.NoError(t, err)
	for _, f := range files {
		_, err := os.Lstat(filepath.Join(root, f.path))
		assert.NoError(t, err, "not swept again so soon: %s", f.path)
	}
	// Once the last sweep is StaleTempAge old, opening sweeps again.
	require.NoError(t, os.Chtimes(filepath.Join(root, sweptMarker), old, old))
	_, err = NewDirStore(root)
	require.NoError(t, err)
	for _, f := range files {
		_, err := os.Lstat(filepath.Join(root, f.path))
		assert.Equal(t, f.swept, os.IsNotExist(err), f.path)
	}
	data, err := d.Get(context.Background(), "5d41402abc4b2a76b9719d911017c592+5")
	require.NoError(t, err, "an old block is not a temporary file")
	assert.Equal(t, "hello", string(data))
}

// Issue 11 item 13: block files and directories honour the umask, so the
// directory's other users can read them when it lets them.
func TestDirStoreHonoursTheUmask(t *testing.T) {
	tests := []struct {
		umask    int
		file     os.FileMode
		dir      os.FileMode
		rootMode os.FileMode
	}{
		{0o022, 0o644, 0o755, 0o755},
		{0o027, 0o640, 0o750, 0o750},
		{0o002, 0o664, 0o775, 0o775},
		{0o077, 0o600, 0o700, 0o700},
	}
	for _, tt := range tests {
		t.Run(os.FileMode(tt.umask).String(), func(t *testing.T) {
			old := syscall.Umask(tt.umask)
			defer syscall.Umask(old)
			root := filepath.Join(t.TempDir(), "store")
			d, err := NewDirStore(root)
			require.NoError(t, err)
			_, err = d.Put(context.Background(), []byte("hello"), PutOptions{})
			require.NoError(t, err)
			for path, want := range map[string]os.FileMode{
				root:                       tt.rootMode | os.ModeDir,
				filepath.Join(root, "5d4"): tt.dir | os.ModeDir,
				filepath.Join(root, "5d4", "5d41402abc4b2a76b9719d911017c592"): tt.file,
			} {
				info, err := os.Stat(path)
				require.NoError(t, err)
				assert.Equal(t, want, info.Mode(), path)
			}
		})
	}
}
