package testserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// MinIOVersion is the MinIO server that .ci/run installs with
// `go install github.com/minio/minio@<MinIOVersion>` (MinIO tags its releases
// RELEASE.<date>, which Go does not take for versions, so this is the
// pseudo-version of a commit of its master branch). A test checks that .ci/run
// installs this one.
const MinIOVersion = "v0.0.0-20260212201848-7aac2a2c5b7c"

// Fixed credentials and region of every test MinIO.
const (
	// MinIOAccessKey is the root user's access key.
	MinIOAccessKey = "arvfile-minio-root"
	// MinIOSecretKey is the root user's secret key.
	MinIOSecretKey = "arvfile-minio-secret-0123456789"
	// MinIORegion is the region the server reports and signs for.
	MinIORegion = "us-east-1"
)

// MinIOOptions says how to start a MinIO server.
type MinIOOptions struct {
	// Binary is the minio executable; "" means $ARVFILE_MINIO, else
	// $(go env GOBIN)/minio or $(go env GOPATH)/bin/minio, else minio on $PATH.
	Binary string
	// StartTimeout bounds the wait until the server is ready; ≤ 0 means 60 s.
	StartTimeout time.Duration
}

// MinIO is a running (or stopped, see Kill and Start) MinIO server on
// 127.0.0.1: one drive in a private directory, the fixed root credentials
// MinIOAccessKey and MinIOSecretKey, no console, no update check. Its methods
// are safe for concurrent use.
type MinIO struct {
	// Dir holds the server's drive (Dir/data) and its log (Dir/minio.log).
	Dir string
	// Endpoint is the server's base URL, "http://127.0.0.1:<port>" (no slash).
	Endpoint string

	binary  string
	timeout time.Duration

	mu   sync.Mutex
	proc *process // the running server, nil while stopped
}

// StartMinIO starts a MinIO server with its drive under dir (which must
// exist) on a free 127.0.0.1 port and waits until it is ready.
func StartMinIO(dir string, opts MinIOOptions) (*MinIO, error) {
	bin, err := FindMinIO(opts.Binary)
	if err != nil {
		return nil, err
	}
	timeout := opts.StartTimeout
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		return nil, err
	}
	m := &MinIO{Dir: dir, binary: bin, timeout: timeout}
	// Another process may take the port between freePort and the server's
	// bind; then try another one.
	for attempt := 0; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		m.Endpoint = fmt.Sprintf("http://127.0.0.1:%d", port)
		err = m.Start()
		// MinIO says "Specified port is already in use".
		if err == nil {
			return m, nil
		}
		if attempt == 2 || !strings.Contains(err.Error(), "already in use") {
			return nil, err
		}
	}
}

// StartMinIOTB starts a MinIO server in a temporary directory of tb and
// stops it at tb's cleanup; it fails tb (never skips it) if the server cannot
// start, saying how to install it when the binary is missing.
func StartMinIOTB(tb testing.TB) *MinIO {
	tb.Helper()
	m, err := StartMinIO(tb.TempDir(), MinIOOptions{})
	if err != nil {
		tb.Fatalf("start MinIO: %v", err)
	}
	tb.Cleanup(m.Stop)
	return m
}

// FindMinIO returns the minio executable to run: bin if it is not "", else
// $ARVFILE_MINIO, else $(go env GOBIN)/minio, else $(go env GOPATH)/bin/minio,
// else minio on $PATH. When
// there is none, the error says how to install it.
func FindMinIO(bin string) (string, error) {
	if bin == "" {
		bin = os.Getenv("ARVFILE_MINIO")
	}
	install := fmt.Sprintf("install it with `go install github.com/minio/minio@%s` (bash .ci/run does)", MinIOVersion)
	if bin != "" {
		if _, err := os.Stat(bin); err != nil {
			return "", fmt.Errorf("testserver: MinIO binary %s: %w; %s", bin, err, install)
		}
		return bin, nil
	}
	var looked []string
	if out, err := exec.Command("go", "env", "GOBIN", "GOPATH").Output(); err == nil {
		gobin, gopath, _ := strings.Cut(string(out), "\n")
		var dirs []string
		if gobin = strings.TrimSpace(gobin); gobin != "" {
			dirs = append(dirs, gobin)
		}
		for _, p := range filepath.SplitList(strings.TrimSpace(gopath)) {
			dirs = append(dirs, filepath.Join(p, "bin"))
		}
		for _, dir := range dirs {
			candidate := filepath.Join(dir, "minio")
			looked = append(looked, candidate)
			if info, err := os.Stat(candidate); err == nil && info.Mode().IsRegular() {
				return candidate, nil
			}
		}
	}
	if path, err := exec.LookPath("minio"); err == nil {
		return path, nil
	}
	looked = append(looked, "$PATH")
	return "", fmt.Errorf("testserver: no MinIO server binary (looked at $ARVFILE_MINIO, %s); %s or set ARVFILE_MINIO",
		strings.Join(looked, ", "), install)
}

