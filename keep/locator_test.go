package keep

import (
	"crypto/md5"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	testHash = "acbd18db4cc2f85cedef654fccc4a4d8"
	testSig  = "0123456789abcdef0123456789abcdef01234567"
)

func TestParseLocatorAcceptsValidLocators(t *testing.T) {
	tests := []struct {
		name       string
		in         string
		hash       string
		size       int64
		stripped   string
		hints      []string
		signature  string
		expiry     time.Time
		remote     bool
		permission string
		formatted  string
		canonical  bool
		expiredNow bool
	}{
		{
			name: "a bare locator keeps its hash and size", in: testHash + "+3",
			hash: testHash, size: 3, stripped: testHash + "+3", formatted: testHash + "+3",
		},
		{
			name: "the empty block has size zero", in: EmptyBlockLocator,
			hash: "d41d8cd98f00b204e9800998ecf8427e", size: 0, stripped: EmptyBlockLocator, formatted: EmptyBlockLocator,
		},
		{
			name: "the padding block has the full block size", in: PaddingBlockLocator,
			hash: "7f614da9329cd3aebf59b91aadc30bf0", size: BlockSize, stripped: PaddingBlockLocator, formatted: PaddingBlockLocator,
		},
		{
			name: "other hints are kept in order", in: testHash + "+3+K@zzzzz+Xfoo_bar-1",
			hash: testHash, size: 3, stripped: testHash + "+3", hints: []string{"K@zzzzz", "Xfoo_bar-1"},
			formatted: testHash + "+3+K@zzzzz+Xfoo_bar-1",
		},
		{
			name: "a permission hint gives the signature and expiry", in: testHash + "+3+A" + testSig + "@65f1a2b3",
			hash: testHash, size: 3, stripped: testHash + "+3", signature: testSig, expiry: time.Unix(0x65f1a2b3, 0),
			permission: "A" + testSig + "@65f1a2b3", formatted: testHash + "+3+A" + testSig + "@65f1a2b3", expiredNow: true,
		},
		{
			name: "a short expiry is formatted with 8 hex digits", in: testHash + "+3+A" + testSig + "@1f",
			hash: testHash, size: 3, stripped: testHash + "+3", signature: testSig, expiry: time.Unix(0x1f, 0),
			permission: "A" + testSig + "@1f", formatted: testHash + "+3+A" + testSig + "@0000001f", expiredNow: true,
		},
		{
			name: "the largest expiry does not expire before 2106", in: testHash + "+3+A" + testSig + "@ffffffff",
			hash: testHash, size: 3, stripped: testHash + "+3", signature: testSig, expiry: time.Unix(0xffffffff, 0),
			permission: "A" + testSig + "@ffffffff", formatted: testHash + "+3+A" + testSig + "@ffffffff",
		},
		{
			name: "the permission hint is formatted right after the size", in: testHash + "+3+K@zzzzz+A" + testSig + "@65f1a2b3+Xy",
			hash: testHash, size: 3, stripped: testHash + "+3", hints: []string{"K@zzzzz", "Xy"}, signature: testSig,
			expiry: time.Unix(0x65f1a2b3, 0), permission: "A" + testSig + "@65f1a2b3",
			formatted: testHash + "+3+A" + testSig + "@65f1a2b3+K@zzzzz+Xy", expiredNow: true,
		},
		{
			name: "a remote hint marks a remote block", in: testHash + "+3+Rzzzzz-" + testSig + "@65f1a2b3",
			hash: testHash, size: 3, stripped: testHash + "+3", hints: []string{"Rzzzzz-" + testSig + "@65f1a2b3"},
			remote: true, formatted: testHash + "+3+Rzzzzz-" + testSig + "@65f1a2b3",
		},
		// The "Valid locators" table of the Arvados manifest format.
		{
			name: "the documentation's empty block", in: "d41d8cd98f00b204e9800998ecf8427e+0",
			hash: "d41d8cd98f00b204e9800998ecf8427e", stripped: EmptyBlockLocator, formatted: EmptyBlockLocator,
		},
		{
			name: "the documentation's one-letter hint", in: "d41d8cd98f00b204e9800998ecf8427e+0+Z",
			hash: "d41d8cd98f00b204e9800998ecf8427e", stripped: EmptyBlockLocator, hints: []string{"Z"},
			formatted: "d41d8cd98f00b204e9800998ecf8427e+0+Z",
		},
		{
			name: "the documentation's one-letter hint before a permission hint",
			in:   "d41d8cd98f00b204e9800998ecf8427e+0+Z+Ada39a3ee5e6b4b0d3255bfef95601890afd80709@53bed294",
			hash: "d41d8cd98f00b204e9800998ecf8427e", stripped: EmptyBlockLocator, hints: []string{"Z"},
			signature: "da39a3ee5e6b4b0d3255bfef95601890afd80709", expiry: time.Unix(0x53bed294, 0),
			permission: "Ada39a3ee5e6b4b0d3255bfef95601890afd80709@53bed294",
			formatted:  "d41d8cd98f00b204e9800998ecf8427e+0+Ada39a3ee5e6b4b0d3255bfef95601890afd80709@53bed294+Z", expiredNow: true,
		},
		{
			name: "the documentation's remote signature",
			in:   "930625b054ce894ac40596c3f5a0d947+33+Rzzzzz-1f27a35dd9af37191d63ad8eb8985624451e7b79@5835c8bc",
			hash: "930625b054ce894ac40596c3f5a0d947", size: 33, stripped: "930625b054ce894ac40596c3f5a0d947+33",
			hints: []string{"Rzzzzz-1f27a35dd9af37191d63ad8eb8985624451e7b79@5835c8bc"}, remote: true,
			formatted: "930625b054ce894ac40596c3f5a0d947+33+Rzzzzz-1f27a35dd9af37191d63ad8eb8985624451e7b79@5835c8bc",
		},
		{
			name: "the documentation's local signature",
			in:   "930625b054ce894ac40596c3f5a0d947+33+A1f27a35dd9af37191d63ad8eb8985624451e7b79@5835c8bc",
			hash: "930625b054ce894ac40596c3f5a0d947", size: 33, stripped: "930625b054ce894ac40596c3f5a0d947+33",
			signature: "1f27a35dd9af37191d63ad8eb8985624451e7b79", expiry: time.Unix(0x5835c8bc, 0),
			permission: "A1f27a35dd9af37191d63ad8eb8985624451e7b79@5835c8bc",
			formatted:  "930625b054ce894ac40596c3f5a0d947+33+A1f27a35dd9af37191d63ad8eb8985624451e7b79@5835c8bc", expiredNow: true,
		},
		{
			name: "a one-letter hint with content after @", in: testHash + "+3+K@xyzzy",
			hash: testHash, size: 3, stripped: testHash + "+3", hints: []string{"K@xyzzy"}, formatted: testHash + "+3+K@xyzzy",
		},
		// Opaque permission hints: kept, not interpreted, expired.
		{
			name: "the documentation's arv-get placeholder signature is opaque",
			in:   "204e43b8a1185621ca55a94839582e6f+67108864+Aasignatureforthisblockaaaaaaaaaaaaaaaaaa@5f612ee6",
			hash: "204e43b8a1185621ca55a94839582e6f", size: 67108864, stripped: "204e43b8a1185621ca55a94839582e6f+67108864",
			permission: "Aasignatureforthisblockaaaaaaaaaaaaaaaaaa@5f612ee6",
			formatted:  "204e43b8a1185621ca55a94839582e6f+67108864+Aasignatureforthisblockaaaaaaaaaaaaaaaaaa@5f612ee6", expiredNow: true,
		},
		{
			name: "a bare A hint is opaque", in: testHash + "+3+A",
			hash: testHash, size: 3, stripped: testHash + "+3", permission: "A", formatted: testHash + "+3+A", expiredNow: true,
		},
		{
			name: "a signature without expiry is opaque", in: testHash + "+3+A" + testSig,
			hash: testHash, size: 3, stripped: testHash + "+3", permission: "A" + testSig,
			formatted: testHash + "+3+A" + testSig, expiredNow: true,
		},
		{
			name: "a 9-digit expiry is opaque", in: testHash + "+3+A" + testSig + "@123456789",
			hash: testHash, size: 3, stripped: testHash + "+3", permission: "A" + testSig + "@123456789",
			formatted: testHash + "+3+A" + testSig + "@123456789", expiredNow: true,
		},
		{
			name: "an opaque permission hint is formatted right after the size", in: testHash + "+3+K@x+Aabc@12",
			hash: testHash, size: 3, stripped: testHash + "+3", hints: []string{"K@x"}, permission: "Aabc@12",
			formatted: testHash + "+3+Aabc@12+K@x", expiredNow: true,
		},
		{
			name: "the first A hint is the permission hint, a later one an ordinary hint",
			in:   testHash + "+3+A" + testSig + "@1+A" + testSig + "@2",
			hash: testHash, size: 3, stripped: testHash + "+3", hints: []string{"A" + testSig + "@2"},
			signature: testSig, expiry: time.Unix(1, 0), permission: "A" + testSig + "@1",
			formatted: testHash + "+3+A" + testSig + "@00000001+A" + testSig + "@2", expiredNow: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := ParseLocator(tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.hash, l.Hash())
			assert.Equal(t, tt.size, l.Size())
			assert.Equal(t, tt.stripped, l.Stripped())
			assert.Equal(t, tt.hints, l.Hints())
			assert.Equal(t, tt.signature, l.Signature())
			assert.True(t, tt.expiry.Equal(l.Expiry()), "expiry %v, want %v", l.Expiry(), tt.expiry)
			assert.Equal(t, tt.remote, l.IsRemote())
			assert.Equal(t, tt.permission, l.PermissionHint())
			assert.Equal(t, tt.formatted, l.String())
			assert.Equal(t, tt.expiredNow, l.PermissionExpired(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)))
		})
	}
}

