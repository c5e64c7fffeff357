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

// What init did, for the tests: the regions it populated, and the step
// that failed, if one did.
var (
	populated []region
	failed    error
)

func init() {
	maps, err := readMaps()
	if err != nil {
		failed = &stepError{"read /proc/self/maps", err}
		return
	}
	code, _, _, _ := runtime.Caller(0)
	probe = new([64]byte)
	for _, r := range regions(maps, code, uintptr(unsafe.Pointer(probe)), uintptr(syscall.Getpagesize())) {
		if err := populate(r); err != nil {
			failed = &stepError{"populate", err}
			return
		}
		populated = append(populated, r)
	}
}

// populate has the kernel map in the pages of r in one call.
func populate(r region) error {
	advice := uintptr(madvPopulateRead)
	if r.write {
		advice = madvPopulateWrite
	}
	if _, _, e := syscall.Syscall(syscall.SYS_MADVISE, r.lo, r.hi-r.lo, advice); e != 0 {
		return e
	}
	return nil
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

// stepError is a failure of init, with the step it failed in.
type stepError struct {
	step string
	err  error
}

func (e *stepError) Error() string { return "prefault: " + e.step + ": " + e.err.Error() }
func (e *stepError) Unwrap() error { return e.err }
