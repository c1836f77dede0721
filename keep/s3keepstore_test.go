package keep

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/arvfile/arvfile/internal/testserver"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// keepstoreCall sends one request to a keepstore with a bearer token and
// returns the status and body.
func keepstoreCall(t *testing.T, method, url, token string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, got
}

func TestS3StoreAndKeepstoreShareABucket(t *testing.T) {
	const token = "interop-token"
	for _, prefix := range []int{0, 3} {
		t.Run(fmt.Sprintf("PrefixLength %d", prefix), func(t *testing.T) {
			ctx := context.Background()
			f := newS3Fixture(t)
			bucket := f.bucket("shared")
			ks := testserver.StartKeepstoresTB(t, testserver.KeepstoreOptions{N: 1,
				Volume: func(int, string) string {
					return fmt.Sprintf("Driver: S3\nDriverParameters: {Endpoint: %q, Bucket: %s, AccessKeyID: %s, "+
						"SecretAccessKey: %s, Region: %s, UsePathStyle: true, PrefixLength: %d}\n"+
						"Replication: 1\nStorageClasses: {default: true}\n",
						f.minio.Endpoint, bucket, testserver.MinIOAccessKey, testserver.MinIOSecretKey,
						testserver.MinIORegion, prefix)
				}})
			var counter s3RequestCounter
			st := f.store(bucket, prefix, &counter)
			expiry := time.Now().Add(time.Hour)

			// Blocks arvfile wrote are served by the keepstore (signed GET)
			// and listed in its index.
			ours := [][]byte{s3Block(50, 1), s3Block(51, 300<<10), s3Block(52, 7<<20)}
			var ourLocators []string
			for _, data := range ours {
				locator, err := st.Put(ctx, data, PutOptions{})
				require.NoError(t, err)
				ourLocators = append(ourLocators, locator)
				status, got := keepstoreCall(t, http.MethodGet, ks.URLs[0]+"/"+testserver.Sign(locator, token, expiry), token, nil)
				require.Equal(t, http.StatusOK, status, "%s", got)
				assert.True(t, bytes.Equal(data, got), "keepstore serves %s", locator)
			}
			index, err := ks.Index(ctx, 0)
			require.NoError(t, err)
			sort.Strings(index)
			want := append([]string(nil), ourLocators...)
			sort.Strings(want)
			assert.Equal(t, want, index)

			// Blocks PUT through the keepstore (12 MiB: it uploads those in
			// parts) are read by arvfile, and a Put of them uploads nothing.
			theirs := [][]byte{s3Block(60, 5), s3Block(61, 12<<20)}
			for _, data := range theirs {
				sum := md5.Sum(data)
				hash := hex.EncodeToString(sum[:])
				status, body := keepstoreCall(t, http.MethodPut, ks.URLs[0]+"/"+hash, token, data)
				require.Equal(t, http.StatusOK, status, "%s", body)
				locator := fmt.Sprintf("%s+%d", hash, len(data))
				require.True(t, strings.HasPrefix(string(body), locator+"+A"), "%s", body)

				head, err := f.raw.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(st.Key(hash))})
				require.NoError(t, err)
				assert.Equal(t, len(data) > 5<<20, strings.Contains(aws.ToString(head.ETag), "-"),
					"ETag %s: keepstore uploads blocks over 5 MiB in parts", aws.ToString(head.ETag))
				_, err = f.raw.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("recent/" + st.Key(hash))})
				assert.NoError(t, err, "keepstore writes the same marker")

				got, err := st.Get(ctx, strings.TrimSpace(string(body)))
				require.NoError(t, err)
				assert.True(t, bytes.Equal(data, got), "arvfile reads %s", locator)
				again, err := st.Put(ctx, data, PutOptions{})
				require.NoError(t, err)
				assert.Equal(t, locator, again)
				assert.Equal(t, 0, counter.count(http.MethodPut, "/"+bucket+"/"+st.Key(hash)), "not uploaded again")
			}
		})
	}
}
