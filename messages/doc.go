// Package messages holds every message type that arvfile's actors exchange,
// one file per protocol, each documented with its sender, receiver and reply.
package messages
