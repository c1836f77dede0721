// Command arvfile puts directories into Keep collections and reads them back.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "arvfile: not yet")
	os.Exit(2)
}
