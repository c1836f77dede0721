package messages

// EventKind says what happened to a file.
type EventKind int

const (
	// EventAdd: a file was created.
	EventAdd EventKind = iota + 1
	// EventDel: a file was removed.
	EventDel
	// EventMod: a file was flushed (its segments now name Keep locators).
	EventMod
	// EventTok: a file's locators changed without a change of content
	// (new permission tokens).
	EventTok
	// EventWrite: bytes were written to a file.
	EventWrite
)

var eventKindNames = [...]string{"", "add", "del", "mod", "tok", "write"}

// String returns the event's name as the Python SDK spells it.
func (k EventKind) String() string {
	if k > 0 && int(k) < len(eventKindNames) {
		return eventKindNames[k]
	}
	return "unknown"
}

// Event is a change delivered to a collection's subscribers, in the order
// its sender made the changes. Sender: FileActor and CollectionActor, to the
// collection's event actor.
type Event struct {
	Kind EventKind
	// Path is the file's path in the collection.
	Path string
	// Offset and Length locate the bytes of an EventWrite.
	Offset int64
	Length int64
}
