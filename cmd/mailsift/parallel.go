package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync"

	"github.com/mailsift/mailsift/internal/mailbox"
	"github.com/mailsift/mailsift/internal/progress"
)

// Messages travel between the reader, the workers and the output in
// batches: handing them over one by one costs more in goroutine wake-ups
// than tokenizing a small mail.
const (
	batchMessages = 32
	batchBytes    = 1 << 20
)

// softMemoryLimit is the heap size above which runs of big mails collect
// garbage eagerly.
const softMemoryLimit = 128 << 20

// garbageRoom is how much garbage a run lets pile up between collections
// beyond what its live heap alone would allow.
const garbageRoom = 16 << 20

// gcPercent is the collector's GOGC for a run that starts with heap bytes
// in use: 400 while the heap is small, down to 100 as it grows, so that the
// garbage between two collections stays near garbageRoom. A collection
// costs little when the heap is mostly a snapshot's tables, which hold no
// pointers, while every page the heap grows by costs a page fault, 12 µs
// on a virtual machine: at 400, a test run of the SpamAssassin split let
// its heap grow to 65 MB and took 11,400 faults, against 8,500 now.
func gcPercent(heap uint64) int {
	if heap == 0 {
		return 400
	}
	return int(min(400, max(100, 100*garbageRoom/heap)))
}

// heapNow returns the bytes of the heap's objects, live or not yet
// collected: an upper bound of the live heap, so that gcPercent errs
// towards collecting more often. ReadMemStats stops the world for a
// moment, which costs a run less than linking runtime/metrics costs every
// process (0.8 ms of initialisation).
func heapNow() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// runOpts tune forEach: workers is the number of goroutines running work
// (0: one per core); unordered lets results out as soon as they are ready
// instead of in input order; bigMails sets a soft memory limit, for work
// that holds whole attachments and archives.
type runOpts struct {
	workers   int
	unordered bool
	bigMails  bool // attachments are expanded: set a soft memory limit
}

// forEach reads every message of paths (stdin for "-"), runs work on each
// on all cores, and calls emit with the results in input order. A message
// that cannot be read reaches emit with its error and no result. Work runs
// under recover: a panic becomes that message's error, not a crash. At most
// a window of batches is in memory at a time. bar may be nil.
func forEach[T any](paths []string, stdin io.Reader, bar *progress.Bar, work func(mailbox.Message) (T, error), emit func(mailbox.Message, T, error) error) error {
	return forEachWith(runOpts{}, paths, stdin, bar, work, emit)
}

// forEachWith is forEach with options.
func forEachWith[T any](o runOpts, paths []string, stdin io.Reader, bar *progress.Bar, work func(mailbox.Message) (T, error), emit func(mailbox.Message, T, error) error) error {
	type item struct {
		msg mailbox.Message
		res T
		err error
	}
	type batch struct {
		seq   int
		items []item
	}
	// The garbage of a run is bounded by the window: letting it pile up
	// longer between collections saves CPU, as long as the heap stays
	// small (see gcPercent). Runs that may hold large mails also get a soft
	// memory limit, so that the collector works harder rather than let one
	// big attachment's garbage pile up five times over.
	defer debug.SetGCPercent(debug.SetGCPercent(gcPercent(heapNow())))
	if o.bigMails {
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(softMemoryLimit))
	}
	workers := o.workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	window := make(chan struct{}, 2*workers+2)
	jobs := make(chan *batch, workers)
	results := make(chan *batch, workers)
	stop := make(chan struct{})
	var readErr error

	go func() {
		defer close(jobs)
		r := mailbox.Open(paths, stdin)
		defer func() {
			if err := r.Close(); err != nil && readErr == nil {
				readErr = err
			}
		}()
		b, size, seq := &batch{}, 0, 0
		send := func() bool {
			if len(b.items) == 0 {
				return true
			}
			select {
			case window <- struct{}{}:
			case <-stop:
				return false
			}
			b.seq = seq
			jobs <- b
			b, size, seq = &batch{}, 0, seq+1
			return true
		}
		for {
			msg, err := r.Next()
			if errors.Is(err, io.EOF) {
				send()
				return
			}
			var me *mailbox.MessageError
			if err != nil && !errors.As(err, &me) {
				readErr = err
				send()
				return
			}
			if me != nil {
				msg.Origin = me.Origin
				msg.Input = me.Input
			}
			b.items = append(b.items, item{msg: msg, err: err})
			if size += len(msg.Raw); len(b.items) >= batchMessages || size >= batchBytes {
				if !send() {
					return
				}
			}
		}
	}()

	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range jobs {
				for i := range b.items {
					if it := &b.items[i]; it.err == nil {
						it.res, it.err = safely(it.msg, work)
					}
				}
				results <- b
			}
		}()
	}
	go func() { wg.Wait(); close(results) }()

	pending := map[int]*batch{}
	next := 0
	var emitErr error
	for b := range results {
		if o.unordered {
			next = b.seq
		}
		pending[b.seq] = b
		for {
			b, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			for _, it := range b.items {
				bar.Add(len(it.msg.Raw), it.err != nil)
				if emitErr == nil {
					if emitErr = emit(it.msg, it.res, it.err); emitErr != nil {
						close(stop)
					}
				}
			}
			<-window
		}
	}
	if emitErr != nil {
		return emitErr
	}
	return readErr
}

// eachMessage reads the messages of paths one after the other and calls fn
// on each. A mail that cannot be read is reported on stderr and counted in
// failed; the run goes on. An error from fn or from the reader ends it.
func eachMessage(e env, paths []string, fn func(mailbox.Message) error) (failed int, err error) {
	r := mailbox.Open(paths, e.stdin)
	defer func() {
		if cerr := r.Close(); err == nil {
			err = cerr
		}
	}()
	for {
		m, err := r.Next()
		if errors.Is(err, io.EOF) {
			return failed, nil
		}
		var me *mailbox.MessageError
		if errors.As(err, &me) {
			failed++
			fmt.Fprintf(e.stderr, "mailsift: %v\n", err)
			continue
		}
		if err != nil {
			return failed, err
		}
		if err := fn(m); err != nil {
			return failed, err
		}
	}
}

func safely[T any](msg mailbox.Message, work func(mailbox.Message) (T, error)) (res T, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error on this message: %v", r)
		}
	}()
	return work(msg)
}

// inputSize returns a function that adds up the sizes of the files below
// paths, for the progress bar: an estimate (gzip'd files count compressed).
func inputSize(paths []string) func() int64 {
	return func() int64 { return sizeOf(paths) }
}

func sizeOf(paths []string) int64 {
	var total int64
	for _, p := range paths {
		if p == "-" {
			continue
		}
		_ = filepath.WalkDir(p, func(_ string, d os.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				if info, err := d.Info(); err == nil {
					total += info.Size()
				}
			}
			return nil
		})
	}
	return total
}
