// Package keep names and stores Keep blocks: locators (`<md5>+<size>[+hint]…`),
// the Store interface through which the engine reads and writes blocks, the
// embedded stores (a durable directory store and an in-memory store), Client
// for the Keep services of an Arvados cluster, S3Store for an S3 bucket laid
// out as keepstore lays it out, a block cache with prefetch, retries, md5
// verification of what a store returns (Verified; the cache verifies its
// fetches too), and a fault-injecting store for tests.
package keep
