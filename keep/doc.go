// Package keep names and stores Keep blocks: locators (`<md5>+<size>[+hint]…`),
// the Store interface through which the engine reads and writes blocks, the
// embedded stores (a durable directory store and an in-memory store), Client
// for the Keep services of an Arvados cluster, a block cache with prefetch,
// retries, and a fault-injecting store for tests.
package keep
