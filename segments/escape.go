package segments

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidEscape is wrapped by UnescapeName's errors.
var ErrInvalidEscape = errors.New("invalid escape")

// needsEscape reports whether a byte must be written as \ooo in a manifest
// name: the separators space and ':', the escape character '\', and the
// control bytes 0x00–0x1f.
func needsEscape(c byte) bool { return c <= ' ' || c == ':' || c == '\\' }

// EscapeName returns name as written in manifest text: each of '\', ':' and
// the bytes 0x00–0x20 (space included) becomes a backslash and 3 octal
// digits ("a b" → `a\040b`). Other bytes, UTF-8 included, are kept. It does
// not allocate when nothing needs escaping.
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

// UnescapeName reverses EscapeName: each backslash must be followed by 3
// octal digits of value at most 0377. Any other backslash is an error
// wrapping ErrInvalidEscape that quotes the bad escape and the name. Bytes
// that EscapeName would have escaped are accepted as they are. It does not
// allocate when name holds no backslash.
func UnescapeName(name string) (string, error) {
	first := strings.IndexByte(name, '\\')
	if first < 0 {
		return name, nil
	}
	var b strings.Builder
	b.Grow(len(name))
	b.WriteString(name[:first])
	for i := first; i < len(name); i++ {
		c := name[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		if !isOctal(name, i+1) || name[i+1] > '3' {
			end := min(i+4, len(name))
			return "", fmt.Errorf("%w %q in name %q: want a backslash and 3 octal digits up to \\377", ErrInvalidEscape, name[i:end], name)
		}
		b.WriteByte((name[i+1]-'0')<<6 | (name[i+2]-'0')<<3 | (name[i+3] - '0'))
		i += 3
	}
	return b.String(), nil
}

// isOctal reports whether name[i:i+3] exists and is 3 octal digits.
func isOctal(name string, i int) bool {
	if i+3 > len(name) {
		return false
	}
	for k := i; k < i+3; k++ {
		if name[k] < '0' || name[k] > '7' {
			return false
		}
	}
	return true
}
