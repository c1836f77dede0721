package actors

import (
	"io/fs"
	"path"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/arvfile/arvfile/messages"
	"github.com/arvfile/arvfile/segments"
)

// The collection actor's namespace requests (messages/namespace.go): each
// resolves its paths in the tree, checks everything before it changes
// anything, changes the tree, bumps the collection's change counter, emits
// its events and answers.

// onNamespace hands each namespace message to its method.
func (c *collectionActor) onNamespace(ctx actorContext, msg any) {
	switch m := msg.(type) {
	case *messages.Mkdir:
		c.onMkdir(ctx, m)
	case *messages.Remove:
		c.onRemove(ctx, m)
	case *messages.Rename:
		c.onRename(ctx, m)
	case *messages.Detach:
		c.onDetach(ctx, m)
	case *messages.Attach:
		c.onAttach(ctx, m)
	case *messages.CopyOut:
		c.onCopyOut(ctx, m)
	case *messages.CopyIn:
		c.onCopyIn(ctx, m)
	case *messages.StatPath:
		c.onStatPath(ctx, m)
	case *messages.ReadDir:
		c.onReadDir(ctx, m)
	case *messages.ReplaceLocators:
		c.onReplaceLocators(ctx, m)
	}
}

// fail answers r with a *fs.PathError.
func fail(r *messages.Reply, op, name string, err error) {
	r.Fail(&fs.PathError{Op: op, Path: name, Err: err})
}

// cleanPath is cleanName for a namespace request, which also accepts a
// trailing "/" (as os.Remove and os.Rename do).
func cleanPath(name string) (string, bool) {
	if len(name) > 1 && strings.HasSuffix(name, "/") {
		name = name[:len(name)-1]
	}
	return cleanName(name)
}

// changeable cleans the path of a request that changes the tree. When the
// path is invalid or the collection read-only it fails the request and
// returns false.
func (c *collectionActor) changeable(r *messages.Reply, op, path string) (string, bool) {
	name, ok := cleanPath(path)
	switch {
	case !ok:
		fail(r, op, path, fs.ErrInvalid)
		return "", false
	case c.coll.ReadOnly:
		fail(r, op, path, ErrReadOnly)
		return "", false
	}
	return name, true
}

// isRoot reports whether name names the collection's root.
func isRoot(name string) bool {
	name = strings.TrimSuffix(strings.TrimPrefix(name, "./"), "/")
	return name == "" || name == "."
}

// lookup resolves the parent directory of the (clean, non-root) name. A
// missing parent is fs.ErrNotExist, a file in the way syscall.ENOTDIR.
func (c *collectionActor) lookup(name string) (parent *dirNode, base string, err error) {
	dir, base := path.Split(name)
	parent, err = c.walk(strings.TrimSuffix(dir, "/"), false)
	return parent, base, err
}

// touched records a change of the names in dirs: their modification time
// and the collection's change counter. It forgets where the last walk
// ended, which may be a directory just removed.
func (c *collectionActor) touched(dirs ...*dirNode) {
	now := time.Now()
	for _, d := range dirs {
		d.modTime = now
	}
	c.last = lastWalk{}
	c.coll.Changes.Add(1)
}

// dirTime returns d's modification time.
func (c *collectionActor) dirTime(d *dirNode) time.Time {
	if d.modTime.IsZero() {
		return c.created
	}
	return d.modTime
}

func (c *collectionActor) emit(ctx actorContext, kind messages.EventKind, name string) {
	c.coll.emit(ctx, messages.Event{Kind: kind, Path: name})
}

func (c *collectionActor) onMkdir(ctx actorContext, m *messages.Mkdir) {
	const op = "mkdir"
	if isRoot(m.Path) {
		if !m.Parents {
			fail(m.Reply, op, m.Path, fs.ErrExist)
			return
		}
		m.Reply.Finish()
		return
	}
	name, ok := c.changeable(m.Reply, op, m.Path)
	if !ok {
		return
	}
	if m.Parents {
		if _, err := c.mkdirAll(ctx, name); err != nil {
			fail(m.Reply, op, m.Path, err)
			return
		}
		m.Reply.Finish()
		return
	}
	parent, base, err := c.lookup(name)
	if err != nil {
		fail(m.Reply, op, m.Path, err)
		return
	}
	if parent.dirs[base] != nil || parent.files[base] != nil {
		fail(m.Reply, op, m.Path, fs.ErrExist)
		return
	}
	parent.dirs[base] = newDirNode()
	c.touched(parent)
	c.emit(ctx, messages.EventAdd, name)
	m.Reply.Finish()
}

