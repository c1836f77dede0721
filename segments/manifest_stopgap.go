package segments

// STOPGAP: private stand-ins for keep.ParseLocator, EscapeName and
// UnescapeName until the foundation branch lands; this file is deleted then.

import (
	"errors"
	"fmt"
	"strings"

	"github.com/arvfile/arvfile/keep"
)

// blockSize validates a locator and returns the size of its block.
func blockSize(loc string) (int64, error) {
	hash, rest, ok := strings.Cut(loc, "+")
	if !ok {
		return 0, fmt.Errorf("%w: locator without size", keep.ErrInvalidLocator)
	}
	if len(hash) != 32 {
		return 0, fmt.Errorf("%w: malformed hash %q", keep.ErrInvalidLocator, hash)
	}
	for i := 0; i < len(hash); i++ {
		if c := hash[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return 0, fmt.Errorf("%w: malformed hash %q", keep.ErrInvalidLocator, hash)
		}
	}
	sizeText, hints, _ := strings.Cut(rest, "+")
	size, ok := parseDecimal(sizeText)
	if !ok {
		return 0, fmt.Errorf("%w: malformed size %q", keep.ErrInvalidLocator, sizeText)
	}
	if size > keep.BlockSize {
		return 0, fmt.Errorf("%w: size %d exceeds %d", keep.ErrInvalidLocator, size, keep.BlockSize)
	}
	if hints != "" || strings.HasSuffix(rest, "+") {
		for _, hint := range strings.Split(hints, "+") {
			if !validHint(hint) {
				return 0, fmt.Errorf("%w: malformed hint %q", keep.ErrInvalidLocator, hint)
			}
		}
	}
	return size, nil
}

// strippedLocator returns md5+size of a valid locator.
func strippedLocator(loc string) string {
	if i := strings.IndexByte(loc[min(33, len(loc)):], '+'); i >= 0 {
		return loc[:33+i]
	}
	return loc
}

// escapeName escapes `\`, `:` and bytes 0x00–0x20 as \ooo octal.
func escapeName(name string) string {
	n := 0
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c == '\\' || c == ':' {
			n++
		}
	}
	if n == 0 {
		return name
	}
	b := make([]byte, 0, len(name)+3*n)
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c == '\\' || c == ':' {
			b = append(b, '\\', '0'+c>>6, '0'+c>>3&7, '0'+c&7)
		} else {
			b = append(b, c)
		}
	}
	return string(b)
}

var errBadEscape = errors.New(`bad escape: want \ooo octal`)
var errRawControl = errors.New("unescaped control character")

// unescapeName undoes escapeName; it refuses raw control characters.
func unescapeName(s string) (string, error) {
	i := 0
	for ; i < len(s); i++ {
		if c := s[i]; c == '\\' || c < ' ' {
			break
		}
	}
	if i == len(s) {
		return s, nil
	}
	b := make([]byte, 0, len(s))
	b = append(b, s[:i]...)
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c < ' ':
			return "", errRawControl
		case c != '\\':
			b = append(b, c)
		case i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) && s[i+1] <= '3':
			b = append(b, (s[i+1]-'0')<<6|(s[i+2]-'0')<<3|(s[i+3]-'0'))
			i += 3
		default:
			return "", errBadEscape
		}
	}
	return string(b), nil
}

func isOctal(c byte) bool { return '0' <= c && c <= '7' }

func validHint(hint string) bool {
	if len(hint) < 2 || hint[0] < 'A' || hint[0] > 'Z' {
		return false
	}
	for i := 1; i < len(hint); i++ {
		c := hint[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '@' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
