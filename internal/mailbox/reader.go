package mailbox

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// defaultMaxMessageSize is the cap on one message used when
// Options.MaxMessageSize is zero.
const defaultMaxMessageSize = 64 << 20

// bufSize is the size of the read buffers; lines longer than this are still
// read, through a slower path.
const bufSize = 64 << 10

// Message is one mail as found in a collection.
type Message struct {
	// Raw holds the message bytes. For an mbox it is without the "From "
	// separator line and with one '>' removed from every line matching
	// ^>+From (mboxrd). Line endings are as in the file (CRLF or LF).
	Raw []byte
	// Origin says where the message came from: the file path for a single
	// file, Maildir or MH message; "path:N" (N counting from 1) for the N-th
	// message of an mbox; "-" for standard input.
	Origin string
	// Envelope is, for an mbox message, the text of its "From " line after
	// "From " (sender and date), without the line ending; "" otherwise.
	Envelope string
	// Input is the index, among the paths given to Open, of the path the
	// message was found under.
	Input int
	// Path is the file the message was read from ("-" for standard
	// input), and Index its 1-based position in an mbox, 0 for a file that
	// is one message.
	Path  string
	Index int
}

// MessageError reports one mail (or one file) that could not be read. The
// reader goes on with the next mail.
type MessageError struct {
	Origin string // as in Message.Origin; a file or directory path for errors about a whole file
	Input  int    // as in Message.Input
	Err    error
}

// Error returns "mailbox: <origin>: <err>".
func (e *MessageError) Error() string { return "mailbox: " + e.Origin + ": " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *MessageError) Unwrap() error { return e.Err }

// Options tune a Reader.
type Options struct {
	// MaxMessageSize caps the size of one message in bytes (after gzip
	// decompression). Zero or less means 64 MiB. A bigger message is
	// reported as a *MessageError and skipped; in an mbox, reading resumes
	// at the next separator.
	MaxMessageSize int64
}

// Reader yields the messages of one or more paths, in a stable order. It is
// not safe for concurrent use.
type Reader struct {
	max       int64
	stdin     io.Reader
	stdinUsed bool
	todo      []item  // stack of work still to do; the last item is next
	cur       *source // the file being read, or nil
	err       error   // sticky error that ends the run
	input     int     // index of the path being read
	sizeHint  int64   // size of the file being opened, 0 if unknown
	// bufs are reused from file to file: the read buffer and, for a
	// gzip'd file, the one behind the decompressor.
	bufs [2]*bufio.Reader
}

// buf returns the i-th reusable buffered reader, reset to read rd.
func (r *Reader) buf(i int, rd io.Reader) *bufio.Reader {
	if r.bufs[i] == nil {
		r.bufs[i] = bufio.NewReaderSize(rd, bufSize)
	} else {
		r.bufs[i].Reset(rd)
	}
	return r.bufs[i]
}

var (
	errNoPaths = errors.New("mailbox: no paths given")
	errClosed  = errors.New("mailbox: reader is closed")
)

// Open prepares a Reader over the given paths; see the package comment for
// what a path may be. "-" means stdin, read as one message (name a file
// called "-" as "./-"); an empty stdin yields no message. Nothing is opened
// yet: a missing or unreadable path is reported by Next as a *MessageError.
// With no paths at all, Next returns an error that is not a *MessageError
// (a usage problem; the caller should stop).
func Open(paths []string, stdin io.Reader) *Reader {
	return OpenWithOptions(paths, stdin, Options{})
}

// OpenWithOptions is Open with Options.
func OpenWithOptions(paths []string, stdin io.Reader, opts Options) *Reader {
	r := &Reader{max: opts.MaxMessageSize, stdin: stdin}
	if r.max <= 0 {
		r.max = defaultMaxMessageSize
	}
	if len(paths) == 0 {
		r.err = errNoPaths
		return r
	}
	for i := len(paths) - 1; i >= 0; i-- {
		if paths[i] == "-" {
			r.todo = append(r.todo, item{kind: itemStdin, path: "-", input: i})
		} else {
			r.todo = append(r.todo, item{kind: itemTop, path: paths[i], input: i})
		}
	}
	return r
}

// Next returns the next message. At the end it returns io.EOF. For a mail or
// file that cannot be read it returns a *MessageError; the caller reports it
// and calls Next again. Any other error (no paths given, reader closed) is
// final and returned again by every later call.
func (r *Reader) Next() (Message, error) {
	msg, err := r.next()
	msg.Input = r.input
	var me *MessageError
	if errors.As(err, &me) {
		me.Input = r.input
	}
	return msg, err
}

