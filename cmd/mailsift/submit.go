package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mailsift/mailsift/internal/mailbox"
	"github.com/mailsift/mailsift/internal/mailq"
	"github.com/mailsift/mailsift/internal/progress"
)

// cmdSubmit puts mails into the queue for the workers: files, mboxes,
// Maildirs and MH folders, like every other command; with --watch, the
// files that appear in the directories from then on.
func cmdSubmit(e env, args []string) (int, error) {
	cfg := e.cfg
	var (
		paths    []string
		post     postProcess
		watch    bool
		interval = 2 * time.Second
	)
	specs := []flagSpec{
		{names: []string{"nats"}, hasValue: true, set: func(v string) error { cfg.NATS.URL = v; return nil }},
		{names: []string{"move"}, hasValue: true, set: func(v string) error { post.moveTo = v; return nil }},
		boolFlag(&post.remove, "delete"),
		boolFlag(&watch, "watch"),
		{names: []string{"interval"}, hasValue: true, set: func(v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return fmt.Errorf("%q is not a duration", v)
			}
			interval = d
			return nil
		}},
	}
	if err := parseArgs(args, specs, func(p string) { paths = append(paths, p) }); err != nil {
		return exitError, err
	}
	if post.moveTo != "" && post.remove {
		return exitError, usagef("submit: --move and --delete exclude each other")
	}
	if len(paths) == 0 {
		return exitError, usagef("submit: no files given")
	}
	if post.moveTo != "" {
		if fi, err := os.Stat(post.moveTo); err != nil || !fi.IsDir() {
			return exitError, fmt.Errorf("submit: --move %s: not a directory", post.moveTo)
		}
	}
	if watch {
		for _, p := range paths {
			if fi, err := os.Stat(p); err != nil || !fi.IsDir() {
				return exitError, usagef("submit --watch: %s is not a directory", p)
			}
		}
	}
	if err := cfg.NATS.Validate(); err != nil {
		return exitError, err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	q, err := connectQueue(ctx, cfg.NATS, "mailsift submit", nil, slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		return exitError, err
	}
	s := &submitter{e: e, q: q, post: post, files: map[string]*fileState{}}
	if watch {
		err = s.watch(ctx, paths, interval)
	} else {
		err = s.submit(ctx, paths, true)
	}
	err = errors.Join(err, q.Close())
	fmt.Fprintf(e.stderr, "mailsift: submitted %d mails (%d already queued), %d failed\n", s.stored, s.duplicates, s.failed)
	switch {
	case err != nil && !errors.Is(err, context.Canceled):
		return exitError, err
	case s.failed > 0:
		return exitPartial, nil
	}
	return exitOK, nil
}

// postProcess is what happens to a file once every mail in it is queued.
type postProcess struct {
	moveTo string
	remove bool
}

func (p postProcess) active() bool { return p.moveTo != "" || p.remove }

// submitter publishes mails and, once the server has stored every mail of
// a file, moves or deletes the file.
type submitter struct {
	e    env
	q    *mailq.Queue
	post postProcess

	mu                         sync.Mutex
	files                      map[string]*fileState
	stored, duplicates, failed int
}

// fileState follows the mails of one file through the server's answers.
type fileState struct {
	published, answered int
	failed              bool
	complete            bool // all of its mails have been read
}

// submit publishes the mails of paths and waits for the server's answers.
func (s *submitter) submit(ctx context.Context, paths []string, showProgress bool) error {
	var bar *progress.Bar
	if showProgress {
		bar = progress.New(s.e.stderr, "submit", inputSize(paths))
		defer bar.Done()
	}
	pub := s.q.NewPublisher(s.answered)
	rd := mailbox.Open(paths, s.e.stdin)
	var last string
	var err error
	for ctx.Err() == nil {
		m, rerr := rd.Next()
		if rerr == io.EOF {
			break
		}
		var me *mailbox.MessageError
		if errors.As(rerr, &me) {
			fmt.Fprintf(s.e.stderr, "mailsift: %v\n", rerr)
			s.fileFailed(me.Origin)
			if bar != nil {
				bar.Add(0, true)
			}
			continue
		}
		if rerr != nil {
			err = rerr
			break
		}
		if m.Path != last {
			s.readAll(last)
			last = m.Path
		}
		s.mu.Lock()
		st := s.files[m.Path]
		if st == nil {
			st = &fileState{}
			s.files[m.Path] = st
		}
		st.published++
		s.mu.Unlock()
		if perr := pub.Publish(ctx, mailq.Mail{Raw: m.Raw, Origin: m.Origin, Path: m.Path}); perr != nil {
			s.answered(mailq.Published{Origin: m.Origin, Path: m.Path, Err: perr})
		}
		if bar != nil {
			bar.Add(len(m.Raw), false)
		}
	}
	s.readAll(last)
	pub.Close()
	if cerr := rd.Close(); cerr != nil {
		err = errors.Join(err, cerr)
	}
	if err == nil {
		err = ctx.Err()
	}
	return err
}

