package testserver

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMinIOServesKeepsDataAcrossKillAndRestart(t *testing.T) {
	ctx := context.Background()
	m := StartMinIOTB(t)
	require.True(t, strings.HasPrefix(m.Endpoint, "http://127.0.0.1:"), m.Endpoint)
	require.NotZero(t, m.Pid())
	require.NoError(t, m.MakeBucket(ctx, "bucket-one"))

	c := m.S3Client()
	_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bucket-one"), Key: aws.String("k"),
		Body: strings.NewReader("hello minio\n")})
	require.NoError(t, err)

	m.Kill()
	assert.False(t, m.Running())
	assert.Zero(t, m.Pid())
	_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("bucket-one"), Key: aws.String("k")})
	assert.ErrorContains(t, err, "connection refused")

	require.NoError(t, m.Start())
	assert.ErrorContains(t, m.Start(), "already running")
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bucket-one"), Key: aws.String("k")})
	require.NoError(t, err)
	got, err := io.ReadAll(out.Body)
	out.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, "hello minio\n", string(got))

	m.Stop()
	assert.False(t, m.Running())
	m.Stop() // a second Stop does nothing
}

func TestFindMinIOSaysHowToInstallAMissingBinary(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-minio")
	tests := []struct {
		name string
		bin  string
		env  string
	}{
		{name: "an explicit path", bin: missing},
		{name: "ARVFILE_MINIO", env: missing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("ARVFILE_MINIO", tt.env)
			_, err := FindMinIO(tt.bin)
			require.Error(t, err)
			assert.ErrorIs(t, err, os.ErrNotExist)
			assert.Contains(t, err.Error(), "go install github.com/minio/minio@"+MinIOVersion)
		})
	}
}

func TestCIInstallsThePinnedMinIO(t *testing.T) {
	root, err := RepoRoot()
	require.NoError(t, err)
	script, err := os.ReadFile(filepath.Join(root, ".ci", "run"))
	require.NoError(t, err)
	assert.Contains(t, string(script), "github.com/minio/minio@"+MinIOVersion)
}

func TestMinIOOnATakenPortSaysSo(t *testing.T) {
	// StartMinIO tries another port when the error says "already in use".
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	bin, err := FindMinIO("")
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "data"), 0o755))
	m := &MinIO{Dir: dir, Endpoint: "http://" + l.Addr().String(), binary: bin, timeout: 30 * time.Second}
	err = m.Start()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "already in use")
	assert.False(t, m.Running())
}
