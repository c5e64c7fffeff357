package attach

import (
	"bufio"
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"unicode/utf16"

	"github.com/bodgit/sevenzip"
	"github.com/stangelandcl/ppmd"
	"github.com/ulikunitz/xz/lzma"
)

// sevenZip lists a 7z archive held in memory, after sevenZipCheck has
// vetted its header. An archive whose header cannot be read is encrypted
// when the header is packed with AES or the reader reports encryption, and
// corrupt otherwise.
func (w *walker) sevenZip(f *Facts, data []byte, depth int) {
	w.unlock(f, func(password *string) bool {
		pw := ""
		if password != nil {
			pw = *password
		}
		if err := sevenZipCheck(data, pw); err != nil {
			if errors.Is(err, errEncrypted) {
				return true
			}
			f.addDefect(DefectCorrupt, err.Error())
			return false
		}
		var r *sevenzip.Reader
		var err error
		if password == nil {
			r, err = sevenzip.NewReader(bytes.NewReader(data), int64(len(data)))
		} else {
			r, err = sevenzip.NewReaderWithPassword(bytes.NewReader(data), int64(len(data)), *password)
		}
		if err != nil {
			var re *sevenzip.ReadError
			if errors.As(err, &re) && re.Encrypted {
				return true
			}
			f.addDefect(DefectCorrupt, err.Error())
			return false
		}
		locked := false
		skipped := map[int]Defect{} // why a member of a solid block was not read
		opened := map[int]bool{}    // blocks opened, each a key derivation if encrypted
		for _, zf := range r.File {
			if zf.FileInfo().IsDir() {
				continue
			}
			e := entry{name: zf.Name, size: declared(zf.UncompressedSize), packed: int64(len(data)),
				open: func() (io.ReadCloser, error) {
					rc, err := zf.Open()
					if err != nil {
						return nil, sevenZipError(err)
					}
					return sevenZipReader{rc}, nil
				}}
			if d, ok := skipped[zf.Stream]; ok {
				// Reaching it would expand the unread member before it.
				e.blocked = Defect{d.Name, "follows an unread member in a solid block"}
			} else if password != nil && !opened[zf.Stream] && len(opened) >= maxSevenZipKeys {
				e.blocked = Defect{DefectEncrypted, fmt.Sprintf("not tried: more than %d encrypted blocks", maxSevenZipKeys)}
			}
			if e.blocked.Name == "" && zf.UncompressedSize > 0 {
				opened[zf.Stream] = true
			}
			switch w.member(f, depth, e) {
			case statusStop:
				return locked
			case statusLocked:
				locked = true
				skipped[zf.Stream] = Defect{DefectEncrypted, ""}
			case statusUnread:
				if n := len(f.Members); n > 0 && len(f.Members[n-1].Defects) > 0 {
					skipped[zf.Stream] = f.Members[n-1].Defects[0]
				}
			}
		}
		return locked
	}, nil)
}

// maxSevenZipKeys bounds the blocks of a 7z archive read with a password:
// each may derive its own key (up to 2^maxAESCycles SHA-256 rounds).
const maxSevenZipKeys = 32

// sevenZipReader marks read errors on encrypted data as errEncrypted.
type sevenZipReader struct{ io.ReadCloser }

func (r sevenZipReader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		err = sevenZipError(err)
	}
	return n, err
}

func sevenZipError(err error) error {
	var re *sevenzip.ReadError
	if errors.As(err, &re) && re.Encrypted {
		return fmt.Errorf("%w: %w", errEncrypted, err)
	}
	return err
}

