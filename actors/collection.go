package actors

import (
	"io/fs"
	"os"
	"path"
	"strings"
	"syscall"
	"time"

	"github.com/arvfile/arvfile/messages"
	"github.com/arvfile/arvfile/segments"
	"github.com/asynkron/protoactor-go/actor"
)

// collectionActor owns one collection's name tree: directories (implied by
// the paths of the files in them) and files. A file that was never opened is
// plain segment data here; opening it spawns its FileActor (a child of this
// actor), which from then on owns the segments.
type collectionActor struct {
	rt   *Runtime
	coll *CollectionRuntime

	// All fields below belong to this actor alone.
	root     *dirNode
	created  time.Time // the modification time of files never opened and of directories
	stopping bool      // the engine is closing: ignore everything
	released *release  // set by ReleaseCollection: only wait for files to stop
	last     lastWalk  // where the last walk ended (walk)
	opened   slab[openedNode]

	snapshotHint int // the entries of the last Snapshot: room for the next one's
}

// lastWalk remembers the directory the last walk reached, so that a walk
// of a path below it (as fs.WalkDir makes, one level deeper each time)
// goes on from there instead of from the root: walking a tree n levels deep
// then costs n steps, not n²/2. Every change of names (touched) forgets it;
// a change of a file's bytes leaves it alone.
type lastWalk struct {
	path string
	dir  *dirNode
}

// dirNode is one directory of the tree.
type dirNode struct {
	dirs    map[string]*dirNode
	files   map[string]*fileNode
	modTime time.Time // zero: the collection's creation time
}

// fileNode is one file: its actor (and strand) while open, its segments
// before and once passivated.
type fileNode struct {
	pid    *actor.PID
	strand *Strand
	segs   []segments.Range
	ext    *fileNodeExt // nil until the file first had an actor
}

// fileNodeExt is what a file that had an actor needs besides: kept apart so
// that a loaded file that was never opened costs no more.
type fileNodeExt struct {
	sent    uint64    // messages sent to the current actor (FromCollection)
	modTime time.Time // a passivated file's modification time
}

// openedNode is a file created here: its node and its fileNodeExt, which
// it needs at once, in one allocation.
type openedNode struct {
	node fileNode
	ext  fileNodeExt
}

// newOpenedNode returns the node of a file being created, its ext set;
// many come from one allocation (c.opened).
func (c *collectionActor) newOpenedNode() *fileNode {
	o := c.opened.new()
	o.node.ext = &o.ext
	return &o.node
}

// modTime returns the modification time of a file without an actor.
func (c *collectionActor) modTime(fn *fileNode) time.Time {
	if fn.ext != nil && !fn.ext.modTime.IsZero() {
		return fn.ext.modTime
	}
	return c.created
}

// sendFile sends msg to fn's actor, counted (see messages.Passivate).
func (c *collectionActor) sendFile(ctx actorContext, fn *fileNode, msg any) {
	c.sendFileIn(ctx, fn, &messages.FromCollection{Msg: msg})
}

// sendFileIn is sendFile with the FromCollection to send (its Msg set):
// one of many allocated at once, when a message goes to many files.
func (c *collectionActor) sendFileIn(ctx actorContext, fn *fileNode, wrap *messages.FromCollection) {
	if fn.ext == nil {
		fn.ext = &fileNodeExt{}
	}
	fn.ext.sent++
	ctx.Send(fn.pid, wrap)
}

// onPassivate takes back the segments of an idle file's actor and stops it,
// when no message of this actor's is on the way to it and the file is still
// where it says.
func (c *collectionActor) onPassivate(ctx actorContext, m *messages.Passivate) {
	parent, base, err := c.lookup(m.Path)
	if err != nil {
		return
	}
	fn := parent.files[base]
	if fn == nil || fn.pid == nil || fn.ext == nil || !fn.pid.Equal(m.File) || fn.ext.sent != m.Seen {
		return
	}
	fn.segs, fn.ext.modTime, fn.ext.sent = m.Segments, m.ModTime, 0
	fn.pid, fn.strand = nil, nil
	ctx.Stop(m.File)
}

