package keep_test

import (
	"context"
	"fmt"
	"log"

	"github.com/arvfile/arvfile"
	"github.com/arvfile/arvfile/keep"
)

// An S3Store configured from an s3:// URL and the AWS environment, under an
// engine. (Not run: it needs a server; the tests run a real MinIO.)
func ExampleNewS3Store() {
	ctx := context.Background()
	cfg, err := keep.S3ConfigFromURL("s3://my-bucket?prefix_length=3")
	if err != nil {
		log.Fatal(err)
	}
	st, err := keep.NewS3Store(ctx, cfg)
	if err != nil {
		log.Fatal(err) // errors.Is(err, keep.ErrS3NoSuchBucket), keep.ErrS3AccessDenied, …
	}
	e, err := arvfile.New(arvfile.WithStore(st)) // the engine retries temporary Put errors; keep.WithRetries(st, …) retries Gets too
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()
}

// The query of an s3:// URL sets what the AWS environment does not.
func ExampleS3ConfigFromURL() {
	cfg, err := keep.S3ConfigFromURL("s3://blocks?endpoint=http://127.0.0.1:9000&prefix_length=3")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cfg.Bucket, cfg.Endpoint, cfg.UsePathStyle, cfg.PrefixLength)
	// Output: blocks http://127.0.0.1:9000 true 3
}
