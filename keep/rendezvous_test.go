package keep_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/arvfile/arvfile/keep"
)

func TestRendezvousOrderMatchesTheArvadosRule(t *testing.T) {
	// Expected orders computed apart from this code (Python hashlib):
	// weight = md5hex(hash + uuid[-15:]), descending.
	uuids := []string{
		"zzzzz-bi6l4-000000000000001", "zzzzz-bi6l4-000000000000002", "zzzzz-bi6l4-000000000000003",
		"zzzzz-bi6l4-000000000000004", "zzzzz-bi6l4-000000000000005",
	}
	tests := []struct {
		name string
		hash string
		want []int
	}{
		{"the empty block", "d41d8cd98f00b204e9800998ecf8427e", []int{0, 4, 2, 3, 1}},
		{"the block foo", "acbd18db4cc2f85cedef654fccc4a4d8", []int{2, 4, 3, 1, 0}},
		{"the block 'hello keepstore\\n'", "dfe0e683082a0eafee2c4605ae217079", []int{3, 1, 2, 0, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, keep.RendezvousOrder(tt.hash, uuids))
		})
	}
}

func TestRendezvousOrderUsesOnlyTheLast15Characters(t *testing.T) {
	a := []string{"zzzzz-bi6l4-000000000000001", "zzzzz-bi6l4-000000000000002", "zzzzz-bi6l4-000000000000003"}
	b := []string{"xxxxx-bi6l4-000000000000001", "yyyyy-bi6l4-000000000000002", "000000000000003"}
	hash := "acbd18db4cc2f85cedef654fccc4a4d8"
	assert.Equal(t, keep.RendezvousOrder(hash, a), keep.RendezvousOrder(hash, b))
	assert.Equal(t, []int{}, keep.RendezvousOrder(hash, nil))
}
