package keep

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// BlockSize is the largest Keep block, 64 MiB.
const BlockSize = 1 << 26

// EmptyBlockLocator names the empty block.
const EmptyBlockLocator = "d41d8cd98f00b204e9800998ecf8427e+0"

// PaddingBlockLocator names a block of BlockSize zero bytes.
const PaddingBlockLocator = "7f614da9329cd3aebf59b91aadc30bf0+67108864"

// BlockLocatorOf returns the bare locator `md5+size` of data.
func BlockLocatorOf(data []byte) string {
	return locatorOfSum(md5Sum(data), len(data))
}

// locatorOfSum returns the bare locator `md5+size` of a block of size bytes
// whose md5 is sum.
func locatorOfSum(sum [md5.Size]byte, size int) string {
	buf := make([]byte, 0, 2*md5.Size+1+8)
	buf = hex.AppendEncode(buf, sum[:])
	buf = append(buf, '+')
	buf = strconv.AppendInt(buf, int64(size), 10)
	return string(buf)
}

// md5Step is how much md5Sum hands crypto/md5 at a time.
const md5Step = 1 << 20

// md5Sum is md5.Sum in 1 MiB steps. crypto/md5 hashes what it is given in
// one assembly call, which the Go scheduler cannot preempt: hashing a 64 MiB
// block at once (about 80 ms) holds every stop-the-world of the garbage
// collector, and with it every goroutine of the process, until it ends.
func md5Sum(data []byte) [md5.Size]byte {
	if len(data) <= md5Step {
		return md5.Sum(data)
	}
	h := md5.New()
	for len(data) > 0 {
		n := min(len(data), md5Step)
		h.Write(data[:n])
		data = data[n:]
	}
	var sum [md5.Size]byte
	h.Sum(sum[:0])
	return sum
}

// IsPaddingLocator reports whether locator names the padding block
// (PaddingBlockLocator: BlockSize zero bytes), with or without hints.
func IsPaddingLocator(locator string) bool {
	p := PaddingBlockLocator
	return strings.HasPrefix(locator, p) && (len(locator) == len(p) || locator[len(p)] == '+')
}

// ErrInvalidLocator is wrapped by every error about a malformed locator.
var ErrInvalidLocator = errors.New("invalid locator")

// hashLen is the number of hex digits of an md5.
const hashLen = 32

// signatureLen is the number of hex digits of a permission signature.
const signatureLen = 40

// maxExpiryDigits is the most hex digits a permission expiry may have.
const maxExpiryDigits = 8

// maxSizeDigits is the number of decimal digits of BlockSize; a longer size
// is necessarily too large.
const maxSizeDigits = 8

// Locator is a parsed Keep block locator `<32 hex md5>+<size>[+hint]…`.
//
// The first hint that starts with 'A' is the permission hint. When it is
// `A<40 lower-case hex signature>@<1–8 lower-case hex expiry>` it is parsed
// into Signature and Expiry; any other text (such as the placeholder
// `Aasignatureforthisblock…@5f612ee6` of the Arvados documentation) is an
// opaque signature, kept as it is (PermissionHint) but not interpreted. The
// other hints are kept in order (Hints). A Locator is a small comparable
// value; its strings are substrings of the parsed text, so ParseLocator does
// not allocate. The zero Locator is not a valid locator and formats as "".
type Locator struct {
	text      string // the parsed text, returned by String when canonical
	canonical bool   // text is already in the form String would produce
	hashEnd   int    // text[:hashEnd] is the md5
	sizeEnd   int    // text[:sizeEnd] is `md5+size`
	size      int64
	permAt    int    // index in text of the '+' before the permission hint; 0 when there is none
	perm      string // the permission hint without its '+', or ""
	signature string // 40 hex digits when perm is well formed, else ""
	expiry    int64  // unix seconds; meaningful only with a signature
	hints     string // every hint of text, each with its leading '+', permission hint included
}

