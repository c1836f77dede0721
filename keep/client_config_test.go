package keep_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arvfile/arvfile/keep"
)

func TestParseServiceList(t *testing.T) {
	tests := []struct {
		name    string
		json    string
		want    []keep.Service
		wantErr string
	}{
		{"disk, proxy, TLS and read-only services", `{"kind":"arvados#keepServiceList","items":[
			{"uuid":"zzzzz-bi6l4-000000000000001","service_host":"keep0.example","service_port":25107,"service_ssl_flag":false,"service_type":"disk","read_only":false},
			{"uuid":"zzzzz-bi6l4-000000000000002","service_host":"keep.example","service_port":443,"service_ssl_flag":true,"service_type":"proxy","read_only":true},
			{"uuid":"zzzzz-bi6l4-000000000000003","service_host":"::1","service_port":80,"service_ssl_flag":false,"service_type":"disk","read_only":false,"extra":1}]}`,
			[]keep.Service{
				{UUID: "zzzzz-bi6l4-000000000000001", URL: "http://keep0.example:25107", Type: "disk"},
				{UUID: "zzzzz-bi6l4-000000000000002", URL: "https://keep.example:443", Type: "proxy", ReadOnly: true},
				{UUID: "zzzzz-bi6l4-000000000000003", URL: "http://[::1]:80", Type: "disk"},
			}, ""},
		{"an empty list", `{"items":[]}`, []keep.Service{}, ""},
		{"not JSON", `items`, nil, "keep: invalid Keep service: service list: invalid character 'i' looking for beginning of value"},
		{"no items", `{"kind":"x"}`, nil, `keep: invalid Keep service: service list has no "items"`},
		{"a bad port", `{"items":[{"uuid":"zzzzz-bi6l4-000000000000001","service_host":"h","service_port":70000,"service_type":"disk"}]}`,
			nil, `keep: invalid Keep service: service list item 0 ("zzzzz-bi6l4-000000000000001"): host "h" port 70000`},
		{"a host with a path", `{"items":[{"uuid":"zzzzz-bi6l4-000000000000001","service_host":"h/x","service_port":1,"service_type":"disk"}]}`,
			nil, `keep: invalid Keep service: service list item 0 ("zzzzz-bi6l4-000000000000001"): host "h/x" port 1`},
		{"an unknown type", `{"items":[{"uuid":"zzzzz-bi6l4-000000000000001","service_host":"h","service_port":1,"service_type":"tape"}]}`,
			nil, `service list item 0: keep: invalid Keep service: zzzzz-bi6l4-000000000000001: type "tape" is neither "disk" nor "proxy"`},
		{"a short UUID", `{"items":[{"uuid":"short","service_host":"h","service_port":1,"service_type":"disk"}]}`,
			nil, `service list item 0: keep: invalid Keep service: UUID "short" is not at least 15 characters without spaces`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := keep.ParseServiceList([]byte(tt.json))
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.ErrorIs(t, err, keep.ErrInvalidService)
				assert.Equal(t, tt.wantErr, err.Error())
				assert.Nil(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestNewClientChecksItsServicesAndOptions(t *testing.T) {
	good := keep.Service{UUID: "zzzzz-bi6l4-000000000000001", URL: "http://127.0.0.1:1/"}
	tests := []struct {
		name     string
		services []keep.Service
		token    string
		opts     []keep.ClientOption
		wantErr  string
	}{
		{"no services", nil, "t", nil, "keep: invalid Keep service: no Keep services"},
		{"a URL without host", []keep.Service{{UUID: good.UUID, URL: "http://"}}, "t", nil,
			`keep: invalid Keep service: zzzzz-bi6l4-000000000000001: URL "http://" is not http(s)://host[:port][/path]`},
		{"a URL of another scheme", []keep.Service{{UUID: good.UUID, URL: "ftp://h"}}, "t", nil,
			`keep: invalid Keep service: zzzzz-bi6l4-000000000000001: URL "ftp://h" is not http(s)://host[:port][/path]`},
		{"a UUID twice", []keep.Service{good, good}, "t", nil,
			"keep: invalid Keep service: UUID zzzzz-bi6l4-000000000000001 listed twice"},
		{"a token with a newline", []keep.Service{good}, "t\nX-Evil: 1", nil, "keep: the API token contains white space"},
		{"zero replicas", []keep.Service{good}, "t", []keep.ClientOption{keep.WithReplicas(0)}, "keep: replicas must be at least 1, not 0"},
		{"zero requests per server", []keep.Service{good}, "t", []keep.ClientOption{keep.WithRequestsPerServer(0)},
			"keep: requests per server must be at least 1, not 0"},
		{"a zero timeout", []keep.Service{good}, "t", []keep.ClientOption{keep.WithTimeouts(0, time.Second)},
			"keep: timeouts must be positive, not 0s and 1s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := keep.NewClient(tt.services, tt.token, tt.opts...)
			require.Error(t, err)
			assert.Nil(t, c)
			assert.Equal(t, tt.wantErr, err.Error())
		})
	}

	c, err := keep.NewClient([]keep.Service{good}, "t")
	require.NoError(t, err)
	assert.Equal(t, []keep.Service{{UUID: good.UUID, URL: "http://127.0.0.1:1", Type: keep.ServiceDisk}}, c.Services())
	assert.NoError(t, c.Close())
}

func TestNewClientFromEnv(t *testing.T) {
	tests := []struct {
		name, services, token string
		want                  []keep.Service
		wantErr               string
	}{
		{"two proxies", " http://127.0.0.1:1  https://keep.example/ ", "tok",
			[]keep.Service{
				{UUID: "00000-bi6l4-000000000000000", URL: "http://127.0.0.1:1", Type: keep.ServiceProxy},
				{UUID: "00000-bi6l4-000000000000001", URL: "https://keep.example", Type: keep.ServiceProxy},
			}, ""},
		{"no token", "http://127.0.0.1:1", "", nil, "keep: ARVADOS_API_TOKEN is not set"},
		{"no services", "", "tok", nil, "keep: invalid Keep service: ARVADOS_KEEP_SERVICES is not set"},
		{"a bad URL", "127.0.0.1:1", "tok", nil,
			`keep: invalid Keep service: 00000-bi6l4-000000000000000: parse "127.0.0.1:1": first path segment in URL cannot contain colon`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("ARVADOS_KEEP_SERVICES", tt.services)
			t.Setenv("ARVADOS_API_TOKEN", tt.token)
			c, err := keep.NewClientFromEnv()
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Equal(t, tt.wantErr, err.Error())
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, c.Services())
		})
	}
}

// FuzzParseServiceList checks that any input either fails with
// ErrInvalidService or gives services NewClient accepts (when there are some
// and their UUIDs differ).
func FuzzParseServiceList(f *testing.F) {
	f.Add([]byte(`{"items":[{"uuid":"zzzzz-bi6l4-000000000000001","service_host":"h","service_port":1,"service_ssl_flag":true,"service_type":"proxy","read_only":true}]}`))
	f.Add([]byte(`{"items":[]}`))
	f.Add([]byte(`{"items":[{"uuid":"x","service_host":"::1","service_port":65535}]}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		services, err := keep.ParseServiceList(in)
		if err != nil {
			if !errors.Is(err, keep.ErrInvalidService) {
				t.Fatalf("error %v does not wrap ErrInvalidService", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, s := range services {
			if seen[s.UUID] {
				return
			}
			seen[s.UUID] = true
		}
		if len(services) == 0 {
			return
		}
		c, err := keep.NewClient(services, "token")
		if err != nil {
			t.Fatalf("NewClient refuses what ParseServiceList gave: %v", err)
		}
		if got := c.Services(); !reflect.DeepEqual(got, services) {
			t.Fatalf("NewClient changed the services: %v, want %v", got, services)
		}
	})
}
