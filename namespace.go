package arvfile

import (
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/arvfile/arvfile/messages"
)

// The namespace of a collection: directories, removal, renaming, copying,
// Stat and ReadDir. Each call is one request to the collection's actor (a
// copy or a rename between collections, two), bounded by the engine's
// timeout; a call that fails at it had no effect (see requestDone). Names are slash-separated paths below the root ("./" may prefix
// them; "." is the root where it makes sense); any byte but "/" and NUL may
// appear in a name, UTF-8 or not — manifests escape what they must (FS()
// keeps io/fs's UTF-8 rule; see there). Errors are *fs.PathError values
// wrapping fs.ErrNotExist, fs.ErrExist, fs.ErrInvalid, syscall.ENOTDIR,
// syscall.EISDIR, syscall.ENOTEMPTY or ErrReadOnly (syscall.EROFS). Each
// change emits events to subscribers: EventAdd for a new file or directory,
// EventDel for a removed one, EventMod for a replaced one.

// request sends the message msg(r) to the collection's actor and waits for r.
func (c *Collection) request(op, name string, msg func(r *messages.Reply) any) error {
	err, _ := c.requestDone(op, name, msg, nil, nil)
	return err
}

// The outcome of a request (requestDone).
type outcome int

const (
	wasAnswered  outcome = iota // the actor answered: the error says what it did
	wasWithdrawn                // timed out before an actor took it: it had no effect
	wasAbandoned                // timed out after, or the engine closed: it may have had an effect
)

// requestDone is request that also says what became of it. A request that
// times out, or whose collection is closed meanwhile, is withdrawn
// (messages.Reply.Withdraw) unless an actor already took it: then, on a
// timeout, requestDone waits for its answer, which comes at once (actors
// never wait inside a message), so that a call that returns an error had no
// effect — unless late is not nil: then the wait is left to a goroutine that
// calls late with the request's error once it finished (to undo it), and the
// call fails at once (abandoned). When the collection was closed the call
// fails at once (abandoned) and the goroutine calls closed, or late when
// closed is nil: every party answers a request it took, even an actor that
// stops first (it answers what it drops). A request that only reads is
// never taken and is always withdrawn.
func (c *Collection) requestDone(op, name string, msg func(r *messages.Reply) any, late, closed func(err error)) (error, outcome) {
	if err := c.gone(); err != nil {
		return &fs.PathError{Op: op, Path: name, Err: err}, wasWithdrawn
	}
	r := messages.NewReply()
	c.send(msg(r), r)
	err, ok := c.e.awaitTimeout(r, c.done)
	if !ok {
		if err == errEngineClosed {
			return &fs.PathError{Op: op, Path: name, Err: err}, wasAbandoned
		}
		if r.Withdraw() {
			return &fs.PathError{Op: op, Path: name, Err: err}, wasWithdrawn
		}
		undo := late
		if err == errCollectionClosed && closed != nil {
			undo = closed
		}
		if undo != nil {
			c.undoWhenDone(r, undo)
			return &fs.PathError{Op: op, Path: name, Err: err}, wasAbandoned
		}
		if err == errCollectionClosed {
			return &fs.PathError{Op: op, Path: name, Err: err}, wasAbandoned
		}
		select {
		case <-r.Done():
			err = r.Err()
		case <-c.e.done:
			return &fs.PathError{Op: op, Path: name, Err: errEngineClosed}, wasAbandoned
		case <-c.done:
			if err, ok = closedOr(r, errCollectionClosed); !ok {
				if closed != nil {
					c.undoWhenDone(r, closed)
				}
				return &fs.PathError{Op: op, Path: name, Err: err}, wasAbandoned
			}
		}
	}
	r.Release()
	return err, wasAnswered
}

// undoWhenDone calls undo with r's error once r finished, on a goroutine of
// its own; not at all if the engine closes first (which frees everything).
func (c *Collection) undoWhenDone(r *messages.Reply, undo func(err error)) {
	go func() {
		select {
		case <-r.Done():
			undo(r.Err())
		case <-c.e.done:
		}
	}()
}

// Mkdir creates the directory name; its parent must exist and name must not
// (fs.ErrExist). perm is ignored: collections have no permissions.
func (c *Collection) Mkdir(name string, perm fs.FileMode) error {
	return c.request("mkdir", name, func(r *messages.Reply) any {
		return &messages.Mkdir{Path: name, Reply: r}
	})
}