func newDirNode() *dirNode {
	return &dirNode{dirs: make(map[string]*dirNode), files: make(map[string]*fileNode)}
}

// newCollectionActor returns a collection's actor, whose tree starts as
// root (nil: empty).
func newCollectionActor(rt *Runtime, coll *CollectionRuntime, root *segments.Dir) *collectionActor {
	c := &collectionActor{rt: rt, coll: coll, root: newDirNode(), created: time.Now()}
	if root != nil {
		c.load(c.root, root)
	}
	return c
}

// wantsTerminated reports whether the collection wants to be told that a
// file's actor ended: only once released (it then waits for them).
func (c *collectionActor) wantsTerminated() bool { return c.released != nil }

// load copies a parsed tree into nodes.
func (c *collectionActor) load(n *dirNode, d *segments.Dir) {
	for name, sub := range d.Dirs {
		child := newDirNode()
		n.dirs[name] = child
		c.load(child, sub)
	}
	nodes := make([]fileNode, len(d.Files)) // one allocation per directory, not per file
	if len(d.Files) > 0 {
		n.files = make(map[string]*fileNode, len(d.Files))
	}
	i := 0
	for name, f := range d.Files {
		nodes[i].segs = f.Segments
		n.files[name] = &nodes[i]
		i++
	}
}

// receive hands each message to its method (the collection actor is a
// cell). Once stopping it ignores everything (a file actor spawned then
// would never stop).
// A panic fails the request being handled and keeps the actor, its tree
// and its files' actors (see Runtime.panicked).
func (c *collectionActor) receive(ctx *cellContext, msg any) {
	if c.stopping {
		return
	}
	if c.released != nil {
		if m, ok := msg.(*actor.Terminated); ok {
			c.released.stopped(ctx, m.Who)
		} else if r := replyOf(msg); r != nil && r.Take() {
			r.Fail(errReleased) // answered, not dropped: its caller returns now
		}
		return
	}
	defer func() {
		if p := recover(); p != nil {
			c.rt.panicked("collection", c.coll.ID, msg, p, replyOf(msg))
		}
	}()
	switch m := msg.(type) {
	case *actor.Stopping:
		c.stopping = true
	case *messages.OpenFile:
		c.onOpenFile(ctx, m)
	case *messages.Snapshot:
		c.onSnapshot(ctx, m)
	case *messages.Passivate:
		c.onPassivate(ctx, m)
	case *messages.ReleaseCollection:
		c.onRelease(ctx, m)
	case *messages.Mkdir, *messages.Remove, *messages.Rename, *messages.Detach, *messages.Attach,
		*messages.CopyOut, *messages.CopyIn, *messages.StatPath, *messages.ReadDir, *messages.ReplaceLocators:
		if r := changeReply(m); r != nil && !r.Take() {
			return // its caller gave up before: it has no effect
		}
		c.onNamespace(ctx, m)
	}
}

// changeReply returns the Reply of a namespace request that changes the
// tree (or, for CopyOut, retains blocks), which the actor takes
// (messages.Reply.Take) before applying it; nil for a request that only
// reads.
func changeReply(msg any) *messages.Reply {
	switch m := msg.(type) {
	case *messages.Mkdir:
		return m.Reply
	case *messages.Remove:
		return m.Reply
	case *messages.Rename:
		return m.Reply
	case *messages.Detach:
		return m.Reply
	case *messages.Attach:
		return m.Reply
	case *messages.CopyOut:
		return m.Reply
	case *messages.CopyIn:
		return m.Reply
	}
	return nil
}

// release is what a released collection actor waits for: the actors of
// the files of its tree, then its own children (files moved to other
// collections, which still run under it).
type release struct {
	waiting map[string]bool // the files of the tree not stopped yet, by PID id
	reply   *messages.Reply // finished once waiting is empty; nil after
}

