package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arvfile/arvfile/internal/testserver"
	"github.com/arvfile/arvfile/keep"
)

// signature matches a permission hint.
var signature = regexp.MustCompile(`\+A[0-9a-f]{40}@[0-9a-f]{8}`)

// put → get through three real keepstores (started here), with the store
// chosen from the environment the Arvados tools use: put prints the signed
// locator of the manifest block, which get, ls, cat and manifest take, and
// every block sits on the first two servers in rendezvous order.
func TestPutAndGetThroughKeepstores(t *testing.T) {
	files := map[string]string{"a.txt": "alpha\n", "dir/b.bin": strings.Repeat("bravo ", 1000), "dir/sub/c": ""}
	src := t.TempDir()
	writeTree(t, src, files)
	for _, fromEnv := range []bool{true, false} {
		ks := testserver.StartKeepstoresTB(t, testserver.KeepstoreOptions{N: 3})
		servicesFile := filepath.Join(t.TempDir(), "keep_services.json")
		require.NoError(t, os.WriteFile(servicesFile, ks.ServicesJSON(), 0o644))
		tc := struct {
			name, store, services string
			uuids                 []string
		}{"a keep_services list", "keep:" + servicesFile, "", ks.UUIDs}
		if fromEnv {
			// Services from ARVADOS_KEEP_SERVICES are named by their
			// position, as keep.NewClientFromEnv names them.
			tc.name, tc.store, tc.services = "ARVADOS_KEEP_SERVICES", "keep:", strings.Join(ks.URLs, " ")
			tc.uuids = make([]string, len(ks.URLs))
			for i := range tc.uuids {
				tc.uuids[i] = fmt.Sprintf("00000-bi6l4-%015d", i)
			}
		}
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.keepDir = ""
			h.env = []string{"ARVFILE_STORE=" + tc.store, "ARVADOS_KEEP_SERVICES=" + tc.services,
				"ARVADOS_API_TOKEN=" + testserver.RootToken, "XDG_DATA_HOME=" + t.TempDir()}

			ref := h.put("--no-progress", src)
			loc, err := keep.ParseLocator(strings.SplitN(ref, "/", 2)[0])
			require.NoError(t, err, ref)
			assert.NotEmpty(t, loc.Signature(), "put prints a signed locator: %s", ref)

			packed := locatorOf("alpha\n" + strings.Repeat("bravo ", 1000))
			text := ". " + packed + " 0:6:a.txt\n./dir " + packed + " 6:6000:b.bin\n./dir/sub d41d8cd98f00b204e9800998ecf8427e+0 0:0:c\n"
			stdout, stderr, code := h.run("manifest", ref)
			require.Equal(t, 0, code, stderr)
			assert.Equal(t, text, signature.ReplaceAllString(stdout, ""), "the stored manifest is signed")
			assert.Equal(t, 2, strings.Count(stdout, "+A"), stdout)
			stdout, _, code = h.run("ls", ref+"/dir")
			assert.Equal(t, 0, code)
			assert.Equal(t, "b.bin\nsub/\n", stdout)
			stdout, _, code = h.run("cat", ref+"/a.txt")
			assert.Equal(t, 0, code)
			assert.Equal(t, "alpha\n", stdout)
			dest := filepath.Join(t.TempDir(), "out")
			_, stderr, code = h.run("get", "--no-progress", ref, dest)
			require.Equal(t, 0, code, stderr)
			assert.Equal(t, files, readTree(t, dest))

			// The bare PDH finds the collection through the list put kept.
			stdout, stderr, code = h.run("cat", pdhOf(text)+"/a.txt")
			assert.Equal(t, 0, code, stderr)
			assert.Equal(t, "alpha\n", stdout)

			order := keep.RendezvousOrder(packed[:32], tc.uuids)
			for i := range ks.URLs {
				index, err := ks.Index(context.Background(), i)
				require.NoError(t, err)
				held := false
				for _, l := range index {
					held = held || l == packed
				}
				assert.Equal(t, i == order[0] || i == order[1], held, "server %d (rendezvous order %v)", i, order)
			}
		})
	}
}