func init() {
	// The stock decoders reserve whatever dictionary or model size the
	// archive declares, up to 4 GiB. These check it against
	// maxDecoderMemory first.
	sevenzip.RegisterDecompressor([]byte{0x03, 0x01, 0x01}, sevenzip.Decompressor(newLZMA))
	sevenzip.RegisterDecompressor([]byte{0x21}, sevenzip.Decompressor(newLZMA2))
	sevenzip.RegisterDecompressor([]byte{0x03, 0x04, 0x01}, sevenzip.Decompressor(newPPMd))
	// The stock AES decoder derives a key even for the empty password
	// that an archive opened without one gets, taking up to 2^24 rounds
	// (a second or more) per block. This one fails at once without a
	// password and refuses more than 2^maxAESCycles rounds.
	sevenzip.RegisterDecompressor([]byte{0x06, 0xf1, 0x07, 0x01}, sevenzip.Decompressor(newAES))
	// Zstandard, Brotli and LZ4 come only from a fork of 7-Zip, and their
	// decoders size their windows from the stream; they are refused.
	for _, id := range [][]byte{{0x04, 0xf7, 0x11, 0x01}, {0x04, 0xf7, 0x11, 0x02}, {0x04, 0xf7, 0x11, 0x04}} {
		sevenzip.RegisterDecompressor(id, sevenzip.Decompressor(refused))
	}
}

func refused([]byte, uint64, []io.ReadCloser) (io.ReadCloser, error) {
	return nil, errors.New("7z: coder not supported")
}

var errDecoderMemory = errors.New("7z: decoder needs more memory than allowed")

// coderReader closes the packed stream under a decoder.
type coderReader struct {
	io.Reader
	c io.Closer
}

func (r *coderReader) Close() error { return r.c.Close() }

// newLZMA decodes 7z's LZMA: five property bytes (lc/lp/pb and the
// dictionary size) and the unpacked size make the classic LZMA header.
func newLZMA(props []byte, size uint64, in []io.ReadCloser) (io.ReadCloser, error) {
	if len(in) != 1 || len(props) != 5 {
		return nil, errors.New("7z: bad lzma coder")
	}
	dict := int64(binary.LittleEndian.Uint32(props[1:]))
	if size < uint64(dict) {
		dict = int64(size) // the decoder never needs more than the output
	}
	if dict > maxDecoderMemory {
		return nil, errDecoderMemory
	}
	h := make([]byte, 13)
	copy(h, props)
	binary.LittleEndian.PutUint64(h[5:], size)
	lr, err := lzma.ReaderConfig{DictCap: 1<<32 - 1}.NewReader(bufio.NewReader(io.MultiReader(bytes.NewReader(h), in[0])))
	if err != nil {
		return nil, fmt.Errorf("7z: lzma: %w", err)
	}
	return &coderReader{lr, in[0]}, nil
}

// newLZMA2 decodes 7z's LZMA2, whose one property byte gives the
// dictionary size.
func newLZMA2(props []byte, size uint64, in []io.ReadCloser) (io.ReadCloser, error) {
	if len(in) != 1 || len(props) != 1 {
		return nil, errors.New("7z: bad lzma2 coder")
	}
	dict, err := lzma.DecodeDictCap(props[0])
	if err != nil {
		return nil, fmt.Errorf("7z: lzma2: %w", err)
	}
	if size > 0 && size < uint64(dict) {
		dict = max(int64(size), lzma.MinDictCap)
	}
	if dict > maxDecoderMemory {
		return nil, errDecoderMemory
	}
	lr, err := lzma.Reader2Config{DictCap: int(dict)}.NewReader2(byteReader(in[0]))
	if err != nil {
		return nil, fmt.Errorf("7z: lzma2: %w", err)
	}
	return &coderReader{lr, in[0]}, nil
}

// newPPMd decodes 7z's PPMd H: an order byte and the model size.
func newPPMd(props []byte, size uint64, in []io.ReadCloser) (io.ReadCloser, error) {
	if len(in) != 1 || len(props) != 5 {
		return nil, errors.New("7z: bad ppmd coder")
	}
	mem := binary.LittleEndian.Uint32(props[1:])
	if mem > maxDecoderMemory || size > 1<<62 {
		return nil, errDecoderMemory
	}
	pr, err := ppmd.NewH7zReader(byteReader(in[0]), int(props[0]), int(mem), int(size))
	if err != nil {
		return nil, fmt.Errorf("7z: ppmd: %w", err)
	}
	return &coderReader{&pr, in[0]}, nil
}

