package mailbox

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// mboxSource splits an mbox stream into messages, one line at a time, so
// that a big mbox is never held in memory: at most one message (capped by
// max) and one line are.
type mboxSource struct {
	br     *bufio.Reader
	path   string
	max    int64
	readOp string // "read", or "gunzip" for a compressed stream

	n     int    // 1-based index of the message being read
	env   string // its envelope
	buf   []byte // its bytes so far, unescaped
	over  bool   // it is larger than max and is being skipped
	blank int    // length of the previous line if it was empty apart from its line ending, else 0
	line  []byte // scratch space for lines longer than the bufio buffer
	// remaining estimates the bytes left in the file (0 if unknown), so
	// that a message's buffer can be allocated once.
	remaining int64
	begun     bool  // the first "From " line has been read
	done      bool  // the stream is finished; next returns io.EOF
	failed    bool  // the stream ended with a read error
	pending   error // an error (io.EOF included) met after a separator line, for the next call
	lineSize  int64 // lines are kept up to this many bytes; longer lines make the message too large
}

// next returns the next message, a *MessageError, or io.EOF.
func (m *mboxSource) next() (Message, error) {
	if m.done {
		return Message{}, io.EOF
	}
	// Room for the empty line dropped before a separator, and at least
	// for any separator line, so that splitting does not depend on max.
	m.lineSize = max(m.max+2, maxSeparatorLen)
	if !m.begun {
		// The stream was sniffed to start with "From ": the first line is
		// a separator whatever follows.
		m.begun = true
		line, long, err := m.readLine()
		m.startMessage(line, long)
		m.pending = err
	}
	for {
		if m.pending != nil {
			err := m.pending
			m.pending = nil
			m.done = true
			if err == io.EOF {
				return m.endMessage(false)
			}
			m.failed = true
			return Message{}, &MessageError{Origin: m.origin(), Err: fmt.Errorf("%s: %w", m.readOp, err)}
		}
		line, long, err := m.readLine()
		m.pending = err
		if len(line) == 0 {
			continue
		}
		if m.blank > 0 && !long && isSeparator(line) {
			msg, merr := m.endMessage(true)
			m.startMessage(line, false)
			return msg, merr
		}
		m.addLine(line, long)
	}
}

func (m *mboxSource) origin() string { return m.path + ":" + strconv.Itoa(m.n) }

// readLine returns the next line with its line ending (none at the end of
// the stream). A line longer than lineSize is cut and reported as long. The
// line is only valid until the next call.
func (m *mboxSource) readLine() (line []byte, long bool, err error) {
	line, err = m.br.ReadSlice('\n')
	m.remaining -= int64(len(line))
	if !errors.Is(err, bufio.ErrBufferFull) {
		return line, false, err
	}
	if cap(m.line) > 1<<20 {
		m.line = nil // do not keep a huge buffer after one huge line
	}
	m.line = append(m.line[:0], line...)
	for errors.Is(err, bufio.ErrBufferFull) {
		line, err = m.br.ReadSlice('\n')
		m.remaining -= int64(len(line))
		if int64(len(m.line)) <= m.lineSize {
			m.line = append(m.line, line...)
		} else {
			long = true
		}
	}
	if int64(len(m.line)) > m.lineSize {
		long = true
	}
	return m.line, long, err
}

// initialMessageBuf caps the buffer allocated before a message is read.
const initialMessageBuf = 1 << 20

// startMessage begins a new message at separator line sep.
func (m *mboxSource) startMessage(sep []byte, long bool) {
	m.n++
	m.buf = nil
	if m.remaining > 0 {
		m.buf = make([]byte, 0, min(m.remaining, m.max+2, initialMessageBuf))
	}
	m.blank = 0
	m.over = long
	m.env = ""
	if !long && len(sep) >= len(fromLine) {
		m.env = string(trimEOL(sep[len(fromLine):]))
	}
}

// addLine adds a body line to the message being read.
func (m *mboxSource) addLine(line []byte, long bool) {
	m.blank = 0
	if !long && isBlank(line) {
		m.blank = len(line)
	}
	if m.over {
		return
	}
	if long {
		m.over, m.buf = true, nil
		return
	}
	line = unescape(line)
	if int64(len(m.buf))+int64(len(line)) > m.max+2 {
		m.over, m.buf = true, nil
		return
	}
	m.buf = append(m.buf, line...)
}

// endMessage finishes the message being read. Before a separator, the empty
// line that belongs to the mbox format is dropped.
func (m *mboxSource) endMessage(beforeSeparator bool) (Message, error) {
	if beforeSeparator && !m.over && m.blank > 0 {
		m.buf = m.buf[:len(m.buf)-m.blank]
	}
	raw := m.buf
	m.buf = nil
	if m.over || int64(len(raw)) > m.max {
		return Message{}, &MessageError{Origin: m.origin(), Err: tooLarge(m.max)}
	}
	if raw == nil {
		raw = []byte{}
	}
	return Message{Raw: raw, Origin: m.origin(), Envelope: m.env, Path: m.path, Index: m.n}, nil
}

// maxSeparatorLen bounds the length of a separator line after the first:
// envelopes are short, and a bound keeps hostile input from making a huge
// line a candidate.
const maxSeparatorLen = 4096

// isSeparator reports whether line, which follows an empty line, separates
// two messages: "From ", a sender, and at least one more field holding a
// digit somewhere (the date; its format varies too much to check more).
func isSeparator(line []byte) bool {
	if len(line) < len(fromLine) || len(line) > maxSeparatorLen || string(line[:len(fromLine)]) != string(fromLine) {
		return false
	}
	rest := trimEOL(line[len(fromLine):])
	i := skipSpace(rest, 0)
	start := i
	for i < len(rest) && rest[i] != ' ' && rest[i] != '\t' {
		i++
	}
	if i == start {
		return false // no sender
	}
	i = skipSpace(rest, i)
	if i == len(rest) {
		return false // nothing after the sender
	}
	for _, c := range rest[i:] {
		if '0' <= c && c <= '9' {
			return true
		}
	}
	return false
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
		i++
	}
	return i
}

// isBlank reports whether line is empty apart from its line ending.
func isBlank(line []byte) bool {
	return string(line) == "\n" || string(line) == "\r\n"
}

// trimEOL removes one trailing "\n" or "\r\n".
func trimEOL(line []byte) []byte {
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
	}
	return line
}

// unescape removes one '>' from a line matching ^>+From (mboxrd). The
// result shares line's memory.
func unescape(line []byte) []byte {
	i := 0
	for i < len(line) && line[i] == '>' {
		i++
	}
	if i > 0 && len(line)-i >= len(fromLine) && string(line[i:i+len(fromLine)]) == string(fromLine) {
		return line[1:]
	}
	return line
}
