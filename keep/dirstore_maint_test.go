package keep

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDirStoreMaintenanceListsChecksAndRemovesBlocksAndTempFiles(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	d, err := NewDirStore(root)
	require.NoError(t, err)
	a, err := d.Put(ctx, []byte("alpha"), PutOptions{})
	require.NoError(t, err)
	b, err := d.Put(ctx, []byte("beta"), PutOptions{})
	require.NoError(t, err)
	// Things that are not blocks: a stray file at the root, a file in a
	// block directory that is not named by an md5 of that directory, and
	// two temporary files, one old.
	require.NoError(t, os.WriteFile(filepath.Join(root, "notes"), []byte("x"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(root, a[:3], "stray"), []byte("x"), 0o644))
	oldTemp := filepath.Join(root, a[:3], a[:32]+".tmp-1")
	newTemp := filepath.Join(root, b[:3], b[:32]+".tmp-2")
	require.NoError(t, os.WriteFile(oldTemp, []byte("al"), 0o600))
	require.NoError(t, os.WriteFile(newTemp, []byte("b"), 0o600))
	old := time.Now().Add(-2 * time.Hour)
	require.NoError(t, os.Chtimes(oldTemp, old, old))

	blocks, err := d.Blocks(ctx)
	require.NoError(t, err)
	var locators []string
	for _, bl := range blocks {
		locators = append(locators, bl.Locator)
	}
	want := []string{a, b}
	if b < a {
		want = []string{b, a}
	}
	assert.Equal(t, want, locators)

	temps, err := d.TempFiles(ctx, time.Now().Add(-time.Hour))
	require.NoError(t, err)
	require.Len(t, temps, 1)
	assert.Equal(t, oldTemp, temps[0].Path)
	assert.Equal(t, int64(2), temps[0].Size)

	tests := []struct {
		locator string
		want    bool
	}{
		{a, true},
		{a[:33] + "6", false}, // another size
		{"0123456789abcdef0123456789abcdef+5", false},
		{EmptyBlockLocator, true},
	}
	for _, tt := range tests {
		has, err := d.Has(ctx, tt.locator)
		require.NoError(t, err)
		assert.Equal(t, tt.want, has, tt.locator)
	}
	_, err = d.Has(ctx, "nope")
	assert.ErrorIs(t, err, ErrInvalidLocator)

	require.NoError(t, d.RemoveBlock(a))
	assert.ErrorIs(t, d.RemoveBlock(a), ErrNotFound)
	_, err = d.Get(ctx, a)
	assert.ErrorIs(t, err, ErrNotFound)

	assert.ErrorIs(t, d.RemoveTempFile(filepath.Join(root, "notes")), fs.ErrInvalid)
	assert.ErrorIs(t, d.RemoveTempFile(filepath.Join(root, a[:3], "stray")), fs.ErrInvalid)
	require.NoError(t, d.RemoveTempFile(oldTemp))
	_, err = os.Stat(oldTemp)
	assert.ErrorIs(t, err, fs.ErrNotExist)
	_, err = os.Stat(filepath.Join(root, "notes"))
	assert.NoError(t, err, "left alone")
}
