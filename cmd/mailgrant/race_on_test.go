//go:build race

package main

// raceEnabled: the race detector is on, and multiplies memory use, so
// memory targets are not checked.
const raceEnabled = true
