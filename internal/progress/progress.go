// Package progress draws a one-line progress bar with a rate on a terminal
// and stays silent otherwise, so that piped and logged runs get no
// carriage-return noise.
//
// A Bar is fed from any number of goroutines with Add; it redraws at most
// ten times a second, and Done clears the line. Totals may be unknown (an
// mbox is read as it goes): the bar then shows a count and a rate only.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Bar is a progress line. The zero value is not usable; use New. A nil
// *Bar is a silent bar.
type Bar struct {
	mu        sync.Mutex
	w         io.Writer
	label     string
	total     int64 // bytes expected, 0 when unknown
	done      int64 // bytes seen
	count     int   // items seen
	errors    int
	start     time.Time
	lastDraw  time.Time
	drawEvery time.Duration
}

// New returns a bar that draws on w when w is a terminal, and nil (silent)
// otherwise. total, called only for a terminal, estimates the number of
// bytes to come; it may return 0 for unknown.
func New(w io.Writer, label string, total func() int64) *Bar {
	if !IsTerminal(w) {
		return nil
	}
	return &Bar{w: w, label: label, total: total(), start: time.Now(), drawEvery: 100 * time.Millisecond}
}

// Add records one more item of the given size; failed marks it as an error.
func (b *Bar) Add(size int, failed bool) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.count++
	b.done += int64(size)
	if failed {
		b.errors++
	}
	if now := time.Now(); now.Sub(b.lastDraw) >= b.drawEvery {
		b.lastDraw = now
		b.draw(now)
	}
}

func (b *Bar) draw(now time.Time) {
	elapsed := now.Sub(b.start).Seconds()
	rate := 0.0
	if elapsed > 0 {
		rate = float64(b.count) / elapsed
	}
	line := fmt.Sprintf("%s %d mails, %.0f/s", b.label, b.count, rate)
	if b.errors > 0 {
		line += fmt.Sprintf(", %d errors", b.errors)
	}
	if b.total > 0 {
		frac := min(float64(b.done)/float64(b.total), 1)
		const width = 30
		n := int(frac * width)
		line = fmt.Sprintf("[%s%s] %3.0f%% %s", strings.Repeat("=", n), strings.Repeat(" ", width-n), frac*100, line)
	}
	fmt.Fprintf(b.w, "\r%s\x1b[K", line)
}

// Done clears the line.
func (b *Bar) Done() {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	fmt.Fprint(b.w, "\r\x1b[K")
}