func (r *Reader) next() (Message, error) {
	if r.err != nil {
		return Message{}, r.err
	}
	for {
		if r.cur != nil {
			msg, err := r.cur.next()
			if err == io.EOF {
				if cerr := r.closeCur(); cerr != nil {
					return Message{}, cerr
				}
				continue
			}
			return msg, err
		}
		if len(r.todo) == 0 {
			return Message{}, io.EOF
		}
		it := r.todo[len(r.todo)-1]
		r.todo = r.todo[:len(r.todo)-1]
		if it.kind == itemTop || it.kind == itemStdin {
			// Everything found below a path comes before the next path.
			r.input = it.input
		}
		if err := r.start(it); err != nil {
			return Message{}, err
		}
	}
}

// Close releases the open file, if any. Later calls to Next fail.
func (r *Reader) Close() error {
	if r.err == errClosed {
		return nil
	}
	r.err = errClosed
	r.todo = nil
	if r.cur == nil {
		return nil
	}
	return r.closeCur()
}

// closeCur closes the current source and reports a failure as a
// *MessageError about its file.
func (r *Reader) closeCur() error {
	s := r.cur
	r.cur = nil
	if err := s.close(); err != nil {
		return &MessageError{Origin: s.path, Err: err}
	}
	return nil
}

// itemKind says how an item of work is to be handled.
type itemKind int

const (
	itemTop     itemKind = iota // a path given by the caller: symbolic links followed
	itemWalk                    // an entry met while walking a directory
	itemFile                    // a message file of a Maildir or MH folder: directories ignored
	itemMaildir                 // cur/ or new/ of a Maildir: list its message files
	itemStdin                   // standard input, one message
	itemStream                  // an io.Reader read like a file (tests)
)

type item struct {
	kind  itemKind
	path  string
	input int       // itemTop and itemStdin: index among the paths given
	rd    io.Reader // itemStream only
}

// start does one item of work: it queues the entries of a directory, opens a
// file as r.cur, or fails with a *MessageError.
func (r *Reader) start(it item) error {
	switch it.kind {
	case itemStdin:
		if r.stdin == nil {
			return &MessageError{Origin: it.path, Err: errors.New("no standard input")}
		}
		if r.stdinUsed {
			return &MessageError{Origin: it.path, Err: errors.New("standard input already read")}
		}
		r.stdinUsed = true
		return r.startStream(it.path, r.stdin, nil, true)
	case itemStream:
		return r.startStream(it.path, it.rd, nil, false)
	case itemMaildir:
		return r.queueMaildirSub(it.path)
	}

	var fi fs.FileInfo
	var err error
	if it.kind == itemTop {
		fi, err = os.Stat(it.path)
	} else {
		fi, err = os.Lstat(it.path)
		if err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			fi, err = os.Stat(it.path)
			if err == nil && fi.IsDir() {
				return nil // symbolic links to directories are not followed in walks
			}
		}
	}
	if err != nil {
		return &MessageError{Origin: it.path, Err: opError("stat", err)}
	}
	switch {
	case fi.IsDir():
		if it.kind == itemFile {
			return nil
		}
		return r.queueDir(it.path)
	case it.kind != itemTop && !fi.Mode().IsRegular():
		// Opening a FIFO or a device found in a walk could block forever.
		return &MessageError{Origin: it.path, Err: fmt.Errorf("not a regular file (%v)", fi.Mode().Type())}
	}
	f, err := openFile(it.path)
	if err != nil {
		return &MessageError{Origin: it.path, Err: opError("open", err)}
	}
	r.sizeHint = fi.Size()
	return r.startStream(it.path, f, f, false)
}

// startStream sniffs rd (gzip, mbox, single message) and makes it r.cur.
// closer, if not nil, is closed when the stream is done or fails here.
func (r *Reader) startStream(path string, rd io.Reader, closer io.Closer, stdin bool) error {
	s := &source{path: path, closer: closer}
	err := s.open(r, rd, stdin)
	r.sizeHint = 0
	if err != nil {
		if cerr := s.close(); cerr != nil {
			err = fmt.Errorf("%w; %w", err, cerr)
		}
		return &MessageError{Origin: path, Err: err}
	}
	r.cur = s
	return nil
}

// opError drops the path from a *fs.PathError, since MessageError names it
// already, and prefixes the operation.
func opError(op string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("%s: %w", op, err)
}

