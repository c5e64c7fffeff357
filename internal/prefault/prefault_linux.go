package prefault

import (
	"runtime"
	"syscall"
	"unsafe"
)

// The madvise advice values of Linux 5.14, which package syscall lacks.
const (
	madvPopulateRead  = 22
	madvPopulateWrite = 23
)

// probe is the heap object whose mapping is populated; a package variable
// so that it is allocated on the heap.
var probe *[64]byte

// populated lists what init populated, and failed the first error; for
// the tests.
var (
	populated []region
	failed    error
)

func init() {
	maps, err := readMaps()
	if err != nil {
		failed = err
		return
	}
	code, _, _, _ := runtime.Caller(0)
	probe = new([64]byte)
	for _, r := range regions(maps, code, uintptr(unsafe.Pointer(probe))) {
		advice := madvPopulateRead
		if r.write {
			advice = madvPopulateWrite
		}
		if _, _, e := syscall.Syscall(syscall.SYS_MADVISE, r.lo, r.hi-r.lo, uintptr(advice)); e != 0 {
			failed = e
			return
		}
		populated = append(populated, r)
	}
}

// readMaps reads /proc/self/maps, which must fit in 16 kB: a Go process
// that is starting has a few dozen mappings.
func readMaps() ([]byte, error) {
	fd, err := syscall.Open("/proc/self/maps", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer func() { _ = syscall.Close(fd) }() // read-only: nothing to lose
	buf := make([]byte, 16<<10)
	n := 0
	for n < len(buf) {
		m, err := syscall.Read(fd, buf[n:])
		if err != nil {
			return nil, err
		}
		if m == 0 {
			return buf[:n], nil
		}
		n += m
	}
	return nil, syscall.E2BIG
}
