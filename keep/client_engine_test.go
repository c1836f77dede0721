package keep_test

import (
	"context"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arvfile/arvfile"
	"github.com/arvfile/arvfile/keep"
)

func TestEngineWritesThroughClientAndReadsBackInAFreshEngine(t *testing.T) {
	ks, services := startKeepstores(t, 3)
	ctx := context.Background()
	const writers = 64
	content := func(n int) []byte { return testBlock(5000+n, 1000+n*20011) }

	e, err := arvfile.New(arvfile.WithStore(newClient(t, services)), arvfile.WithBlockSize(1<<20), arvfile.WithPutWorkers(4))
	require.NoError(t, err)
	c := e.NewCollection()
	var wg sync.WaitGroup
	for n := 0; n < writers; n++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f, err := c.Create(fmt.Sprintf("dir%d/file%02d", n%4, n))
			if !assert.NoError(t, err) {
				return
			}
			data := content(n)
			// Two writes, so that writers interleave within a file's blocks.
			_, err = f.Write(data[:len(data)/3])
			assert.NoError(t, err)
			_, err = f.Write(data[len(data)/3:])
			assert.NoError(t, err)
			assert.NoError(t, f.Close())
		}()
	}
	wg.Wait()
	for n := 0; n < writers; n++ {
		got, err := fs.ReadFile(c.FS(), fmt.Sprintf("dir%d/file%02d", n%4, n))
		require.NoError(t, err)
		assert.Equal(t, content(n), got, "file %d", n)
	}
	text, err := c.ManifestText(ctx, arvfile.ManifestOptions{})
	require.NoError(t, err)
	require.NoError(t, e.Close())

	// Every locator in the manifest is signed and stored on exactly the
	// first two servers in rendezvous order.
	sets := indexes(t, ks)
	blocks := 0
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		for _, tok := range strings.Fields(line)[1:] {
			l, err := keep.ParseLocator(tok)
			if err != nil {
				continue // a file token
			}
			blocks++
			assert.NotEmpty(t, l.Signature(), tok)
			assert.Equal(t, sorted(probeOrder(l.Hash(), ks.UUIDs)[:2]), holders(sets, l.Stripped()), tok)
		}
	}
	assert.Greater(t, blocks, 20)

	fresh, err := arvfile.New(arvfile.WithStore(newClient(t, services)))
	require.NoError(t, err)
	defer fresh.Close()
	loaded, err := fresh.LoadCollection(text, arvfile.ReadOnly())
	require.NoError(t, err)
	for n := 0; n < writers; n++ {
		got, err := fs.ReadFile(loaded.FS(), fmt.Sprintf("dir%d/file%02d", n%4, n))
		require.NoError(t, err)
		assert.Equal(t, content(n), got, "file %d in the reloaded collection", n)
	}
	again, err := loaded.ManifestText(ctx, arvfile.ManifestOptions{})
	require.NoError(t, err)
	assert.Equal(t, text, again)
}
