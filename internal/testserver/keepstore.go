// Package testserver starts real servers on 127.0.0.1 for tests and
// benchmarks: the upstream Arvados keepstore, as `keepstores` in
// ../shared/keepstore/ starts it, but with ports chosen free at run time and
// the configuration written in Go.
//
// The core API (StartKeepstores, Stop) needs no testing.T, so `go run ./bench`
// uses it too; StartKeepstoresTB is the test convenience that stops the
// servers at cleanup.
package testserver

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Fixed secrets of the test cluster, the same as the keepstores script's.
const (
	// ClusterID is the cluster prefix of every UUID.
	ClusterID = "zzzzz"
	// RootToken is the system root token: it may read /index and /mounts.
	RootToken = "systemroottoken0123456789abcdefghijklmn"
	// ManagementToken authorizes /_health/ping.
	ManagementToken = "managementtoken0123456789abcdefghijklmn"
	// SigningKey is the blob signing key.
	SigningKey = "blobsigningkey0123456789abcdefghijklmnopqrstuvwxyz0123456789"
	// SigningTTL is the blob signing TTL (336 h).
	SigningTTL = 336 * time.Hour
)

// KeepstoreOptions says how many keepstores to start and how.
type KeepstoreOptions struct {
	// N is the number of servers; ≤ 0 means 3.
	N int
	// Binary is the keepstore executable; "" means $ARVFILE_KEEPSTORE, or else
	// <repo root>/../shared/keepstore/keepstore (repo root: the directory
	// holding go.mod, found by walking up from the working directory). A
	// binary named arvados-server is run as `arvados-server keepstore`.
	Binary string
	// Volume returns the YAML body of server i's one volume (i from 0), one
	// key per line without indentation, e.g.
	//
	//	Driver: S3
	//	DriverParameters: {Bucket: b, Endpoint: "http://127.0.0.1:9000", …}
	//	Replication: 1
	//	StorageClasses: {default: true}
	//
	// dir is a directory private to server i. The harness adds AccessViaHosts.
	// nil means DirectoryVolume.
	Volume func(i int, dir string) string
	// StorageClasses are the classes the cluster declares besides "default"
	// (the default class); nil means ["archive"].
	StorageClasses []string
	// StartTimeout bounds the wait for each server to be healthy; ≤ 0 means 60 s.
	StartTimeout time.Duration
}

// DirectoryVolume is the default volume: a Directory volume in dir with
// replication 1, in the default class, and (for the last of n ≥ 2 servers)
// also in the class "archive", as the keepstores script configures them.
func DirectoryVolume(n int) func(i int, dir string) string {
	return func(i int, dir string) string {
		classes := "{default: true}"
		if i == n-1 && n >= 2 {
			classes = "{default: true, archive: true}"
		}
		root := filepath.Join(dir, "vol")
		_ = os.MkdirAll(root, 0o755) // a failure shows in the server's log
		return fmt.Sprintf("Driver: Directory\nDriverParameters: {Root: %q}\nReplication: 1\nStorageClasses: %s\n",
			root, classes)
	}
}

// Keepstores is a set of running keepstore servers. Its methods are safe for
// concurrent use.
type Keepstores struct {
	// Dir holds the configs, logs and volumes.
	Dir string
	// URLs are the servers' base URLs, "http://127.0.0.1:<port>" (no slash).
	URLs []string
	// UUIDs are the servers' keep service UUIDs, zzzzz-bi6l4-<15 digits>.
	UUIDs []string

	binary  string
	timeout time.Duration

	mu    sync.Mutex
	procs []*process // procs[i] is server i's process, nil while stopped
}

// StartKeepstores starts opts.N keepstores under dir (which must exist) on
// free 127.0.0.1 ports and waits until each answers its health check. On
// error every server it started is stopped again.
func StartKeepstores(dir string, opts KeepstoreOptions) (*Keepstores, error) {
	n := opts.N
	if n <= 0 {
		n = 3
	}
	bin, err := findBinary(opts.Binary)
	if err != nil {
		return nil, err
	}
	volume := opts.Volume
	if volume == nil {
		volume = DirectoryVolume(n)
	}
	classes := opts.StorageClasses
	if classes == nil {
		classes = []string{"archive"}
	}
	timeout := opts.StartTimeout
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	ks := &Keepstores{Dir: dir, binary: bin, timeout: timeout, procs: make([]*process, n)}
	for i := 0; i < n; i++ {
		ks.UUIDs = append(ks.UUIDs, fmt.Sprintf("%s-bi6l4-%015d", ClusterID, i+1))
	}
	for i := 0; i < n; i++ {
		if err := ks.startNew(i, volume, classes); err != nil {
			ks.Stop()
			return nil, err
		}
	}
	return ks, nil
}

