//go:build unix && !linux && !race

package actors

// adviseHugePages does nothing outside Linux.
func adviseHugePages([]byte) {}

// growBuffer reports false: buffers grow by copying outside Linux.
func growBuffer([]byte, int64) ([]byte, bool) { return nil, false }