// mkdirAll returns the directory at the clean path name, creating each
// missing one (with an EventAdd). A file in the way is syscall.ENOTDIR;
// nothing is created then.
func (c *collectionActor) mkdirAll(ctx actorContext, name string) (*dirNode, error) {
	if name == "" {
		return c.root, nil
	}
	// Check first, to fail without creating anything.
	switch n, err := c.walk(name, false); err {
	case nil:
		return n, nil
	case syscall.ENOTDIR:
		return nil, err
	}
	return c.root.descend(name, true, func(parent *dirNode, rel string) {
		c.touched(parent)
		c.emit(ctx, messages.EventAdd, rel)
	})
}

func (c *collectionActor) onRemove(ctx actorContext, m *messages.Remove) {
	const op = "remove"
	name, ok := c.changeable(m.Reply, op, m.Path)
	if !ok {
		return
	}
	parent, base, err := c.lookup(name)
	if err != nil {
		if m.All && err == fs.ErrNotExist {
			m.Reply.Finish()
			return
		}
		fail(m.Reply, op, m.Path, err)
		return
	}
	if d := parent.dirs[base]; d != nil {
		if !m.All && (len(d.dirs) > 0 || len(d.files) > 0) {
			fail(m.Reply, op, m.Path, syscall.ENOTEMPTY)
			return
		}
		delete(parent.dirs, base)
		c.unlink(ctx, node{dir: d})
	} else if fn, isFile := parent.files[base]; isFile {
		delete(parent.files, base)
		c.unlink(ctx, node{file: fn})
	} else {
		if m.All {
			m.Reply.Finish()
			return
		}
		fail(m.Reply, op, m.Path, fs.ErrNotExist)
		return
	}
	c.touched(parent)
	c.emit(ctx, messages.EventDel, name)
	m.Reply.Finish()
}

// node is a file or directory of the tree, as moved by renames.
type node struct {
	dir  *dirNode
	file *fileNode
}

// take returns the node at the clean, non-root name and its parent.
func (c *collectionActor) take(name string) (node, *dirNode, string, error) {
	parent, base, err := c.lookup(name)
	if err != nil {
		return node{}, nil, "", err
	}
	n := node{dir: parent.dirs[base], file: parent.files[base]}
	if n.dir == nil && n.file == nil {
		return node{}, nil, "", fs.ErrNotExist
	}
	return n, parent, base, nil
}

// target checks that n may be put at the clean, non-root name (as
// os.Rename allows) and returns the parent and whether something is
// replaced.
func (c *collectionActor) target(name string, n node) (*dirNode, string, bool, error) {
	parent, base, err := c.lookup(name)
	if err != nil {
		return nil, "", false, err
	}
	td, tf := parent.dirs[base], parent.files[base]
	switch {
	case n.dir != nil && tf != nil:
		return nil, "", false, syscall.ENOTDIR
	case n.dir != nil && td != nil && (len(td.dirs) > 0 || len(td.files) > 0):
		return nil, "", false, syscall.ENOTEMPTY
	case n.file != nil && td != nil:
		return nil, "", false, syscall.EISDIR
	}
	return parent, base, td != nil || tf != nil, nil
}

// put places n at base in parent, replacing what is there.
func put(parent *dirNode, base string, n node) {
	delete(parent.dirs, base)
	delete(parent.files, base)
	if n.dir != nil {
		parent.dirs[base] = n.dir
	} else {
		parent.files[base] = n.file
	}
}