// StartKeepstoresTB starts keepstores in a temporary directory of tb and stops
// them at tb's cleanup; it fails tb if they cannot start.
func StartKeepstoresTB(tb testing.TB, opts KeepstoreOptions) *Keepstores {
	tb.Helper()
	ks, err := StartKeepstores(tb.TempDir(), opts)
	if err != nil {
		tb.Fatalf("start keepstores: %v", err)
	}
	tb.Cleanup(ks.Stop)
	return ks
}

// startNew picks a free port for server i, writes its config and starts it,
// trying again with another port if another process took the first one
// meanwhile.
func (ks *Keepstores) startNew(i int, volume func(int, string) string, classes []string) error {
	sdir := filepath.Join(ks.Dir, fmt.Sprintf("ks%d", i+1))
	if err := os.MkdirAll(sdir, 0o755); err != nil {
		return err
	}
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		var port int
		if port, err = freePort(); err != nil {
			return err
		}
		url := fmt.Sprintf("http://127.0.0.1:%d", port)
		cfg := configYAML(i, url, volume(i, sdir), classes)
		if err = os.WriteFile(ks.configPath(i), []byte(cfg), 0o600); err != nil {
			return err
		}
		if len(ks.URLs) <= i {
			ks.URLs = append(ks.URLs, url)
		} else {
			ks.URLs[i] = url
		}
		if err = ks.Start(i); err == nil || !strings.Contains(err.Error(), "address already in use") {
			return err
		}
	}
	return err
}

// configYAML writes the cluster config of one server, in the shape the
// keepstores script writes (one server per file here, so that one server can
// be restarted on its port without touching the others).
func configYAML(i int, url, volumeBody string, classes []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Clusters:\n  %s:\n", ClusterID)
	fmt.Fprintf(&b, "    SystemRootToken: %s\n    ManagementToken: %s\n", RootToken, ManagementToken)
	b.WriteString("    SystemLogs: {Format: text, LogLevel: warning}\n")
	b.WriteString("    API: {MaxKeepBlobBuffers: 8, MaxConcurrentRequests: 64}\n")
	b.WriteString("    Containers: {LocalKeepBlobBuffersPerVCPU: 0}\n")
	fmt.Fprintf(&b, "    Collections: {BlobSigning: true, BlobSigningKey: %s, BlobSigningTTL: %ds, BlobTrash: true}\n",
		SigningKey, int(SigningTTL/time.Second))
	b.WriteString("    StorageClasses: {default: {Default: true}")
	for _, c := range classes {
		fmt.Fprintf(&b, ", %s: {Default: false}", c)
	}
	b.WriteString("}\n")
	b.WriteString("    Services:\n      Controller: {ExternalURL: \"http://127.0.0.1:1/\"}\n")
	fmt.Fprintf(&b, "      Keepstore:\n        InternalURLs:\n          %q: {Rendezvous: \"%015d\"}\n", url+"/", i+1)
	fmt.Fprintf(&b, "    Volumes:\n      %s-nyw5e-%015d:\n", ClusterID, i+1)
	for _, line := range strings.Split(strings.TrimRight(volumeBody, "\n"), "\n") {
		b.WriteString("        " + line + "\n")
	}
	fmt.Fprintf(&b, "        AccessViaHosts: {%q: {}}\n", url+"/")
	return b.String()
}

func (ks *Keepstores) configPath(i int) string {
	return filepath.Join(ks.Dir, fmt.Sprintf("ks%d", i+1), "config.yml")
}

// LogPath returns the file that server i logs to.
func (ks *Keepstores) LogPath(i int) string {
	return filepath.Join(ks.Dir, fmt.Sprintf("ks%d", i+1), "keepstore.log")
}

// Start starts server i (from 0) again on its port after Kill, and waits
// until it is healthy. Starting a running server is an error.
func (ks *Keepstores) Start(i int) error {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if ks.procs[i] != nil {
		return fmt.Errorf("testserver: keepstore %d is already running", i)
	}
	args := []string{"-config", ks.configPath(i)}
	if filepath.Base(ks.binary) == "arvados-server" {
		args = append([]string{"keepstore"}, args...)
	}
	p, err := startProcess(ks.binary, args, []string{"ARVADOS_SERVICE_INTERNAL_URL=" + ks.URLs[i] + "/"}, ks.LogPath(i))
	if err != nil {
		return fmt.Errorf("testserver: start keepstore %d: %w", i, err)
	}
	ks.procs[i] = p
	if err := p.waitReady(func() bool { return ks.healthy(i) }, ks.timeout, fmt.Sprintf("keepstore %d", i), ks.LogPath(i)); err != nil {
		ks.killLocked(i)
		return err
	}
	return nil
}

