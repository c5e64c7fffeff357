//go:build unix

package mailbox

import (
	"os"
	"syscall"
)

// openFile opens a file for reading. os.Open would also try to register a
// regular file with the network poller (which refuses it) and switch its
// blocking mode back and forth: four system calls per file that count when
// a run reads thousands of one-message files.
func openFile(path string) (*os.File, error) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	for err == syscall.EINTR {
		fd, err = syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}
