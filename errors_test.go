package arvfile

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/arvfile/arvfile/messages"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOpenErrors(t *testing.T) {
	c := newTestEngine(t, newTestStore()).NewCollection()
	require.NoError(t, create(t, c, "dir/file", write{0, "x"}).Close())
	tests := []struct {
		name string
		flag int
		want error
	}{
		{"missing", os.O_RDONLY, fs.ErrNotExist},
		{"dir/missing", os.O_RDWR, fs.ErrNotExist},
		{"nodir/file", os.O_RDONLY, fs.ErrNotExist},
		{"dir/file", os.O_RDWR | os.O_CREATE | os.O_EXCL, fs.ErrExist},
		{"dir", os.O_RDONLY, syscall.EISDIR},
		{"dir", os.O_RDWR | os.O_CREATE, syscall.EISDIR},
		{"dir/file/sub", os.O_RDWR | os.O_CREATE, syscall.ENOTDIR},
		{"", os.O_RDWR | os.O_CREATE, fs.ErrInvalid},
		{".", os.O_RDWR | os.O_CREATE, fs.ErrInvalid},
		{"/abs", os.O_RDWR | os.O_CREATE, fs.ErrInvalid},
		{"a/../b", os.O_RDWR | os.O_CREATE, fs.ErrInvalid},
		{"a//b", os.O_RDWR | os.O_CREATE, fs.ErrInvalid},
		{"trailing/", os.O_RDWR | os.O_CREATE, fs.ErrInvalid},
		{"x", os.O_WRONLY | os.O_RDWR, fs.ErrInvalid},
	}
	for _, tt := range tests {
		_, err := c.OpenFile(tt.name, tt.flag, 0)
		var pe *fs.PathError
		require.ErrorAs(t, err, &pe, tt.name)
		assert.Equal(t, "open", pe.Op)
		assert.Equal(t, tt.name, pe.Path)
		assert.ErrorIs(t, err, tt.want, tt.name)
	}
	f, err := c.OpenFile("./dir/file", os.O_RDONLY, 0)
	require.NoError(t, err, "a ./ prefix is allowed")
	require.NoError(t, f.Close())
}

func TestAClosedFileReturnsErrClosed(t *testing.T) {
	c := newTestEngine(t, newTestStore()).NewCollection()
	f := create(t, c, "f", write{0, "x"})
	require.NoError(t, f.Close())
	_, err := f.Write([]byte("y"))
	assert.ErrorIs(t, err, fs.ErrClosed)
	_, err = f.Read(make([]byte, 1))
	assert.ErrorIs(t, err, fs.ErrClosed)
	_, err = f.ReadAt(make([]byte, 1), 0)
	assert.ErrorIs(t, err, fs.ErrClosed)
	_, err = f.Seek(0, 0)
	assert.ErrorIs(t, err, fs.ErrClosed)
	_, err = f.Stat()
	assert.ErrorIs(t, err, fs.ErrClosed)
	assert.ErrorIs(t, f.Truncate(0), fs.ErrClosed)
	assert.ErrorIs(t, f.Sync(), fs.ErrClosed)
	err = f.Close()
	assert.ErrorIs(t, err, fs.ErrClosed)
	var pe *fs.PathError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "close", pe.Op)
}

func TestAReadOnlyCollectionRejectsChanges(t *testing.T) {
	e := newTestEngine(t, newTestStore())
	c := e.newCollection(true)
	for _, flag := range []int{os.O_RDWR, os.O_WRONLY, os.O_RDONLY | os.O_CREATE, os.O_RDONLY | os.O_TRUNC} {
		_, err := c.OpenFile("f", flag, 0)
		assert.ErrorIs(t, err, fs.ErrPermission)
		assert.ErrorIs(t, err, syscall.EROFS)
		assert.ErrorIs(t, err, ErrReadOnly)
		assert.Equal(t, "open f: read-only file system", err.Error())
	}
	_, err := c.Open("f")
	assert.ErrorIs(t, err, fs.ErrNotExist)
}

func TestWritesThroughAReadOnlyHandleAreRefused(t *testing.T) {
	c := newTestEngine(t, newTestStore()).NewCollection()
	require.NoError(t, create(t, c, "f", write{0, "x"}).Close())
	f, err := c.Open("f")
	require.NoError(t, err)
	_, err = f.Write([]byte("y"))
	assert.ErrorIs(t, err, fs.ErrPermission)
	assert.ErrorIs(t, f.Truncate(0), fs.ErrPermission)
	require.NoError(t, f.Close())
	assert.Equal(t, "x", contents(t, c, "f"))
}