// onRelease stops the actors of the files of the tree (moved in or not:
// ctx.Stop works on any actor; each is watched so that its end is seen),
// forgets the tree, and waits for them (release.stopped).
func (c *collectionActor) onRelease(ctx *cellContext, m *messages.ReleaseCollection) {
	r := &release{waiting: make(map[string]bool), reply: m.Reply}
	var visit func(d *dirNode)
	visit = func(d *dirNode) {
		for _, f := range d.files {
			if f.pid != nil && !r.waiting[f.pid.Id] {
				r.waiting[f.pid.Id] = true
				ctx.Watch(f.pid)
				ctx.Stop(f.pid)
			}
		}
		for _, sub := range d.dirs {
			visit(sub)
		}
	}
	visit(c.root)
	c.root, c.last = newDirNode(), lastWalk{}
	c.released = r
	for _, child := range ctx.Children() {
		if !r.waiting[child.Id] { // a file spawned here that moved to another collection
			*m.Lingering = true
		}
	}
	r.stopped(ctx, nil)
}

// stopped notes that who (nil: none) stopped; once every file of the tree
// did, it finishes the release, and once no child is left the actor stops.
func (r *release) stopped(ctx *cellContext, who *actor.PID) {
	if who != nil {
		delete(r.waiting, who.Id)
	}
	if len(r.waiting) > 0 {
		return
	}
	if r.reply != nil {
		r.reply.Finish()
		r.reply = nil
	}
	// The count of the cell's children, not Children (which copies them):
	// once the tree's files stopped, this runs for every child that ends
	// after, thousands at a release (copying them all each time took
	// quadratic time and memory).
	if len(ctx.c.children) == 0 {
		ctx.Stop(ctx.Self())
	}
}

// cleanName returns name as a path inside the collection ("./" prefix
// allowed), or false when it is not a valid file path: slash-separated
// components, none empty, "." or "..", none holding a NUL byte. Any other
// byte may be in a name (as in manifests), UTF-8 or not.
func cleanName(name string) (string, bool) {
	name = strings.TrimPrefix(name, "./")
	if name == "" || name == "." || !validPath(name) {
		return "", false
	}
	return name, true
}

// validPath reports whether name is slash-separated components that are
// neither empty, "." nor "..", without a NUL byte: fs.ValidPath without its
// UTF-8 rule. It uses only substring searches, so a long path costs little.
func validPath(name string) bool {
	switch {
	case name == "", name == ".", name == "..", strings.IndexByte(name, 0) >= 0,
		name[0] == '/', name[len(name)-1] == '/', strings.Contains(name, "//"),
		strings.HasPrefix(name, "./"), strings.HasPrefix(name, "../"),
		strings.HasSuffix(name, "/."), strings.HasSuffix(name, "/.."),
		strings.Contains(name, "/./"), strings.Contains(name, "/../"):
		return false
	}
	return true
}

func (c *collectionActor) onOpenFile(ctx actorContext, m *messages.OpenFile) {
	fail := func(err error) { m.Reply.Fail(&fs.PathError{Op: "open", Path: m.Name, Err: err}) }
	name, ok := cleanName(m.Name)
	if !ok {
		fail(fs.ErrInvalid)
		return
	}
	writer := m.Flag&(os.O_WRONLY|os.O_RDWR) != 0
	create := m.Flag&os.O_CREATE != 0
	if c.coll.ReadOnly && (writer || create || m.Flag&os.O_TRUNC != 0) {
		fail(ErrReadOnly)
		return
	}
	dirPath, base := path.Split(name)
	dir, err := c.walk(strings.TrimSuffix(dirPath, "/"), false)
	if err == fs.ErrNotExist && create {
		dir, err = c.walk(strings.TrimSuffix(dirPath, "/"), true)
	}
	if err != nil {
		fail(err)
		return
	}
	if _, isDir := dir.dirs[base]; isDir {
		fail(syscall.EISDIR)
		return
	}
	fn := dir.files[base]
	switch {
	case fn == nil && !create:
		fail(fs.ErrNotExist)
		return
	case fn != nil && create && m.Flag&os.O_EXCL != 0:
		fail(fs.ErrExist)
		return
	case fn == nil:
		// A new file's actor starts open (no Open message to wait for):
		// it is empty, so only its writer count needs setting.
		if !m.Reply.Take() {
			return // its caller gave up before: create nothing
		}
		fn = c.newOpenedNode()
		dir.files[base] = fn
		c.coll.emit(ctx, messages.Event{Kind: messages.EventAdd, Path: name})
		c.touched(dir)
		fa := newFileActor(c.rt, c.coll, name, nil)
		fa.handles = 1
		if writer {
			fa.writers = 1
		}
		c.spawnFile(ctx, fn, fa)
		m.Out.File = fn.pid
		m.Out.Runner = fn.strand
		m.Reply.Finish()
		return
	}
	if c.coll.ReadOnly { // the facade reads the segments itself: no actor
		*m.Out = messages.OpenResult{Segments: fn.segs, ModTime: c.modTime(fn)}
		m.Reply.Finish()
		return
	}
	if fn.pid == nil {
		fa := newFileActor(c.rt, c.coll, name, fn.segs)
		fa.modTime = c.modTime(fn)
		c.spawnFile(ctx, fn, fa)
		fn.segs = nil
	}
	m.Out.File = fn.pid
	m.Out.Runner = fn.strand
	c.sendFile(ctx, fn, &messages.Open{Writer: writer, Truncate: writer && m.Flag&os.O_TRUNC != 0, Reply: m.Reply})
}

