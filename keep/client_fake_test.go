package keep_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arvfile/arvfile/keep"
)

// fakeProxy is a loopback keepproxy: a PUT is stored on every keepstore
// behind it and answered with the count; a GET is read from the first.
type fakeProxy struct {
	*httptest.Server
	puts    atomic.Int32
	desired atomic.Value // the last X-Keep-Desired-Replicas
}

func newFakeProxy(t *testing.T, backends []string) *fakeProxy {
	t.Helper()
	p := &fakeProxy{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if r.Method == http.MethodPut {
			p.puts.Add(1)
			p.desired.Store(r.Header.Get("X-Keep-Desired-Replicas"))
		}
		var answer []byte
		stored := 0
		for _, b := range backends {
			req, _ := http.NewRequest(r.Method, b+r.URL.Path, bytes.NewReader(body))
			req.Header = r.Header.Clone()
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			data, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				w.WriteHeader(resp.StatusCode)
				w.Write(data)
				return
			}
			if answer == nil {
				answer = data
			}
			stored++
			if r.Method == http.MethodGet {
				break
			}
		}
		if r.Method == http.MethodPut {
			w.Header().Set("X-Keep-Replicas-Stored", strconv.Itoa(stored))
		}
		w.Write(answer)
	}))
	t.Cleanup(p.Close)
	return p
}

func TestClientThroughAProxyThatStoresSeveralReplicas(t *testing.T) {
	ks, _ := startKeepstores(t, 2)
	proxy := newFakeProxy(t, ks.URLs)
	c := newClient(t, []keep.Service{{UUID: "zzzzz-bi6l4-proxy0000000001", URL: proxy.URL, Type: keep.ServiceProxy}})
	ctx := context.Background()

	data := testBlock(60, 12345)
	locator, err := c.Put(ctx, data, keep.PutOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(1), proxy.puts.Load(), "one request confirms both replicas")
	assert.Equal(t, "2", proxy.desired.Load())
	assert.Equal(t, []int{0, 1}, holders(indexes(t, ks), stripped(data)))
	got, err := c.Get(ctx, locator)
	require.NoError(t, err)
	assert.Equal(t, data, got)

	_, err = c.Put(ctx, testBlock(61, 100), keep.PutOptions{Copies: 3})
	var pe *keep.PutError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, 2, pe.Stored)
	assert.Equal(t, []string{"zzzzz-bi6l4-proxy0000000001"}, pe.StoredOn)
	assert.Empty(t, pe.Failures)
	assert.Equal(t, "keep: put "+stripped(testBlock(61, 100))+": wanted 3 replicas, stored 2 on zzzzz-bi6l4-proxy0000000001; failures: no server tried", err.Error())
}

