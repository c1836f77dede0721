package main

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arvfile/arvfile/keep"
)

// signingStore signs the locators it returns, as a keepstore with a
// blob-signing key does, and serves only signed locators.
type signingStore struct {
	inner keep.Store
}

var errUnsigned = errors.New("signing store: locator not signed")

func (s signingStore) sign(locator string) string {
	l, _ := keep.ParseLocator(locator)
	sum := sha1.Sum([]byte("secret " + l.Stripped()))
	return l.Stripped() + "+A" + hex.EncodeToString(sum[:]) + "@7fffffff"
}

func (s signingStore) Put(ctx context.Context, data []byte, opts keep.PutOptions) (string, error) {
	l, err := s.inner.Put(ctx, data, opts)
	if err != nil {
		return "", err
	}
	return s.sign(l), nil
}

func (s signingStore) Get(ctx context.Context, locator string) ([]byte, error) {
	l, err := keep.ParseLocator(locator)
	if err != nil {
		return nil, err
	}
	if l.Size() > 0 && locator != s.sign(locator) {
		return nil, fmt.Errorf("%w: %s", errUnsigned, locator)
	}
	return s.inner.Get(ctx, l.Stripped())
}

// runInProcess runs one command line against sc, with files as standard
// input, and returns stdout, stderr and the exit status.
func runInProcess(t *testing.T, sc *storeChoice, cache string, args ...string) (string, string, int) {
	var stdout, stderr bytes.Buffer
	ev := &env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, now: time.Now,
		getenv: func(k string) string {
			if k == "XDG_CACHE_HOME" {
				return cache
			}
			return ""
		},
		openStore: func(context.Context, *globals) (*storeChoice, error) { return sc, nil }}
	code := run(context.Background(), args, ev)
	return stdout.String(), stderr.String(), code
}

func TestASigningStoresLocatorsNameItsCollections(t *testing.T) {
	mem := keep.NewMemoryStore()
	signer := signingStore{inner: mem}
	sc := &storeChoice{st: signer, id: "signing", listPath: filepath.Join(t.TempDir(), "list")}
	cache := t.TempDir()
	src := t.TempDir()
	writeTree(t, src, map[string]string{"a.txt": "alpha", "d/b.txt": "beta"})

	stdout, stderr, code := runInProcess(t, sc, cache, "put", src)
	require.Equal(t, 0, code, stderr)
	block := locatorOf("alpha" + "beta")
	stored := ". " + signer.sign(block) + " 0:5:a.txt\n./d " + signer.sign(block) + " 5:4:b.txt\n"
	portable := ". " + block + " 0:5:a.txt\n./d " + block + " 5:4:b.txt\n"
	locator := signer.sign(pdhOf(stored))
	assert.Equal(t, locator+"\n", stdout, "put prints the signed locator of the manifest block")
	assert.NotEqual(t, pdhOf(stored), pdhOf(portable))

	for _, ref := range []string{locator, pdhOf(portable)} {
		t.Run(ref, func(t *testing.T) {
			out, errText, code := runInProcess(t, sc, cache, "manifest", ref)
			assert.Equal(t, 0, code, errText)
			assert.Equal(t, stored, out)
			out, _, code = runInProcess(t, sc, cache, "manifest", "--portable", ref)
			assert.Equal(t, 0, code)
			assert.Equal(t, portable, out)
			out, _, code = runInProcess(t, sc, cache, "ls", "-r", ref)
			assert.Equal(t, 0, code)
			assert.Equal(t, "a.txt\nd/\nd/b.txt\n", out)
			out, _, code = runInProcess(t, sc, cache, "cat", ref+"/d/b.txt")
			assert.Equal(t, 0, code)
			assert.Equal(t, "beta", out)
			dest := filepath.Join(t.TempDir(), "out")
			_, errText, code = runInProcess(t, sc, cache, "get", ref, dest)
			require.Equal(t, 0, code, errText)
			assert.Equal(t, map[string]string{"a.txt": "alpha", "d/b.txt": "beta"}, readTree(t, dest))
		})
	}

	// Without the collection list, a bare PDH cannot fetch the block.
	require.NoError(t, os.Remove(sc.listPath))
	_, stderr, code = runInProcess(t, sc, cache, "ls", pdhOf(portable))
	assert.Equal(t, 1, code)
	assert.Equal(t, "arvfile: collection "+pdhOf(portable)+": signing store: locator not signed: "+pdhOf(portable)+"\n", stderr)

	// A second put reuses the signed blocks through the resume cache.
	stdout, stderr, code = runInProcess(t, sc, cache, "put", "--json", src)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, `"locator":"`+locator+`"`)
	assert.Contains(t, stdout, `"uploaded_files":0,"uploaded_bytes":0,"reused_files":2`)
}