// source is one opened file or stream.
type source struct {
	path     string
	closer   io.Closer    // the file, or nil
	gz       *gzip.Reader // the decompressor, or nil
	failed   bool         // a read error was reported already
	done     bool
	mbox     *mboxSource             // set when the stream is an mbox
	sizeHint int64                   // one message of a file: the file size, 0 if unknown
	next     func() (Message, error) // the next message, io.EOF at the end
}

var fromLine = []byte("From ")

func (s *source) open(r *Reader, rd io.Reader, stdin bool) error {
	limit := r.max
	br := r.buf(0, rd)
	magic, err := br.Peek(2)
	if err != nil && err != io.EOF {
		return fmt.Errorf("read: %w", err)
	}
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		s.gz, err = gzip.NewReader(br)
		if err != nil {
			s.gz = nil
			return fmt.Errorf("gunzip: %w", err)
		}
		br = r.buf(1, s.gz)
	}
	head, err := br.Peek(len(fromLine))
	if err != nil && err != io.EOF {
		return s.readError(err)
	}
	switch {
	case len(head) == 0:
		s.next = func() (Message, error) { return Message{}, io.EOF }
	case stdin:
		s.next = s.oneMessage(br, limit, bytes.Equal(head, fromLine))
	case bytes.Equal(head, fromLine):
		s.mbox = &mboxSource{br: br, path: s.path, max: limit, readOp: "read"}
		if s.gz != nil {
			s.mbox.readOp = "gunzip"
		} else {
			s.mbox.remaining = r.sizeHint
		}
		s.next = s.mbox.next
	default:
		if s.gz == nil {
			s.sizeHint = r.sizeHint
		}
		s.next = s.oneMessage(br, limit, false)
	}
	return nil
}

func (s *source) readError(err error) error {
	s.failed = true
	if s.gz != nil {
		return fmt.Errorf("gunzip: %w", err)
	}
	return fmt.Errorf("read: %w", err)
}

// oneMessage returns a next function that yields all of br as one message.
// With envelope, a first "From " line is taken off as the envelope; the rest
// is kept as it is (standard input is one message, not an mbox).
func (s *source) oneMessage(br *bufio.Reader, limit int64, envelope bool) func() (Message, error) {
	return func() (Message, error) {
		if s.done {
			return Message{}, io.EOF
		}
		s.done = true
		msg := Message{Origin: s.path, Path: s.path}
		if envelope {
			lineLimit := max(limit, maxSeparatorLen)
			line, err := readLimited(br, '\n', lineLimit)
			if err != nil && err != io.EOF {
				return Message{}, &MessageError{Origin: s.path, Err: s.readError(err)}
			}
			if int64(len(line)) > lineLimit || len(line) < len(fromLine) {
				return Message{}, &MessageError{Origin: s.path, Err: tooLarge(limit)}
			}
			msg.Envelope = string(trimEOL(line[len(fromLine):]))
		}
		var b bytes.Buffer
		if s.sizeHint > 0 {
			b.Grow(int(min(s.sizeHint, limit) + 1))
		}
		_, err := b.ReadFrom(io.LimitReader(br, limit+1))
		if err != nil {
			return Message{}, &MessageError{Origin: s.path, Err: s.readError(err)}
		}
		raw := b.Bytes()
		if int64(len(raw)) > limit {
			return Message{}, &MessageError{Origin: s.path, Err: tooLarge(limit)}
		}
		msg.Raw = raw
		return msg, nil
	}
}

// readLimited reads up to and including delim, keeping at most about limit bytes.
func readLimited(br *bufio.Reader, delim byte, limit int64) ([]byte, error) {
	var out []byte
	for {
		chunk, err := br.ReadSlice(delim)
		if int64(len(out)) <= limit {
			out = append(out, chunk...)
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return out, err
		}
	}
}

func tooLarge(limit int64) error { return fmt.Errorf("message larger than %d bytes, skipped", limit) }

// close closes the decompressor and the file. A decompressor error is only
// reported when no read error was reported before (it would be the same).
func (s *source) close() error {
	var gzErr, fileErr error
	if s.gz != nil {
		if err := s.gz.Close(); err != nil && !s.failed && (s.mbox == nil || !s.mbox.failed) {
			gzErr = fmt.Errorf("gunzip: %w", err)
		}
	}
	if s.closer != nil {
		if err := s.closer.Close(); err != nil {
			fileErr = opError("close", err)
		}
	}
	switch {
	case gzErr != nil && fileErr != nil:
		return fmt.Errorf("%w; %w", gzErr, fileErr)
	case gzErr != nil:
		return gzErr
	}
	return fileErr
}