// ParseLocator parses `<32 hex md5>+<size>[+hint]…` as the Arvados manifest
// format defines it, `^[0-9a-f]{32}\+[0-9]+(\+[A-Z][-A-Za-z0-9@_]*)*$`, with
// the size further limited to what a Keep block can be.
//
// The md5 must be 32 lower-case hex digits; the size a decimal number without
// sign or leading zero, at most BlockSize; each hint an upper-case letter
// followed by any of `A-Za-z0-9@_-` (one-letter hints such as `+Z` are
// valid). The first hint starting with 'A' is the permission hint (see
// Locator); a later one is an ordinary hint. Every error wraps
// ErrInvalidLocator and names the bad part. ParseLocator does not allocate
// on success.
func ParseLocator(s string) (Locator, error) {
	l := Locator{text: s, canonical: true}
	if len(s) < hashLen || !isLowerHex(s[:hashLen]) || (len(s) > hashLen && s[hashLen] != '+') {
		end := strings.IndexByte(s, '+')
		if end < 0 {
			end = len(s)
		}
		return Locator{}, locatorError(s, "hash %q is not 32 lower-case hex digits", s[:end])
	}
	if len(s) == hashLen {
		return Locator{}, locatorError(s, "missing size after the hash")
	}
	l.hashEnd = hashLen

	// The size runs from after the '+' to the next '+' or the end.
	sizeStart := hashLen + 1
	sizeEnd := sizeStart
	for sizeEnd < len(s) && s[sizeEnd] != '+' {
		sizeEnd++
	}
	size, err := parseSize(s[sizeStart:sizeEnd])
	if err != nil {
		return Locator{}, locatorError(s, "%v", err)
	}
	l.size = size
	l.sizeEnd = sizeEnd
	l.hints = s[sizeEnd:]

	// Each hint runs from after a '+' to the next '+' or the end.
	for i := sizeEnd; i < len(s); {
		start := i + 1
		end := start
		for end < len(s) && s[end] != '+' {
			end++
		}
		hint := s[start:end]
		if err := checkHint(hint); err != nil {
			return Locator{}, locatorError(s, "%v", err)
		}
		if hint[0] == 'A' && l.perm == "" {
			l.permAt, l.perm = i, hint
			sig, expiry, ok := parsePermission(hint)
			if ok {
				l.signature, l.expiry = sig, expiry
			}
			// String puts the permission hint first, with an 8-digit expiry
			// when it has one it can read.
			if start != sizeEnd+1 || ok && len(hint) != 1+signatureLen+1+maxExpiryDigits {
				l.canonical = false
			}
		}
		i = end
	}
	return l, nil
}

// parseSize parses a block size: decimal digits, no sign, no leading zero,
// at most BlockSize.
func parseSize(s string) (int64, error) {
	if s == "" {
		return 0, errors.New(`missing size after the hash`)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("size %q is not a decimal number", s)
		}
	}
	if len(s) > 1 && s[0] == '0' {
		return 0, fmt.Errorf("size %q has a leading zero", s)
	}
	if len(s) > maxSizeDigits {
		return 0, fmt.Errorf("size %s is larger than the block size %d", s, BlockSize)
	}
	var n int64
	for i := 0; i < len(s); i++ {
		n = n*10 + int64(s[i]-'0')
	}
	if n > BlockSize {
		return 0, fmt.Errorf("size %d is larger than the block size %d", n, BlockSize)
	}
	return n, nil
}

// checkHint reports whether hint (without its '+') matches `[A-Z][-A-Za-z0-9@_]*`.
func checkHint(hint string) error {
	if hint == "" {
		return errors.New("empty hint")
	}
	ok := hint[0] >= 'A' && hint[0] <= 'Z'
	for i := 1; ok && i < len(hint); i++ {
		c := hint[i]
		ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			c == '@' || c == '_' || c == '-'
	}
	if !ok {
		return fmt.Errorf("hint %q does not match [A-Z][-A-Za-z0-9@_]*", hint)
	}
	return nil
}

// parsePermission splits a permission hint `A<sig>@<expiry>` (without '+').
func parsePermission(hint string) (signature string, expiry int64, ok bool) {
	const at = 1 + signatureLen
	if len(hint) < at+2 || hint[at] != '@' || !isLowerHex(hint[1:at]) {
		return "", 0, false
	}
	digits := hint[at+1:]
	if len(digits) > maxExpiryDigits || !isLowerHex(digits) {
		return "", 0, false
	}
	for i := 0; i < len(digits); i++ {
		expiry = expiry<<4 | int64(hexValue(digits[i]))
	}
	return hint[1:at], expiry, true
}

// isLowerHex reports whether s is made only of 0-9 and a-f.
func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) {
			return false
		}
	}
	return true
}

// hexValue returns the value of a lower-case hex digit.
func hexValue(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c - 'a' + 10
}

