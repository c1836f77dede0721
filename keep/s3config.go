package keep

import (
	"fmt"
	"net/url"
	"os"
	"strconv"
)

// S3ConfigFromURL returns the S3Config that an `s3://BUCKET` URL and the
// usual AWS environment variables describe, for command-line tools:
//
//   - the bucket is the URL's host; a path other than "/" is an error (the
//     keepstore layout puts blocks at the top of the bucket);
//   - the query may set endpoint=URL, region=NAME, path_style=true|false and
//     prefix_length=N (the keepstore volume's PrefixLength);
//   - otherwise the endpoint comes from AWS_ENDPOINT_URL_S3, else
//     AWS_ENDPOINT_URL, else it is Amazon S3's; the region from AWS_REGION,
//     else AWS_DEFAULT_REGION (else NewS3Store's default);
//   - path-style addressing is on when an endpoint is set (MinIO and most
//     S3-compatible servers want it) and off for Amazon S3;
//   - the credentials are AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
//     AWS_SESSION_TOKEN when the first two are set; otherwise they are left
//     empty, so that NewS3Store uses the standard AWS chain (AWS_PROFILE, the
//     shared credentials and config files, …).
//
// It does no I/O beyond reading the environment; every error names the part
// of the URL at fault.
func S3ConfigFromURL(rawURL string) (S3Config, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return S3Config{}, fmt.Errorf("keep: s3 URL: %w", err)
	}
	if u.Scheme != "s3" {
		return S3Config{}, fmt.Errorf("keep: s3 URL %q: scheme is not s3://", rawURL)
	}
	if u.User != nil {
		return S3Config{}, fmt.Errorf("keep: s3 URL %q: credentials do not belong in the URL (use AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)", rawURL)
	}
	if u.Host == "" || u.Port() != "" {
		return S3Config{}, fmt.Errorf("keep: s3 URL %q: want s3://BUCKET (the endpoint's host and port go in AWS_ENDPOINT_URL or ?endpoint=)", rawURL)
	}
	if u.Path != "" && u.Path != "/" {
		return S3Config{}, fmt.Errorf("keep: s3 URL %q: path %q: blocks are stored at the top of the bucket, as keepstore stores them; give no path", rawURL, u.Path)
	}
	cfg := S3Config{Bucket: u.Host}
	cfg.Endpoint = firstSet(os.Getenv("AWS_ENDPOINT_URL_S3"), os.Getenv("AWS_ENDPOINT_URL"))
	cfg.Region = firstSet(os.Getenv("AWS_REGION"), os.Getenv("AWS_DEFAULT_REGION"))
	if id, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"); id != "" && secret != "" {
		cfg.AccessKeyID, cfg.SecretAccessKey = id, secret
		cfg.SessionToken = os.Getenv("AWS_SESSION_TOKEN")
	}
	query := u.Query()
	for name := range query {
		switch name {
		case "endpoint", "region", "path_style", "prefix_length":
		default:
			return S3Config{}, fmt.Errorf("keep: s3 URL %q: unknown parameter %q (known: endpoint, region, path_style, prefix_length)", rawURL, name)
		}
	}
	if v := query.Get("endpoint"); v != "" {
		cfg.Endpoint = v
	}
	if v := query.Get("region"); v != "" {
		cfg.Region = v
	}
	cfg.UsePathStyle = cfg.Endpoint != ""
	if v := query.Get("path_style"); v != "" {
		if cfg.UsePathStyle, err = strconv.ParseBool(v); err != nil {
			return S3Config{}, fmt.Errorf("keep: s3 URL %q: path_style=%q is not true or false", rawURL, v)
		}
	}
	if v := query.Get("prefix_length"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return S3Config{}, fmt.Errorf("keep: s3 URL %q: prefix_length=%q is not a number", rawURL, v)
		}
		cfg.PrefixLength = n
	}
	if err := cfg.check(); err != nil {
		return S3Config{}, fmt.Errorf("keep: s3 URL %q: %w", rawURL, err)
	}
	return cfg, nil
}

// firstSet returns the first of values that is not "".
func firstSet(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