func TestProgressShowsRatePercentageAndETA(t *testing.T) {
	start := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	type step struct {
		at    time.Duration
		bytes int64
		file  bool
	}
	tests := []struct {
		name  string
		mode  progressMode
		steps []step
		want  string
	}{
		{"a bar, redrawn at most every 100 ms and at the end", progressBar,
			[]step{{0, 1 << 20, false}, {50 * time.Millisecond, 1 << 20, false}, {2 * time.Second, 1 << 20, true}},
			"\r[#####               ]  25.0% 1.0 MiB/4.0 MiB 0 B/s ETA --:-- 0/2 files\x1b[K" +
				"\r[###############     ]  75.0% 3.0 MiB/4.0 MiB 1.5 MiB/s ETA 0:01 0/2 files\x1b[K" +
				"\r[###############     ]  75.0% 3.0 MiB/4.0 MiB 1.5 MiB/s ETA 0:01 1/2 files\x1b[K\n"},
		{"batch lines, at most one a second and one at the end", progressBatch,
			[]step{{0, 1 << 20, false}, {500 * time.Millisecond, 1 << 20, false}, {4 * time.Second, 1 << 20, true}},
			"arvfile put: bytes=1048576 total=4194304 files=0 nfiles=2 rate=0 eta=-1\n" +
				"arvfile put: bytes=3145728 total=4194304 files=0 nfiles=2 rate=786432 eta=1\n" +
				"arvfile put: bytes=3145728 total=4194304 files=1 nfiles=2 rate=786432 eta=1\n"},
		{"nothing when off", progressOff, []step{{0, 1 << 20, true}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := start
			var buf bytes.Buffer
			p := newProgress(&buf, tt.mode, "put", func() time.Time { return now }, 2, 4<<20)
			for _, s := range tt.steps {
				now = start.Add(s.at)
				p.add(s.bytes)
				if s.file {
					p.file()
				}
			}
			p.done()
			assert.Equal(t, tt.want, buf.String())
		})
	}
}

func TestFlagsGoBeforeOrAfterTheArguments(t *testing.T) {
	tests := []struct {
		args    []string
		wantPos []string
		wantR   bool
	}{
		{[]string{"-r", "a", "b"}, []string{"a", "b"}, true},
		{[]string{"a", "-r", "b"}, []string{"a", "b"}, true},
		{[]string{"a", "b", "-r"}, []string{"a", "b"}, true},
		{[]string{"-", "-r"}, []string{"-"}, true},
		{[]string{"a", "--", "-r"}, []string{"a", "-r"}, false},
	}
	for _, tt := range tests {
		fl := flag.NewFlagSet("t", flag.ContinueOnError)
		fl.SetOutput(io.Discard)
		r := fl.Bool("r", false, "")
		pos, err := parseInterspersed(fl, tt.args)
		require.NoError(t, err)
		assert.Equal(t, tt.wantPos, pos, tt.args)
		assert.Equal(t, tt.wantR, *r, tt.args)
	}
}