// Start starts the server again on its port and drive after Kill or Stop,
// and waits until it is ready. Starting a running server is an error.
func (m *MinIO) Start() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.proc != nil {
		return errors.New("testserver: MinIO is already running")
	}
	addr := strings.TrimPrefix(m.Endpoint, "http://")
	p, err := startProcess(m.binary, []string{"server", "--quiet", "--address", addr, filepath.Join(m.Dir, "data")}, []string{
		"MINIO_ROOT_USER=" + MinIOAccessKey,
		"MINIO_ROOT_PASSWORD=" + MinIOSecretKey,
		"MINIO_REGION=" + MinIORegion,
		"MINIO_BROWSER=off",         // no console listener
		"MINIO_UPDATE=off",          // no update check
		"MINIO_CALLHOME_ENABLE=off", // no diagnostics sent anywhere
		"MINIO_CI_CD=on",            // accept a drive on the root file system
	}, m.LogPath())
	if err != nil {
		return fmt.Errorf("testserver: start MinIO: %w", err)
	}
	m.proc = p
	if err := p.waitReady(m.ready, m.timeout, "MinIO", m.LogPath()); err != nil {
		m.killLocked()
		return err
	}
	return nil
}

// ready reports whether the server's readiness check and then its S3 API
// answer with success (the readiness check answers before the S3 API does,
// which says 503 XMinioServerNotInitialized a little longer).
func (m *MinIO) ready() bool {
	resp, err := (&http.Client{Timeout: time.Second}).Get(m.Endpoint + "/minio/health/ready")
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK && m.answersS3()
}

// answersS3 reports whether the server answers an S3 request (a list of
// its buckets) with success.
func (m *MinIO) answersS3() bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err := m.S3Client().ListBuckets(ctx, &s3.ListBucketsInput{})
	return err == nil
}

// LogPath returns the file the server logs to.
func (m *MinIO) LogPath() string { return filepath.Join(m.Dir, "minio.log") }

// Kill stops the server at once (SIGKILL), as a crash would, and waits for it
// to exit. Killing a stopped server does nothing.
func (m *MinIO) Kill() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.killLocked()
}

func (m *MinIO) killLocked() {
	if m.proc != nil {
		m.proc.kill()
		m.proc = nil
	}
}

// Stop stops the server: SIGTERM, then SIGKILL after 10 s. Stopping a stopped
// server does nothing.
func (m *MinIO) Stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.proc != nil {
		m.proc.stop(10 * time.Second)
		m.proc = nil
	}
}

// Running reports whether the server is running.
func (m *MinIO) Running() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.proc != nil
}

// Pid returns the server's process id, or 0 while it is stopped.
func (m *MinIO) Pid() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.proc.pid()
}

// S3Client returns an S3 client of the server with the root credentials,
// path-style addressing and no retries, for tests that set up buckets or
// change objects behind a store's back.
func (m *MinIO) S3Client() *s3.Client {
	return s3.New(s3.Options{
		BaseEndpoint:     aws.String(m.Endpoint),
		Region:           MinIORegion,
		Credentials:      credentials.NewStaticCredentialsProvider(MinIOAccessKey, MinIOSecretKey, ""),
		UsePathStyle:     true,
		RetryMaxAttempts: 1,
	})
}

// MakeBucket creates a bucket.
func (m *MinIO) MakeBucket(ctx context.Context, name string) error {
	_, err := m.S3Client().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)})
	if err != nil {
		return fmt.Errorf("testserver: make bucket %s: %w", name, err)
	}
	return nil
}
