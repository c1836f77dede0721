package messages

import (
	"time"

	"github.com/arvfile/arvfile/segments"
	"github.com/asynkron/protoactor-go/actor"
)

// The namespace protocol: directories, removal, renaming and copying in a
// CollectionActor's name tree. The facade sends each request and waits on
// its Reply; errors are *fs.PathError values. Paths are slash-separated and
// relative to the collection's root ("./" may prefix them; "." is the root
// where a request allows it). Every change bumps the collection's change
// counter and emits events (EventAdd, EventDel, EventMod) before the Reply
// is finished.

// Mkdir creates the directory Path. Without Parents its parent must exist
// and Path must not (fs.ErrExist); with Parents missing parents are created
// and an existing directory is not an error. Sender: the facade.
type Mkdir struct {
	Path    string
	Parents bool
	Reply   *Reply
}

// Remove removes the file or directory Path. Without All a directory must
// be empty (syscall.ENOTEMPTY otherwise); with All its whole subtree goes and
// a missing Path is not an error. Handles open on a removed file keep
// working on its (now unnamed) content. Sender: the facade.
type Remove struct {
	Path  string
	All   bool
	Reply *Reply
}

// Rename moves Old to New inside one collection, as os.Rename does: New's
// parent must exist; an existing file at New is replaced by a file, an
// existing empty directory by a directory. Open files keep their actors and
// learn their new path (Reparent). Sender: the facade.
type Rename struct {
	Old, New string
	Reply    *Reply
}

// Detach removes Path from the collection and hands the removed subtree to
// the facade in Out, to Attach it to another collection of the engine: the
// first half of a rename between collections. Sender: the facade.
type Detach struct {
	Path  string
	Out   *Subtree
	Reply *Reply
}

// Attach puts a subtree taken by Detach at Path, with the checks of Rename;
// the subtree's open files learn their new path and collection (Reparent).
// When it fails the facade attaches the subtree back where it came from.
// Sender: the facade.
type Attach struct {
	Path    string
	Subtree Subtree
	Reply   *Reply
}

// Subtree is a detached part of a name tree. Node belongs to the actors
// package (a file or directory node); the facade only carries it from Detach
// to Attach.
type Subtree struct {
	Node  any
	IsDir bool
}

// CopyOut collects a copy of the file or directory Path into Out: the first
// half of Copy. Files never opened give their segments; open files are asked
// for a clone (CloneFile), each filling its own entry of Out before it
// finishes Reply. Sender: the facade.
type CopyOut struct {
	Path  string
	Out   *CopySource
	Reply *Reply
}

// CopySource is what CopyOut collected: the copied node's name, and one entry
// per file and empty directory of it — the directories on the way to an
// entry are implied by its Path (a file copied alone is one entry with Path
// "").
type CopySource struct {
	Name    string
	IsDir   bool
	Entries []CopyEntry
}

// CopyEntry is one file or directory of a copy, at Path relative to the
// copied node. A file's Segments may name buffer blocks: those in Blocks
// were retained for the copy (Retain), and the one named by Dup.ID is a
// writable block whose bytes Dup holds, duplicated for the copy.
type CopyEntry struct {
	Path     string
	Dir      bool
	Segments []segments.Range
	Blocks   map[string]*actor.PID
	Dup      *DupBlock
}

// DupBlock is a duplicate of a WRITABLE buffer block: Data (reserved against
// the engine's memory budget, owned by whoever holds the DupBlock) replaces
// the block named ID in the copy's segments.
type DupBlock struct {
	ID   string
	Data []byte
}

// CopyIn creates a copy collected by CopyOut at Path, or, when Into or when
// Path names an existing directory, at Path/Source.Name. Missing parent
// directories are created. With Overwrite an existing file at the target is
// replaced by a file; any other existing target is fs.ErrExist. Files with
// buffer blocks get a FileActor (a Dup becomes its current block,
// AdoptBlock); the others stay plain segments. Sender: the facade.
type CopyIn struct {
	Path      string
	Into      bool
	Overwrite bool
	Source    *CopySource
	Reply     *Reply
}

// CloneFile asks a FileActor for a copy of its file, for CopyOut: Out gets
// the segments, the buffer blocks they name (each sent Retain, so it lives
// until the copy releases it too) and a duplicate of the current WRITABLE
// block (its bytes copied by the block with ReadBlock, counted on Reply).
// Sender: the CollectionActor.
type CloneFile struct {
	Out   *CopyEntry
	Reply *Reply
}

// AdoptBlock gives a new FileActor (a copy) a duplicated buffer block: the
// FileActor spawns a WRITABLE block holding Data, owned by itself, and makes
// it its current block. Sender: the CollectionActor, right after spawning the
// FileActor.
type AdoptBlock struct {
	ID   string
	Data []byte
}

// Reparent tells a FileActor its file's new path (after a rename) and, when
// Collection is not nil, its new collection (an *actors.CollectionRuntime,
// carried as any to keep this package below actors). Sender: a
// CollectionActor.
type Reparent struct {
	Path       string
	Collection any
}

// Retain tells a buffer block that one more file names it: it is released
// once more before it stops. Sender: a FileActor cloning its file.
type Retain struct{}

// StatPath asks for the file or directory at Path ("." is the root). The
// CollectionActor fills Out, or, for a file with an actor, forwards Stat to
// it to fill Out.File. Sender: the facade.
type StatPath struct {
	Path  string
	Out   *PathInfo
	Reply *Reply
}

// PathInfo describes one file or directory. For a file File holds its size
// and modification time; for a directory ModTime is the directory's.
type PathInfo struct {
	Name    string
	IsDir   bool
	ModTime time.Time
	File    FileInfo
}

// ReadDir lists the directory at Path ("." is the root), sorted by name.
// Entries of files with an actor are filled by a Stat forwarded to each.
// Sender: the facade.
type ReadDir struct {
	Path  string
	Out   *[]PathInfo
	Reply *Reply
}
