package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// putPlan is what put stores, found by walking the sources before anything
// is stored.
type putPlan struct {
	files []putFile
	// dirs are the directories with nothing stored below them, by
	// collection path.
	dirs []string
	// bytes is the size of every file.
	bytes int64
	// unreadable lists the files and directories that could not be read.
	unreadable []string
	// notFiles lists what was left out for not being a file or directory
	// (sockets, devices, symbolic links without --follow-links).
	notFiles []string
	// sameDirs lists the directories left out for being reached again
	// through a symbolic link, each with the collection path where the
	// directory is stored.
	sameDirs []sameDir
}

// sameDir is a directory left out of a put because it was already walked.
type sameDir struct {
	src    string // the path on disk that reached it again
	stored string // the collection path where it is stored ("" for the root)
}

// putFile is one file to store.
type putFile struct {
	src   string // the path on disk; "-" for standard input
	abs   string // the absolute path (the resume cache's key); "" for standard input
	name  string // the path in the collection
	size  int64
	mtime int64 // nanoseconds since 1970
	// id is the file's device and inode, when known (hasID): a file
	// reached by several paths (hard links, symbolic links) is read once.
	id    fileID
	hasID bool
}

// walker walks local trees into a plan, with the os functions (not io/fs,
// whose paths must be UTF-8): names are stored byte for byte as they are.
type walker struct {
	ctx         context.Context // an interruption stops the walk
	plan        *putPlan
	followLinks bool
	excludes    []string
	// walked holds every directory walked so far for the current source,
	// by identity: its collection path, and whether it is being walked (on
	// the current path: a link to it is a loop). Each directory is walked
	// once per source, so links to shared directories cannot multiply the
	// tree.
	walked map[fileID]*walkedDir
}

// walkedDir is what walker.walked records of a directory.
type walkedDir struct {
	name    string
	walking bool
}

// excluded reports whether an --exclude pattern matches: a pattern with a
// "/" is matched against the path relative to the source directory, any
// other against the base name.
func (w *walker) excluded(rel string) bool {
	base := path.Base(rel)
	for _, pat := range w.excludes {
		subject := base
		if strings.Contains(pat, "/") {
			subject = rel
		}
		if ok, _ := path.Match(strings.TrimPrefix(pat, "./"), subject); ok {
			return true
		}
	}
	return false
}

// addSource adds the source src (its Stat) under the collection path name
// ("" for the root).
func (w *walker) addSource(src, name string, info fs.FileInfo) error {
	if info.IsDir() {
		// Each PATH given is stored whole, even one inside another.
		w.walked = nil
		_, err := w.walkDir(src, name, "")
		return err
	}
	return w.addFile(src, name, info)
}

// addFile adds one regular file (put checks it can be read once it knows
// the resume cache cannot supply it).
func (w *walker) addFile(src, name string, info fs.FileInfo) error {
	if !info.Mode().IsRegular() {
		w.plan.notFiles = append(w.plan.notFiles, src)
		return nil
	}
	abs, err := filepath.Abs(src)
	if err != nil {
		return err
	}
	id, hasID := idOf(info)
	w.plan.files = append(w.plan.files, putFile{src: src, abs: abs, name: name, size: info.Size(), mtime: info.ModTime().UnixNano(), id: id, hasID: hasID})
	w.plan.bytes += info.Size()
	return nil
}

// walkDir adds the directory dir, stored as name, whose path relative to its
// source is rel. A directory already walked in this put (reached again
// through a symbolic link) is not walked again: a link back to a directory
// being walked is reported as unreadable (a loop), a link to one walked
// before is left out with a notice naming where it is stored. It returns
// how many entries it stored below dir, or -1 when dir was not walked.
func (w *walker) walkDir(dir, name, rel string) (int, error) {
	if info, err := os.Stat(dir); err == nil {
		if id, ok := idOf(info); ok {
			if seen := w.walked[id]; seen != nil {
				if seen.walking {
					w.plan.unreadable = append(w.plan.unreadable, dir+": a symbolic link loop")
				} else {
					w.plan.sameDirs = append(w.plan.sameDirs, sameDir{src: dir, stored: seen.name})
				}
				return -1, nil
			}
			if w.walked == nil {
				w.walked = map[fileID]*walkedDir{}
			}
			seen := &walkedDir{name: name, walking: true}
			w.walked[id] = seen
			defer func() { seen.walking = false }()
		}
	}
	d, err := os.Open(dir)
	var entries []fs.DirEntry
	if err == nil {
		entries, err = d.ReadDir(-1)
		defer d.Close()
	}
	if err != nil {
		w.plan.unreadable = append(w.plan.unreadable, fmt.Sprintf("%s: %v", dir, unwrapPath(err)))
		return -1, nil
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	stored := 0
	if err := w.ctx.Err(); err != nil {
		return 0, err
	}
	for _, de := range entries {
		src := filepath.Join(dir, de.Name())
		childRel := de.Name()
		if rel != "" {
			childRel = rel + "/" + de.Name()
		}
		if w.excluded(childRel) {
			continue
		}
		childName := de.Name()
		if name != "" {
			childName = name + "/" + de.Name()
		}
		info, err := lstatAt(d, dir, de.Name())
		if err != nil {
			w.plan.unreadable = append(w.plan.unreadable, fmt.Sprintf("%s: %v", src, unwrapPath(err)))
			continue
		}
		if info.Mode()&fs.ModeSymlink != 0 {
			if !w.followLinks {
				w.plan.notFiles = append(w.plan.notFiles, src)
				continue
			}
			info, err = os.Stat(src)
			if err != nil {
				w.plan.unreadable = append(w.plan.unreadable, fmt.Sprintf("%s: %v", src, unwrapPath(err)))
				continue
			}
		}
		if info.IsDir() {
			n, err := w.walkDir(src, childName, childRel)
			if err != nil {
				return 0, err
			}
			if n >= 0 {
				stored += n + 1 // its files, or itself as an empty directory
			}
			continue
		}
		before := len(w.plan.files)
		if err := w.addFile(src, childName, info); err != nil {
			return 0, err
		}
		stored += len(w.plan.files) - before
	}
	if stored == 0 && name != "" {
		w.plan.dirs = append(w.plan.dirs, name)
	}
	return stored, nil
}

// unwrapPath drops the *fs.PathError's path, which the caller prints.
func unwrapPath(err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err
	}
	return err
}
