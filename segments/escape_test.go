package segments

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
			back, err := UnescapeName(tt.want)
			require.NoError(t, err)
			assert.Equal(t, tt.in, back)
		})
	}
}

func TestUnescapeName(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
		err  string
	}{
		{"a plain name is kept", "a.txt", "a.txt", ""},
		{"octal escapes are decoded", `a\040b\072c\134d`, `a b:c\d`, ""},
		{"the largest escape is \\377", `\377`, "\xff", ""},
		{"an escape of a byte that needs none is decoded", `\141`, "a", ""},
		{"bytes that would need escaping are accepted as they are", "a b", "a b", ""},
		{"a trailing backslash is an error", `a\`, "", `invalid escape "\\" in name "a\\": want a backslash and 3 octal digits up to \377`},
		{"a backslash with two digits is an error", `a\04`, "", `invalid escape "\\04" in name "a\\04": want a backslash and 3 octal digits up to \377`},
		{"a non-octal digit is an error", `a\089b`, "", `invalid escape "\\089" in name "a\\089b": want a backslash and 3 octal digits up to \377`},
		{"a doubled backslash is an error", `a\\b`, "", `invalid escape "\\\\b" in name "a\\\\b": want a backslash and 3 octal digits up to \377`},
		{"an escape above \\377 is an error", `\400`, "", `invalid escape "\\400" in name "\\400": want a backslash and 3 octal digits up to \377`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := UnescapeName(tt.in)
			if tt.err != "" {
				assert.ErrorIs(t, err, ErrInvalidEscape)
				assert.EqualError(t, err, tt.err)
				assert.Equal(t, "", got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestEscapeNameDoesNotAllocateWhenNothingNeedsEscaping(t *testing.T) {
	name := strings.Repeat("plain-name.txt", 10)
	assert.Equal(t, 0.0, testing.AllocsPerRun(100, func() { _ = EscapeName(name) }))
	assert.Equal(t, 0.0, testing.AllocsPerRun(100, func() { _, _ = UnescapeName(name) }))
}

// FuzzEscapeName checks that every name survives escape → unescape, that
// an escaped name holds no separator or control byte, and that any text
// UnescapeName accepts re-escapes to text that unescapes the same.
func FuzzEscapeName(f *testing.F) {
	for _, s := range []string{"", "a.txt", "a b", "a:b", `a\b`, "\x00\x1f\x20\x21", `\040`, `\400`, `a\`, "résumé"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e := EscapeName(s)
		for i := 0; i < len(e); i++ {
			if e[i] <= ' ' || e[i] == ':' {
				t.Fatalf("EscapeName(%q) = %q holds byte %#x", s, e, e[i])
			}
		}
		back, err := UnescapeName(e)
		if err != nil || back != s {
			t.Fatalf("UnescapeName(EscapeName(%q) = %q) = %q, %v", s, e, back, err)
		}
		u, err := UnescapeName(s)
		if err != nil {
			if u != "" {
				t.Fatalf("UnescapeName(%q) failed (%v) but returned %q", s, err, u)
			}
			return
		}
		again, err := UnescapeName(EscapeName(u))
		if err != nil || again != u {
			t.Fatalf("%q unescapes to %q, which does not survive a round trip: %q, %v", s, u, again, err)
		}
	})
}
