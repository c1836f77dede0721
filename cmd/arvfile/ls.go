package main

import (
	"flag"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"
	"unicode/utf8"
)

func init() {
	register(&command{
		name:    "ls",
		args:    "REF[/PATH]",
		summary: "list a directory of a collection (directories end with \"/\")",
		help: `Lists the directory PATH of a collection (its root by default), sorted by name;
directories end with "/". A PATH naming a file lists that file. -r lists everything
below, as paths relative to PATH. -s puts each file's size in KiB (rounded up, as
arv-ls does) before its name, and "-" before a directory. A name holding control
bytes, bytes that are not UTF-8, or starting with a double quote is printed as a Go
quoted string ("a\nb").`,
		nargs: between(1, 1),
		setup: func(fl *flag.FlagSet) func(t *tool, args []string) error {
			recursive := fl.Bool("r", false, "list recursively")
			sizes := fl.Bool("s", false, "show sizes in KiB")
			return func(t *tool, args []string) error { return t.ls(args[0], *recursive, *sizes) }
		},
	})
	register(&command{
		name:    "cat",
		args:    "REF/PATH…",
		summary: "write files of collections to standard output",
		help:    `Writes each file named, in order, to standard output.`,
		nargs:   atLeast(1),
		setup: func(fl *flag.FlagSet) func(t *tool, args []string) error {
			return func(t *tool, args []string) error { return t.cat(args) }
		},
	})
	register(&command{
		name:    "manifest",
		args:    "REF",
		summary: "print a collection's manifest",
		help: `Prints the manifest text of a collection as it is stored (with the store's
signatures, if any); --portable prints the stripped form, whose md5 is the PDH.`,
		nargs: between(1, 1),
		setup: func(fl *flag.FlagSet) func(t *tool, args []string) error {
			portable := fl.Bool("portable", false, "print the stripped, normalized manifest (no signatures)")
			return func(t *tool, args []string) error { return t.printManifest(args[0], *portable) }
		},
	})
}

// quoteName returns name, or name as a Go quoted string when it holds
// control bytes or invalid UTF-8 (or starts with a quote, so that the two
// forms cannot be confused).
func quoteName(name string) string {
	if !utf8.ValidString(name) || strings.HasPrefix(name, `"`) {
		return strconv.Quote(name)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return strconv.Quote(name)
		}
	}
	return name
}

func quoteAll(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = quoteName(n)
	}
	return out
}

func (t *tool) ls(ref string, recursive, sizes bool) error {
	c, p, info, err := t.loadStat(ref)
	if err != nil {
		return err
	}
	line := func(name string, info fs.FileInfo) error {
		display := quoteName(name)
		if info.IsDir() {
			display = quoteName(name + "/")
		}
		if sizes {
			size := "-"
			if !info.IsDir() {
				size = strconv.FormatInt((info.Size()+1023)/1024, 10)
			}
			display = fmt.Sprintf("%10s %s", size, display)
		}
		_, err := io.WriteString(t.stdout, display+"\n")
		return err
	}
	if !info.IsDir() {
		return line(p, info)
	}
	var walk func(dir, rel string) error
	walk = func(dir, rel string) error {
		list, err := c.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, d := range list {
			info, err := d.Info()
			if err != nil {
				return err
			}
			name := pathJoin(rel, d.Name())
			if err := line(name, info); err != nil {
				return err
			}
			if recursive && d.IsDir() {
				if err := walk(pathJoin(dir, d.Name()), name); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return walk(p, ".")
}

func (t *tool) cat(refs []string) error {
	buf := make([]byte, 1<<20)
	for _, ref := range refs {
		c, p, err := t.load(ref)
		if err != nil {
			return err
		}
		f, err := c.Open(p)
		if err != nil {
			return err
		}
		_, err = io.CopyBuffer(t.stdout, f, buf)
		f.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

func (t *tool) printManifest(ref string, portable bool) error {
	head, rest, _ := strings.Cut(ref, "/")
	if cleanPath(rest) != "." {
		return usagef("manifest", "want a collection without a path, not %q", ref)
	}
	text, _, err := t.manifest(head)
	if err != nil {
		return err
	}
	if portable {
		c, err := t.open(head, text)
		if err != nil {
			return err
		}
		if text, err = c.PortableManifestText(t.ctx); err != nil {
			return err
		}
	}
	_, err = io.WriteString(t.stdout, text)
	return err
}
