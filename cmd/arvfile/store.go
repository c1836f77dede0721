package main

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/arvfile/arvfile/keep"
)

// storeChoice is the store a command works on, with where its side files
// live.
type storeChoice struct {
	// st is the store.
	st keep.Store
	// dir is the store when it is a keep directory (fsck and gc need one),
	// else nil.
	dir *keep.DirStore
	// id names the store for the resume cache: "dir:" and the absolute root,
	// "keep:" and the services, "s3://…".
	id string
	// listPath is the store's collection list (see collectionList).
	listPath string
	// close, when set, releases the store once the command is done.
	close func() error
}

// selectStore opens the store that --keep, --store or ARVFILE_STORE names,
// in that order of precedence: a keep directory (the default is the one
// under the user's data directory), the Keep services of an Arvados cluster
// ("keep:", openKeep) or an S3 bucket ("s3://", openS3). Stores that are not
// a keep directory keep their collection list under the data directory
// (listPathFor).
func selectStore(ctx context.Context, g *globals, getenv func(string) string) (*storeChoice, error) {
	spec := g.store
	if spec == "" {
		spec = getenv("ARVFILE_STORE")
	}
	if g.keepDir != "" {
		spec = g.keepDir
	}
	switch {
	case strings.HasPrefix(spec, "keep:"):
		return openKeep(strings.TrimPrefix(spec, "keep:"), getenv)
	case strings.HasPrefix(spec, "s3://"):
		return openS3(ctx, spec, getenv)
	case strings.Contains(spec, "://"):
		return nil, usagef("", "store %q: unknown scheme; want a directory, keep: or s3://BUCKET", spec)
	}
	dir := spec
	if dir == "" {
		base, err := dataDir(getenv)
		if err != nil {
			return nil, fmt.Errorf("no --keep directory and %w", err)
		}
		dir = filepath.Join(base, "keep")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	ds, err := keep.NewDirStore(abs)
	if err != nil {
		return nil, err
	}
	return &storeChoice{st: ds, dir: ds, id: "dir:" + abs, listPath: filepath.Join(abs, collectionListName)}, nil
}

// dataDir is $XDG_DATA_HOME/arvfile, or ~/.local/share/arvfile.
func dataDir(getenv func(string) string) (string, error) {
	return xdgDir(getenv, "XDG_DATA_HOME", ".local/share")
}

// cacheDir is $XDG_CACHE_HOME/arvfile, or ~/.cache/arvfile.
func cacheDir(getenv func(string) string) (string, error) {
	return xdgDir(getenv, "XDG_CACHE_HOME", ".cache")
}

func xdgDir(getenv func(string) string, variable, fallback string) (string, error) {
	base := getenv(variable)
	if base == "" {
		home := getenv("HOME")
		if home == "" {
			return "", fmt.Errorf("neither %s nor HOME is set", variable)
		}
		base = filepath.Join(home, filepath.FromSlash(fallback))
	}
	return filepath.Join(base, "arvfile"), nil
}

// listPathFor is where the collection list of a store that is not a keep
// directory lives: under the data directory, named by the store's id.
func listPathFor(getenv func(string) string, id string) (string, error) {
	base, err := dataDir(getenv)
	if err != nil {
		return "", err
	}
	sum := md5.Sum([]byte(id))
	return filepath.Join(base, "collections-"+hex.EncodeToString(sum[:8])), nil
}

// ensureParent creates the directory that will hold path.
func ensureParent(path string) error { return os.MkdirAll(filepath.Dir(path), 0o755) }

// openS3 opens the S3 bucket that an s3://BUCKET[?…] spec names, with the
// usual AWS environment variables (see keep.S3ConfigFromURL); its collection
// list lives under the data directory.
func openS3(ctx context.Context, spec string, getenv func(string) string) (*storeChoice, error) {
	cfg, err := keep.S3ConfigFromURL(spec)
	if err != nil {
		return nil, usagef("", "store %q: %v", spec, err)
	}
	st, err := keep.NewS3Store(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store %q: %w", spec, err)
	}
	id := fmt.Sprintf("s3://%s?endpoint=%s&prefix_length=%d", cfg.Bucket, cfg.Endpoint, cfg.PrefixLength)
	list, err := listPathFor(getenv, id)
	if err != nil {
		return nil, err
	}
	return &storeChoice{st: st, id: id, listPath: list}, nil
}

// openKeep opens the Keep services of an Arvados cluster with the token
// ARVADOS_API_TOKEN: those of ARVADOS_KEEP_SERVICES (space-separated URLs,
// taken as proxies) when file is "", else those listed in file, a
// keep_services/accessible answer (`{"items":[…]}`).
func openKeep(file string, getenv func(string) string) (*storeChoice, error) {
	var (
		c   *keep.Client
		err error
	)
	if file == "" {
		c, err = keep.NewClientFromEnv()
	} else {
		var list []byte
		if list, err = os.ReadFile(file); err != nil {
			return nil, fmt.Errorf("store %q: %w", "keep:"+file, err)
		}
		var services []keep.Service
		if services, err = keep.ParseServiceList(list); err != nil {
			return nil, fmt.Errorf("store %q: %w", "keep:"+file, err)
		}
		token := getenv("ARVADOS_API_TOKEN")
		if token == "" {
			return nil, fmt.Errorf("store %q: ARVADOS_API_TOKEN is not set", "keep:"+file)
		}
		c, err = keep.NewClient(services, token)
	}
	if err != nil {
		return nil, fmt.Errorf("store %q: %w", "keep:"+file, err)
	}
	urls := make([]string, 0, len(c.Services()))
	for _, s := range c.Services() {
		urls = append(urls, s.URL)
	}
	sort.Strings(urls)
	id := "keep:" + strings.Join(urls, " ")
	list, err := listPathFor(getenv, id)
	if err != nil {
		c.Close()
		return nil, err
	}
	return &storeChoice{st: c, id: id, listPath: list, close: c.Close}, nil
}
