package testserver

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// do sends one request with a bearer token and returns status and body.
func do(t *testing.T, method, url, token string, body []byte, header map[string]string) (int, string, http.Header) {
	t.Helper()
	var r io.Reader
	if body != nil {
		r = strings.NewReader(string(body))
	}
	req, err := http.NewRequest(method, url, r)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b), resp.Header
}

func TestKeepstoresStartServeIndexKillAndRestart(t *testing.T) {
	ks := StartKeepstoresTB(t, KeepstoreOptions{N: 2})
	require.Len(t, ks.URLs, 2)
	assert.Equal(t, []string{"zzzzz-bi6l4-000000000000001", "zzzzz-bi6l4-000000000000002"}, ks.UUIDs)

	data := []byte("hello keepstore\n")
	sum := md5.Sum(data)
	stripped := hex.EncodeToString(sum[:]) + fmt.Sprintf("+%d", len(data))

	// The server signs what it stores exactly as Sign does.
	status, body, hdr := do(t, http.MethodPut, ks.URLs[0]+"/"+hex.EncodeToString(sum[:]), "tok1", data, nil)
	require.Equal(t, http.StatusOK, status, body)
	assert.Equal(t, "1", hdr.Get("X-Keep-Replicas-Stored"))
	signed := strings.TrimSpace(body)
	exp := signed[len(signed)-8:]
	var expiry int64
	fmt.Sscanf(exp, "%x", &expiry)
	assert.Equal(t, Sign(stripped, "tok1", time.Unix(expiry, 0)), signed)

	status, got, _ := do(t, http.MethodGet, ks.URLs[0]+"/"+signed, "tok1", nil, nil)
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, string(data), got)

	idx, err := ks.Index(context.Background(), 0)
	require.NoError(t, err)
	assert.Equal(t, []string{stripped}, idx)
	idx, err = ks.Index(context.Background(), 1)
	require.NoError(t, err)
	assert.Empty(t, idx)

	// Only the last server has the class archive.
	status, _, _ = do(t, http.MethodPut, ks.URLs[0]+"/"+hex.EncodeToString(sum[:]), "tok1", data,
		map[string]string{"X-Keep-Storage-Classes": "archive"})
	assert.Equal(t, http.StatusInsufficientStorage, status)
	status, _, hdr = do(t, http.MethodPut, ks.URLs[1]+"/"+hex.EncodeToString(sum[:]), "tok1", data,
		map[string]string{"X-Keep-Storage-Classes": "archive"})
	assert.Equal(t, http.StatusOK, status)
	confirmed := strings.Split(hdr.Get("X-Keep-Storage-Classes-Confirmed"), ", ")
	sort.Strings(confirmed) // the server lists them in no fixed order
	assert.Equal(t, []string{"archive=1", "default=1"}, confirmed)

	var list struct {
		Items []struct {
			UUID string `json:"uuid"`
			Port int    `json:"service_port"`
			Type string `json:"service_type"`
		} `json:"items"`
	}
	require.NoError(t, json.Unmarshal(ks.ServicesJSON(), &list))
	require.Len(t, list.Items, 2)
	assert.Equal(t, ks.UUIDs[1], list.Items[1].UUID)
	assert.Equal(t, ks.URLs[1], fmt.Sprintf("http://127.0.0.1:%d", list.Items[1].Port))
	assert.Equal(t, "disk", list.Items[1].Type)

	// A killed server refuses connections; restarted, it has its blocks.
	pid := ks.Pid(0)
	ks.Kill(0)
	assert.False(t, ks.Running(0))
	assert.Equal(t, 0, ks.Pid(0))
	_, err = http.Get(ks.URLs[0] + "/_health/ping")
	assert.Error(t, err)
	require.NoError(t, ks.Start(0))
	assert.NotEqual(t, pid, ks.Pid(0))
	status, got, _ = do(t, http.MethodGet, ks.URLs[0]+"/"+signed, "tok1", nil, nil)
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, string(data), got)
	assert.Error(t, ks.Start(0), "starting a running server")

	ks.Stop()
	assert.False(t, ks.Running(1))
	ks.Stop()
}

func TestStartKeepstoresFailsClearly(t *testing.T) {
	tests := []struct {
		name string
		opts KeepstoreOptions
		want string
	}{
		{"a missing binary is named", KeepstoreOptions{N: 1, Binary: "/nonexistent/keepstore"}, "keepstore binary"},
		{"a server that cannot start shows its log", KeepstoreOptions{N: 1, Volume: func(int, string) string {
			return "Driver: NoSuchDriver\nReplication: 1\n"
		}}, "exited before it was ready"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ks, err := StartKeepstores(t.TempDir(), tt.opts)
			require.Error(t, err)
			assert.Nil(t, ks)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}