// MkdirAll creates the directory name and every missing parent; an existing
// directory is not an error, a file in the way is syscall.ENOTDIR. perm is
// ignored.
func (c *Collection) MkdirAll(name string, perm fs.FileMode) error {
	return c.request("mkdir", name, func(r *messages.Reply) any {
		return &messages.Mkdir{Path: name, Parents: true, Reply: r}
	})
}

// Remove removes the file or empty directory name; a directory that is not
// empty is syscall.ENOTEMPTY. Handles open on a removed file keep reading
// and writing its content, which no longer has a name.
func (c *Collection) Remove(name string) error {
	return c.request("remove", name, func(r *messages.Reply) any {
		return &messages.Remove{Path: name, Reply: r}
	})
}

// RemoveAll removes name and everything below it. A missing name is not an
// error.
func (c *Collection) RemoveAll(name string) error {
	return c.request("remove", name, func(r *messages.Reply) any {
		return &messages.Remove{Path: name, All: true, Reply: r}
	})
}

// Rename moves the file or directory oldName to newName, as os.Rename does:
// newName's parent must exist; an existing file at newName is replaced by a
// file, an existing empty directory by a directory (a file onto a directory
// is syscall.EISDIR, a directory onto a file syscall.ENOTDIR, onto a
// non-empty directory syscall.ENOTEMPTY); a directory cannot move below
// itself (fs.ErrInvalid). Open handles keep working; the file's events carry
// its new name.
func (c *Collection) Rename(oldName, newName string) error {
	return c.request("rename", oldName, func(r *messages.Reply) any {
		return &messages.Rename{Old: oldName, New: newName, Reply: r}
	})
}

// RenameTo moves oldName of c to newName of dst, another collection of the
// same engine, with the rules of Rename. Open handles keep working and their
// file now belongs to dst (dst's Commit stores it). The move is not atomic:
// between its two steps the name exists in neither collection; if dst
// refuses it (or its actor does not take it within the engine's timeout),
// it goes back to oldName. Only when that putting back fails too (c closed,
// or its actor did not take it in time either) does an error leave the
// file out of both: the error then says so.
//
// A moved file is dst's: releasing c (Close) closes the handles opened
// through c but leaves the file's actor running, and with it c's actor, as
// its parent only, until the file stops (dst's Close, passivation).
func (c *Collection) RenameTo(oldName string, dst *Collection, newName string) error {
	switch {
	case dst == c:
		return c.Rename(oldName, newName)
	case dst.e != c.e:
		return &fs.PathError{Op: "rename", Path: newName, Err: fmt.Errorf("%w: collections of different engines", fs.ErrInvalid)}
	case dst.rt.ReadOnly:
		return &fs.PathError{Op: "rename", Path: newName, Err: ErrReadOnly}
	}
	var sub messages.Subtree
	err := c.request("rename", oldName, func(r *messages.Reply) any {
		return &messages.Detach{Path: oldName, Out: &sub, Reply: r}
	})
	if err != nil {
		return err
	}
	err = dst.request("rename", newName, func(r *messages.Reply) any {
		return &messages.Attach{Path: newName, Subtree: sub, Reply: r}
	})
	if err != nil {
		if back := c.request("rename", oldName, func(r *messages.Reply) any {
			return &messages.Attach{Path: oldName, Subtree: sub, Reply: r}
		}); back != nil {
			return fmt.Errorf("%w (and putting it back failed: %v)", err, back)
		}
	}
	return err
}

// Copy copies the file or directory src (not the root) to dst. A dst that
// ends with "/" or names an existing directory means dst/<last element of
// src>. Missing directories on the way to the target are created. An
// existing target is fs.ErrExist, as in the Python SDK's copy(...,
// overwrite=False); with the option Overwrite a copied file replaces an
// existing file (a directory is never replaced: fs.ErrExist). The copy
// shares the blocks already stored or sealed and duplicates the bytes still
// being written (a writable buffer block), so later writes to either file
// leave the other alone. A shared block not yet stored (its upload in
// flight, or failed) lives as long as a file names it: closing the source's
// collection, or removing, rewriting or committing the source, loses none
// of the copy's bytes, and the copy's Commit stores them. A copy that fails
// gives back every block it retained.
func (c *Collection) Copy(src, dst string, opts ...CopyOption) error {
	return c.CopyTo(src, c, dst, opts...)
}

// CopyOption changes what Copy and CopyTo do.
type CopyOption func(*copyConfig)

type copyConfig struct {
	overwrite bool
}