// byteReader gives the decoders the io.ByteReader they read fastest.
func byteReader(r io.Reader) interface {
	io.Reader
	io.ByteReader
} {
	if br, ok := r.(interface {
		io.Reader
		io.ByteReader
	}); ok {
		return br
	}
	return bufio.NewReader(r)
}

// maxAESCycles is the largest key-derivation exponent accepted; 7-Zip
// writes 19.
const maxAESCycles = 20

// aesReader decrypts 7z's AES-256-CBC coder.
type aesReader struct {
	rc       io.ReadCloser
	cycles   int
	salt, iv []byte
	cbc      cipher.BlockMode
	buf      [4096]byte
	off, n   int
	err      error
}

// newAES reads the coder properties: the key-derivation exponent, then the
// salt and IV sizes and bytes.
func newAES(props []byte, _ uint64, in []io.ReadCloser) (io.ReadCloser, error) {
	if len(in) != 1 || len(props) < 2 || props[0]&0xc0 == 0 {
		return nil, errors.New("7z: bad aes coder")
	}
	salt := int(props[0]>>7&1 + props[1]>>4)
	iv := int(props[0]>>6&1 + props[1]&0x0f)
	if len(props) != 2+salt+iv {
		return nil, errors.New("7z: bad aes coder")
	}
	r := &aesReader{rc: in[0], cycles: int(props[0] & 0x3f), salt: props[2 : 2+salt], iv: make([]byte, aes.BlockSize)}
	copy(r.iv, props[2+salt:])
	return r, nil
}

// Password derives the key; sevenzip calls it before the first Read.
func (r *aesReader) Password(password string) error {
	if password == "" {
		return errEncrypted
	}
	key, err := aesKey(password, r.cycles, r.salt)
	if err != nil {
		return err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return fmt.Errorf("7z: aes: %w", err)
	}
	r.cbc = cipher.NewCBCDecrypter(block, r.iv)
	return nil
}

func (r *aesReader) Read(p []byte) (int, error) {
	if r.cbc == nil {
		return 0, errEncrypted
	}
	if r.off == r.n {
		if r.err != nil {
			return 0, r.err
		}
		n, err := io.ReadFull(r.rc, r.buf[:])
		n -= n % aes.BlockSize
		r.cbc.CryptBlocks(r.buf[:n], r.buf[:n])
		r.off, r.n = 0, n
		if err == io.ErrUnexpectedEOF {
			err = io.EOF
		}
		r.err = err
		if n == 0 {
			return 0, err
		}
	}
	n := copy(p, r.buf[r.off:r.n])
	r.off += n
	return n, nil
}

func (r *aesReader) Close() error { return r.rc.Close() }

// aesKeys caches derived keys: 7-Zip uses one salt (usually empty) for all
// the blocks of an archive.
var aesKeys struct {
	sync.Mutex
	m map[string][]byte
}

// aesKey derives 7z's key: SHA-256 over 2^cycles repetitions of the salt,
// the UTF-16LE password and a 64-bit counter; cycles 0x3f means the salt
// and password themselves.
func aesKey(password string, cycles int, salt []byte) ([]byte, error) {
	b := slices.Clone(salt)
	for _, u := range utf16.Encode([]rune(password)) {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	if cycles == 0x3f {
		key := make([]byte, sha256.Size)
		copy(key, b)
		return key, nil
	}
	if cycles > maxAESCycles {
		return nil, fmt.Errorf("7z: aes: 2^%d key rounds: %w", cycles, errEncrypted)
	}
	id := fmt.Sprintf("%d/%x", cycles, b)
	aesKeys.Lock()
	key, ok := aesKeys.m[id]
	aesKeys.Unlock()
	if ok {
		return key, nil
	}
	round := append(b, make([]byte, 8)...)
	h := sha256.New()
	for i := range uint64(1) << cycles {
		binary.LittleEndian.PutUint64(round[len(b):], i)
		_, _ = h.Write(round)
	}
	key = h.Sum(nil)
	aesKeys.Lock()
	if aesKeys.m == nil || len(aesKeys.m) >= 16 {
		aesKeys.m = map[string][]byte{}
	}
	aesKeys.m[id] = key
	aesKeys.Unlock()
	return key, nil
}
