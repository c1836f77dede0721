package actors

import (
	"sync"

	"github.com/asynkron/protoactor-go/actor"
)

// sharedBlocks owns the buffer blocks that copies share, once a copy names
// them: a block is a child of the file actor that made it, and a child stops
// with its parent, so a block a copy shares would stop — its bytes lost when
// still PENDING or in ERROR — once its file's actor stops (its collection
// closed, the file removed and closed, passivated). A file actor that clones
// its file for a copy (fileActor.onCloneFile) hands each block of its own
// that the copy names over to the runtime's sharedBlocks (cell.detachChild):
// the block leaves its parent's children and lives on, parentless, as long
// as a file of any collection names it — its owners count (Retain, Release)
// decides, as for any block: the last Release stops it (a PENDING one once
// its upload ended), and it leaves the set as it stops. Engine.Close stops
// the blocks still held (System.Stop, through close).
//
// A block keeps its strand (its maker's, or its own for a stream block):
// cells of a strand run one at a time whoever their parent, and nothing
// waits for the maker.
type sharedBlocks struct {
	mu     sync.Mutex
	cells  map[*cell]struct{} // the blocks handed over, until they stop
	closed bool               // the engine is closing: nothing is handed over any more
}

func newSharedBlocks() *sharedBlocks {
	return &sharedBlocks{cells: make(map[*cell]struct{})}
}

// add takes c, unless the engine is closing (false: c stays where it is,
// and stops with its parent).
func (s *sharedBlocks) add(c *cell) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.cells[c] = struct{}{}
	return true
}

// forget drops c, which stopped.
func (s *sharedBlocks) forget(c *cell) {
	s.mu.Lock()
	delete(s.cells, c)
	s.mu.Unlock()
}

// close refuses every later add and returns the blocks still held, for
// System.Stop to stop.
func (s *sharedBlocks) close() []namedPID {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	pids := make([]namedPID, 0, len(s.cells))
	for c := range s.cells {
		pids = append(pids, namedPID{pid: c.self, name: "shared buffer block " + c.self.Id})
	}
	return pids
}

// count returns how many blocks are held (tests check that none is left
// once nothing names them).
func (s *sharedBlocks) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.cells)
}

// share hands pid, a buffer block a copy is about to name, over to the
// runtime's sharedBlocks when it is a child of the cell whose context ctx
// is (on that cell's strand or, a stream block, on one of its own); a
// block made elsewhere (a packed block, the
// manager's child; a block already shared) is left where it is. It runs on
// that cell's strand, as the parent's children belong to it.
func share(ctx actorContext, rt *Runtime, pid *actor.PID) {
	cc, ok := ctx.(*cellContext)
	if !ok || rt.Shared == nil {
		return
	}
	cc.c.detachChild(pid, rt.Shared)
}
