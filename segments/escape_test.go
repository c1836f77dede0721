package segments

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestEscapeName(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"a plain name is kept", "a.txt", "a.txt"},
		{"an empty name stays empty", "", ""},
		{"a space becomes \\040", "a b", `a\040b`},
		{"a colon becomes \\072", "a:b", `a\072b`},
		{"a backslash becomes \\134", `a\b`, `a\134b`},
		{"a tab and a newline are escaped", "\t\n", `\011\012`},
		{"a NUL byte is escaped", "\x00", `\000`},
		{"0x1f is escaped", "\x1f", `\037`},
		{"0x21 and DEL are kept", "!\x7f", "!\x7f"},
		{"UTF-8 is kept", "résumé ☃", `résumé\040☃`},
		{"a name that looks escaped gets its backslash escaped", `\040`, `\134040`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, EscapeName(tt.in))
			assert.Equal(t, tt.in, UnescapeName(tt.want))
		})
	}
}

func TestUnescapeName(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"a plain name is kept", "a.txt", "a.txt"},
		{"octal escapes are decoded", `a\040b\072c\134d`, `a b:c\d`},
		{"the largest escape is \\377", `\377`, "\xff"},
		{"an escape of a byte that needs none is decoded", `\141`, "a"},
		{"bytes that would need escaping are accepted as they are", "a b", "a b"},
		{"a non-octal digit makes a literal backslash", `a\09b`, `a\09b`},
		{"an escape above \\377 is a literal backslash", `foo\444`, `foo\444`},
		{"\\400 is a literal backslash", `\400`, `\400`},
		{"a trailing backslash is literal", `a\`, `a\`},
		{"a backslash with two digits is literal", `a\04`, `a\04`},
		{"a doubled backslash is two backslashes", `a\\b`, `a\\b`},
		{"a literal backslash before an escape", `a\\040`, "a\\ "},
		{"an escape after a literal backslash", `\9\101`, `\9A`},
		{"an escaped backslash does not start another escape", `\134101`, `\101`},
		{"escapes back to back", `\101\102\103`, "ABC"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, UnescapeName(tt.in))
			assert.Equal(t, tt.want, refUnescape(tt.in))
		})
	}
}

// pyEscape is the Arvados Python SDK's unescaping rule, as a regexp.
var pyEscape = regexp.MustCompile(`\\([0-3][0-7][0-7])`)

// refUnescape is a slow, obviously-correct model of UnescapeName.
func refUnescape(s string) string {
	return pyEscape.ReplaceAllStringFunc(s, func(m string) string {
		v, _ := strconv.ParseUint(m[1:], 8, 8)
		return string([]byte{byte(v)})
	})
}

func TestEscapeNameDoesNotAllocateWhenNothingNeedsEscaping(t *testing.T) {
	name := strings.Repeat("plain-name.txt", 10)
	assert.Equal(t, 0.0, testing.AllocsPerRun(100, func() { _ = EscapeName(name) }))
	assert.Equal(t, 0.0, testing.AllocsPerRun(100, func() { _ = UnescapeName(name) }))
	withBackslashes := strings.Repeat(`plain\name\09`, 10)
	assert.Equal(t, 0.0, testing.AllocsPerRun(100, func() { _ = UnescapeName(withBackslashes) }))
}

// FuzzEscapeName checks that every name survives escape → unescape, that
// an escaped name holds no separator or control byte, that UnescapeName
// agrees with the Python SDK's rule (a regexp model) on any text, and that
// what it returns re-escapes to text that unescapes the same.
func FuzzEscapeName(f *testing.F) {
	for _, s := range []string{"", "a.txt", "a b", "a:b", `a\b`, "\x00\x1f\x20\x21", `\040`, `\400`, `a\`, "résumé", `a\09b`, `foo\444`, `a\\040`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e := EscapeName(s)
		for i := 0; i < len(e); i++ {
			if e[i] <= ' ' || e[i] == ':' {
				t.Fatalf("EscapeName(%q) = %q holds byte %#x", s, e, e[i])
			}
		}
		if back := UnescapeName(e); back != s {
			t.Fatalf("UnescapeName(EscapeName(%q) = %q) = %q", s, e, back)
		}
		u := UnescapeName(s)
		if want := refUnescape(s); u != want {
			t.Fatalf("UnescapeName(%q) = %q, the Python SDK's rule gives %q", s, u, want)
		}
		if again := UnescapeName(EscapeName(u)); again != u {
			t.Fatalf("%q unescapes to %q, which does not survive a round trip: %q", s, u, again)
		}
	})
}
