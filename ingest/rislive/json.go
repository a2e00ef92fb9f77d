package rislive

import (
	"bytes"
	"fmt"
	"unicode/utf8"

	"github.com/bgp-connector/bgp-connector/decode"
)

// A small JSON scanner for RIS Live messages. It checks the syntax of the
// whole message (RFC 8259) and finds the spans of the values the decoder
// needs, without building a tree and without allocating: a message is a
// flat object of scalars and short arrays, and the hot field ("raw", a long
// hex string) is skipped with one bytes.IndexByte.

// maxDepth bounds the nesting of arrays and objects.
const maxDepth = 32

// value is the span of a JSON value in a message. For strings, start and
// end exclude the quotes and esc says the content has escapes.
type value struct {
	start, end int
	kind       byte // first byte: '"', '{', '[', 't', 'f', 'n', or '0' for numbers; 0 when absent
	esc        bool
}

func (v value) ok() bool { return v.kind != 0 }

// syntaxError is a JSON syntax fault at a byte offset of the message.
type syntaxError struct {
	off  int
	what string
}

func (e *syntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at byte %d: %s", e.off, e.what)
}

func (e *syntaxError) Unwrap() error {
	if e.what == "unexpected end" || e.what == "unterminated string" {
		return decode.ErrTruncated
	}
	return decode.ErrMalformed
}

func errAt(off int, what string) error { return &syntaxError{off: off, what: what} }

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// scanString reads the string whose opening quote is b[i] and returns the
// index after its closing quote and whether it holds escapes. Escapes are
// checked; control characters are let through (lenient).
func scanString(b []byte, i int) (int, bool, error) {
	i++
	esc := false
	for {
		j := bytes.IndexByte(b[i:], '"')
		if j < 0 {
			return len(b), esc, errAt(len(b), "unterminated string")
		}
		k := bytes.IndexByte(b[i:i+j], '\\')
		if k < 0 {
			return i + j + 1, esc, nil
		}
		esc = true
		p := i + k + 1
		if p >= len(b) {
			return len(b), esc, errAt(len(b), "unterminated string")
		}
		switch b[p] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			i = p + 1
		case 'u':
			if p+5 > len(b) {
				return len(b), esc, errAt(len(b), "unexpected end")
			}
			for _, c := range b[p+1 : p+5] {
				if unhex(c) < 0 {
					return p, esc, errAt(p, "bad \\u escape")
				}
			}
			i = p + 5
		default:
			return p, esc, errAt(p, "bad escape")
		}
	}
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// scanNumber reads the number starting at b[i] and returns the index after it.
func scanNumber(b []byte, i int) (int, error) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return i, errAt(i, "unexpected end")
	case b[i] == '0':
		i++
	case isDigit(b[i]):
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	default:
		return i, errAt(i, "bad number")
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			return i, errAt(i, "bad number")
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return i, errAt(i, "bad number")
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	return i, nil
}

// scanValue reads the value starting at b[i] (no leading space) and returns
// its span and the index after it.
func scanValue(b []byte, i, depth int) (value, int, error) {
	if i >= len(b) {
		return value{}, i, errAt(i, "unexpected end")
	}
	switch c := b[i]; c {
	case '"':
		end, esc, err := scanString(b, i)
		return value{start: i + 1, end: end - 1, kind: '"', esc: esc}, end, err
	case '{', '[':
		if depth >= maxDepth {
			return value{}, i, errAt(i, "nested too deep")
		}
		end, err := scanContainer(b, i, depth+1)
		return value{start: i, end: end, kind: c}, end, err
	case 't', 'f', 'n':
		lit := "null"
		if c == 't' {
			lit = "true"
		} else if c == 'f' {
			lit = "false"
		}
		if len(b)-i < len(lit) {
			return value{}, len(b), errAt(len(b), "unexpected end")
		}
		if string(b[i:i+len(lit)]) != lit {
			return value{}, i, errAt(i, "bad literal")
		}
		return value{start: i, end: i + len(lit), kind: c}, i + len(lit), nil
	default:
		if c == '-' || isDigit(c) {
			end, err := scanNumber(b, i)
			return value{start: i, end: end, kind: '0'}, end, err
		}
		return value{}, i, errAt(i, fmt.Sprintf("unexpected %q", c))
	}
}