// answered hears the server's answer for one mail.
func (s *submitter) answered(r mailq.Published) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case r.Err != nil:
		s.failed++
		fmt.Fprintf(s.e.stderr, "mailsift: %v\n", r.Err)
	case r.Duplicate:
		s.duplicates++
	default:
		s.stored++
	}
	st := s.files[r.Path]
	if st == nil {
		return
	}
	st.answered++
	st.failed = st.failed || r.Err != nil
	s.finish(r.Path, st)
}

// readAll marks the file at path as read to its end.
func (s *submitter) readAll(path string) {
	if path == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.files[path]; st != nil {
		st.complete = true
		s.finish(path, st)
	}
}

// fileFailed marks the file of a mail that could not be read, so that it
// stays where it is.
func (s *submitter) fileFailed(origin string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failed++
	path := origin
	if i := strings.LastIndexByte(origin, ':'); i > 0 {
		if _, err := os.Stat(origin); err != nil {
			path = origin[:i]
		}
	}
	st := s.files[path]
	if st == nil {
		st = &fileState{}
		s.files[path] = st
	}
	st.failed = true
}

// finish moves or deletes a file whose mails are all stored; s.mu is
// held.
func (s *submitter) finish(path string, st *fileState) {
	if !st.complete || st.answered < st.published {
		return
	}
	delete(s.files, path)
	if st.failed || !s.post.active() || path == "-" {
		return
	}
	var err error
	if s.post.remove {
		err = os.Remove(path)
	} else {
		err = moveInto(path, s.post.moveTo)
	}
	if err != nil {
		fmt.Fprintf(s.e.stderr, "mailsift: submit: %v\n", err)
	}
}

// moveInto renames path into dir, adding a number to its name when one
// of that name is there already.
func moveInto(path, dir string) error {
	base := filepath.Base(path)
	dest := filepath.Join(dir, base)
	for i := 1; ; i++ {
		if _, err := os.Lstat(dest); errors.Is(err, fs.ErrNotExist) {
			break
		}
		dest = filepath.Join(dir, fmt.Sprintf("%s.%d", base, i))
	}
	if err := os.Rename(path, dest); err != nil {
		return fmt.Errorf("move %s: %w", path, err)
	}
	return nil
}

// stamp is what a file looked like at a scan.
type stamp struct {
	size  int64
	mtime time.Time
}

// watch submits the files that appear under dirs, each once it has kept
// its size for one interval (a file still being written waits), until ctx
// is done. Maildir tmp/ folders are left alone.
func (s *submitter) watch(ctx context.Context, dirs []string, interval time.Duration) error {
	seen := map[string]stamp{} // submitted, when the files stay in place
	last := map[string]stamp{} // the previous scan
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		now := map[string]stamp{}
		var ready []string
		for _, dir := range dirs {
			err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
				if err != nil {
					return nil
				}
				if d.IsDir() {
					if path != dir && (d.Name() == "tmp" || strings.HasPrefix(d.Name(), ".")) {
						return filepath.SkipDir
					}
					return nil
				}
				if !d.Type().IsRegular() || strings.HasPrefix(d.Name(), ".") {
					return nil
				}
				info, err := d.Info()
				if err != nil {
					return nil
				}
				st := stamp{info.Size(), info.ModTime()}
				now[path] = st
				if seen[path] == st {
					return nil
				}
				if prev, ok := last[path]; ok && prev == st {
					ready = append(ready, path)
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		last = now
		if len(ready) > 0 {
			if err := s.submit(ctx, ready, false); err != nil {
				return err
			}
			if !s.post.active() {
				for _, p := range ready {
					seen[p] = now[p]
				}
			}
		}
		for p := range seen {
			if _, ok := now[p]; !ok {
				delete(seen, p)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}