// spawnFile spawns fa, on its own strand, as fn's actor.
func (c *collectionActor) spawnFile(ctx actorContext, fn *fileNode, fa *fileActor) {
	fn.pid = spawnCell(ctx, fa, fa.strand)
	fn.strand = fa.strand
	if fn.ext == nil {
		fn.ext = &fileNodeExt{}
	}
	fn.ext.sent = 0
}

// walk returns the directory at p ("" is the root), creating missing ones
// when create. A file in the way is syscall.ENOTDIR; a missing directory
// without create is fs.ErrNotExist.
func (c *collectionActor) walk(p string, create bool) (*dirNode, error) {
	if p == "" {
		return c.root, nil
	}
	n, rest := c.root, p
	if l := &c.last; l.dir != nil {
		switch {
		case p == l.path:
			return l.dir, nil
		case len(p) > len(l.path) && p[len(l.path)] == '/' && p[:len(l.path)] == l.path:
			n, rest = l.dir, p[len(l.path)+1:]
		}
	}
	n, err := n.descend(rest, create, nil)
	if err != nil {
		return nil, err
	}
	c.last = lastWalk{path: p, dir: n}
	return n, nil
}

// descend returns the directory at the slash-separated relative path p
// below n ("" is n itself). A missing directory is created when create is
// set — created, if not nil, is then told its parent and its path relative
// to n — and fails the walk with fs.ErrNotExist otherwise; a component that
// names a file fails it with syscall.ENOTDIR (directories created before it
// stay).
func (n *dirNode) descend(p string, create bool, created func(parent *dirNode, rel string)) (*dirNode, error) {
	if p == "" {
		return n, nil
	}
	rest := p
	for {
		part, tail, more := strings.Cut(rest, "/")
		if _, isFile := n.files[part]; isFile {
			return nil, syscall.ENOTDIR
		}
		next := n.dirs[part]
		if next == nil {
			if !create {
				return nil, fs.ErrNotExist
			}
			next = newDirNode()
			n.dirs[part] = next
			if created != nil {
				created(n, p[:len(p)-len(rest)+len(part)])
			}
		}
		n = next
		if !more {
			return n, nil
		}
		rest = tail
	}
}

// joined returns prefix followed by name as a new string.
func joined(prefix []byte, name string) string {
	var b strings.Builder
	b.Grow(len(prefix) + len(name))
	b.Write(prefix)
	b.WriteString(name)
	return b.String()
}

// namedFile is a file of a directory and its name (onSnapshot).
type namedFile struct {
	name string
	f    *fileNode
}