func TestClientRejectsBadPutAnswers(t *testing.T) {
	data := testBlock(70, 100)
	other := stripped(testBlock(71, 100))
	tests := []struct {
		name      string
		status    int
		header    map[string]string
		body      string
		temporary bool
		is        error
		contains  string
	}{
		{"a locator of another block", 200, nil, other + "\n", false, nil, "not a locator of this block"},
		{"no locator", 200, nil, "", false, nil, "not a locator of this block"},
		{"a bad replica count", 200, map[string]string{"X-Keep-Replicas-Stored": "many"}, stripped(data), false, nil, `bad X-Keep-Replicas-Stored "many"`},
		{"a bad class tally", 200, map[string]string{"X-Keep-Storage-Classes-Confirmed": "default"}, stripped(data), false, nil, `bad X-Keep-Storage-Classes-Confirmed "default"`},
		{"a server error", 503, nil, "busy", true, nil, `503 Service Unavailable: "busy"`},
		{"a refused token", 401, nil, "no", false, keep.ErrPermission, `401 Unauthorized: "no"`},
		{"a full server", 507, nil, "full", false, nil, `507 Insufficient Storage: "full"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}))
			t.Cleanup(srv.Close)
			c := newClient(t, []keep.Service{{UUID: "zzzzz-bi6l4-000000000000009", URL: srv.URL}}, keep.WithReplicas(1))
			_, err := c.Put(context.Background(), data, keep.PutOptions{})
			require.Error(t, err)
			assert.ErrorIs(t, err, keep.ErrReplicas)
			assert.Equal(t, tt.temporary, keep.IsTemporary(err))
			if tt.is != nil {
				assert.ErrorIs(t, err, tt.is)
			} else {
				assert.NotErrorIs(t, err, keep.ErrPermission)
			}
			var pe *keep.PutError
			require.ErrorAs(t, err, &pe)
			require.Len(t, pe.Failures, 1)
			assert.Equal(t, "zzzzz-bi6l4-000000000000009", pe.Failures[0].Service)
			assert.Contains(t, pe.Failures[0].Err.Error(), tt.contains)
		})
	}
}

func TestClientBoundsTheRequestsInFlightPerServer(t *testing.T) {
	var mu sync.Mutex
	inflight, most := 0, 0
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		inflight++
		most = max(most, inflight)
		mu.Unlock()
		<-release
		mu.Lock()
		inflight--
		mu.Unlock()
		http.NotFound(w, r)
	}))
	t.Cleanup(srv.Close)
	c := newClient(t, []keep.Service{{UUID: "zzzzz-bi6l4-000000000000009", URL: srv.URL}}, keep.WithRequestsPerServer(2))

	const calls = 6
	errs := make(chan error, calls)
	for n := 0; n < calls; n++ {
		go func() {
			_, err := c.Get(context.Background(), stripped(testBlock(80+n, 10)))
			errs <- err
		}()
	}
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return inflight == 2
	}, 10*time.Second, 5*time.Millisecond)
	close(release)
	for n := 0; n < calls; n++ {
		assert.ErrorIs(t, <-errs, keep.ErrNotFound)
	}
	assert.Equal(t, 2, most)
}

func TestClientTimesOutAStalledServerAndFailsOver(t *testing.T) {
	ks, services := startKeepstores(t, 2)
	ctx := context.Background()
	data := testBlock(90, 1000)
	locator, err := newClient(t, services).Put(ctx, data, keep.PutOptions{})
	require.NoError(t, err)

	stall := make(chan struct{})
	stalled := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-stall:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(stall); stalled.Close() })
	behind := append([]keep.Service(nil), services...)
	behind[probeOrder(stripped(data)[:32], ks.UUIDs)[0]].URL = stalled.URL
	c := newClient(t, behind, keep.WithTimeouts(time.Second, 200*time.Millisecond))
	got, err := c.Get(ctx, locator)
	require.NoError(t, err)
	assert.Equal(t, data, got)
}

func TestClientPutWithdrawsRequestsItNoLongerNeeds(t *testing.T) {
	data := testBlock(95, 1<<20)
	// fast stores two replicas at once, once the request to slow is under
	// way (else Put may be done before it is sent: nothing to withdraw);
	// slow never answers.
	slowStarted, slowEnded := make(chan struct{}), make(chan struct{})
	fast := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		select {
		case <-slowStarted:
		case <-time.After(10 * time.Second):
		}
		w.Header().Set("X-Keep-Replicas-Stored", "2")
		io.WriteString(w, stripped(data)+"\n")
	}))
	t.Cleanup(fast.Close)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(slowStarted)
		defer close(slowEnded)
		// The server notices a closed connection only once the body is
		// read; a body cut short shows it at once.
		if _, err := io.Copy(io.Discard, r.Body); err == nil {
			<-r.Context().Done()
		}
	}))
	t.Cleanup(slow.Close)

	before := runtime.NumGoroutine()
	c := newClient(t, []keep.Service{
		{UUID: "zzzzz-bi6l4-000000000000001", URL: fast.URL},
		{UUID: "zzzzz-bi6l4-000000000000002", URL: slow.URL},
	})
	locator, err := c.Put(context.Background(), data, keep.PutOptions{Copies: 2})
	require.NoError(t, err)
	assert.Equal(t, stripped(data), locator)
	select {
	case <-slowEnded:
	case <-time.After(10 * time.Second):
		t.Fatal("the request to the slow server was not withdrawn")
	}
	c.Close()
	require.Eventually(t, func() bool { return runtime.NumGoroutine() <= before+2 }, 10*time.Second, 10*time.Millisecond,
		"goroutines left behind: %d, before %d", runtime.NumGoroutine(), before)
}

func TestClientNeverWritesToAReadOnlyService(t *testing.T) {
	ks, services := startKeepstores(t, 2)
	services[0].ReadOnly = true
	c := newClient(t, services)
	ctx := context.Background()
	for n := 0; n < 6; n++ {
		data := testBlock(96+n, 500)
		locator, err := c.Put(ctx, data, keep.PutOptions{Copies: 1})
		require.NoError(t, err)
		assert.Equal(t, []int{1}, holders(indexes(t, ks), stripped(data)))
		got, err := c.Get(ctx, locator)
		require.NoError(t, err)
		assert.Equal(t, data, got)
	}
	_, err := c.Put(ctx, testBlock(99, 500), keep.PutOptions{Copies: 2})
	var pe *keep.PutError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, 1, pe.Stored)
	assert.Equal(t, []string{ks.UUIDs[1]}, pe.StoredOn)
}

func TestClientTalliesStorageClassesAsServersReportThem(t *testing.T) {
	data := testBlock(97, 300)
	tests := []struct {
		name      string
		confirmed []string // per server, X-Keep-Storage-Classes-Confirmed ("" for none)
		classes   []string
		wantErr   bool
		wantTally map[string]int
	}{
		{"servers that do not report classes count for every wanted class", []string{"", ""}, []string{"hot", "cold"}, false, nil},
		{"two servers confirming the wanted class", []string{"hot=1", "hot=1, cold=1"}, []string{"hot"}, false, nil},
		{"one class confirmed twice, the other once", []string{"hot=1", "hot=1, cold=1"}, []string{"hot", "cold"}, true,
			map[string]int{"hot": 2, "cold": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var services []keep.Service
			var seen sync.Map
			for i, confirmed := range tt.confirmed {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					io.Copy(io.Discard, r.Body)
					seen.Store(i, r.Header.Get("X-Keep-Storage-Classes"))
					if confirmed != "" {
						w.Header().Set("X-Keep-Storage-Classes-Confirmed", confirmed)
					}
					io.WriteString(w, stripped(data)+"\n")
				}))
				t.Cleanup(srv.Close)
				services = append(services, keep.Service{UUID: "zzzzz-bi6l4-00000000000000" + strconv.Itoa(i), URL: srv.URL})
			}
			c := newClient(t, services)
			_, err := c.Put(context.Background(), data, keep.PutOptions{StorageClasses: tt.classes})
			for i := range tt.confirmed {
				sent, _ := seen.Load(i)
				assert.Equal(t, strings.Join(tt.classes, ", "), sent, "server %d was asked for the classes", i)
			}
			if !tt.wantErr {
				assert.NoError(t, err)
				return
			}
			var pe *keep.PutError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, tt.wantTally, pe.Confirmed)
			assert.Equal(t, 2, pe.Stored)
			assert.False(t, keep.IsTemporary(err))
		})
	}
}