func (c *collectionActor) onRename(ctx actorContext, m *messages.Rename) {
	const op = "rename"
	oldName, ok1 := cleanPath(m.Old)
	newName, ok2 := cleanPath(m.New)
	switch {
	case !ok1:
		fail(m.Reply, op, m.Old, fs.ErrInvalid)
		return
	case !ok2:
		fail(m.Reply, op, m.New, fs.ErrInvalid)
		return
	case c.coll.ReadOnly:
		fail(m.Reply, op, m.Old, ErrReadOnly)
		return
	}
	n, from, oldBase, err := c.take(oldName)
	if err != nil {
		fail(m.Reply, op, m.Old, err)
		return
	}
	if newName == oldName {
		m.Reply.Finish()
		return
	}
	if n.dir != nil && strings.HasPrefix(newName, oldName+"/") {
		fail(m.Reply, op, m.New, fs.ErrInvalid)
		return
	}
	to, newBase, replaced, err := c.target(newName, n)
	if err != nil {
		fail(m.Reply, op, m.New, err)
		return
	}
	delete(from.dirs, oldBase)
	delete(from.files, oldBase)
	c.unlink(ctx, node{file: to.files[newBase]})
	put(to, newBase, n)
	c.touched(from, to)
	c.reparent(ctx, n, newName, nil)
	c.emit(ctx, messages.EventDel, oldName)
	c.emit(ctx, addOrMod(replaced), newName)
	m.Reply.Finish()
}

func addOrMod(replaced bool) messages.EventKind {
	if replaced {
		return messages.EventMod
	}
	return messages.EventAdd
}

// reparent tells the actors of the open files under n their new path (and
// collection, when coll is not nil). Only those files' paths are made: a
// deep tree without open files costs one step per directory.
func (c *collectionActor) reparent(ctx actorContext, n node, name string, coll *CollectionRuntime) {
	if n.file != nil {
		c.reparentFile(ctx, n.file, name, coll)
		return
	}
	buf := []byte(name)
	c.reparentDir(ctx, n.dir, &buf, coll)
}

// reparentDir is reparent of the directory d at the path in *buf, which it
// extends in place and gives back as it found it.
func (c *collectionActor) reparentDir(ctx actorContext, d *dirNode, buf *[]byte, coll *CollectionRuntime) {
	mark := len(*buf)
	for base, sub := range d.dirs {
		*buf = append(append((*buf)[:mark], '/'), base...)
		c.reparentDir(ctx, sub, buf, coll)
	}
	for base, f := range d.files {
		if f.pid != nil {
			*buf = append(append((*buf)[:mark], '/'), base...)
			c.reparentFile(ctx, f, string(*buf), coll)
		}
	}
	*buf = (*buf)[:mark]
}

// reparentFile tells f's actor, if it has one, its new path and collection.
func (c *collectionActor) reparentFile(ctx actorContext, f *fileNode, name string, coll *CollectionRuntime) {
	if f.pid == nil {
		return
	}
	msg := &messages.Reparent{Path: name}
	if coll != nil {
		msg.Collection = coll
	}
	c.sendFile(ctx, f, msg)
}

func (c *collectionActor) onDetach(ctx actorContext, m *messages.Detach) {
	const op = "rename"
	name, ok := c.changeable(m.Reply, op, m.Path)
	if !ok {
		return
	}
	n, from, base, err := c.take(name)
	if err != nil {
		fail(m.Reply, op, m.Path, err)
		return
	}
	delete(from.dirs, base)
	delete(from.files, base)
	c.touched(from)
	c.emit(ctx, messages.EventDel, name)
	*m.Out = messages.Subtree{Node: n, IsDir: n.dir != nil}
	m.Reply.Finish()
}

func (c *collectionActor) onAttach(ctx actorContext, m *messages.Attach) {
	const op = "rename"
	name, ok := cleanPath(m.Path)
	n, isNode := m.Subtree.Node.(node)
	switch {
	case !ok:
		fail(m.Reply, op, m.Path, fs.ErrInvalid)
		return
	case !isNode:
		fail(m.Reply, op, m.Path, fs.ErrInvalid)
		return
	case c.coll.ReadOnly:
		fail(m.Reply, op, m.Path, ErrReadOnly)
		return
	}
	to, base, replaced, err := c.target(name, n)
	if err != nil {
		fail(m.Reply, op, m.Path, err)
		return
	}
	c.unlink(ctx, node{file: to.files[base]})
	put(to, base, n)
	c.touched(to)
	c.reparent(ctx, n, name, c.coll)
	c.emit(ctx, addOrMod(replaced), name)
	m.Reply.Finish()
}

