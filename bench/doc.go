// Package bench holds arvfile's load benchmarks and the load driver.
package bench
