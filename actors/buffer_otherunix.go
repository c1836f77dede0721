//go:build unix && !linux && !race

package actors

import "golang.org/x/sys/unix"

// mapFlags map a block buffer: private anonymous memory.
const mapFlags = unix.MAP_ANON | unix.MAP_PRIVATE

// adviseHugePages does nothing outside Linux.
func adviseHugePages([]byte) {}
