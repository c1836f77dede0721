package keep_test

import (
	"context"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/arvfile/arvfile/internal/testserver"
	"github.com/arvfile/arvfile/keep"
)

// userToken is the token the tests' clients send; the keepstores accept any
// token and sign for it.
const userToken = "v2/zzzzz-gj3su-000000000000000/usertoken0123456789abcdefghijklmnopq"

// startKeepstores starts n real keepstores for t and returns them with their
// service list as keep_services/accessible gives it.
func startKeepstores(t *testing.T, n int) (*testserver.Keepstores, []keep.Service) {
	t.Helper()
	ks := testserver.StartKeepstoresTB(t, testserver.KeepstoreOptions{N: n})
	services, err := keep.ParseServiceList(ks.ServicesJSON())
	require.NoError(t, err)
	return ks, services
}

// newClient returns a Client closed at t's cleanup.
func newClient(t *testing.T, services []keep.Service, opts ...keep.ClientOption) *keep.Client {
	t.Helper()
	c, err := keep.NewClient(services, userToken, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// testBlock returns size bytes that differ for every (seed, size).
func testBlock(seed, size int) []byte {
	b := make([]byte, size)
	var word [8]byte
	for i := 0; i < size; i += 8 {
		binary.LittleEndian.PutUint64(word[:], uint64(seed)*0x9e3779b97f4a7c15^uint64(i)*0xbf58476d1ce4e5b9)
		copy(b[i:], word[:])
	}
	return b
}

// stripped returns `md5+size` of data.
func stripped(data []byte) string {
	sum := md5.Sum(data)
	return fmt.Sprintf("%s+%d", hex.EncodeToString(sum[:]), len(data))
}

// probeOrder computes, apart from keep.RendezvousOrder, the order in which
// the Arvados clients probe services for a block: descending
// md5hex(hash + last 15 characters of the UUID).
func probeOrder(hash string, uuids []string) []int {
	type weighted struct {
		i int
		w string
	}
	ws := make([]weighted, len(uuids))
	for i, u := range uuids {
		sum := md5.Sum([]byte(hash + u[len(u)-15:]))
		ws[i] = weighted{i, hex.EncodeToString(sum[:])}
	}
	sort.Slice(ws, func(a, b int) bool { return ws[a].w > ws[b].w })
	order := make([]int, len(ws))
	for i, w := range ws {
		order[i] = w.i
	}
	return order
}

// indexes returns, per server, the set of `md5+size` it holds.
func indexes(t *testing.T, ks *testserver.Keepstores) []map[string]bool {
	t.Helper()
	sets := make([]map[string]bool, len(ks.URLs))
	for i := range ks.URLs {
		blocks, err := ks.Index(context.Background(), i)
		require.NoError(t, err)
		sets[i] = make(map[string]bool)
		for _, b := range blocks {
			sets[i][b] = true
		}
	}
	return sets
}

// holders returns the servers whose set holds block, in server order.
func holders(sets []map[string]bool, block string) []int {
	var on []int
	for i, s := range sets {
		if s[block] {
			on = append(on, i)
		}
	}
	return on
}

// sorted returns a sorted copy of ints.
func sorted(ints []int) []int {
	out := append([]int(nil), ints...)
	sort.Ints(out)
	return out
}
