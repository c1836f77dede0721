package segments

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSplit(t *testing.T) {
	tests := []struct {
		name, path, stream, file string
	}{
		{"a name without a slash is in the root stream", "a.txt", ".", "a.txt"},
		{"a path under ./ splits at the last slash", "./a/b", "./a", "b"},
		{"a stream name alone splits into its parent", "./a", ".", "a"},
		{"a relative path splits at the last slash", "a/b", "a", "b"},
		{"a deep path keeps its directories in the stream", "./a/b/c.txt", "./a/b", "c.txt"},
		{"a trailing slash gives an empty file name", "./a/", "./a", ""},
		{"a leading slash gives an empty stream name", "/a", "", "a"},
		{"an empty path is an empty name in the root stream", "", ".", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stream, file := Split(tt.path)
			assert.Equal(t, tt.stream, stream)
			assert.Equal(t, tt.file, file)
		})
	}
}
