package tokendb

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// populate has the kernel back the whole pages of s with memory in one
// call, instead of one page fault at a time as they are first written. A
// snapshot's tables are megabytes written at random: on a virtual machine
// a fault costs ten times what populating a page does, and loading a
// snapshot spent most of its time in them. Pages already backed stay as
// they are; a kernel before 5.14 refuses, and the pages come one fault
// at a time as before.
func populate[T any](s []T) {
	var zero T
	madvisePages(unsafe.Pointer(unsafe.SliceData(s)), uintptr(len(s))*unsafe.Sizeof(zero), unix.MADV_POPULATE_WRITE)
}

// populateRead maps in the whole pages of b, a slice of the mapped file,
// in one call, as populate does for memory to be written. The few
// thousand weights that one lookup sums lie all over their 4 MB: read one
// fault at a time, they cost a `mark` some 60 faults. The first lookup of
// a DB does it; a file cut short under the mapping fails the call, which
// is then left to the reads.
func populateRead(b []byte) {
	madvisePages(unsafe.Pointer(unsafe.SliceData(b)), uintptr(len(b)), unix.MADV_POPULATE_READ)
}

// madvisePages gives advice for the whole pages within the size bytes at p.
func madvisePages(p unsafe.Pointer, size uintptr, advice int) {
	start := uintptr(p)
	page := uintptr(unix.Getpagesize())
	lo, hi := (start+page-1)&^(page-1), (start+size)&^(page-1)
	if hi <= lo {
		return
	}
	_ = unix.Madvise(unsafe.Slice((*byte)(unsafe.Add(p, lo-start)), hi-lo), advice)
}
