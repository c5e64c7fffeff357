package eval

import (
	"crypto/sha256"
	"encoding/binary"
)

// IsTest is the split rule of every accuracy figure of the project (the
// one ../shared/corpus/prepare-sa.sh lays out): a message is held out for
// testing when the first 8 bytes of the SHA-256 of its bytes, read as a
// big-endian number, are divisible by 3.
func IsTest(raw []byte) bool { return Key(raw)%3 == 0 }

// Key is the number the split rule divides: the first 8 bytes of the
// SHA-256 of raw, big-endian.
func Key(raw []byte) uint64 {
	sum := sha256.Sum256(raw)
	return binary.BigEndian.Uint64(sum[:8])
}

// Fold assigns a message to one of k folds by the same hash, so that
// k-fold cross-validation splits the same way every run.
func Fold(raw []byte, k int) int { return int(Key(raw) % uint64(k)) }
