package keep

import (
	"crypto/md5"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestMD5SumInStepsIsMD5Sum(t *testing.T) {
	data := make([]byte, 3*md5Step+17)
	for i := range data {
		data[i] = byte(i*31 + i>>11)
	}
	for _, n := range []int{0, 1, md5Step - 1, md5Step, md5Step + 1, 2 * md5Step, len(data)} {
		t.Run(fmt.Sprintf("%d bytes", n), func(t *testing.T) {
			assert.Equal(t, md5.Sum(data[:n]), md5Sum(data[:n]))
		})
	}
}
