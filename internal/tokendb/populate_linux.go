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
	p := unsafe.Pointer(unsafe.SliceData(s))
	start := uintptr(p)
	page := uintptr(unix.Getpagesize())
	lo, hi := (start+page-1)&^(page-1), (start+uintptr(len(s))*unsafe.Sizeof(zero))&^(page-1)
	if hi <= lo {
		return
	}
	_ = unix.Madvise(unsafe.Slice((*byte)(unsafe.Add(p, lo-start)), hi-lo), unix.MADV_POPULATE_WRITE)
}