// maxQuoted is the longest input an error message quotes in full.
const maxQuoted = 200

// locatorError builds an error wrapping ErrInvalidLocator that quotes the
// input (shortened if very long) and says what is wrong with it.
func locatorError(s string, format string, args ...any) error {
	if len(s) > maxQuoted {
		s = s[:maxQuoted] + "..."
	}
	return fmt.Errorf("%w %q: %s", ErrInvalidLocator, s, fmt.Sprintf(format, args...))
}

// String formats the locator: `md5+size`, then the permission hint (a
// well-formed one with its expiry as 8 lower-case hex digits, an opaque one
// as it was), then the other hints in their order. It does not allocate
// when the parsed text was already in that form.
func (l Locator) String() string {
	if l.canonical || l.text == "" {
		return l.text
	}
	var b strings.Builder
	b.Grow(len(l.text) + maxExpiryDigits)
	b.WriteString(l.text[:l.sizeEnd])
	switch {
	case l.signature != "":
		b.WriteString("+A")
		b.WriteString(l.signature)
		b.WriteByte('@')
		var buf [maxExpiryDigits]byte
		for i := maxExpiryDigits - 1; i >= 0; i-- {
			buf[i] = "0123456789abcdef"[l.expiry>>(4*uint(maxExpiryDigits-1-i))&0xf]
		}
		b.Write(buf[:])
	case l.perm != "":
		b.WriteByte('+')
		b.WriteString(l.perm)
	}
	l.eachHint(func(hint string) {
		b.WriteByte('+')
		b.WriteString(hint)
	})
	return b.String()
}

// eachHint calls fn with each hint other than the permission hint, in
// order, without its leading '+'.
func (l Locator) eachHint(fn func(hint string)) {
	at := l.sizeEnd
	for rest := l.hints; rest != ""; {
		hint, next := nextHint(rest)
		if l.perm == "" || at != l.permAt {
			fn(hint)
		}
		at += 1 + len(hint)
		rest = next
	}
}

// nextHint splits "+hint[+more…]" into "hint" and "[+more…]".
func nextHint(rest string) (hint, next string) {
	rest = rest[1:]
	if i := strings.IndexByte(rest, '+'); i >= 0 {
		return rest[:i], rest[i:]
	}
	return rest, ""
}

// Stripped returns `md5+size`, without hints. It does not allocate.
func (l Locator) Stripped() string { return l.text[:l.sizeEnd] }

// Hash returns the 32 lower-case hex digits of the md5.
func (l Locator) Hash() string { return l.text[:l.hashEnd] }

// Size returns the block size in bytes.
func (l Locator) Size() int64 { return l.size }

// Hints returns the hints other than the permission hint, in order, each
// without its leading '+'; nil when there are none.
func (l Locator) Hints() []string {
	var hints []string
	l.eachHint(func(hint string) { hints = append(hints, hint) })
	return hints
}

// PermissionHint returns the permission hint as it was parsed, without its
// leading '+' ("A<signature>@<expiry>", or an opaque "A…"); "" when the
// locator has none.
func (l Locator) PermissionHint() string { return l.perm }

// Signature returns the 40 hex digits of the permission signature, or ""
// when the locator is unsigned or its permission hint is opaque (not
// `A<40 hex>@<1-8 hex>`).
func (l Locator) Signature() string { return l.signature }

// Expiry returns when the permission signature expires; the zero time when
// the locator is unsigned or its permission hint is opaque.
func (l Locator) Expiry() time.Time {
	if l.signature == "" {
		return time.Time{}
	}
	return time.Unix(l.expiry, 0)
}

// PermissionExpired reports whether the locator's permission hint expires
// at or before asOf. An unsigned locator never expires. An opaque
// permission hint, whose expiry cannot be read, counts as expired: a caller
// that refreshes expired signatures then replaces it rather than trusting a
// signature Keep would not accept.
func (l Locator) PermissionExpired(asOf time.Time) bool {
	switch {
	case l.perm == "":
		return false
	case l.signature == "":
		return true
	}
	return !asOf.Before(time.Unix(l.expiry, 0))
}

// IsRemote reports whether the locator has a remote-block hint (`+R…`).
func (l Locator) IsRemote() bool {
	for rest := l.hints; rest != ""; {
		hint, next := nextHint(rest)
		if hint[0] == 'R' {
			return true
		}
		rest = next
	}
	return false
}