func TestParseLocatorRejectsMalformedLocators(t *testing.T) {
	long := testHash + "+3+" + strings.Repeat("x", 300)
	tests := []struct {
		name string
		in   string
		err  string
	}{
		{"an empty string has no hash", "", `invalid locator "": hash "" is not 32 lower-case hex digits`},
		{"a short hash is rejected", "acbd18+3", `invalid locator "acbd18+3": hash "acbd18" is not 32 lower-case hex digits`},
		{"a long hash is rejected", testHash + "0+3", `invalid locator "` + testHash + `0+3": hash "` + testHash + `0" is not 32 lower-case hex digits`},
		{"an upper-case hash is rejected", strings.ToUpper(testHash) + "+3", `invalid locator "ACBD18DB4CC2F85CEDEF654FCCC4A4D8+3": hash "ACBD18DB4CC2F85CEDEF654FCCC4A4D8" is not 32 lower-case hex digits`},
		{"a non-hex hash is rejected", "gcbd18db4cc2f85cedef654fccc4a4d8+3", `invalid locator "gcbd18db4cc2f85cedef654fccc4a4d8+3": hash "gcbd18db4cc2f85cedef654fccc4a4d8" is not 32 lower-case hex digits`},
		{"a hash alone has no size", testHash, `invalid locator "` + testHash + `": missing size after the hash`},
		{"a hash and a plus has no size", testHash + "+", `invalid locator "` + testHash + `+": missing size after the hash`},
		{"a hint in place of the size is rejected", testHash + "+K@x", `invalid locator "` + testHash + `+K@x": size "K@x" is not a decimal number`},
		{"a size with a letter is rejected", testHash + "+12a", `invalid locator "` + testHash + `+12a": size "12a" is not a decimal number`},
		{"a signed size is rejected", testHash + "+-1", `invalid locator "` + testHash + `+-1": size "-1" is not a decimal number`},
		{"a size with a leading zero is rejected", testHash + "+007", `invalid locator "` + testHash + `+007": size "007" has a leading zero`},
		{"a size over the block size is rejected", testHash + "+67108865", `invalid locator "` + testHash + `+67108865": size 67108865 is larger than the block size 67108864`},
		{"a huge size is rejected", testHash + "+99999999999999999999", `invalid locator "` + testHash + `+99999999999999999999": size 99999999999999999999 is larger than the block size 67108864`},
		{"an empty hint is rejected", testHash + "+3++K@x", `invalid locator "` + testHash + `+3++K@x": empty hint`},
		{"a trailing plus is an empty hint", testHash + "+3+", `invalid locator "` + testHash + `+3+": empty hint`},
		{"a lower-case hint is rejected", testHash + "+3+kx", `invalid locator "` + testHash + `+3+kx": hint "kx" does not match [A-Z][-A-Za-z0-9@_]*`},
		{"a hint with a space is rejected", testHash + "+3+K x", `invalid locator "` + testHash + `+3+K x": hint "K x" does not match [A-Z][-A-Za-z0-9@_]*`},
		{"a permission hint with an empty expiry needs a valid character", testHash + "+3+A" + testSig + "@*", `invalid locator "` + testHash + `+3+A` + testSig + `@*": hint "A` + testSig + `@*" does not match [A-Z][-A-Za-z0-9@_]*`},
		// The "Invalid locators" table of the Arvados manifest format.
		{"the documentation's locator without size", "d41d8cd98f00b204e9800998ecf8427e", `invalid locator "d41d8cd98f00b204e9800998ecf8427e": missing size after the hash`},
		{"the documentation's hint before the size", "d41d8cd98f00b204e9800998ecf8427e+Z+0", `invalid locator "d41d8cd98f00b204e9800998ecf8427e+Z+0": size "Z" is not a decimal number`},
		{"the documentation's two sizes", "d41d8cd98f00b204e9800998ecf8427e+0+0", `invalid locator "d41d8cd98f00b204e9800998ecf8427e+0+0": hint "0" does not match [A-Z][-A-Za-z0-9@_]*`},
		{"the documentation's lower-case hint", "d41d8cd98f00b204e9800998ecf8427e+0+z", `invalid locator "d41d8cd98f00b204e9800998ecf8427e+0+z": hint "z" does not match [A-Z][-A-Za-z0-9@_]*`},
		{"the documentation's hint with a *", "d41d8cd98f00b204e9800998ecf8427e+0+Zfoo*bar", `invalid locator "d41d8cd98f00b204e9800998ecf8427e+0+Zfoo*bar": hint "Zfoo*bar" does not match [A-Z][-A-Za-z0-9@_]*`},
		{"a very long input is quoted shortened", long, `invalid locator "` + long[:200] + `...": hint "` + strings.Repeat("x", 300) + `" does not match [A-Z][-A-Za-z0-9@_]*`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := ParseLocator(tt.in)
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrInvalidLocator)
			assert.EqualError(t, err, tt.err)
			assert.Equal(t, Locator{}, l)
		})
	}
}