// healthy reports whether server i answers its health check with 200.
func (ks *Keepstores) healthy(i int) bool {
	req, _ := http.NewRequest(http.MethodGet, ks.URLs[i]+"/_health/ping", nil)
	req.Header.Set("Authorization", "Bearer "+ManagementToken)
	resp, err := (&http.Client{Timeout: time.Second}).Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// Kill stops server i at once (SIGKILL), as a crash would, and waits for it
// to exit. Killing a stopped server does nothing.
func (ks *Keepstores) Kill(i int) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	ks.killLocked(i)
}

func (ks *Keepstores) killLocked(i int) {
	if p := ks.procs[i]; p != nil {
		p.kill()
		ks.procs[i] = nil
	}
}

// Stop stops every server: SIGTERM, then SIGKILL after 5 s. It may be called
// more than once.
func (ks *Keepstores) Stop() {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	for i, p := range ks.procs {
		if p != nil {
			p.stop(5 * time.Second)
			ks.procs[i] = nil
		}
	}
}

// Running reports whether server i is running.
func (ks *Keepstores) Running(i int) bool {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	return ks.procs[i] != nil
}

// Pid returns server i's process id, or 0 while it is stopped.
func (ks *Keepstores) Pid(i int) int {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	return ks.procs[i].pid()
}

// ServicesJSON returns the servers as Arvados' keep_services/accessible
// answers them: {"kind":"arvados#keepServiceList","items":[…]}, all of type
// disk and writable.
func (ks *Keepstores) ServicesJSON() []byte {
	type item struct {
		UUID     string `json:"uuid"`
		Host     string `json:"service_host"`
		Port     int    `json:"service_port"`
		SSL      bool   `json:"service_ssl_flag"`
		Type     string `json:"service_type"`
		ReadOnly bool   `json:"read_only"`
	}
	list := struct {
		Kind  string `json:"kind"`
		Items []item `json:"items"`
	}{Kind: "arvados#keepServiceList"}
	for i, u := range ks.URLs {
		var port int
		fmt.Sscanf(u[strings.LastIndexByte(u, ':')+1:], "%d", &port)
		list.Items = append(list.Items, item{UUID: ks.UUIDs[i], Host: "127.0.0.1", Port: port, Type: "disk"})
	}
	b, _ := json.Marshal(list)
	return b
}

// Index returns the `md5+size` of every block server i holds, in the order
// its /index lists them (read with the system root token).
func (ks *Keepstores) Index(ctx context.Context, i int) ([]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ks.URLs[i]+"/index", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+RootToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("testserver: index of keepstore %d: %s", i, resp.Status)
	}
	var blocks []string
	sc := bufio.NewScanner(resp.Body)
	complete := false
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			complete = true
			break
		}
		loc, _, _ := strings.Cut(line, " ")
		blocks = append(blocks, loc)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if !complete {
		return nil, fmt.Errorf("testserver: index of keepstore %d ends without its blank line", i)
	}
	return blocks, nil
}

// Sign returns `<md5>+<size>` of stripped signed for token with the given
// expiry, as the servers sign: +A<hex HMAC-SHA1(SigningKey,
// "<md5>@<token>@<expiry hex>@<ttl seconds hex>")>@<expiry hex>.
func Sign(stripped, token string, expiry time.Time) string {
	hash, _, _ := strings.Cut(stripped, "+")
	exp := fmt.Sprintf("%08x", expiry.Unix())
	mac := hmac.New(sha1.New, []byte(SigningKey))
	fmt.Fprintf(mac, "%s@%s@%s@%x", hash, token, exp, int64(SigningTTL/time.Second))
	return stripped + "+A" + hex.EncodeToString(mac.Sum(nil)) + "@" + exp
}

// findBinary returns the keepstore executable to run.
func findBinary(bin string) (string, error) {
	if bin == "" {
		bin = os.Getenv("ARVFILE_KEEPSTORE")
	}
	if bin == "" {
		root, err := RepoRoot()
		if err != nil {
			return "", err
		}
		bin = filepath.Join(root, "..", "shared", "keepstore", "keepstore")
	}
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("testserver: keepstore binary (set ARVFILE_KEEPSTORE, or see README: `arvados-server keepstore`): %w", err)
	}
	return bin, nil
}

// RepoRoot returns the directory holding go.mod, walking up from the working
// directory.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("testserver: no go.mod above the working directory")
		}
		dir = parent
	}
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tail returns the last lines of a log file, for error messages.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}
