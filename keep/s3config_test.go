package keep

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestS3ConfigFromURLReadsTheURLAndTheAWSEnvironment(t *testing.T) {
	cases := []struct {
		name string
		url  string
		env  map[string]string
		want S3Config
	}{
		{
			name: "a bare bucket is Amazon S3 with the chain's credentials",
			url:  "s3://my-bucket",
			want: S3Config{Bucket: "my-bucket"},
		},
		{
			name: "the environment gives keys, region and a custom endpoint, which turns on path style",
			url:  "s3://blocks/",
			env: map[string]string{"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "SECRET",
				"AWS_SESSION_TOKEN": "TOKEN", "AWS_DEFAULT_REGION": "eu-west-1", "AWS_ENDPOINT_URL": "http://127.0.0.1:9000"},
			want: S3Config{Bucket: "blocks", AccessKeyID: "AKID", SecretAccessKey: "SECRET", SessionToken: "TOKEN",
				Region: "eu-west-1", Endpoint: "http://127.0.0.1:9000", UsePathStyle: true},
		},
		{
			name: "AWS_REGION and AWS_ENDPOINT_URL_S3 win over the general variables",
			url:  "s3://blocks",
			env: map[string]string{"AWS_REGION": "us-west-2", "AWS_DEFAULT_REGION": "eu-west-1",
				"AWS_ENDPOINT_URL_S3": "https://s3.example.org", "AWS_ENDPOINT_URL": "http://127.0.0.1:9000"},
			want: S3Config{Bucket: "blocks", Region: "us-west-2", Endpoint: "https://s3.example.org", UsePathStyle: true},
		},
		{
			name: "a key id without its secret is left to the chain",
			url:  "s3://blocks",
			env:  map[string]string{"AWS_ACCESS_KEY_ID": "AKID"},
			want: S3Config{Bucket: "blocks"},
		},
		{
			name: "the query wins over the environment",
			url:  "s3://blocks?endpoint=http://127.0.0.1:9001&region=local&path_style=false&prefix_length=3",
			env:  map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:9000", "AWS_REGION": "us-west-2"},
			want: S3Config{Bucket: "blocks", Endpoint: "http://127.0.0.1:9001", Region: "local", PrefixLength: 3},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, name := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
				"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"} {
				t.Setenv(name, tc.env[name])
			}
			got, err := S3ConfigFromURL(tc.url)
			assert.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestS3ConfigFromURLRejectsWhatItCannotHonour(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("AWS_ENDPOINT_URL_S3", "")
	cases := []struct {
		url     string
		message string
	}{
		{"http://bucket", `keep: s3 URL "http://bucket": scheme is not s3://`},
		{"s3://", `keep: s3 URL "s3://": want s3://BUCKET (the endpoint's host and port go in AWS_ENDPOINT_URL or ?endpoint=)`},
		{"s3://bucket:9000", `keep: s3 URL "s3://bucket:9000": want s3://BUCKET (the endpoint's host and port go in AWS_ENDPOINT_URL or ?endpoint=)`},
		{"s3://key:secret@bucket", `keep: s3 URL "s3://key:secret@bucket": credentials do not belong in the URL (use AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)`},
		{"s3://bucket/keep", `keep: s3 URL "s3://bucket/keep": path "/keep": blocks are stored at the top of the bucket, as keepstore stores them; give no path`},
		{"s3://bucket?prefix=3", `keep: s3 URL "s3://bucket?prefix=3": unknown parameter "prefix" (known: endpoint, region, path_style, prefix_length)`},
		{"s3://bucket?prefix_length=x", `keep: s3 URL "s3://bucket?prefix_length=x": prefix_length="x" is not a number`},
		{"s3://bucket?prefix_length=31", `keep: s3 URL "s3://bucket?prefix_length=31": PrefixLength 31 is not in [0, 30]`},
		{"s3://bucket?path_style=maybe", `keep: s3 URL "s3://bucket?path_style=maybe": path_style="maybe" is not true or false`},
		{"s3://bucket?endpoint=127.0.0.1:9000", `keep: s3 URL "s3://bucket?endpoint=127.0.0.1:9000": endpoint "127.0.0.1:9000" is not an http(s)://host[:port] URL`},
	}
	for _, tc := range cases {
		t.Run(tc.url, func(t *testing.T) {
			got, err := S3ConfigFromURL(tc.url)
			assert.EqualError(t, err, tc.message)
			assert.Equal(t, S3Config{}, got)
		})
	}
}

func TestNewS3StoreRejectsABadConfigBeforeAnyIO(t *testing.T) {
	cases := []struct {
		cfg     S3Config
		message string
	}{
		{S3Config{}, "keep: s3: no bucket given"},
		{S3Config{Bucket: "b", PrefixLength: -1}, "keep: s3: PrefixLength -1 is not in [0, 30]"},
		{S3Config{Bucket: "b", Endpoint: "ftp://127.0.0.1"}, `keep: s3: endpoint "ftp://127.0.0.1" is not an http(s)://host[:port] URL`},
		{S3Config{Bucket: "b", Endpoint: "http://"}, `keep: s3: endpoint "http://" is not an http(s)://host[:port] URL`},
		{S3Config{Bucket: "b", AccessKeyID: "AKID"}, "keep: s3: an access key id without a secret access key"},
		{S3Config{Bucket: "b", SecretAccessKey: "SECRET"}, "keep: s3: a secret access key without an access key id"},
	}
	for _, tc := range cases {
		t.Run(tc.message, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // any I/O would fail with context.Canceled
			st, err := NewS3Store(ctx, tc.cfg)
			assert.Nil(t, st)
			assert.EqualError(t, err, tc.message)
		})
	}
}

func TestS3StoreKeyIsKeepstores(t *testing.T) {
	const hash = "5d41402abc4b2a76b9719d911017c592"
	cases := []struct {
		prefix int
		hash   string
		want   string
	}{
		{0, hash, hash},
		{1, hash, "5/" + hash},
		{3, hash, "5d4/" + hash},
		{30, hash, hash[:30] + "/" + hash},
		{3, "5d41a", "5d4/5d41a"},
		{3, "5d41", "5d41"}, // as keepstore: a prefix only when it is shorter than the hash minus one
		{3, "5d4", "5d4"},   // too short for the prefix: as keepstore, no prefix (and no panic)
		{3, "", ""},
	}
	for _, tc := range cases {
		st := &S3Store{prefix: tc.prefix}
		assert.Equal(t, tc.want, st.Key(tc.hash), "PrefixLength %d, %q", tc.prefix, tc.hash)
	}
}
