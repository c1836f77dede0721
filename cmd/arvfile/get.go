package main

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/arvfile/arvfile"
)

func init() {
	register(&command{
		name:    "get",
		args:    "REF[/PATH] DEST | -",
		summary: "copy a file or directory of a collection out",
		help: `Copies the file or directory PATH of a collection (its root by default) to DEST.
A directory's content goes into DEST, created if missing; a file goes to DEST, or into
DEST when it is an existing directory. DEST "-" writes a single file to standard output.

Nothing is written when a target file already exists, unless -f (overwrite it) or
--skip-existing (leave it) is given; the check is made for every file before the
first is written. Each file is written to a temporary name beside its target and renamed
into place once complete, so an error, a full disk or an interruption never leaves a
partial file under the target's name. Every target must stay inside DEST; a name that
would not (by filepath.IsLocal, on every OS) stops get before anything is written.

Every block read is checked against its md5. --md5sum prints "MD5  PATH" for each file
(PATH relative to DEST), as md5sum does, to standard output (to standard error when the
file goes to standard output). -n reads and checks everything and writes nothing.`,
		nargs: between(1, 2),
		setup: setupGet,
	})
}

type getOptions struct {
	force, skipExisting, dryRun, md5sum bool
	progress, noProgress, batchProgress bool
}

func setupGet(fl *flag.FlagSet) func(t *tool, args []string) error {
	o := &getOptions{}
	fl.BoolVar(&o.force, "f", false, "overwrite existing files")
	fl.BoolVar(&o.skipExisting, "skip-existing", false, "leave existing files as they are, and do not get them")
	fl.BoolVar(&o.dryRun, "n", false, "read and verify everything, write nothing (DEST may be left out)")
	fl.BoolVar(&o.md5sum, "md5sum", false, "print the md5 of each file")
	fl.BoolVar(&o.progress, "progress", false, "show a progress bar (the default on a terminal)")
	fl.BoolVar(&o.noProgress, "no-progress", false, "show no progress")
	fl.BoolVar(&o.batchProgress, "batch-progress", false, "write machine-readable progress lines to standard error")
	return func(t *tool, args []string) error {
		dest := ""
		if len(args) == 2 {
			dest = args[1]
		} else if !o.dryRun {
			return usagef("get", "want a DEST (or -n)")
		}
		if o.force && o.skipExisting {
			return usagef("get", "-f and --skip-existing exclude each other")
		}
		return t.get(o, args[0], dest)
	}
}

// getItem is one file or empty directory to write.
type getItem struct {
	src    string // the path in the collection
	rel    string // the path below DEST, slash-separated
	target string // the path on disk
	dir    bool
	size   int64
	skip   bool
}

func (t *tool) get(o *getOptions, ref, dest string) error {
	c, p, info, err := t.loadStat(ref)
	if err != nil {
		return err
	}
	var items []getItem
	if !info.IsDir() {
		target := dest
		if di, err := os.Stat(dest); err == nil && di.IsDir() && dest != "-" {
			target = filepath.Join(dest, info.Name())
		}
		items = append(items, getItem{src: p, rel: info.Name(), target: target, size: info.Size()})
	} else {
		if dest == "-" {
			return usagef("get", "%s is a directory: DEST - takes a single file", ref)
		}
		if items, err = t.listGet(c, p, dest); err != nil {
			return err
		}
	}
	if dest != "-" && !o.dryRun {
		base := dest
		if !info.IsDir() {
			base = filepath.Dir(items[0].target)
		}
		if err := checkTargets(items, base, o); err != nil {
			return err
		}
	}
	var total int64
	nfile := 0
	for _, it := range items {
		if !it.dir && !it.skip {
			total += it.size
			nfile++
		}
	}
	prog := newProgress(t.stderr, progressModeFor(t.terminal, o.progress, o.noProgress, o.batchProgress), "get", t.now, nfile, total)
	sums := t.stdout
	if dest == "-" {
		sums = t.stderr
	}
	buf := make([]byte, 1<<20)
	for _, it := range items {
		if it.skip {
			continue
		}
		if it.dir {
			if !o.dryRun {
				if err := os.MkdirAll(it.target, 0o755); err != nil {
					return err
				}
			}
			continue
		}
		sum, err := t.getFile(c, it, o, dest == "-", buf, prog)
		if err != nil {
			return err
		}
		prog.file()
		if o.md5sum {
			if _, err := fmt.Fprintf(sums, "%s  %s\n", sum, quoteName(it.rel)); err != nil {
				return err
			}
		}
	}
	prog.done()
	return nil
}

