package main

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/mailsift/mailsift/internal/config"
)

// watcher keeps a long run's settings current. Every interval, and at
// once on a signal from hup, it loads the configuration file again if it
// changed (or on the signal, always) and hands it to apply; a file that
// does not load is refused and the settings in force stay. After that it
// calls tick, which rereads lists and databases that changed by
// themselves.
type watcher struct {
	configPath string // as given with --config; "" for the default
	interval   time.Duration
	hup        <-chan os.Signal // nil: no signal
	apply      func(config.Config) error
	tick       func()
	// refused hears of a configuration file that was not put in force.
	refused func(path string, err error)
}

// start runs the watcher until the returned stop is called.
func (w watcher) start() (stop func()) {
	path := w.configPath
	if path == "" {
		path = config.DefaultPath()
	}
	last := fileStamp(path)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(w.interval)
		defer t.Stop()
		for {
			forced := false
			select {
			case <-done:
				return
			case <-t.C:
			case <-w.hup:
				forced = true
			}
			if stamp := fileStamp(path); stamp != last || forced {
				last = stamp
				w.reload(path)
			}
			w.safely("reload", w.tick)
		}
	}()
	return func() { close(done); wg.Wait() }
}

// reload loads and applies the configuration file, refusing a broken one.
func (w watcher) reload(path string) {
	w.safely("reload "+path, func() {
		cfg, err := config.Load(w.configPath)
		if err == nil {
			err = w.apply(cfg)
		}
		if err != nil {
			w.refused(path, err)
		}
	})
}

// safely runs fn, turning a panic into a refusal so that the watcher
// goes on.
func (w watcher) safely(what string, fn func()) {
	defer func() {
		if p := recover(); p != nil {
			w.refused(what, fmt.Errorf("internal error: %v", p))
		}
	}()
	if fn != nil {
		fn()
	}
}

// fileStamp identifies a version of a file by its modification time and
// size; "" when it cannot be read.
func fileStamp(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return ""
	}
	return fi.ModTime().String() + "/" + strconv.FormatInt(fi.Size(), 10)
}