func TestCallsAfterEngineCloseReturnErrClosed(t *testing.T) {
	e, err := New(WithStore(newTestStore()))
	require.NoError(t, err)
	c := e.NewCollection()
	f := create(t, c, "f", write{0, "x"})
	require.NoError(t, e.Close())
	require.NoError(t, e.Close(), "Close is idempotent")
	_, err = f.Write([]byte("y"))
	assert.ErrorIs(t, err, fs.ErrClosed)
	_, err = c.Create("g")
	assert.ErrorIs(t, err, fs.ErrClosed)
	assert.ErrorIs(t, c.Commit(bg), fs.ErrClosed)
	_, err = e.NewCollection().Create("h")
	assert.ErrorIs(t, err, fs.ErrClosed)
}

func TestNewValidatesOptions(t *testing.T) {
	st := newTestStore()
	tests := []struct {
		name string
		opts []Option
		want string
	}{
		{"no store", nil, "arvfile: no store: pass WithStore"},
		{"zero block size", []Option{WithStore(st), WithBlockSize(0)}, "arvfile: block size 0 outside 1..67108864"},
		{"huge block size", []Option{WithStore(st), WithBlockSize(1 << 27)}, "arvfile: block size 134217728 outside 1..67108864"},
		{"no put worker", []Option{WithStore(st), WithPutWorkers(0)}, "arvfile: 0 put workers: need at least 1"},
		{"negative queue", []Option{WithStore(st), WithQueueDepth(-1)}, "arvfile: negative queue depth -1"},
		{"budget under a block", []Option{WithStore(st), WithBlockSize(100), WithMemoryBudget(99)}, "arvfile: memory budget 99 smaller than a block (100)"},
		{"negative retries", []Option{WithStore(st), WithRetries(-1)}, "arvfile: negative copies, prefetch, cache bytes, retries or timeout"},
	}
	for _, tt := range tests {
		_, err := New(tt.opts...)
		require.Error(t, err, tt.name)
		assert.Equal(t, tt.want, err.Error(), tt.name)
	}
	_, err := New()
	assert.True(t, errors.Is(err, ErrNoStore))
}

func TestAFileCallGivesUpAfterTheTimeout(t *testing.T) {
	st := newTestStore()
	st.SetLatency(waitFor)
	c := newTestEngine(t, st, WithBlockSize(4), WithTimeout(50*time.Millisecond)).NewCollection()
	f := create(t, c, "f", write{0, "01234567"})
	err := f.Sync()
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
	var pe *fs.PathError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "sync", pe.Op)
	b := make([]byte, 8)
	n, err := f.ReadAt(b, 0)
	require.NoError(t, err, "the bytes are still there, PENDING")
	assert.Equal(t, "01234567", string(b[:n]))
}

func TestPublicVocabularyIsTheRootPackages(t *testing.T) {
	assert.Equal(t, []string{"WRITABLE", "PENDING", "COMMITTED", "ERROR", "DELETED", "BlockState(9)"},
		[]string{Writable.String(), Pending.String(), Committed.String(), Error.String(), Deleted.String(), BlockState(9).String()})
	assert.EqualError(t, &StateChangeError{BlockID: "b", From: Committed, To: Writable},
		"arvfile: illegal state change of block b from COMMITTED to WRITABLE")
	assert.EqualError(t, &StateChangeError{From: Error, To: Committed},
		"arvfile: illegal block state change from ERROR to COMMITTED")
	assert.Equal(t, []string{"add", "del", "mod", "tok", "write", "unknown"},
		[]string{EventAdd.String(), EventDel.String(), EventMod.String(), EventTok.String(), EventWrite.String(), EventKind(0).String()})

	cause := errors.New("store down")
	err := newKeepWriteError([]messages.BlockFailure{
		{BlockID: "b1", Locator: "acbd18db4cc2f85cedef654fccc4a4d8+3", Err: cause},
		{BlockID: "b2", Locator: "37b51d194a7513e45b56f6524f2d51f2+3", Err: os.ErrDeadlineExceeded},
	})
	assert.Equal(t, &KeepWriteError{Failed: []BlockFailure{
		{BlockID: "b1", Locator: "acbd18db4cc2f85cedef654fccc4a4d8+3", Err: cause},
		{BlockID: "b2", Locator: "37b51d194a7513e45b56f6524f2d51f2+3", Err: os.ErrDeadlineExceeded},
	}}, err)
	assert.EqualError(t, err, "arvfile: failed to write 2 block(s) to keep: b1 (acbd18db4cc2f85cedef654fccc4a4d8+3): store down; "+
		"b2 (37b51d194a7513e45b56f6524f2d51f2+3): i/o timeout")
	assert.ErrorIs(t, err, cause)
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
	assert.Nil(t, newKeepWriteError(nil))
}
