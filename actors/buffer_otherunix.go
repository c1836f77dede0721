//go:build unix && !linux && !race

package actors

// adviseHugePages does nothing outside Linux.
func adviseHugePages([]byte) {}
