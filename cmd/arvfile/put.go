package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/arvfile/arvfile"
	"github.com/arvfile/arvfile/keep"
	"github.com/arvfile/arvfile/segments"
)

func init() {
	register(&command{
		name:    "put",
		args:    "PATH… | -",
		summary: "store files and directories as a new collection; print its locator last",
		help: `Stores the files and directories named as a new collection and prints, as the last
line, the locator of its manifest block: for a keep directory this is the collection's
portable data hash (PDH); a store that signs blocks adds a +A… signature. get, ls, cat,
manifest and serve take either. The collection is also recorded in the store's
collection list (see 'arvfile help gc'), with --name if given.

Where things go: one directory's content goes at the root of the collection; with
several PATHs (or one file) each goes under its base name. Two PATHs with the same base
name (x/data y/data) are refused before anything is stored: nothing is merged or
overwritten. "-" alone reads standard input as one file, named by --filename (default
"stdin"); --filename also renames a single file PATH.

Symbolic links are followed (files and directories); --follow-links=false leaves them
out, with a notice. Below each PATH, each directory is stored once: one reached again
through a link (several links to a shared directory, or a link to a directory stored
by another path) is left out, with a notice naming where it is stored, in walk order
(sorted by name, depth first); a link back to a directory being walked is a loop,
reported as unreadable. A file reached by several paths (hard links, links to it) is
stored under each of them but read once.
Sockets, devices and pipes are left out, with a notice. Names are stored byte for byte,
even when they are not UTF-8.

A file or directory that cannot be read stops put before anything is stored, with the
list of them; --skip-unreadable leaves them out instead, reports them, and exits with
status 4.

Resume: put remembers, per store, which blocks hold each file it stored (by absolute
path, size and modification time) in $XDG_CACHE_HOME/arvfile (~/.cache/arvfile). A file
unchanged since is not read again once its blocks are confirmed in the store, so a put
that was interrupted, or that is run again on the same tree, costs little more than a walk
of the tree. The cache is saved every --checkpoint bytes read, on an interruption
(SIGINT, SIGTERM; a kill loses the files since the last save) and at the end.
--no-resume reads everything.

--dry-run stores nothing and exits with status 2 when some file would be read and
uploaded (not found in the resume cache), 0 otherwise.`,
		nargs: atLeast(1),
		setup: setupPut,
	})
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// putOptions are put's flags.
type putOptions struct {
	followLinks, dryRun, jsonOut, noResume, skipUnreadable bool
	progress, noProgress, batchProgress                    bool
	excludes                                               stringList
	name, filename                                         string
	checkpoint                                             int64
}

func setupPut(fl *flag.FlagSet) func(t *tool, args []string) error {
	o := &putOptions{}
	fl.BoolVar(&o.followLinks, "follow-links", true, "follow symbolic links (--follow-links=false leaves them out)")
	fl.Var(&o.excludes, "exclude", "leave out files and directories matching `PATTERN` (a glob; with a \"/\" it matches the path below the PATH given, else the base name); repeatable")
	fl.BoolVar(&o.dryRun, "dry-run", false, "store nothing; exit 2 if anything would be uploaded")
	fl.StringVar(&o.name, "name", "", "record the collection under `NAME` in the store's collection list (then usable as a reference)")
	fl.StringVar(&o.filename, "filename", "", "the `NAME` in the collection of standard input (-) or of a single file PATH")
	fl.BoolVar(&o.progress, "progress", false, "show a progress bar (the default on a terminal)")
	fl.BoolVar(&o.noProgress, "no-progress", false, "show no progress")
	fl.BoolVar(&o.batchProgress, "batch-progress", false, "write machine-readable progress lines to standard error")
	fl.BoolVar(&o.jsonOut, "json", false, "print the result as one JSON object instead of the locator")
	fl.BoolVar(&o.noResume, "no-resume", false, "read every file, ignoring the resume cache")
	fl.BoolVar(&o.skipUnreadable, "skip-unreadable", false, "leave out unreadable files and directories (reported; exit status 4)")
	fl.Int64Var(&o.checkpoint, "checkpoint", 256<<20, "save the resume cache every `BYTES` read")
	return func(t *tool, args []string) error { return t.put(o, args) }
}

// putResult is put's --json output.
type putResult struct {
	PortableDataHash string   `json:"portable_data_hash"`
	Locator          string   `json:"locator"`
	Name             string   `json:"name,omitempty"`
	Files            int      `json:"files"`
	Bytes            int64    `json:"bytes"`
	UploadedFiles    int      `json:"uploaded_files"`
	UploadedBytes    int64    `json:"uploaded_bytes"`
	ReusedFiles      int      `json:"reused_files"`
	ReusedBytes      int64    `json:"reused_bytes"`
	Skipped          []string `json:"skipped"`
}

// plan walks the sources.
func (t *tool) plan(o *putOptions, args []string) (*putPlan, error) {
	plan := &putPlan{}
	if len(args) == 1 && args[0] == "-" {
		name := o.filename
		if name == "" {
			name = "stdin"
		}
		if err := checkName(name); err != nil {
			return nil, usagef("put", "--filename: %v", err)
		}
		plan.files = append(plan.files, putFile{src: "-", name: name})
		return plan, nil
	}
	w := &walker{ctx: t.ctx, plan: plan, followLinks: o.followLinks, excludes: o.excludes}
	taken := map[string]string{}
	for _, src := range args {
		if src == "-" {
			return nil, usagef("put", "\"-\" (standard input) must be the only PATH")
		}
		info, err := os.Stat(src)
		if err != nil {
			return nil, err
		}
		name := ""
		if len(args) > 1 || !info.IsDir() {
			abs, err := filepath.Abs(src)
			if err != nil {
				return nil, err
			}
			name = filepath.Base(abs)
			if name == string(filepath.Separator) || name == "." {
				return nil, usagef("put", "%s has no base name to store it under; put its content alone", src)
			}
			name = filepath.ToSlash(name)
		}
		if o.filename != "" {
			if len(args) > 1 || info.IsDir() {
				return nil, usagef("put", "--filename names standard input or a single file, not %s", src)
			}
			if err := checkName(o.filename); err != nil {
				return nil, usagef("put", "--filename: %v", err)
			}
			name = o.filename
		}
		if other, ok := taken[name]; ok {
			return nil, usagef("put", "%s and %s would both be stored as %q: nothing stored; put them one at a time, or put their parent directories", other, src, name)
		}
		taken[name] = src
		if err := w.addSource(src, name, info); err != nil {
			return nil, err
		}
	}
	return plan, nil
}

// checkName refuses a collection path put cannot store.
func checkName(name string) error {
	for _, part := range strings.Split(name, "/") {
		if part == "" || part == "." || part == ".." || strings.IndexByte(part, 0) >= 0 {
			return fmt.Errorf("%q is not a path in a collection", name)
		}
	}
	return nil
}

func (t *tool) put(o *putOptions, args []string) error {
	if o.checkpoint <= 0 {
		return usagef("put", "--checkpoint must be positive")
	}
	if _, err := keep.ParseLocator(o.name); o.name != "" && (err == nil || strings.ContainsAny(o.name, "/\t\n")) {
		return usagef("put", "--name %q: a name cannot hold \"/\", a tab or a newline, nor be a locator", o.name)
	}
	plan, err := t.plan(o, args)
	if err != nil {
		return err
	}
	for _, p := range plan.notFiles {
		fmt.Fprintf(t.stderr, "arvfile put: leaving out %s: not a regular file or directory\n", quoteName(p))
	}
	for _, d := range plan.sameDirs {
		where := "the collection's root"
		if d.stored != "" {
			where = quoteName(d.stored)
		}
		fmt.Fprintf(t.stderr, "arvfile put: leaving out %s: the same directory is stored as %s\n", quoteName(d.src), where)
	}
	sc, err := t.store()
	if err != nil {
		return err
	}
	var rc *resumeCache
	if !o.noResume {
		if rc, err = openResumeCache(t.getenv, sc.id, func(msg string) { fmt.Fprintf(t.stderr, "arvfile put: %s\n", msg) }); err != nil {
			return err
		}
	}
	u := &uploader{t: t, plan: plan, rc: rc, checkpointBytes: o.checkpoint}
	if err := u.reuse(); err != nil {
		return err
	}
	if len(plan.unreadable) > 0 && !o.skipUnreadable {
		return fmt.Errorf("put: nothing stored: %d files or directories cannot be read (--skip-unreadable leaves them out):\n  %s",
			len(plan.unreadable), strings.Join(quoteAll(plan.unreadable), "\n  "))
	}
	for _, p := range plan.unreadable {
		fmt.Fprintf(t.stderr, "arvfile put: skipped %s\n", quoteName(p))
	}
	if o.dryRun {
		if len(u.todo) > 0 {
			return &exitCodeError{code: exitUsage, err: fmt.Errorf("put --dry-run: %d of %d files (%d bytes) would be uploaded", len(u.todo), len(plan.files), u.todoBytes)}
		}
		fmt.Fprintf(t.stderr, "arvfile put --dry-run: nothing to upload (%d files in the resume cache)\n", len(plan.files))
		return nil
	}
	mode := progressModeFor(t.terminal, o.progress, o.noProgress, o.batchProgress)
	if err := u.upload(newProgress(t.stderr, mode, "put", t.now, len(u.todo), u.todoBytes)); err != nil {
		if serr := rc.save(); serr != nil {
			fmt.Fprintf(t.stderr, "arvfile put: %v\n", serr)
		}
		return err
	}
	res, err := t.storeCollection(plan, u.segs, o.name)
	if err != nil {
		return err
	}
	res.UploadedFiles, res.UploadedBytes = len(u.todo), u.readBytes
	res.ReusedFiles, res.ReusedBytes = len(plan.files)-len(u.todo), u.reusedBytes
	res.Skipped = quoteAll(plan.unreadable)
	if o.jsonOut {
		b, err := json.Marshal(res)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(t.stdout, "%s\n", b)
		if err != nil {
			return err
		}
	} else if _, err := fmt.Fprintln(t.stdout, res.Locator); err != nil {
		return err
	}
	if len(plan.unreadable) > 0 {
		return partialf("put: stored %s without %d unreadable files or directories", res.Locator, len(plan.unreadable))
	}
	return nil
}

// storeCollection builds the collection of the plan's files (with their
// segments) and empty directories, stores its manifest as a block and
// records it in the collection list.
func (t *tool) storeCollection(plan *putPlan, segs [][]segments.Range, name string) (*putResult, error) {
	tree := segments.NewDir()
	for _, d := range plan.dirs {
		if _, err := tree.MkdirAll(d); err != nil {
			return nil, err
		}
	}
	res := &putResult{Name: name, Files: len(plan.files)}
	hints := false
	for i, f := range plan.files {
		if err := tree.AddFile(f.name, segs[i]); err != nil {
			return nil, err
		}
		if n := len(segs[i]); n > 0 {
			res.Bytes += segs[i][n-1].RangeStart + segs[i][n-1].RangeSize
		}
		for _, s := range segs[i] {
			hints = hints || strings.Count(s.Locator, "+") > 1
		}
	}
	text := segments.FormatManifest(tree, segments.FormatOptions{})
	stripped := text
	if hints {
		stripped = segments.FormatManifest(tree, segments.FormatOptions{Stripped: true})
	}
	res.PortableDataHash = segments.PortableDataHash(stripped)
	sc, err := t.store()
	if err != nil {
		return nil, err
	}
	res.Locator, err = sc.st.Put(t.ctx, []byte(text), keep.PutOptions{})
	if err != nil {
		return nil, fmt.Errorf("storing the manifest: %w", err)
	}
	if err := t.appendList(listEntry{pdh: res.PortableDataHash, locator: res.Locator, name: name, when: t.now()}); err != nil {
		return nil, fmt.Errorf("recording %s in the collection list: %w", res.Locator, err)
	}
	return res, nil
}

// uploader reads the files the resume cache cannot supply into a scratch
// collection, one file per name "0", "1", …, and takes their segments from
// it at each checkpoint.
type uploader struct {
	t    *tool
	plan *putPlan
	rc   *resumeCache
	// segs holds each plan file's segments, once known.
	segs [][]segments.Range
	// todo lists the plan files to read, by index.
	todo []int
	// copies maps a todo file to the later plan files that are the same
	// file on disk (same device, inode, size and mtime): they take its
	// segments instead of being read again.
	copies                 map[int][]int
	todoBytes              int64
	readBytes, reusedBytes int64
	checkpointBytes        int64

	c            *arvfile.Collection
	prog         *progress
	pending      []int // read since the last checkpoint
	checkpointed int   // files stored and recorded so far
}

// reuse takes from the resume cache every file whose blocks are all there;
// the others go to todo once they are found readable (a file that is not is
// moved from the plan's files to its unreadable list), except a second path
// to a file already in todo (a hard link, a symbolic link followed), which
// goes to copies. A file taken from the cache is not opened at all: its
// content is known.
func (u *uploader) reuse() error {
	sc, err := u.t.store()
	if err != nil {
		return err
	}
	v := &blockValidator{ctx: u.t.ctx, st: sc.st, now: u.t.now(), seen: map[string]bool{}}
	plan := u.plan
	kept := plan.files[:0]
	firstRead := map[fileID]int{} // the todo file of each file id
	u.copies = map[int][]int{}
	for _, f := range plan.files {
		if e, ok := u.rc.lookup(f); ok {
			valid, err := v.valid(e.Segs)
			if err != nil {
				return err
			}
			if valid {
				u.segs = append(u.segs, e.Segs)
				u.reusedBytes += f.size
				kept = append(kept, f)
				continue
			}
		}
		if first, ok := firstRead[f.id]; ok && f.hasID && kept[first].size == f.size && kept[first].mtime == f.mtime {
			u.copies[first] = append(u.copies[first], len(kept))
			u.reusedBytes += f.size
			u.segs = append(u.segs, nil)
			kept = append(kept, f)
			continue
		}
		if f.src != "-" {
			if err := canRead(f.src); err != nil {
				plan.unreadable = append(plan.unreadable, fmt.Sprintf("%s: %v", f.src, unwrapPath(err)))
				plan.bytes -= f.size
				continue
			}
		}
		if f.hasID {
			firstRead[f.id] = len(kept)
		}
		u.todo = append(u.todo, len(kept))
		u.todoBytes += f.size
		u.segs = append(u.segs, nil)
		kept = append(kept, f)
	}
	plan.files = kept
	return nil
}

// upload reads every todo file.
func (u *uploader) upload(prog *progress) error {
	u.prog = prog
	if len(u.todo) == 0 {
		prog.done()
		return nil
	}
	e, err := u.t.engine()
	if err != nil {
		return err
	}
	u.c = e.NewCollection()
	buf := make([]byte, 1<<20)
	var sinceCheckpoint int64
	for _, i := range u.todo {
		n, err := u.copyFile(i, buf, prog)
		if err != nil {
			if u.t.ctx.Err() != nil {
				// Interrupted: keep what was read in the resume cache.
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				if cerr := u.checkpoint(ctx); cerr != nil {
					fmt.Fprintf(u.t.stderr, "arvfile put: saving the files read before the interruption: %v\n", cerr)
				}
				cancel()
			}
			return err
		}
		prog.file()
		u.pending = append(u.pending, i)
		if sinceCheckpoint += n; sinceCheckpoint >= u.checkpointBytes {
			if err := u.checkpoint(u.t.ctx); err != nil {
				return err
			}
			sinceCheckpoint = 0
		}
	}
	if err := u.checkpoint(u.t.ctx); err != nil {
		return err
	}
	prog.done()
	return nil
}

// copyFile reads plan file i into the scratch collection.
func (u *uploader) copyFile(i int, buf []byte, prog *progress) (int64, error) {
	f := u.plan.files[i]
	var in io.Reader = u.t.stdin
	if f.src != "-" {
		file, err := os.Open(f.src)
		if err != nil {
			return 0, err
		}
		defer file.Close()
		in = file
	}
	out, err := u.c.Create(strconv.Itoa(i))
	if err != nil {
		return 0, err
	}
	n, err := u.t.copyOut(out, in, buf, prog)
	u.readBytes += n
	if err != nil {
		out.Close()
		return n, fmt.Errorf("storing %s: %w", f.src, err)
	}
	return n, out.Close()
}

// checkpoint stores every file read since the last checkpoint, takes their
// segments, records them in the resume cache (saved), and removes them from
// the scratch collection.
func (u *uploader) checkpoint(ctx context.Context) error {
	if len(u.pending) == 0 {
		return nil
	}
	if err := u.c.Commit(ctx); err != nil {
		return err
	}
	text, err := u.c.ManifestText(ctx, arvfile.ManifestOptions{OnlyCommitted: true})
	if err != nil {
		return err
	}
	tree, err := segments.ParseManifest(text)
	if err != nil {
		return err
	}
	for _, i := range u.pending {
		name := strconv.Itoa(i)
		f, ok := tree.Files[name]
		if !ok {
			return fmt.Errorf("put: %s is missing from the stored collection", u.plan.files[i].src)
		}
		for _, j := range append([]int{i}, u.copies[i]...) {
			u.segs[j] = f.Segments
			u.rc.record(u.plan.files[j], f.Segments)
		}
		u.checkpointed++
		if err := u.c.Remove(name); err != nil {
			return err
		}
	}
	u.pending = u.pending[:0]
	if err := u.rc.save(); err != nil {
		fmt.Fprintf(u.t.stderr, "arvfile put: %v\n", err)
	}
	u.prog.event(fmt.Sprintf("checkpoint files=%d bytes=%d", u.checkpointed, u.readBytes))
	return nil
}
