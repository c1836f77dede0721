package keep

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Reference grammar for the fuzz target, written with regexps so that it is
// independent of the hand-written scanner in ParseLocator.
var (
	refLocator    = regexp.MustCompile(`^[0-9a-f]{32}\+(0|[1-9][0-9]*)((\+[A-Z][-A-Za-z0-9@_]*)*)$`)
	refPermission = regexp.MustCompile(`^A([0-9a-f]{40})@([0-9a-f]{1,8})$`)
)

// refLoc is what refParse expects of a locator.
type refLoc struct {
	size   int64
	perm   string // the first A hint, or ""
	sig    string // its signature when it is well formed
	expiry int64
	hints  []string // the other hints
}

// refParse is a slow, obviously-correct model of ParseLocator's acceptance
// and of its results (hash, size, permission hint, signature, expiry, other
// hints).
func refParse(s string) (ok bool, r refLoc) {
	m := refLocator.FindStringSubmatch(s)
	if m == nil {
		return false, refLoc{}
	}
	size, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil || size > BlockSize {
		return false, refLoc{}
	}
	r.size = size
	for _, h := range strings.Split(m[2], "+")[1:] {
		if h[0] != 'A' || r.perm != "" {
			r.hints = append(r.hints, h)
			continue
		}
		r.perm = h
		if pm := refPermission.FindStringSubmatch(h); pm != nil {
			r.sig = pm[1]
			r.expiry, _ = strconv.ParseInt(pm[2], 16, 64)
		}
	}
	return true, r
}

// FuzzLocator checks ParseLocator against the regexp model, and that
// parse → format → parse gives the same locator and a stable text.
func FuzzLocator(f *testing.F) {
	for _, s := range []string{
		"", testHash, testHash + "+", testHash + "+3", EmptyBlockLocator, PaddingBlockLocator,
		testHash + "+67108865", testHash + "+007", testHash + "+3++K@x", testHash + "+3+K",
		testHash + "+3+K@zzzzz+Xfoo_bar-1", testHash + "+3+A" + testSig + "@1f",
		testHash + "+3+K@zzzzz+A" + testSig + "@65f1a2b3+Xy", testHash + "+3+Rzzzzz-" + testSig + "@65f1a2b3",
		testHash + "+3+A" + testSig + "@1+A" + testSig + "@2", testHash + "+3+A" + testSig + "@123456789",
		strings.ToUpper(testHash) + "+3", testHash + "+0+Z", testHash + "+0+Z+A" + testSig + "@53bed294",
		testHash + "+3+Aasignatureforthisblockaaaaaaaaaaaaaaaaaa@5f612ee6", testHash + "+0+Zfoo*bar", testHash + "+0+z",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseLocator(s)
		ok, want := refParse(s)
		if (err == nil) != ok {
			t.Fatalf("ParseLocator(%q) error %v, model accepts: %v", s, err, ok)
		}
		if err != nil {
			if !errors.Is(err, ErrInvalidLocator) {
				t.Fatalf("ParseLocator(%q) error %v does not wrap ErrInvalidLocator", s, err)
			}
			if l != (Locator{}) {
				t.Fatalf("ParseLocator(%q) failed but returned %#v", s, l)
			}
			return
		}
		checkLocator(t, s, l, s[:32], want)
		formatted := l.String()
		again, err := ParseLocator(formatted)
		if err != nil {
			t.Fatalf("ParseLocator(%q) (formatted from %q): %v", formatted, s, err)
		}
		checkLocator(t, formatted, again, s[:32], want)
		if again.String() != formatted {
			t.Fatalf("format not stable: %q → %q → %q", s, formatted, again.String())
		}
		if len(formatted) < len(s) || len(formatted) > len(s)+maxExpiryDigits {
			t.Fatalf("formatted %q has an unexpected length for %q", formatted, s)
		}
	})
}

// checkLocator compares every accessor of l with the expected values.
func checkLocator(t *testing.T, s string, l Locator, hash string, want refLoc) {
	t.Helper()
	size, sig, expiry, hints := want.size, want.sig, want.expiry, want.hints
	if l.PermissionHint() != want.perm && (sig == "" || l.PermissionHint()[:1+signatureLen] != want.perm[:1+signatureLen]) {
		t.Fatalf("%q: permission hint %q, want %q", s, l.PermissionHint(), want.perm)
	}
	if (want.perm != "" && sig == "") != (l.PermissionExpired(time.Unix(0, 0)) && l.Signature() == "") {
		t.Fatalf("%q: an opaque permission hint must count as expired, and only that", s)
	}
	if l.Hash() != hash || l.Size() != size || l.Signature() != sig {
		t.Fatalf("%q: got hash %q size %d sig %q, want %q %d %q", s, l.Hash(), l.Size(), l.Signature(), hash, size, sig)
	}
	if l.Stripped() != hash+"+"+strconv.FormatInt(size, 10) {
		t.Fatalf("%q: stripped %q", s, l.Stripped())
	}
	if sig != "" && l.Expiry().Unix() != expiry {
		t.Fatalf("%q: expiry %d, want %d", s, l.Expiry().Unix(), expiry)
	}
	if sig == "" && !l.Expiry().IsZero() {
		t.Fatalf("%q: unsigned locator has expiry %v", s, l.Expiry())
	}
	got := l.Hints()
	if len(got) != len(hints) {
		t.Fatalf("%q: hints %q, want %q", s, got, hints)
	}
	remote := false
	for i := range got {
		if got[i] != hints[i] {
			t.Fatalf("%q: hints %q, want %q", s, got, hints)
		}
		remote = remote || got[i][0] == 'R'
	}
	if l.IsRemote() != remote {
		t.Fatalf("%q: IsRemote %v, want %v", s, l.IsRemote(), remote)
	}
}
