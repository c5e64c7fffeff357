package tokenize

import "unsafe"

// arenaChunk is the size of an arena's blocks: the tokens that a typical
// mail makes up (folded words, prefixed header words) fit in one or two.
const arenaChunk = 4 << 10

// arena makes the strings of the tokens that are not substrings of the
// text. Their bytes go into shared blocks, so that a mail costs one
// allocation per block instead of one per token. Bytes in a block are
// written once, before the string over them exists, and never again: a
// full block is left to the strings that point into it, and the garbage
// collector frees it with the last of them.
type arena struct {
	block []byte
}

// reserve makes room for n more bytes in the current block and returns
// where they start.
func (a *arena) reserve(n int) int {
	if cap(a.block)-len(a.block) < n {
		a.block = make([]byte, 0, max(arenaChunk, n))
	}
	return len(a.block)
}

// seal returns the bytes appended since start as a string.
func (a *arena) seal(start int) string {
	if len(a.block) == start {
		return ""
	}
	return unsafe.String(&a.block[start], len(a.block)-start)
}

// bytes returns a string with the contents of b.
func (a *arena) bytes(b []byte) string {
	start := a.reserve(len(b))
	a.block = append(a.block, b...)
	return a.seal(start)
}

// concat returns x followed by y.
func (a *arena) concat(x, y string) string {
	start := a.reserve(len(x) + len(y))
	a.block = append(append(a.block, x...), y...)
	return a.seal(start)
}