// Overwrite makes Copy and CopyTo replace an existing file at the target
// with the copied file, like the Python SDK's copy(..., overwrite=True);
// subscribers see EventMod for it.
func Overwrite() CopyOption { return func(c *copyConfig) { c.overwrite = true } }

// CopyTo is Copy into another collection dst of the same engine.
func (c *Collection) CopyTo(src string, dst *Collection, target string, opts ...CopyOption) error {
	var cfg copyConfig
	for _, o := range opts {
		o(&cfg)
	}
	if dst.e != c.e {
		return &fs.PathError{Op: "copy", Path: target, Err: fmt.Errorf("%w: collections of different engines", fs.ErrInvalid)}
	}
	if dst.rt.ReadOnly {
		return &fs.PathError{Op: "copy", Path: target, Err: ErrReadOnly}
	}
	// The blocks the copy retained and the bytes it duplicated are given
	// back unless the copy's file took them: a block retained for nothing
	// would live on (shared) until the engine closes. ReleaseCopy forgets
	// what it gave back, so a second call does nothing.
	out := new(messages.CopySource)
	release := func() { c.e.sys.RT.ReleaseCopy(c.e.sys, out) }
	err, how := c.requestDone("copy", src, func(r *messages.Reply) any {
		return &messages.CopyOut{Path: src, Out: out, Reply: r}
	}, func(error) { release() }, nil) // a copy out that times out late gives its blocks back
	if err != nil {
		if how == wasAnswered { // a clone failed after others retained blocks
			release()
		}
		return err
	}
	into := strings.HasSuffix(target, "/")
	name := strings.TrimRight(target, "/")
	if name == "" && into {
		name = "."
	}
	err, how = dst.requestDone("copy", target, func(r *messages.Reply) any {
		return &messages.CopyIn{Path: name, Into: into, Overwrite: cfg.overwrite, Source: out, Reply: r}
	}, nil, func(err error) {
		if err != nil { // taken, then refused (dst closed meanwhile): give its blocks back
			release()
		}
	})
	if how == wasWithdrawn || how == wasAnswered && err != nil {
		// The target never saw the copy, or refused it (a released
		// collection refuses without giving the blocks back).
		release()
	}
	return err
}

// Stat describes the file or directory name ("." is the root).
func (c *Collection) Stat(name string) (fs.FileInfo, error) {
	var out messages.PathInfo
	err := c.request("stat", name, func(r *messages.Reply) any {
		return &messages.StatPath{Path: name, Out: &out, Reply: r}
	})
	if err != nil {
		return nil, err
	}
	return c.entry(out), nil
}

// ReadDir lists the directory name ("." is the root), sorted by name.
func (c *Collection) ReadDir(name string) ([]fs.DirEntry, error) {
	var out []messages.PathInfo
	err := c.request("readdir", name, func(r *messages.Reply) any {
		return &messages.ReadDir{Path: name, Out: &out, Reply: r}
	})
	if err != nil {
		return nil, err
	}
	list := make([]fs.DirEntry, len(out))
	for i, pi := range out {
		list[i] = c.entry(pi)
	}
	return list, nil
}

// entry makes the fs.FileInfo (and fs.DirEntry) of pi: directories are
// fs.ModeDir|0755, files 0644, without the write bits when read-only.
func (c *Collection) entry(pi messages.PathInfo) entryInfo {
	if pi.IsDir {
		return entryInfo{name: pi.Name, mode: fs.ModeDir | c.perm(0o755), modTime: pi.ModTime}
	}
	return entryInfo{name: pi.Name, size: pi.File.Size, mode: c.perm(0o644), modTime: pi.File.ModTime}
}

func (c *Collection) perm(p fs.FileMode) fs.FileMode {
	if c.rt.ReadOnly {
		return p &^ 0o222
	}
	return p
}

// entryInfo is the fs.FileInfo and fs.DirEntry of a file or directory.
type entryInfo struct {
	name    string
	size    int64
	mode    fs.FileMode
	modTime time.Time
}

func (i entryInfo) Name() string               { return i.name }
func (i entryInfo) Size() int64                { return i.size }
func (i entryInfo) Mode() fs.FileMode          { return i.mode }
func (i entryInfo) ModTime() time.Time         { return i.modTime }
func (i entryInfo) IsDir() bool                { return i.mode.IsDir() }
func (i entryInfo) Sys() any                   { return nil }
func (i entryInfo) Type() fs.FileMode          { return i.mode.Type() }
func (i entryInfo) Info() (fs.FileInfo, error) { return i, nil }
func (i entryInfo) String() string             { return fs.FormatDirEntry(i) }
