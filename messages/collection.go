package messages

import (
	"time"

	"github.com/arvfile/arvfile/segments"
	"github.com/asynkron/protoactor-go/actor"
)

// The CollectionActor protocol: the name tree of one collection.

// OpenFile opens (and with os.O_CREATE creates) the file at Name with the
// os.O_* Flag. The CollectionActor resolves the name, spawns the file's
// actor if it has none, sets Out.File and forwards Open to it. Errors are
// *fs.PathError values. Sender: the facade.
type OpenFile struct {
	Name  string
	Flag  int
	Out   *OpenResult
	Reply *Reply
}

// OpenResult is the answer to OpenFile: the file's actor, or, in a
// read-only collection (where no file actor is ever spawned), the file's
// segments, which never change and must not be modified, and its
// modification time.
type OpenResult struct {
	File     *actor.PID
	Segments []segments.Range
	ModTime  time.Time
}

// Snapshot lists every file of the collection: its path and either its
// actor or, for a file never opened, its segments; and every empty
// directory. Sender: the facade.
type Snapshot struct {
	Out   *[]SnapshotEntry
	Reply *Reply
}

// SnapshotEntry is one file in a Snapshot, or, with Dir, an empty
// directory (no File, no Segments).
type SnapshotEntry struct {
	Path     string
	File     *actor.PID
	Segments []segments.Range
	Dir      bool
}
