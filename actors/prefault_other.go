//go:build !linux

package actors

// prefault does nothing here: the pages fault in as they are written (see
// prefault_linux.go).
func prefault([]byte) {}
