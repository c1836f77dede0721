package segments

import "strings"

// Split separates a /-separated path into its stream (directory) name and
// file name at the last '/', as the Python SDK's split does: "./a/b" gives
// ("./a", "b"), "a/b" gives ("a", "b"), and a path without '/' gives
// (".", path). It does not allocate.
func Split(path string) (stream, file string) {
	i := strings.LastIndexByte(path, '/')
	if i < 0 {
		return ".", path
	}
	return path[:i], path[i+1:]
}