func (c *collectionActor) onCopyOut(ctx actorContext, m *messages.CopyOut) {
	const op = "copy"
	name, ok := cleanPath(m.Path)
	if !ok {
		fail(m.Reply, op, m.Path, fs.ErrInvalid)
		return
	}
	n, _, base, err := c.take(name)
	if err != nil {
		fail(m.Reply, op, m.Path, err)
		return
	}
	out := m.Out
	out.Name, out.IsDir = base, n.dir != nil
	var files []*fileNode
	if n.file != nil {
		out.Entries = []messages.CopyEntry{{}}
		files = []*fileNode{n.file}
	} else {
		// Only files and empty directories are listed (CopyIn makes the
		// directories on their way), and the path of the directory walked
		// is built in place: a deep tree costs its entries' paths, not a
		// path per level.
		var prefix []byte
		var walk func(d *dirNode)
		walk = func(d *dirNode) {
			for _, sub := range sortedKeys(d.dirs) {
				sd := d.dirs[sub]
				if len(sd.dirs) == 0 && len(sd.files) == 0 {
					out.Entries = append(out.Entries, messages.CopyEntry{Path: joined(prefix, sub), Dir: true})
					files = append(files, nil)
					continue
				}
				mark := len(prefix)
				prefix = append(append(prefix, sub...), '/')
				walk(sd)
				prefix = prefix[:mark]
			}
			for _, f := range sortedKeys(d.files) {
				out.Entries = append(out.Entries, messages.CopyEntry{Path: joined(prefix, f)})
				files = append(files, d.files[f])
			}
		}
		walk(n.dir)
	}
	for i, f := range files { // out.Entries is complete: its elements stay put
		switch {
		case f == nil:
		case f.pid == nil:
			out.Entries[i].Segments = f.segs // never changed in place: shared
		default:
			m.Reply.Add(1)
			c.sendFile(ctx, f, &messages.CloneFile{Out: &out.Entries[i], Reply: m.Reply})
		}
	}
	m.Reply.Finish()
}

// sortedKeys returns the keys of m, sorted.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (c *collectionActor) onCopyIn(ctx actorContext, m *messages.CopyIn) {
	const op = "copy"
	src := m.Source
	err := c.copyIn(ctx, m)
	if err != nil {
		c.rt.ReleaseCopy(ctx, src)
		fail(m.Reply, op, m.Path, err)
		return
	}
	m.Reply.Finish()
}

// copyIn checks the target of a copy and creates it.
func (c *collectionActor) copyIn(ctx actorContext, m *messages.CopyIn) error {
	src := m.Source
	if c.coll.ReadOnly {
		return ErrReadOnly
	}
	name, into := "", true
	if !isRoot(m.Path) {
		var ok bool
		if name, ok = cleanPath(m.Path); !ok {
			return fs.ErrInvalid
		}
		into = m.Into
		if !into {
			if parent, base, err := c.lookup(name); err == nil && parent.dirs[base] != nil {
				into = true
			}
		}
	}
	if into {
		name = path.Join(name, src.Name)
	}
	dir, base := path.Split(name)
	dir = strings.TrimSuffix(dir, "/")
	if parent, err := c.walk(dir, false); err == nil { // check the target before changing anything
		if parent.dirs[base] != nil || parent.files[base] != nil && (src.IsDir || !m.Overwrite) {
			return fs.ErrExist
		}
	} else if err != fs.ErrNotExist {
		return err
	}
	parent, err := c.mkdirAll(ctx, dir)
	if err != nil {
		return err
	}
	if !src.IsDir {
		old, replaced := parent.files[base]
		if replaced {
			c.unlink(ctx, node{file: old})
		}
		parent.files[base] = c.copiedFile(ctx, name, &src.Entries[0])
		c.touched(parent)
		c.emit(ctx, addOrMod(replaced), name)
		return nil
	}
	top := newDirNode()
	parent.dirs[base] = top
	c.touched(parent)
	c.emit(ctx, messages.EventAdd, name)
	for i := range src.Entries {
		e := &src.Entries[i]
		if e.Dir {
			_, _ = top.descend(e.Path, true, nil) // a copy's tree has no file named like a directory
			continue
		}
		d, fbase := path.Split(e.Path)
		sub, err := top.descend(strings.TrimSuffix(d, "/"), true, nil)
		if err != nil {
			continue // as above: not expected
		}
		sub.files[fbase] = c.copiedFile(ctx, name+"/"+e.Path, e)
	}
	return nil
}

