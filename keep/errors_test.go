package keep

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIsTemporary(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"nil is not temporary", nil, false},
		{"a plain error is permanent", io.ErrUnexpectedEOF, false},
		{"ErrNotFound is permanent", ErrNotFound, false},
		{"a TemporaryError is temporary", &TemporaryError{Err: io.ErrUnexpectedEOF}, true},
		{"a TemporaryError without cause is temporary", &TemporaryError{}, true},
		{"a wrapped TemporaryError is temporary", fmt.Errorf("get x: %w", Temporary(io.EOF)), true},
		{"a joined TemporaryError is temporary", errors.Join(io.EOF, Temporary(io.EOF)), true},
		{"context.Canceled is terminal", context.Canceled, false},
		{"context.DeadlineExceeded is terminal", fmt.Errorf("x: %w", context.DeadlineExceeded), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, IsTemporary(tc.err))
		})
	}
}

func TestTemporaryErrorReadsAndUnwraps(t *testing.T) {
	err := Temporary(ErrNotFound)
	assert.EqualError(t, err, "keep: temporary failure: keep: block not found")
	assert.ErrorIs(t, err, ErrNotFound)
	assert.EqualError(t, &TemporaryError{}, "keep: temporary failure")
	assert.NoError(t, Temporary(nil))
}

func TestVerifyBlock(t *testing.T) {
	cases := []struct {
		name    string
		locator string
		data    []byte
		wantErr string
	}{
		{"matching bytes pass", helloLocator, []byte("hello"), ""},
		{"hints do not matter", helloLocator + "+Kabc", []byte("hello"), ""},
		{"the empty block passes", EmptyBlockLocator, []byte{}, ""},
		{"a changed byte is corrupt", helloLocator, []byte("jello"),
			"keep: block corrupt: 5d41402abc4b2a76b9719d911017c592+5: content has md5 7aa6991a62353dd2761280cf592542dc"},
		{"a short block is corrupt", helloLocator, []byte("hell"),
			"keep: block corrupt: 5d41402abc4b2a76b9719d911017c592+5: got 4 bytes"},
		{"a long block is corrupt", helloLocator, []byte("hello!"),
			"keep: block corrupt: 5d41402abc4b2a76b9719d911017c592+5: got 6 bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			loc, err := ParseLocator(tc.locator)
			require.NoError(t, err)
			err = VerifyBlock(loc, tc.data)
			if tc.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, ErrCorrupt)
			assert.EqualError(t, err, tc.wantErr)
		})
	}
}
