// Command arvfile puts directories into Keep collections and reads them back.
//
// Usage:
//
//	arvfile [--keep DIR] put DIR|FILE…      store a new collection; print its portable data hash
//	arvfile [--keep DIR] ls PDH[/PATH]      list a directory (directories end with "/")
//	arvfile [--keep DIR] cat PDH/PATH       write a file to standard output
//	arvfile [--keep DIR] get PDH[/PATH] DEST  copy a file or directory out
//	arvfile [--keep DIR] manifest PDH       print a collection's manifest
//
// Blocks live in a directory store: --keep DIR, or by default
// $XDG_DATA_HOME/arvfile/keep (~/.local/share/arvfile/keep). put stores the
// collection's stripped, normalized manifest as a block of its own, so the
// block's locator is the collection's portable data hash (PDH) and the PDH
// alone finds the collection again. Errors exit with status 1, usage errors
// with status 2.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/arvfile/arvfile"
	"github.com/arvfile/arvfile/keep"
)

const usage = `usage: arvfile [--keep DIR] COMMAND ARGS…

commands:
  put DIR|FILE…         store a new collection; print its portable data hash (PDH) last
  ls PDH[/PATH]         list a directory of a collection (directories end with "/")
  cat PDH/PATH          write a file of a collection to standard output
  get PDH[/PATH] DEST   copy a file or directory of a collection to DEST
  manifest PDH          print a collection's manifest

--keep DIR chooses the block store directory (default: $XDG_DATA_HOME/arvfile/keep,
or ~/.local/share/arvfile/keep).
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// usageError is a mistake in the command line (exit status 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// run executes one command line and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	err := dispatch(args, stdout, stderr)
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, usage)
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "arvfile: %s\n%s", ue.msg, usage)
		return 2
	default:
		fmt.Fprintf(stderr, "arvfile: %v\n", err)
		return 1
	}
}

// dispatch parses the global flags and runs the command.
func dispatch(args []string, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("arvfile", flag.ContinueOnError)
	fl.SetOutput(io.Discard)
	keepDir := fl.String("keep", "", "block store directory")
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usagef("%v", err)
	}
	args = fl.Args()
	if len(args) == 0 {
		return usagef("no command")
	}
	cmd, args := args[0], args[1:]
	want := map[string]func(n int) bool{
		"put":      func(n int) bool { return n >= 1 },
		"ls":       func(n int) bool { return n == 1 },
		"cat":      func(n int) bool { return n == 1 },
		"get":      func(n int) bool { return n == 2 },
		"manifest": func(n int) bool { return n == 1 },
	}
	ok, known := want[cmd]
	switch {
	case cmd == "help":
		return flag.ErrHelp
	case !known:
		return usagef("unknown command %q", cmd)
	case !ok(len(args)):
		return usagef("%s: wrong number of arguments", cmd)
	}
	st, err := openStore(*keepDir)
	if err != nil {
		return err
	}
	e, err := arvfile.New(arvfile.WithStore(st))
	if err != nil {
		return err
	}
	defer e.Close()
	t := &tool{st: st, e: e, stdout: stdout, stderr: stderr, ctx: context.Background()}
	switch cmd {
	case "put":
		return t.put(args)
	case "ls":
		return t.ls(args[0])
	case "cat":
		return t.cat(args[0])
	case "get":
		return t.get(args[0], args[1])
	default:
		return t.manifest(args[0])
	}
}

// openStore opens the block store directory dir, or the default one.
func openStore(dir string) (*keep.DirStore, error) {
	if dir == "" {
		base := os.Getenv("XDG_DATA_HOME")
		if base == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return nil, fmt.Errorf("no --keep directory and no home directory: %w", err)
			}
			base = filepath.Join(home, ".local", "share")
		}
		dir = filepath.Join(base, "arvfile", "keep")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return keep.NewDirStore(dir)
}

// tool runs the commands against one store and engine.
type tool struct {
	st     keep.Store
	e      *arvfile.Engine
	stdout io.Writer
	stderr io.Writer
	ctx    context.Context
}

// load finds the collection named by the PDH at the start of ref and returns
// it (read-only) with the path after the PDH ("." when none).
func (t *tool) load(ref string) (*arvfile.Collection, string, error) {
	pdh, p, _ := strings.Cut(ref, "/")
	l, err := keep.ParseLocator(pdh)
	if err != nil {
		return nil, "", usagef("%q is not a portable data hash: %v", pdh, err)
	}
	text, err := t.st.Get(t.ctx, l.Stripped())
	if err != nil {
		return nil, "", fmt.Errorf("collection %s: %w", pdh, err)
	}
	c, err := t.e.LoadCollection(string(text), arvfile.ReadOnly())
	if err != nil {
		return nil, "", fmt.Errorf("collection %s: %w", pdh, err)
	}
	p = strings.Trim(p, "/")
	if p == "" {
		p = "."
	}
	return c, p, nil
}

func (t *tool) manifest(ref string) error {
	pdh, rest, _ := strings.Cut(ref, "/")
	if rest != "" {
		return usagef("manifest: want a PDH without a path")
	}
	c, _, err := t.load(pdh)
	if err != nil {
		return err
	}
	text, err := c.ManifestText(t.ctx, arvfile.ManifestOptions{})
	if err != nil {
		return err
	}
	_, err = io.WriteString(t.stdout, text)
	return err
}

func (t *tool) ls(ref string) error {
	c, p, err := t.load(ref)
	if err != nil {
		return err
	}
	info, err := c.Stat(p)
	if err != nil {
		return err
	}
	if !info.IsDir() {
		_, err = fmt.Fprintln(t.stdout, p)
		return err
	}
	list, err := c.ReadDir(p)
	if err != nil {
		return err
	}
	for _, d := range list {
		name := d.Name()
		if d.IsDir() {
			name += "/"
		}
		if _, err := fmt.Fprintln(t.stdout, name); err != nil {
			return err
		}
	}
	return nil
}

func (t *tool) cat(ref string) error {
	c, p, err := t.load(ref)
	if err != nil {
		return err
	}
	f, err := c.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.CopyBuffer(t.stdout, f, make([]byte, 1<<20))
	return err
}

// get copies the file or directory at ref to dest: a file to dest, or into
// dest when dest is an existing directory; a directory's content into dest,
// created if missing. Existing files are not overwritten.
func (t *tool) get(ref, dest string) error {
	c, p, err := t.load(ref)
	if err != nil {
		return err
	}
	info, err := c.Stat(p)
	if err != nil {
		return err
	}
	if !info.IsDir() {
		if di, err := os.Stat(dest); err == nil && di.IsDir() {
			dest = filepath.Join(dest, info.Name())
		}
		return t.getFile(c, p, dest)
	}
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return err
	}
	return t.getDir(c, p, dest)
}

// getDir copies the content of the directory name of c into the existing
// directory dest. It walks with the collection's own ReadDir, which lists
// every name (through io/fs, names that are not UTF-8 would be left out).
func (t *tool) getDir(c *arvfile.Collection, name, dest string) error {
	list, err := c.ReadDir(name)
	if err != nil {
		return err
	}
	for _, d := range list {
		src, target := pathJoin(name, d.Name()), filepath.Join(dest, d.Name())
		if !d.IsDir() {
			if err := t.getFile(c, src, target); err != nil {
				return err
			}
			continue
		}
		if err := os.Mkdir(target, 0o755); err != nil {
			return err
		}
		if err := t.getDir(c, src, target); err != nil {
			return err
		}
	}
	return nil
}

func pathJoin(dir, name string) string {
	if dir == "." {
		return name
	}
	return dir + "/" + name
}

// getFile copies the file name of c to the new file dest.
func (t *tool) getFile(c *arvfile.Collection, name, dest string) error {
	f, err := c.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	out, err := os.OpenFile(dest, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.CopyBuffer(out, f, make([]byte, 1<<20)); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// put stores the trees at paths as a new collection and prints its PDH: one
// directory's content goes at the root; several paths go each under its base
// name.
func (t *tool) put(paths []string) error {
	var plan putPlan
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return err
		}
		prefix := filepath.Base(filepath.Clean(p))
		if len(paths) == 1 && info.IsDir() {
			prefix = ""
		}
		if err := plan.add(p, prefix, info, t.stderr); err != nil {
			return err
		}
	}
	c := t.e.NewCollection()
	prog := newProgress(t.stderr, len(plan.files), plan.bytes)
	for _, d := range plan.dirs {
		if err := c.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	buf := make([]byte, 1<<20)
	for _, f := range plan.files {
		if err := putFile(c, f, buf, prog); err != nil {
			return err
		}
		prog.file()
	}
	text, err := c.ManifestText(t.ctx, arvfile.ManifestOptions{Stripped: true})
	if err != nil {
		return err
	}
	prog.done()
	locator, err := t.st.Put(t.ctx, []byte(text), keep.PutOptions{})
	if err != nil {
		return fmt.Errorf("storing the manifest: %w", err)
	}
	pdh, err := c.PortableDataHash(t.ctx)
	if err != nil {
		return err
	}
	if l, err := keep.ParseLocator(locator); err != nil || l.Stripped() != pdh {
		return fmt.Errorf("the manifest was stored as %s, not as its portable data hash %s", locator, pdh)
	}
	_, err = fmt.Fprintln(t.stdout, pdh)
	return err
}

// putPlan lists what put stores.
type putPlan struct {
	dirs  []string // empty directories, by collection path
	files []putEntry
	bytes int64
}

type putEntry struct {
	src  string // the path on disk
	name string // the path in the collection
}

// add walks the file or directory p into the plan, below prefix.
func (pl *putPlan) add(p, prefix string, info fs.FileInfo, stderr io.Writer) error {
	if !info.IsDir() {
		pl.files = append(pl.files, putEntry{src: p, name: prefix})
		pl.bytes += info.Size()
		return nil
	}
	return filepath.WalkDir(p, func(src string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(p, src)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(filepath.Join(prefix, rel))
		switch {
		case d.IsDir():
			if empty, err := isEmptyDir(src); err != nil {
				return err
			} else if empty && name != "." {
				pl.dirs = append(pl.dirs, name)
			}
		case d.Type().IsRegular():
			info, err := d.Info()
			if err != nil {
				return err
			}
			pl.files = append(pl.files, putEntry{src: src, name: name})
			pl.bytes += info.Size()
		default:
			fmt.Fprintf(stderr, "arvfile: skipping %s: not a regular file or directory\n", src)
		}
		return nil
	})
}

func isEmptyDir(p string) (bool, error) {
	list, err := os.ReadDir(p)
	return len(list) == 0, err
}

// putFile copies one file from disk into c.
func putFile(c *arvfile.Collection, e putEntry, buf []byte, prog *progress) error {
	in, err := os.Open(e.src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := c.Create(e.name)
	if err != nil {
		return err
	}
	for {
		n, rerr := in.Read(buf)
		if n > 0 {
			if _, err := out.Write(buf[:n]); err != nil {
				out.Close()
				return err
			}
			prog.add(int64(n))
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			out.Close()
			return rerr
		}
	}
	return out.Close()
}

// progress draws a one-line progress bar on a terminal, and nothing
// elsewhere.
type progress struct {
	w            io.Writer // nil: not a terminal
	files, nfile int
	bytes, total int64
	last         time.Time
}

func newProgress(stderr io.Writer, files int, total int64) *progress {
	p := &progress{nfile: files, total: total}
	if f, ok := stderr.(*os.File); ok {
		if info, err := f.Stat(); err == nil && info.Mode()&os.ModeCharDevice != 0 {
			p.w = stderr
		}
	}
	return p
}

func (p *progress) add(n int64) { p.bytes += n; p.draw(false) }
func (p *progress) file()       { p.files++; p.draw(false) }

func (p *progress) done() {
	p.draw(true)
	if p.w != nil {
		fmt.Fprintln(p.w)
	}
}

func (p *progress) draw(force bool) {
	if p.w == nil || !force && time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	const width = 30
	filled := width
	if p.total > 0 {
		filled = int(int64(width) * p.bytes / p.total)
	}
	fmt.Fprintf(p.w, "\r[%s%s] %d/%d files, %.1f/%.1f MiB", strings.Repeat("#", filled), strings.Repeat(" ", width-filled),
		p.files, p.nfile, float64(p.bytes)/(1<<20), float64(p.total)/(1<<20))
}
