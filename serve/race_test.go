//go:build race

package serve

// raceEnabled is true under -race, whose 5–20× slowdown makes wall-clock bounds meaningless.
const raceEnabled = true
