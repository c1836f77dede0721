package messages

import "github.com/arvfile/arvfile/segments"

// The hashing and token protocol: portable locators of bytes not yet stored,
// and the replacement of locators (remote blocks copied to the local
// cluster).

// HashBlocks asks a FileActor for its segments with portable locators: Out
// gets the segments and one HashedBlock per buffer block they name, whose
// Locator the block fills (HashBlock, counted on Reply) with the md5+size of
// the bytes it holds now — no upload. The facade then replaces the ids.
// Sender: the facade (PortableManifestText, File.Equal).
type HashBlocks struct {
	Out   *HashedSegments
	Reply *Reply
}

// HashedSegments is the answer to HashBlocks.
type HashedSegments struct {
	Segments []segments.Range
	Blocks   []HashedBlock
}

// HashedBlock names the locator of the buffer block ID.
type HashedBlock struct {
	ID      string
	Locator string
}

// HashBlock asks a BlockActor for its locator: the one Keep returned when
// COMMITTED, else the md5+size of its bytes (which is what Keep will name
// them, unless a repack or a pack changes them first). It writes *Out and
// finishes Reply. Sender: a FileActor answering HashBlocks.
type HashBlock struct {
	Out   *string
	Reply *Reply
}

// ReplaceLocators replaces every segment locator that is a key of Map by its
// value, in every file of a collection. The CollectionActor changes the
// files never opened and forwards the message (counted on Reply) to each
// FileActor, which changes its own; each changed file emits EventTok.
// Sender: the facade (CopyRemoteBlocks).
type ReplaceLocators struct {
	Map   map[string]string
	Reply *Reply
}