func TestPermissionExpiredComparesWithTheExpiry(t *testing.T) {
	l, err := ParseLocator(testHash + "+3+A" + testSig + "@00000100")
	require.NoError(t, err)
	tests := []struct {
		name string
		asOf time.Time
		want bool
	}{
		{"a second before the expiry it is valid", time.Unix(0xff, 0), false},
		{"at the expiry it has expired", time.Unix(0x100, 0), true},
		{"after the expiry it has expired", time.Unix(0x101, 0), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, l.PermissionExpired(tt.asOf))
		})
	}
	unsigned, err := ParseLocator(testHash + "+3")
	require.NoError(t, err)
	assert.False(t, unsigned.PermissionExpired(time.Unix(1<<40, 0)))
	assert.True(t, unsigned.Expiry().IsZero())
	opaque, err := ParseLocator(testHash + "+3+Aasignature@ffffffff")
	require.NoError(t, err)
	assert.True(t, opaque.PermissionExpired(time.Unix(0, 0)), "an opaque permission hint counts as expired")
	assert.True(t, opaque.Expiry().IsZero())
}

func TestZeroLocatorFormatsAsEmpty(t *testing.T) {
	var l Locator
	assert.Equal(t, "", l.String())
	assert.Equal(t, "", l.Stripped())
	assert.Equal(t, "", l.Hash())
	assert.Nil(t, l.Hints())
	assert.False(t, l.IsRemote())
}

