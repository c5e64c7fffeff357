//go:build !linux

package tokendb

// populate does nothing here: the pages come as they are first written.
func populate[T any](s []T) {}

// populateRead does nothing here: the pages come as they are first read.
func populateRead(b []byte) {}