// copiedFile makes the node of a copied file: plain segments when they name
// only Keep blocks, else a FileActor that owns the retained blocks and the
// duplicated one.
func (c *collectionActor) copiedFile(ctx actorContext, name string, e *messages.CopyEntry) *fileNode {
	if len(e.Blocks) == 0 && e.Dup == nil {
		return &fileNode{segs: e.Segments}
	}
	segs := e.Segments
	var dupID string
	if e.Dup != nil {
		dupID = messages.NewBlockID()
		for i := range segs {
			if segs[i].Locator == e.Dup.ID {
				segs[i].Locator = dupID
			}
		}
	}
	fa := newFileActor(c.rt, c.coll, name, segs)
	for id, pid := range e.Blocks {
		fa.setBlock(id, pid)
	}
	fn := &fileNode{}
	c.spawnFile(ctx, fn, fa)
	if e.Dup != nil {
		c.sendFile(ctx, fn, &messages.AdoptBlock{ID: dupID, Data: e.Dup.Data})
	}
	return fn
}

func (c *collectionActor) onStatPath(ctx actorContext, m *messages.StatPath) {
	if isRoot(m.Path) {
		*m.Out = messages.PathInfo{Name: ".", IsDir: true, ModTime: c.dirTime(c.root)}
		m.Reply.Finish()
		return
	}
	name, ok := cleanPath(m.Path)
	if !ok {
		fail(m.Reply, "stat", m.Path, fs.ErrInvalid)
		return
	}
	n, _, base, err := c.take(name)
	if err != nil {
		fail(m.Reply, "stat", m.Path, err)
		return
	}
	c.info(ctx, m.Out, base, n, m.Reply)
	m.Reply.Finish()
}

// info fills out for the node n called base; an open file's actor fills
// out.File, counted on r.
func (c *collectionActor) info(ctx actorContext, out *messages.PathInfo, base string, n node, r *messages.Reply) {
	out.Name = base
	if n.dir != nil {
		out.IsDir, out.ModTime = true, c.dirTime(n.dir)
		return
	}
	if n.file.pid == nil {
		out.File = messages.FileInfo{Size: (&segments.File{Segments: n.file.segs}).Size(), ModTime: c.modTime(n.file)}
		return
	}
	r.Add(1)
	c.sendFile(ctx, n.file, &messages.Stat{Out: &out.File, Reply: r})
}

func (c *collectionActor) onReadDir(ctx actorContext, m *messages.ReadDir) {
	d := c.root
	if !isRoot(m.Path) {
		name, ok := cleanPath(m.Path)
		if !ok {
			fail(m.Reply, "readdir", m.Path, fs.ErrInvalid)
			return
		}
		n, _, _, err := c.take(name)
		if err != nil {
			fail(m.Reply, "readdir", m.Path, err)
			return
		}
		if n.dir == nil {
			fail(m.Reply, "readdir", m.Path, syscall.ENOTDIR)
			return
		}
		d = n.dir
	}
	names := make([]string, 0, len(d.dirs)+len(d.files))
	for name := range d.dirs {
		names = append(names, name)
	}
	for name := range d.files {
		names = append(names, name)
	}
	sort.Strings(names)
	out := make([]messages.PathInfo, len(names))
	for i, name := range names {
		c.info(ctx, &out[i], name, node{dir: d.dirs[name], file: d.files[name]}, m.Reply)
	}
	*m.Out = out
	m.Reply.Finish()
}
