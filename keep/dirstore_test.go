package keep

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// filesUnder lists every regular file under root, relative and sorted,
// but for the sweep marker (which TestDirStoreSweepsStaleTempFilesWhenOpened
// checks).
func filesUnder(t *testing.T, root string) []string {
	t.Helper()
	files := []string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path == filepath.Join(root, sweptMarker) {
			return err
		}
		rel, err := filepath.Rel(root, path)
		files = append(files, rel)
		return err
	})
	require.NoError(t, err)
	sort.Strings(files)
	return files
}

func TestDirStoreLaysBlocksOutByHashPrefix(t *testing.T) {
	root := t.TempDir()
	d, err := NewDirStore(root)
	require.NoError(t, err)
	ctx := context.Background()
	for _, data := range []string{"hello", "foo", ""} {
		_, err := d.Put(ctx, []byte(data), PutOptions{})
		require.NoError(t, err)
	}
	assert.Equal(t, []string{
		"5d4/5d41402abc4b2a76b9719d911017c592",
		"acb/acbd18db4cc2f85cedef654fccc4a4d8",
	}, filesUnder(t, root), "no temporary file is left and the empty block is not written")
	content, err := os.ReadFile(filepath.Join(root, "5d4", "5d41402abc4b2a76b9719d911017c592"))
	require.NoError(t, err)
	assert.Equal(t, []byte("hello"), content)
	assert.Equal(t, root, d.Root())
}

func TestDirStoreBlocksSurviveReopening(t *testing.T) {
	root := t.TempDir()
	d, err := NewDirStore(root)
	require.NoError(t, err)
	_, err = d.Put(context.Background(), []byte("hello"), PutOptions{})
	require.NoError(t, err)

	reopened, err := NewDirStore(root)
	require.NoError(t, err)
	data, err := reopened.Get(context.Background(), helloLocator)
	require.NoError(t, err)
	assert.Equal(t, []byte("hello"), data)
}

func TestDirStoreCatchesCorruption(t *testing.T) {
	cases := []struct {
		name    string
		content string
		wantErr string
	}{
		{"a flipped byte", "jello", "keep: block corrupt: 5d41402abc4b2a76b9719d911017c592+5: content has md5 7aa6991a62353dd2761280cf592542dc"},
		{"a truncated file", "hel", "keep: block corrupt: 5d41402abc4b2a76b9719d911017c592+5: got 3 bytes"},
		{"a file grown longer", "hello, world", "keep: block corrupt: 5d41402abc4b2a76b9719d911017c592+5: got 6 bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			d, err := NewDirStore(root)
			require.NoError(t, err)
			_, err = d.Put(context.Background(), []byte("hello"), PutOptions{})
			require.NoError(t, err)
			path := filepath.Join(root, "5d4", "5d41402abc4b2a76b9719d911017c592")
			require.NoError(t, os.WriteFile(path, []byte(tc.content), 0o600))

			data, err := d.Get(context.Background(), helloLocator)
			assert.Nil(t, data)
			assert.ErrorIs(t, err, ErrCorrupt)
			assert.EqualError(t, err, tc.wantErr)
		})
	}
}

func TestDirStoreLeavesNoBlockWhenAPutFailsBeforeRename(t *testing.T) {
	root := t.TempDir()
	d, err := NewDirStore(root)
	require.NoError(t, err)
	var tmpSeen string
	d.beforeRename = func(tmpPath string) error {
		tmpSeen = tmpPath
		return errors.New("injected: disk full")
	}
	ctx := context.Background()

	locator, err := d.Put(ctx, []byte("hello"), PutOptions{})
	assert.Equal(t, "", locator)
	assert.EqualError(t, err, "keep: put 5d41402abc4b2a76b9719d911017c592+5: injected: disk full")
	assert.Equal(t, filepath.Join(root, "5d4"), filepath.Dir(tmpSeen), "the temporary file is written beside the block")
	_, err = d.Get(ctx, helloLocator)
	assert.ErrorIs(t, err, ErrNotFound)
	assert.Equal(t, []string{}, filesUnder(t, root), "the temporary file is removed")

	d.beforeRename = nil
	locator, err = d.Put(ctx, []byte("hello"), PutOptions{})
	require.NoError(t, err)
	assert.Equal(t, helloLocator, locator)
	data, err := d.Get(ctx, locator)
	require.NoError(t, err)
	assert.Equal(t, []byte("hello"), data)
}