func TestBlockConstantsNameTheirContent(t *testing.T) {
	assert.Equal(t, fmt.Sprintf("%x+0", md5.Sum(nil)), EmptyBlockLocator)
	assert.Equal(t, fmt.Sprintf("%x+%d", md5.Sum(make([]byte, BlockSize)), BlockSize), PaddingBlockLocator)
	assert.Equal(t, 67108864, BlockSize)
}

func TestParseLocatorDoesNotAllocate(t *testing.T) {
	inputs := []string{
		testHash + "+3",
		testHash + "+3+A" + testSig + "@65f1a2b3+K@zzzzz",
		testHash + "+3+K@zzzzz+A" + testSig + "@1",
		testHash + "+3+Z+Aasignatureforthisblock@5f612ee6",
	}
	for _, in := range inputs {
		allocs := testing.AllocsPerRun(100, func() {
			l, err := ParseLocator(in)
			if err != nil || l.Stripped() != testHash+"+3" {
				t.Fatal(in, err)
			}
		})
		assert.Equal(t, 0.0, allocs, in)
	}
	canonical := testHash + "+3+A" + testSig + "@65f1a2b3+K@zzzzz"
	l, err := ParseLocator(canonical)
	require.NoError(t, err)
	assert.Equal(t, 0.0, testing.AllocsPerRun(100, func() { _ = l.String() }))
}