// scanContainer reads the object or array starting at b[i].
func scanContainer(b []byte, i, depth int) (int, error) {
	obj := b[i] == '{'
	closer := byte(']')
	if obj {
		closer = '}'
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == closer {
		return i + 1, nil
	}
	for {
		var err error
		if obj {
			if _, i, err = scanKey(b, i); err != nil {
				return i, err
			}
		}
		if _, i, err = scanValue(b, i, depth); err != nil {
			return i, err
		}
		i = skipSpace(b, i)
		if i >= len(b) {
			return i, errAt(i, "unexpected end")
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case closer:
			return i + 1, nil
		default:
			return i, errAt(i, fmt.Sprintf("unexpected %q", b[i]))
		}
	}
}

// scanKey reads `"key" :` at b[i] and returns the key's content (escapes
// not decoded: RIS Live keys have none) and the index of the value.
func scanKey(b []byte, i int) (key []byte, at int, err error) {
	if i >= len(b) {
		return nil, i, errAt(i, "unexpected end")
	}
	if b[i] != '"' {
		return nil, i, errAt(i, "expected a key")
	}
	end, _, err := scanString(b, i)
	if err != nil {
		return nil, end, err
	}
	key = b[i+1 : end-1]
	i = skipSpace(b, end)
	if i >= len(b) {
		return key, i, errAt(i, "unexpected end")
	}
	if b[i] != ':' {
		return key, i, errAt(i, "expected ':'")
	}
	return key, skipSpace(b, i+1), nil
}

// members iterates the members of the object at b[i]: next returns each
// key and the index of its value, which the caller scans and hands back
// with done.
type members struct {
	b     []byte
	i     int
	first bool
}

func newMembers(b []byte, i int) (members, error) {
	if i >= len(b) || b[i] != '{' {
		return members{}, errAt(i, "expected an object")
	}
	return members{b: b, i: skipSpace(b, i+1), first: true}, nil
}

// next returns the next key and the index of its value; ok is false at the
// end of the object, where m.i is the index after the closing brace.
func (m *members) next() (key []byte, at int, ok bool, err error) {
	b, i := m.b, m.i
	if i >= len(b) {
		return nil, i, false, errAt(i, "unexpected end")
	}
	if !m.first {
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			m.i = i + 1
			return nil, i, false, nil
		default:
			return nil, i, false, errAt(i, fmt.Sprintf("unexpected %q", b[i]))
		}
	} else if b[i] == '}' {
		m.i = i + 1
		return nil, i, false, nil
	}
	m.first = false
	key, at, err = scanKey(b, i)
	return key, at, err == nil, err
}

// done records the end of a member's value.
func (m *members) done(end int) { m.i = skipSpace(m.b, end) }

// elements iterates the elements of the array at b[i].
type elements struct {
	b     []byte
	i     int
	first bool
}

func newElements(b []byte, v value) (elements, error) {
	if v.kind != '[' {
		return elements{}, errAt(v.start, "expected an array")
	}
	return elements{b: b[:v.end], i: skipSpace(b, v.start+1), first: true}, nil
}

// next returns the next element's span; ok is false at the end.
func (e *elements) next() (v value, ok bool, err error) {
	b, i := e.b, e.i
	if i >= len(b) {
		return value{}, false, errAt(i, "unexpected end")
	}
	if !e.first {
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case ']':
			return value{}, false, nil
		default:
			return value{}, false, errAt(i, fmt.Sprintf("unexpected %q", b[i]))
		}
	} else if b[i] == ']' {
		return value{}, false, nil
	}
	e.first = false
	v, end, err := scanValue(b, i, 1)
	if err != nil {
		return v, false, err
	}
	e.i = skipSpace(b, end)
	return v, true, nil
}

// unescape appends the decoded content of a string with escapes to dst.
func unescape(dst, s []byte) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			dst = append(dst, c)
			continue
		}
		i++
		switch s[i] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			if i+4 >= len(s) {
				return dst
			}
			r := rune(hex4(s[i+1:]))
			i += 4
			if r >= 0xd800 && r < 0xdc00 && i+6 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
				lo := rune(hex4(s[i+3:]))
				if lo >= 0xdc00 && lo < 0xe000 {
					r = (r-0xd800)<<10 + (lo - 0xdc00) + 0x10000
					i += 6
				}
			}
			dst = utf8.AppendRune(dst, r)
		default: // " \ /
			dst = append(dst, s[i])
		}
	}
	return dst
}

func hex4(b []byte) int {
	return unhex(b[0])<<12 | unhex(b[1])<<8 | unhex(b[2])<<4 | unhex(b[3])
}
