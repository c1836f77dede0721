package messages

import (
	"time"

	"github.com/arvfile/arvfile/segments"
	"github.com/asynkron/protoactor-go/actor"
)

// The CollectionActor protocol: the name tree of one collection.

// OpenFile opens (and with os.O_CREATE creates) the file at Name with the
// os.O_* Flag. The CollectionActor resolves the name, spawns the file's
// actor if it has none, sets Out.File and forwards Open to it — except for
// a file it creates, whose actor starts with the handle counted, so it
// answers at once. Errors are *fs.PathError values. Sender: the facade.
type OpenFile struct {
	Name  string
	Flag  int
	Out   *OpenResult
	Reply *Reply
}

// OpenResult is the answer to OpenFile: the file's actor and the runner of
// the strand it runs on, or, in a read-only collection (where no file actor
// is ever spawned), the file's segments, which never change and must not be
// modified, and its modification time.
type OpenResult struct {
	File     *actor.PID
	Runner   Runner
	Segments []segments.Range
	ModTime  time.Time
}

// Runner lets a caller run a file's actors on its own goroutine while it
// waits for them: Claim takes the idle strand (false when it is busy), and
// RunUntil runs its work until done.Finished() reports true or nothing is
// left, then hands what is left to the engine's workers.
type Runner interface {
	Claim() bool
	RunUntil(done Finisher)
}

// Finisher is what a Runner runs until: a *Reply (an interface rather than
// a func, whose method value would allocate on every call).
type Finisher interface {
	Finished() bool
}

// Snapshot lists every file of the collection: its path and either its
// actor or, for a file never opened, its segments; and every empty
// directory. Sender: the facade.
//
// Forward, if not nil, makes the CollectionActor send every listed file
// that has an actor, in the same turn, the message Forward returns for it
// (carrying Reply, which the actor counts with Add): such a message reaches
// the file before any later change of the tree does (an Unlink), so the
// facade never sends to a file actor that a removal may have stopped. i is
// the file's index in Out.
type Snapshot struct {
	Out     *[]SnapshotEntry
	Forward func(i int, file *actor.PID, r *Reply) any
	Reply   *Reply
}

// Unlink tells a FileActor that its file left the tree (removed, or
// replaced by a rename or copy). Once no handle is open on it, it releases
// its buffer blocks — the WRITABLE one is dropped, never uploaded — and
// stops. Sender: the CollectionActor.
type Unlink struct{}

// SnapshotEntry is one file in a Snapshot, or, with Dir, an empty
// directory (no File, no Segments).
type SnapshotEntry struct {
	Path     string
	File     *actor.PID
	Segments []segments.Range
	Dir      bool
}

// FromCollection carries a message of the CollectionActor to a FileActor,
// which counts them: its Passivate says how many it received, so the
// CollectionActor can tell whether one of its own is still on the way.
type FromCollection struct {
	Msg any
}

// Passivate offers to retire an idle FileActor — no handle open, every
// byte committed, no buffer block, nothing pending — whose file is at Path:
// the CollectionActor, if it has sent the actor exactly Seen messages
// (FromCollection) and the file is still there, keeps Segments and ModTime
// in its tree and stops the actor; opening the file spawns a new one.
// Otherwise it ignores the offer. Sender: the FileActor.
type Passivate struct {
	File     *actor.PID
	Path     string
	Segments []segments.Range
	ModTime  time.Time
	Seen     uint64
}

// ReleaseCollection releases a collection's actor (Collection.Close): it
// stops the actors of the files in its tree and finishes Reply once they
// stopped, then takes no more requests. Files it spawned that moved to
// another collection (RenameTo) are that collection's now: it stays, as
// their parent only, until the last of them stopped, and sets Lingering.
// Sender: the engine.
type ReleaseCollection struct {
	Lingering *bool
	Reply     *Reply
}
