//go:build race

package bench

// raceEnabled reports a build with the race detector, whose instrumentation slows the executor's bookkeeping
// between nodes (which no node's time covers) far more than it slows a plain build.
const raceEnabled = true
