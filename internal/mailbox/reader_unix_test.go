//go:build unix

package mailbox

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// A FIFO met in a walk is reported, not opened: opening it would block.
func TestWalkSkipsFIFO(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "a.fifo"), 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "b.eml"), []byte(eml), 0o644); err != nil {
		t.Fatal(err)
	}
	got, _, _ := readAll(t, Open([]string{dir}, nil))
	wantOrigins(t, got, "ERR "+filepath.Join(dir, "a.fifo"), filepath.Join(dir, "b.eml"))
}
