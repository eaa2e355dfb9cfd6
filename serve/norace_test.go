//go:build !race

package serve

// raceEnabled is false without -race: timing assertions apply.
const raceEnabled = false
