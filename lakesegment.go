package kith

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"io"
	"sync"
)

// LakeSegment is a run of an object's lines compressed on its own: raw
// DEFLATE blocks that end byte-aligned (a sync flush) and are never final,
// with the CRC-32 and length of the text they hold. Segments laid end to end
// are one DEFLATE stream, so an object is its segments joined under one gzip
// header and trailer (JoinLakeSegments) without decompressing or compressing
// anything again: the spool keeps its lines as segments, compressed when
// they are written, and the archive only concatenates them.
type LakeSegment struct {
	Data  []byte
	CRC   uint32 // CRC-32 (IEEE) of the text
	Size  int64  // bytes of text
	Lines int
}

// flateWriters reuses compressors: a new one allocates about a megabyte.
var flateWriters = sync.Pool{New: func() any {
	w, _ := flate.NewWriter(nil, flate.BestSpeed) // the fastest level: the lake's bytes are cheap, its CPU is not
	return w
}}

// deflateSegment compresses lines of NDJSON into a segment.
func deflateSegment(text []byte, lines int) LakeSegment {
	var buf bytes.Buffer
	buf.Grow(len(text)/3 + 64)
	w := flateWriters.Get().(*flate.Writer)
	w.Reset(&buf)
	w.Write(text) // a bytes.Buffer does not fail
	w.Flush()     // byte-aligned and not final: the next segment can follow
	flateWriters.Put(w)
	return LakeSegment{Data: buf.Bytes(), CRC: crc32.ChecksumIEEE(text), Size: int64(len(text)), Lines: lines}
}

// appendLakeLine appends l's object line: every field but the payload, then
// the payload (last, as written), then a line break.
func appendLakeLine(buf []byte, l LakeLine) ([]byte, error) {
	payload := l.Payload
	l.Payload = nil
	head, err := json.Marshal(l)
	if err != nil {
		return nil, err
	}
	buf = append(append(buf, head[:len(head)-1]...), `,"payload":`...)
	return append(append(buf, payload...), "}\n"...), nil
}

// CompressLakeLines makes one segment of lines whose payloads are as
// LakePayload makes them (the spool's, or read from an object): written as
// they are, not checked again in the transaction that compresses them.
func CompressLakeLines(lines []LakeLine) (LakeSegment, error) {
	var text []byte
	for _, l := range lines {
		var err error
		if text, err = appendLakeLine(text, l); err != nil {
			return LakeSegment{}, err
		}
	}
	return deflateSegment(text, len(lines)), nil
}

// CompressLakeText makes one segment of lines of NDJSON already written (a
// line spooled before segments, kept as its text).
func CompressLakeText(text []byte) LakeSegment {
	return deflateSegment(text, bytes.Count(text, []byte("\n")))
}

// JoinLakeSegments makes an object of segments (LakeObjectWriter).
func JoinLakeSegments(segs ...LakeSegment) []byte {
	var buf bytes.Buffer
	o := NewLakeObjectWriter(&buf)
	for _, s := range segs {
		o.Add(s) // a bytes.Buffer does not fail
	}
	o.Close()
	return buf.Bytes()
}

// LakeObjectWriter writes an object of segments as they come: one gzip member
// (RFC 1952) whose DEFLATE stream is the segments in order, closed by an
// empty final block, with the CRC-32 and length of the whole text. Every gzip
// reader reads it, including those that stop after a file's first member.
type LakeObjectWriter struct {
	w       io.Writer
	started bool
	all     LakeSegment // CRC, Size and Lines of what was added
	written int64
}

// NewLakeObjectWriter writes an object to w.
func NewLakeObjectWriter(w io.Writer) *LakeObjectWriter { return &LakeObjectWriter{w: w} }

func (o *LakeObjectWriter) write(b []byte) error {
	n, err := o.w.Write(b)
	o.written += int64(n)
	return err
}

// Add writes a segment (its Data is not kept: a reader's buffer may be reused).
func (o *LakeObjectWriter) Add(s LakeSegment) error {
	if !o.started {
		o.started = true
		// ID1 ID2, deflate, no flags, no time, fastest compression, unknown OS.
		if err := o.write([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 4, 255}); err != nil {
			return err
		}
	}
	o.all.CRC = crc32Combine(o.all.CRC, s.CRC, s.Size)
	o.all.Size += s.Size
	o.all.Lines += s.Lines
	return o.write(s.Data)
}

// Lines is the number of lines added; Written the bytes written.
func (o *LakeObjectWriter) Lines() int     { return o.all.Lines }
func (o *LakeObjectWriter) Written() int64 { return o.written }

// Close ends the object: the final block and the gzip trailer.
func (o *LakeObjectWriter) Close() error {
	if err := o.Add(LakeSegment{}); err != nil {
		return err
	}
	tail := []byte{0x03, 0x00} // an empty final block (fixed codes: just the end-of-block code)
	tail = binary.LittleEndian.AppendUint32(tail, o.all.CRC)
	return o.write(binary.LittleEndian.AppendUint32(tail, uint32(o.all.Size)))
}

// crc32Combine is the CRC-32 of a text whose first part has crc1 and whose
// second part, len2 bytes long, has crc2 (as zlib's crc32_combine: crc1 moved
// past len2 zero bytes by multiplying with x^(8·len2) modulo the polynomial).
func crc32Combine(crc1, crc2 uint32, len2 int64) uint32 {
	if len2 <= 0 {
		return crc1 ^ crc2
	}
	return multModP(x2nModP(len2, 3), crc1) ^ crc2
}

// multModP multiplies a and b modulo the CRC-32 polynomial (reflected bits).
func multModP(a, b uint32) uint32 {
	var p uint32
	for m := uint32(1) << 31; m != 0; m >>= 1 {
		if a&m != 0 {
			p ^= b
			if a&(m-1) == 0 {
				break
			}
		}
		if b&1 != 0 {
			b = b>>1 ^ crc32.IEEE
		} else {
			b >>= 1
		}
	}
	return p
}

// x2nTable[k] is x^(2^k) modulo the polynomial.
var x2nTable = func() (t [32]uint32) {
	p := uint32(1) << 30 // x^1
	t[0] = p
	for k := 1; k < 32; k++ {
		p = multModP(p, p)
		t[k] = p
	}
	return t
}()

// x2nModP is x^(n·2^k) modulo the polynomial.
func x2nModP(n int64, k uint) uint32 {
	p := uint32(1) << 31 // x^0
	for n != 0 {
		if n&1 != 0 {
			p = multModP(x2nTable[k&31], p)
		}
		n >>= 1
		k++
	}
	return p
}
