// Command hone makes ML models small and fast and runs them. See `hone --help`.
package main

import "os"

func main() { os.Exit(execute()) }
