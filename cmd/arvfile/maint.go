package main

import (
	"errors"
	"flag"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/arvfile/arvfile/keep"
	"github.com/arvfile/arvfile/segments"
)

func init() {
	register(&command{
		name:    "fsck",
		args:    "[REF…]",
		summary: "verify the blocks of a keep directory, or of collections",
		help: `Without REF, reads every block file of the keep directory and checks it against its
md5 (the name of the file) and size. With REFs, reads every block the collections
reference (and their manifest blocks), in any store, and reports the missing ones as
well. Prints one line per problem, "damaged LOCATOR: why" or "missing LOCATOR", then a
summary; exits with status 4 when there is a problem.`,
		nargs: atLeast(0),
		setup: func(fl *flag.FlagSet) func(t *tool, args []string) error {
			return func(t *tool, args []string) error { return t.fsck(args) }
		},
	})
	register(&command{
		name:    "gc",
		args:    "[REF…]",
		summary: "remove unreferenced blocks and stale temporary files of a keep directory",
		help: `Finds the blocks of the keep directory that no listed collection references, and the
temporary files older than --temp-age that interrupted writes left behind. It only lists
them ("would remove …") unless --delete is given.

The listed collections are those of the keep directory's collection list, the file
arvfile-collections at its root, where every put records the collection it stored
(PDH, manifest locator, name, time; one line each), plus the REFs given. A manifest
block is kept with its collection. To let gc reclaim a collection, delete its line from
the list. gc refuses to delete anything when a listed collection cannot be read. Do
not run gc --delete while a put to the same directory is running: its new blocks are
not listed yet.`,
		nargs: atLeast(0),
		setup: func(fl *flag.FlagSet) func(t *tool, args []string) error {
			del := fl.Bool("delete", false, "remove what would be removed (the default is a dry run)")
			tempAge := fl.Duration("temp-age", time.Hour, "remove temporary files older than `AGE`")
			return func(t *tool, args []string) error { return t.gc(args, *del, *tempAge) }
		},
	})
}

// keepDir returns the store as a keep directory, or an error naming cmd.
func (t *tool) keepDir() (*keep.DirStore, error) {
	sc, err := t.store()
	if err != nil {
		return nil, err
	}
	if sc.dir == nil {
		return nil, usagef(t.cmd, "this command needs a keep directory store (--keep DIR)")
	}
	return sc.dir, nil
}

// referenced returns the md5s of the manifest blocks and of every block the
// collections named by refs reference.
func (t *tool) referenced(refs []string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, ref := range refs {
		head, _, _ := strings.Cut(ref, "/")
		text, locator, err := t.manifest(head)
		if err != nil {
			return nil, err
		}
		l, err := keep.ParseLocator(locator)
		if err != nil {
			return nil, err
		}
		out[l.Hash()] = true
		tree, err := segments.ParseManifest(text)
		if err != nil {
			return nil, fmt.Errorf("collection %s: %w", head, err)
		}
		eachLocator(tree, func(locator string) {
			if l, err := keep.ParseLocator(locator); err == nil {
				out[l.Hash()] = true
			}
		})
	}
	return out, nil
}

func (t *tool) fsck(refs []string) error {
	var locators []string
	if len(refs) == 0 {
		ds, err := t.keepDir()
		if err != nil {
			return err
		}
		blocks, err := ds.Blocks(t.ctx)
		if err != nil {
			return err
		}
		for _, b := range blocks {
			locators = append(locators, b.Locator)
		}
	} else {
		// Signed locators are needed to read from a signing store: check
		// each collection's blocks as its manifest names them.
		seen := map[string]bool{}
		for _, ref := range refs {
			head, _, _ := strings.Cut(ref, "/")
			text, locator, err := t.manifest(head)
			if err != nil && !errors.Is(err, keep.ErrNotFound) && !errors.Is(err, keep.ErrCorrupt) {
				return err
			}
			if !seen[locator] {
				seen[locator] = true
				locators = append(locators, locator)
			}
			if err != nil {
				continue // reported below
			}
			tree, err := segments.ParseManifest(text)
			if err != nil {
				return fmt.Errorf("collection %s: %w", head, err)
			}
			all := map[string]bool{}
			eachLocator(tree, func(l string) { all[l] = true })
			for _, l := range sortedKeys(all) {
				if !seen[l] {
					seen[l] = true
					locators = append(locators, l)
				}
			}
		}
	}
	sc, err := t.store()
	if err != nil {
		return err
	}
	var damaged, missing int
	for _, l := range locators {
		_, err := sc.st.Get(t.ctx, l)
		switch {
		case err == nil:
		case errors.Is(err, keep.ErrNotFound):
			missing++
			fmt.Fprintf(t.stdout, "missing %s\n", l)
		case errors.Is(err, keep.ErrCorrupt):
			damaged++
			fmt.Fprintf(t.stdout, "damaged %s: %v\n", l, err)
		default:
			return err
		}
	}
	fmt.Fprintf(t.stdout, "%d blocks checked: %d damaged, %d missing\n", len(locators), damaged, missing)
	if damaged+missing > 0 {
		return partialf("fsck: %d damaged and %d missing blocks", damaged, missing)
	}
	return nil
}

// eachLocator calls fn with every segment's locator of the tree, as its
// manifest writes it.
func eachLocator(d *segments.Dir, fn func(locator string)) {
	for _, f := range d.Files {
		for _, s := range f.Segments {
			fn(s.Locator)
		}
	}
	for _, sub := range d.Dirs {
		eachLocator(sub, fn)
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (t *tool) gc(refs []string, del bool, tempAge time.Duration) error {
	ds, err := t.keepDir()
	if err != nil {
		return err
	}
	list, err := t.readList()
	if err != nil {
		return err
	}
	for _, e := range list {
		refs = append(refs, e.locator)
	}
	keepSet, err := t.referenced(refs)
	if err != nil {
		return fmt.Errorf("gc: nothing removed: %w", err)
	}
	blocks, err := ds.Blocks(t.ctx)
	if err != nil {
		return err
	}
	temps, err := ds.TempFiles(t.ctx, t.now().Add(-tempAge))
	if err != nil {
		return err
	}
	verb := "would remove"
	if del {
		verb = "removed"
	}
	var n, kept int
	var bytes int64
	for _, b := range blocks {
		if keepSet[b.Locator[:32]] {
			kept++
			continue
		}
		if del {
			if err := ds.RemoveBlock(b.Locator); err != nil {
				return err
			}
		}
		l, _ := keep.ParseLocator(b.Locator)
		n++
		bytes += l.Size()
		fmt.Fprintf(t.stdout, "%s block %s\n", verb, b.Locator)
	}
	for _, tf := range temps {
		if del {
			if err := ds.RemoveTempFile(tf.Path); err != nil {
				return err
			}
		}
		n++
		bytes += tf.Size
		fmt.Fprintf(t.stdout, "%s temporary file %s\n", verb, tf.Path)
	}
	fmt.Fprintf(t.stdout, "%s %d files, %d bytes; %d blocks kept for %d listed collections\n", verb, n, bytes, kept, len(refs))
	return nil
}
