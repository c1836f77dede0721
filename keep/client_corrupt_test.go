package keep_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arvfile/arvfile/keep"
)

// corruptingProxy is a loopback proxy in front of one keepstore that damages
// the body of every successful GET.
type corruptingProxy struct {
	*httptest.Server
	gets atomic.Int32
}

// damage is one way a proxy mangles a block.
type damage struct {
	name string
	// body returns the body to send and the Content-Length to announce (-1:
	// none, chunked) given the good block.
	body func(good []byte) ([]byte, int)
	// cut sends the announced length but closes the connection early.
	cut bool
}

var damages = []damage{
	{name: "one byte flipped", body: func(g []byte) ([]byte, int) {
		b := bytes.Clone(g)
		b[len(b)/2] ^= 0x40
		return b, len(b)
	}},
	{name: "one byte short", body: func(g []byte) ([]byte, int) { return g[:len(g)-1], len(g) - 1 }},
	{name: "one byte too many", body: func(g []byte) ([]byte, int) { return append(bytes.Clone(g), 'x'), len(g) + 1 }},
	{name: "short without a length", body: func(g []byte) ([]byte, int) { return g[:len(g)-10], -1 }},
	{name: "long without a length", body: func(g []byte) ([]byte, int) { return append(bytes.Clone(g), 'x'), -1 }},
}

// newCorruptingProxy proxies to target, damaging GET answers as d says.
func newCorruptingProxy(t *testing.T, target string, d damage) *corruptingProxy {
	t.Helper()
	u, err := url.Parse(target)
	require.NoError(t, err)
	p := &corruptingProxy{}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = func(resp *http.Response) error {
		if resp.Request.Method != http.MethodGet || resp.StatusCode != http.StatusOK {
			return nil
		}
		p.gets.Add(1)
		good, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		resp.Body.Close()
		bad, n := d.body(good)
		resp.Body = io.NopCloser(bytes.NewReader(bad))
		resp.ContentLength = int64(n)
		resp.Header.Del("Content-Length")
		if n >= 0 {
			resp.Header.Set("Content-Length", strconv.Itoa(n))
		}
		return nil
	}
	p.Server = httptest.NewServer(rp)
	t.Cleanup(p.Close)
	return p
}

func TestClientSkipsAServerThatReturnsOtherBytes(t *testing.T) {
	ks, services := startKeepstores(t, 3)
	writer := newClient(t, services)
	ctx := context.Background()

	// A block whose first server in rendezvous order is server 0, stored on
	// servers 0 and its second.
	var data []byte
	for seed := 100; ; seed++ {
		data = testBlock(seed, 10000)
		if probeOrder(stripped(data)[:32], ks.UUIDs)[0] == 0 {
			break
		}
	}
	locator, err := writer.Put(ctx, data, keep.PutOptions{})
	require.NoError(t, err)

	for _, d := range damages {
		t.Run(d.name, func(t *testing.T) {
			proxy := newCorruptingProxy(t, ks.URLs[0], d)
			behind := append([]keep.Service(nil), services...)
			behind[0].URL = proxy.URL
			c := newClient(t, behind)
			got, err := c.Get(ctx, locator)
			require.NoError(t, err)
			assert.Equal(t, data, got)
			assert.Equal(t, int32(1), proxy.gets.Load(), "the damaged copy was asked first")
		})
		t.Run(d.name+" on every server", func(t *testing.T) {
			every := append([]keep.Service(nil), services...)
			for i := range every {
				every[i].URL = newCorruptingProxy(t, ks.URLs[i], d).URL
			}
			c := newClient(t, every)
			_, err := c.Get(ctx, locator)
			require.Error(t, err)
			assert.ErrorIs(t, err, keep.ErrCorrupt)
			assert.False(t, keep.IsTemporary(err))
			var ge *keep.GetError
			require.ErrorAs(t, err, &ge)
			// The two copies are damaged, the third server has none.
			require.Len(t, ge.Failures, 3)
			var statuses []int
			for _, f := range ge.Failures {
				statuses = append(statuses, f.Status)
			}
			assert.ElementsMatch(t, []int{200, 200, 404}, statuses)
		})
	}

	t.Run("a transfer cut short is temporary and fails over", func(t *testing.T) {
		cut := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(len(data)))
			w.WriteHeader(http.StatusOK)
			w.Write(data[:len(data)/2])
			// Returning with fewer bytes than announced breaks the
			// connection.
		}))
		t.Cleanup(cut.Close)
		behind := append([]keep.Service(nil), services...)
		behind[0].URL = cut.URL
		c := newClient(t, behind)
		got, err := c.Get(ctx, locator)
		require.NoError(t, err)
		assert.Equal(t, data, got)

		behind[1].URL, behind[2].URL = cut.URL, cut.URL
		c = newClient(t, behind)
		_, err = c.Get(ctx, locator)
		assert.True(t, keep.IsTemporary(err), "%v", err)
		assert.NotErrorIs(t, err, keep.ErrCorrupt)
	})
}
