// Package actors holds arvfile's actors: the file, buffer-block,
// block-manager, collection and keep-put actors.
package actors
