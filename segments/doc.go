// Package segments is the pure data of arvfile: the segments (ranges) that map
// a file's bytes onto Keep blocks, the range algebra over them
// (LocatorsAndRanges, ReplaceRange), manifest-name escaping, and the manifest
// codec that parses and formats collections.
package segments
