package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/arvfile/arvfile"
	"github.com/arvfile/arvfile/keep"
	"github.com/arvfile/arvfile/segments"
)

// tool runs one command: it opens the store and the engine on first use and
// closes them at the end.
type tool struct {
	ctx context.Context
	*env
	g   *globals
	cmd string

	sc *storeChoice
	e  *arvfile.Engine
	// list is the store's collection list once read (readList), kept up to
	// date by appendList: gc resolves every entry against it.
	list     []listEntry
	listRead bool
}

// store opens the selected store (once).
func (t *tool) store() (*storeChoice, error) {
	if t.sc != nil {
		return t.sc, nil
	}
	open := t.openStore
	if open == nil {
		open = func(ctx context.Context, g *globals) (*storeChoice, error) { return selectStore(ctx, g, t.getenv) }
	}
	sc, err := open(t.ctx, t.g)
	if err != nil {
		return nil, err
	}
	t.sc = sc
	return sc, nil
}

// engine opens the store and an engine on it (once).
func (t *tool) engine() (*arvfile.Engine, error) {
	if t.e != nil {
		return t.e, nil
	}
	sc, err := t.store()
	if err != nil {
		return nil, err
	}
	e, err := arvfile.New(arvfile.WithStore(sc.st))
	if err != nil {
		return nil, err
	}
	t.e = e
	return e, nil
}

func (t *tool) close() {
	if t.e != nil {
		t.e.Close()
	}
	if t.sc != nil && t.sc.close != nil {
		t.sc.close()
	}
}

// listEntry is one line of a store's collection list.
type listEntry struct {
	pdh, locator, name string
	when               time.Time
}

// The collection list of a store records every collection put stored:
// one line per put, `PDH<TAB>LOCATOR<TAB>"NAME"<TAB>RFC3339 time`. For a keep
// directory it is the file collectionListName at its root. It maps a PDH or
// a --name to the (possibly signed) locator of the manifest block, and it is
// what gc keeps: deleting a line forgets that collection.
const collectionListName = "arvfile-collections"

// readList returns the collection list, read once per command; a missing
// list is empty.
func (t *tool) readList() ([]listEntry, error) {
	if t.listRead {
		return t.list, nil
	}
	list, err := t.loadList()
	if err != nil {
		return nil, err
	}
	t.list, t.listRead = list, true
	return list, nil
}

// loadList reads the collection list file.
func (t *tool) loadList() ([]listEntry, error) {
	sc, err := t.store()
	if err != nil {
		return nil, err
	}
	f, err := os.Open(sc.listPath)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []listEntry
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; s.Scan(); n++ {
		fields := strings.Split(s.Text(), "\t")
		if len(fields) != 4 {
			return nil, fmt.Errorf("%s:%d: want 4 tab-separated fields", sc.listPath, n)
		}
		name, err := strconv.Unquote(fields[2])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: name: %w", sc.listPath, n, err)
		}
		when, _ := time.Parse(time.RFC3339, fields[3])
		out = append(out, listEntry{pdh: fields[0], locator: fields[1], name: name, when: when})
	}
	return out, s.Err()
}

// appendList records a collection in the list.
func (t *tool) appendList(e listEntry) error {
	sc, err := t.store()
	if err != nil {
		return err
	}
	if err := ensureParent(sc.listPath); err != nil {
		return err
	}
	f, err := os.OpenFile(sc.listPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	line := fmt.Sprintf("%s\t%s\t%s\t%s\n", e.pdh, e.locator, strconv.Quote(e.name), e.when.UTC().Format(time.RFC3339))
	if _, err := f.WriteString(line); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if t.listRead {
		t.list = append(t.list, e)
	}
	return nil
}

// resolve turns the head of a reference (before the first "/") into the
// locator of a manifest block and the collection's PDH: a signed locator is
// used as it is; a bare PDH is looked up in the collection list (the last
// signed locator recorded for it) and used as it is when absent; anything
// else is a name given to put --name.
func (t *tool) resolve(head string) (locator, pdh string, err error) {
	l, perr := keep.ParseLocator(head)
	if perr == nil && l.Signature() != "" {
		return head, "", nil
	}
	list, err := t.readList()
	if err != nil {
		return "", "", err
	}
	for i := len(list) - 1; i >= 0; i-- {
		e := list[i]
		if perr == nil && e.pdh == l.Stripped() || perr != nil && e.name == head {
			return e.locator, e.pdh, nil
		}
	}
	if perr == nil {
		return l.Stripped(), l.Stripped(), nil
	}
	return "", "", usagef(t.cmd, "%q is not a portable data hash, a locator or the name of a collection (%v)", head, perr)
}

// manifest returns the manifest text of the collection that the head of a
// reference names, and the locator of the block it was read from (also when
// reading that block failed, for fsck to report it).
func (t *tool) manifest(head string) (text, locator string, err error) {
	locator, pdh, err := t.resolve(head)
	if err != nil {
		return "", "", err
	}
	sc, err := t.store()
	if err != nil {
		return "", "", err
	}
	data, err := sc.st.Get(t.ctx, locator)
	if err != nil {
		return "", locator, fmt.Errorf("collection %s: %w", head, err)
	}
	text = string(data)
	tree, err := segments.ParseManifest(text)
	if err != nil {
		return "", locator, fmt.Errorf("collection %s: %w", head, err)
	}
	if got := segments.PortableDataHash(segments.FormatManifest(tree, segments.FormatOptions{Stripped: true})); pdh != "" && got != pdh {
		return "", locator, fmt.Errorf("collection %s: the manifest stored as %s has the portable data hash %s", pdh, locator, got)
	}
	return text, locator, nil
}

// load returns the collection (read-only) that ref names, with the path
// after the collection's head ("." when none).
func (t *tool) load(ref string) (*arvfile.Collection, string, error) {
	head, p, _ := strings.Cut(ref, "/")
	text, _, err := t.manifest(head)
	if err != nil {
		return nil, "", err
	}
	c, err := t.open(head, text)
	if err != nil {
		return nil, "", err
	}
	return c, cleanPath(p), nil
}

// loadStat is load, with what the path names.
func (t *tool) loadStat(ref string) (*arvfile.Collection, string, fs.FileInfo, error) {
	c, p, err := t.load(ref)
	if err != nil {
		return nil, "", nil, err
	}
	info, err := c.Stat(p)
	if err != nil {
		return nil, "", nil, err
	}
	return c, p, info, nil
}

// open loads the manifest text of the collection head as a read-only
// collection.
func (t *tool) open(head, text string) (*arvfile.Collection, error) {
	e, err := t.engine()
	if err != nil {
		return nil, err
	}
	c, err := e.LoadCollection(text, arvfile.ReadOnly())
	if err != nil {
		return nil, fmt.Errorf("collection %s: %w", head, err)
	}
	return c, nil
}

// cleanPath trims slashes and "./" from a path inside a collection; "" is
// the root ".".
func cleanPath(p string) string {
	p = strings.Trim(p, "/")
	for strings.HasPrefix(p, "./") {
		p = strings.TrimLeft(p[2:], "/")
	}
	if p == "" {
		p = "."
	}
	return p
}

// pathJoin joins a collection directory and a name.
func pathJoin(dir, name string) string {
	if dir == "." {
		return name
	}
	return dir + "/" + name
}