// listGet lists the files and empty directories below the collection
// directory p, with their targets below dest, in name order. It uses the
// collection's own calls (not its fs.FS, whose names must be UTF-8).
func (t *tool) listGet(c *arvfile.Collection, p, dest string) ([]getItem, error) {
	var items []getItem
	var walk func(dir, rel string) error
	walk = func(dir, rel string) error {
		list, err := c.ReadDir(dir)
		if err != nil {
			return err
		}
		if len(list) == 0 && rel != "" {
			items = append(items, getItem{src: dir, rel: rel, dir: true})
		}
		for _, d := range list {
			src, r := pathJoin(dir, d.Name()), d.Name()
			if rel != "" {
				r = rel + "/" + d.Name()
			}
			if d.IsDir() {
				if err := walk(src, r); err != nil {
					return err
				}
				continue
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			items = append(items, getItem{src: src, rel: r, size: info.Size()})
		}
		return nil
	}
	if err := walk(p, ""); err != nil {
		return nil, err
	}
	for i := range items {
		local := filepath.FromSlash(items[i].rel)
		if !filepath.IsLocal(local) || strings.ContainsRune(items[i].rel, '\\') && filepath.Separator == '\\' {
			return nil, fmt.Errorf("get: nothing written: %s would not stay inside %s", quoteName(items[i].rel), dest)
		}
		items[i].target = filepath.Join(dest, local)
	}
	return items, nil
}

// checkTargets refuses, before anything is written, targets that exist
// (unless o says what to do with them) and targets in the way of a
// directory.
func checkTargets(items []getItem, dest string, o *getOptions) error {
	var exist []string
	dirs := map[string]bool{} // directories below dest checked not to be links
	for i := range items {
		it := &items[i]
		if err := checkNoLinks(dest, it.target, dirs); err != nil {
			return err
		}
		fi, err := os.Lstat(it.target)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		switch {
		case it.dir && fi.IsDir():
		case it.dir:
			return fmt.Errorf("get: nothing written: %s exists and is not a directory", it.target)
		case fi.IsDir():
			return fmt.Errorf("get: nothing written: %s is a directory", it.target)
		case o.skipExisting:
			it.skip = true
		case !o.force:
			exist = append(exist, quoteName(it.target))
		}
	}
	if len(exist) > 0 {
		more := ""
		if len(exist) > 10 {
			more = fmt.Sprintf("\n  … and %d more", len(exist)-10)
			exist = exist[:10]
		}
		return fmt.Errorf("get: nothing written: %d files exist already (-f overwrites them, --skip-existing leaves them):\n  %s%s",
			len(exist), strings.Join(exist, "\n  "), more)
	}
	return nil
}

// checkNoLinks refuses a target whose directories below dest include a
// symbolic link (which could lead outside dest); dirs remembers the
// directories already found not to be links.
func checkNoLinks(dest, target string, dirs map[string]bool) error {
	rel, err := filepath.Rel(dest, filepath.Dir(target))
	if err != nil || rel == "." {
		return nil
	}
	p := dest
	for _, part := range strings.Split(rel, string(filepath.Separator)) {
		p = filepath.Join(p, part)
		if dirs[p] {
			continue
		}
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // created by get, below
		}
		if err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("get: nothing written: %s is a symbolic link, and get does not write through links inside DEST", p)
		}
		dirs[p] = true
	}
	return nil
}

// getFile copies one file to its target (through a temporary file renamed
// into place), to standard output, or nowhere (-n), and returns its md5 with
// --md5sum ("" without: every block was already checked against its md5).
func (t *tool) getFile(c *arvfile.Collection, it getItem, o *getOptions, toStdout bool, buf []byte, prog *progress) (string, error) {
	f, err := c.Open(it.src)
	if err != nil {
		return "", err
	}
	defer f.Close()
	var h hash.Hash
	if o.md5sum {
		h = md5.New()
	}
	switch {
	case o.dryRun:
		err = t.getTo(io.Discard, f, it, h, buf, prog)
	case toStdout:
		err = t.getTo(t.stdout, f, it, h, buf, prog)
	default:
		err = t.getToFile(f, it, h, buf, prog)
	}
	if err != nil || h == nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// getTo copies f to out, and to h unless it is nil, and checks that it got
// the file's size.
func (t *tool) getTo(out io.Writer, f io.Reader, it getItem, h hash.Hash, buf []byte, prog *progress) error {
	if h != nil {
		out = io.MultiWriter(out, h)
	}
	n, err := t.copyOut(out, f, buf, prog)
	if err == nil && n != it.size {
		err = fmt.Errorf("get %s: read %d bytes, want %d", it.src, n, it.size)
	}
	return err
}

// getToFile writes f to a temporary file beside it.target and renames it
// into place when complete and of the expected size.
func (t *tool) getToFile(f io.Reader, it getItem, h hash.Hash, buf []byte, prog *progress) (err error) {
	dir := filepath.Dir(it.target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".arvfile-get-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = t.getTo(tmp, f, it, h, buf, prog); err != nil {
		return err
	}
	if err = tmp.Chmod(0o644); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), it.target)
}

// copyOut copies in to out in buf-sized pieces, stopping when the command is
// interrupted.
func (t *tool) copyOut(out io.Writer, in io.Reader, buf []byte, prog *progress) (int64, error) {
	var total int64
	for {
		if err := t.ctx.Err(); err != nil {
			return total, err
		}
		n, rerr := in.Read(buf)
		if n > 0 {
			if _, err := out.Write(buf[:n]); err != nil {
				return total, err
			}
			total += int64(n)
			prog.add(int64(n))
		}
		if rerr == io.EOF {
			return total, nil
		}
		if rerr != nil {
			return total, rerr
		}
	}
}