func TestDirStorePutOfAStoredBlockWritesNothing(t *testing.T) {
	d, err := NewDirStore(t.TempDir())
	require.NoError(t, err)
	ctx := context.Background()
	_, err = d.Put(ctx, []byte("hello"), PutOptions{})
	require.NoError(t, err)
	d.beforeRename = func(string) error { return errors.New("must not write") }

	locator, err := d.Put(ctx, []byte("hello"), PutOptions{})
	require.NoError(t, err)
	assert.Equal(t, helloLocator, locator)
}

func TestDirStorePutRepairsADamagedBlock(t *testing.T) {
	for _, damaged := range []string{"jello", "hel", "hello, world"} {
		t.Run(damaged, func(t *testing.T) {
			root := t.TempDir()
			d, err := NewDirStore(root)
			require.NoError(t, err)
			ctx := context.Background()
			_, err = d.Put(ctx, []byte("hello"), PutOptions{})
			require.NoError(t, err)
			path := filepath.Join(root, "5d4", "5d41402abc4b2a76b9719d911017c592")
			require.NoError(t, os.WriteFile(path, []byte(damaged), 0o600))

			locator, err := d.Put(ctx, []byte("hello"), PutOptions{})
			require.NoError(t, err)
			assert.Equal(t, helloLocator, locator)
			data, err := d.Get(ctx, locator)
			require.NoError(t, err)
			assert.Equal(t, []byte("hello"), data)
		})
	}
}

func TestDirStoreReturnsFilesystemErrors(t *testing.T) {
	root := t.TempDir()
	d, err := NewDirStore(root)
	require.NoError(t, err)
	// A regular file where the block's directory should be.
	require.NoError(t, os.WriteFile(filepath.Join(root, "5d4"), nil, 0o600))

	_, err = d.Put(context.Background(), []byte("hello"), PutOptions{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "keep: put 5d41402abc4b2a76b9719d911017c592+5: ")
	assert.ErrorIs(t, err, syscall.ENOTDIR)
	_, err = d.Get(context.Background(), helloLocator)
	assert.ErrorIs(t, err, syscall.ENOTDIR)
	assert.EqualError(t, err, "keep: get 5d41402abc4b2a76b9719d911017c592+5: open "+
		filepath.Join(root, "5d4", "5d41402abc4b2a76b9719d911017c592")+": not a directory")
}

func TestDirStoreReturnsPermissionErrors(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root ignores directory permissions")
	}
	root := t.TempDir()
	d, err := NewDirStore(root)
	require.NoError(t, err)
	require.NoError(t, os.Chmod(root, 0o500))
	t.Cleanup(func() { os.Chmod(root, 0o700) })

	_, err = d.Put(context.Background(), []byte("hello"), PutOptions{})
	assert.ErrorIs(t, err, fs.ErrPermission)
	_, err = d.Get(context.Background(), helloLocator)
	assert.ErrorIs(t, err, ErrNotFound)
}

func TestNewDirStoreRefusesAFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(path, nil, 0o600))
	_, err := NewDirStore(path)
	assert.Error(t, err)
	assert.Contains(t, err.Error(), "keep: dir store: ")
}

func TestDirStoreConcurrentPutsOfOneBlock(t *testing.T) {
	root := t.TempDir()
	d, err := NewDirStore(root)
	require.NoError(t, err)
	block := bytes.Repeat([]byte("arvfile "), 1<<17) // 1 MiB
	want := BlockLocatorOf(block)
	var wg sync.WaitGroup
	locators := make([]string, 16)
	errs := make([]error, 16)
	for i := range locators {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			locators[i], errs[i] = d.Put(context.Background(), block, PutOptions{})
		}(i)
	}
	wg.Wait()
	for i := range locators {
		assert.NoError(t, errs[i])
		assert.Equal(t, want, locators[i])
	}
	assert.Equal(t, []string{want[:3] + "/" + want[:32]}, filesUnder(t, root))
	data, err := d.Get(context.Background(), want)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(block, data))
}

func TestDirStoreHonoursACancelledContext(t *testing.T) {
	d, err := NewDirStore(t.TempDir())
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = d.Put(ctx, []byte("hello"), PutOptions{})
	assert.ErrorIs(t, err, context.Canceled)
	_, err = d.Get(ctx, helloLocator)
	assert.ErrorIs(t, err, context.Canceled)
}