func BenchmarkParseLocator(b *testing.B) {
	in := testHash + "+67108864+A" + testSig + "@65f1a2b3"
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := ParseLocator(in); err != nil {
			b.Fatal(err)
		}
	}
}

func ExampleParseLocator() {
	l, err := ParseLocator("acbd18db4cc2f85cedef654fccc4a4d8+3+K@zzzzz+A0123456789abcdef0123456789abcdef01234567@65f1a2b3")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(l.Stripped(), l.Size(), l.Hints(), l.Expiry().UTC().Format(time.RFC3339))
	fmt.Println(l)
	_, err = ParseLocator("acbd18db4cc2f85cedef654fccc4a4d8+12a")
	fmt.Println(err)
	// Output:
	// acbd18db4cc2f85cedef654fccc4a4d8+3 3 [K@zzzzz] 2024-03-13T12:57:23Z
	// acbd18db4cc2f85cedef654fccc4a4d8+3+A0123456789abcdef0123456789abcdef01234567@65f1a2b3+K@zzzzz
	// invalid locator "acbd18db4cc2f85cedef654fccc4a4d8+12a": size "12a" is not a decimal number
}

func TestIsPaddingLocator(t *testing.T) {
	tests := []struct {
		locator string
		want    bool
	}{
		{PaddingBlockLocator, true},
		{PaddingBlockLocator + "+Aabc@12", true},
		{PaddingBlockLocator + "0", false},
		{"7f614da9329cd3aebf59b91aadc30bf0+6710886", false},
		{EmptyBlockLocator, false},
		{"", false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, IsPaddingLocator(tt.locator), tt.locator)
	}
}

func TestBlockLocatorOf(t *testing.T) {
	assert.Equal(t, EmptyBlockLocator, BlockLocatorOf(nil))
	assert.Equal(t, "acbd18db4cc2f85cedef654fccc4a4d8+3", BlockLocatorOf([]byte("foo")))
	assert.Equal(t, PaddingBlockLocator, BlockLocatorOf(make([]byte, BlockSize)))
}
