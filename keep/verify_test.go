package keep

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A store that lies, seen through each way of reading it: the lie is an
// ErrCorrupt error, never bytes, and a Cache keeps nothing of it.
func TestCorruptBlocksAreRefusedByVerifiedAndCache(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		reader func(Store) Store
	}{
		{"Verified", Verified},
		{"Verified over WithRetries", func(s Store) Store { return Verified(WithRetries(s, RetryPolicy{})) }},
		{"Cache", func(s Store) Store { return NewCache(s, 1<<20, 0) }},
		{"Cache over WithRetries", func(s Store) Store { return NewCache(WithRetries(s, RetryPolicy{}), 1<<20, 0) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fault := NewFaultStore(NewMemoryStore())
			locator, err := fault.Put(ctx, []byte("honest bytes"), PutOptions{})
			require.NoError(t, err)
			r := tt.reader(fault)
			fault.SetCorrupt(func(string) bool { return true })
			data, err := r.Get(ctx, locator)
			assert.ErrorIs(t, err, ErrCorrupt)
			assert.Nil(t, data)

			fault.SetCorrupt(nil)
			data, err = r.Get(ctx, locator)
			require.NoError(t, err)
			assert.Equal(t, "honest bytes", string(data))
			assert.Equal(t, 2, fault.Gets(), "the corrupt block was fetched again")
		})
	}
}

// Verified wraps only stores that do not verify their own Gets.
func TestVerifiedWrapsOnlyWhatItMust(t *testing.T) {
	dir, err := NewDirStore(t.TempDir())
	require.NoError(t, err)
	mem := NewMemoryStore()
	fault := NewFaultStore(mem)
	type embedded struct{ *MemoryStore }
	client, err := NewClient([]Service{{UUID: "zzzzz-bi6l4-000000000000001", URL: "http://127.0.0.1:1", Type: ServiceDisk}}, "token")
	require.NoError(t, err)
	defer client.Close()
	tests := []struct {
		name    string
		s       Store
		wrapped bool
	}{
		{"DirStore", dir, false},
		{"MemoryStore", mem, false},
		{"WithRetries over a DirStore", WithRetries(dir, RetryPolicy{}), false},
		{"a Client (it hashes each block as it arrives)", client, false},
		{"an S3Store (it checks size and md5)", &S3Store{}, false},
		{"a Cache", NewCache(fault, 0, 0), false},
		{"a FaultStore", fault, true},
		{"WithRetries over a FaultStore", WithRetries(fault, RetryPolicy{}), true},
		{"a type embedding a MemoryStore", embedded{mem}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Verified(tt.s)
			_, wrapped := v.(verifiedStore)
			assert.Equal(t, tt.wrapped, wrapped)
			assert.Equal(t, v, Verified(v), "idempotent")
		})
	}
}