func (c *collectionActor) onSnapshot(ctx actorContext, m *messages.Snapshot) {
	// The last snapshot's size is this one's likely size: the entries are
	// not copied again and again as they grow.
	out := make([]messages.SnapshotEntry, 0, c.snapshotHint)
	var nodes []*fileNode // the node of each entry of out, when forwarding
	if m.Forward != nil {
		nodes = make([]*fileNode, 0, c.snapshotHint)
	}
	// prefix is the path of the directory visited, built in place; the
	// paths of a directory's files are one string, of which each entry's
	// path is a part (one allocation per directory, not one per file).
	var prefix []byte
	var files []namedFile // a directory's files (reused: visit lists them before it descends)
	var visit func(n *dirNode)
	visit = func(n *dirNode) {
		files = files[:0]
		size := 0
		for name, f := range n.files {
			files = append(files, namedFile{name, f})
			size += len(prefix) + len(name)
		}
		var b strings.Builder
		b.Grow(size)
		for _, nf := range files {
			b.Write(prefix)
			b.WriteString(nf.name)
		}
		paths, pos := b.String(), 0
		for _, nf := range files {
			end := pos + len(prefix) + len(nf.name)
			out = append(out, messages.SnapshotEntry{Path: paths[pos:end], File: nf.f.pid, Segments: nf.f.segs})
			pos = end
			if m.Forward != nil {
				nodes = append(nodes, nf.f)
			}
		}
		for name, d := range n.dirs {
			if len(d.files) == 0 && len(d.dirs) == 0 {
				out = append(out, messages.SnapshotEntry{Path: joined(prefix, name), Dir: true})
				if m.Forward != nil {
					nodes = append(nodes, nil)
				}
				continue
			}
			mark := len(prefix)
			prefix = append(append(prefix, name...), '/')
			visit(d)
			prefix = prefix[:mark]
		}
	}
	visit(c.root)
	c.snapshotHint = len(out)
	*m.Out = out
	if m.Forward != nil {
		n := 0
		for _, e := range out {
			if e.File != nil {
				n++
			}
		}
		wraps := make([]messages.FromCollection, n) // one allocation for every file's
		for i, e := range out {
			if e.File != nil {
				m.Reply.Add(1)
				wrap := &wraps[0]
				wraps = wraps[1:]
				wrap.Msg = m.Forward(i, e.File, m.Reply)
				c.sendFileIn(ctx, nodes[i], wrap)
			}
		}
	}
	m.Reply.Finish()
}

// unlink tells the actors of the files of n, which left the tree, that
// they did (Unlink).
func (c *collectionActor) unlink(ctx actorContext, n node) {
	if n.file != nil {
		if n.file.pid != nil {
			c.sendFile(ctx, n.file, &messages.Unlink{})
		}
		return
	}
	if n.dir == nil {
		return
	}
	for _, d := range n.dir.dirs {
		c.unlink(ctx, node{dir: d})
	}
	for _, f := range n.dir.files {
		c.unlink(ctx, node{file: f})
	}
}

// onReplaceLocators replaces locators in the files never opened (their
// segments are copied first: copies may share them) and forwards the
// request to every open file.
func (c *collectionActor) onReplaceLocators(ctx actorContext, m *messages.ReplaceLocators) {
	// prefix is the path of the directory visited, built in place (as in
	// onSnapshot): only the changed files' paths are allocated.
	var prefix []byte
	var visit func(d *dirNode)
	visit = func(d *dirNode) {
		for name, fn := range d.files {
			if fn.pid != nil {
				m.Reply.Add(1)
				c.sendFile(ctx, fn, m)
				continue
			}
			if segs, ok := replaced(fn.segs, m.Map); ok {
				fn.segs = segs
				c.coll.Changes.Add(1)
				c.emit(ctx, messages.EventTok, joined(prefix, name))
			}
		}
		for name, sub := range d.dirs {
			mark := len(prefix)
			prefix = append(append(prefix, name...), '/')
			visit(sub)
			prefix = prefix[:mark]
		}
	}
	visit(c.root)
	m.Reply.Finish()
}

// replaced returns a copy of segs with the locators of m replaced, or false
// when none is.
func replaced(segs []segments.Range, m map[string]string) ([]segments.Range, bool) {
	var out []segments.Range
	for i, s := range segs {
		loc, ok := m[s.Locator]
		if !ok {
			continue
		}
		if out == nil {
			out = append([]segments.Range(nil), segs...)
		}
		out[i].Locator = loc
	}
	return out, out != nil
}
