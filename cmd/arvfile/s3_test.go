package main

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arvfile/arvfile/internal/testserver"
)

// A tree put into an S3 bucket (a real MinIO, started here) through
// --store s3://… and the AWS variables comes back byte for byte, by the
// reference put printed, and its blocks sit in the bucket under keepstore's
// key layout.
func TestPutAndGetThroughAnS3Bucket(t *testing.T) {
	m := testserver.StartMinIOTB(t)
	ctx := context.Background()
	require.NoError(t, m.MakeBucket(ctx, "cli-blocks"))

	h := newHarness(t)
	h.keepDir = "" // the store comes from ARVFILE_STORE
	h.env = []string{
		"ARVFILE_STORE=s3://cli-blocks?prefix_length=3",
		"AWS_ENDPOINT_URL=" + m.Endpoint,
		"AWS_ACCESS_KEY_ID=" + testserver.MinIOAccessKey,
		"AWS_SECRET_ACCESS_KEY=" + testserver.MinIOSecretKey,
		"AWS_REGION=" + testserver.MinIORegion,
		"XDG_DATA_HOME=" + t.TempDir(),
	}
	files := map[string]string{"a.txt": "alpha\n", "dir/b.bin": "bravo bytes", "dir/sub/c": ""}
	src := t.TempDir()
	writeTree(t, src, files)

	ref := h.put("--no-progress", src)
	packed := locatorOf("alpha\nbravo bytes") // small files share one block
	text := ". " + packed + " 0:6:a.txt\n./dir " + packed + " 6:11:b.bin\n./dir/sub d41d8cd98f00b204e9800998ecf8427e+0 0:0:c\n"
	assert.Equal(t, pdhOf(text), ref)

	stdout, stderr, code := h.run("manifest", ref)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, text, stdout)
	stdout, _, code = h.run("cat", ref+"/dir/b.bin")
	assert.Equal(t, 0, code)
	assert.Equal(t, "bravo bytes", stdout)
	dest := filepath.Join(t.TempDir(), "out")
	_, stderr, code = h.run("get", "--no-progress", ref, dest)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, files, readTree(t, dest))

	alpha := packed[:32]
	_, err := m.S3Client().HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("cli-blocks"), Key: aws.String(alpha[:3] + "/" + alpha)})
	assert.NoError(t, err, "a block is stored under md5[:3]/md5")
	_, err = m.S3Client().HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("cli-blocks"), Key: aws.String("recent/" + alpha[:3] + "/" + alpha)})
	assert.NoError(t, err, "with its recent/ marker")
}
