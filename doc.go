// Package arvfile stores files as Arvados collections: each file is a list
// of segments over content-addressed Keep blocks, and a collection is saved
// as manifest text. An Engine runs the actors that own files and buffer
// blocks; Collection and File are its plain synchronous API.
package arvfile
