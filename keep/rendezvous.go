package keep

import (
	"crypto/md5"
	"encoding/hex"
	"sort"
)

// rendezvousSuffixLen is how many trailing characters of a service UUID go
// into its rendezvous weight.
const rendezvousSuffixLen = 15

// RendezvousOrder returns the indexes of uuids in the order the Arvados
// clients probe Keep services for the block whose md5 is hash (32 hex
// digits): each service weighs hex(md5(hash + the last 15 characters of its
// UUID)), and services come in descending weight order (ties, which need an
// md5 collision, keep the order of uuids). A UUID shorter than 15 characters
// is used whole.
func RendezvousOrder(hash string, uuids []string) []int {
	order := make([]int, len(uuids))
	weights := make([]string, len(uuids))
	buf := make([]byte, 0, len(hash)+rendezvousSuffixLen)
	for i, u := range uuids {
		order[i] = i
		if len(u) > rendezvousSuffixLen {
			u = u[len(u)-rendezvousSuffixLen:]
		}
		buf = append(append(buf[:0], hash...), u...)
		sum := md5.Sum(buf)
		weights[i] = hex.EncodeToString(sum[:])
	}
	sort.SliceStable(order, func(a, b int) bool { return weights[order[a]] > weights[order[b]] })
	return order
}
