package segments

import (
	"errors"
	"strings"
)

// ErrInvalidEscape was wrapped by UnescapeName's errors.
//
// Deprecated: every name is accepted now (a backslash that does not start
// an escape is a literal backslash, as the Arvados Python SDK reads it), so
// nothing returns this error.
var ErrInvalidEscape = errors.New("invalid escape")

// needsEscape reports whether a byte must be written as \ooo in a manifest
// name: the separators space and ':', the escape character '\', and the
// control bytes 0x00–0x1f.
func needsEscape(c byte) bool { return c <= ' ' || c == ':' || c == '\\' }

// EscapeName returns name as written in manifest text: each of '\', ':' and
// the bytes 0x00–0x20 (space included) becomes a backslash and 3 octal
// digits ("a b" → `a\040b`, `a\b` → `a\134b`). Other bytes, UTF-8 included,
// are kept. Since every backslash of the result starts an escape, the text
// reads back unambiguously. It does not allocate when nothing needs
// escaping.
func EscapeName(name string) string {
	n := 0
	for i := 0; i < len(name); i++ {
		if needsEscape(name[i]) {
			n++
		}
	}
	if n == 0 {
		return name
	}
	var b strings.Builder
	b.Grow(len(name) + 3*n)
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !needsEscape(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('\\')
		b.WriteByte('0' + c>>6)
		b.WriteByte('0' + c>>3&7)
		b.WriteByte('0' + c&7)
	}
	return b.String()
}

// UnescapeName reads a name as written in manifest text, as the Arvados
// Python SDK does: scanning from the left, a backslash followed by three
// octal digits `[0-3][0-7][0-7]` is the byte they encode; any other
// backslash is a literal backslash (`a\09b` is the name `a\09b`, `foo\444`
// is `foo\444`, `a\\040` is `a\` and a space). Bytes that EscapeName would
// have escaped are accepted as they are. UnescapeName reverses EscapeName.
// It does not allocate when name holds no escape.
func UnescapeName(name string) string {
	i := nextEscape(name, 0)
	if i < 0 {
		return name
	}
	var b strings.Builder
	b.Grow(len(name))
	done := 0 // name[:done] is written
	for ; i >= 0; i = nextEscape(name, done) {
		b.WriteString(name[done:i])
		b.WriteByte((name[i+1]-'0')<<6 | (name[i+2]-'0')<<3 | (name[i+3] - '0'))
		done = i + 4
	}
	b.WriteString(name[done:])
	return b.String()
}

// nextEscape returns the index of the first escape `\[0-3][0-7][0-7]` at
// or after from in name, or -1.
func nextEscape(name string, from int) int {
	for {
		i := strings.IndexByte(name[from:], '\\')
		if i < 0 {
			return -1
		}
		i += from
		if i+3 < len(name) && name[i+1] >= '0' && name[i+1] <= '3' && isOctal(name[i+2]) && isOctal(name[i+3]) {
			return i
		}
		from = i + 1
	}
}

// isOctal reports whether c is an octal digit.
func isOctal(c byte) bool { return c >= '0' && c <= '7' }
