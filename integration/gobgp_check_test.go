package integration

import "testing"

// gobgpChecker (temporary: counts message types only).
type gobgpChecker struct{ t *testing.T }

func newGoBGPChecker(t *testing.T) *gobgpChecker { return &gobgpChecker{t: t} }

func countType(frames []bmpFrame, from int, typ byte) int {
	n := 0
	for _, f := range frames[min(from, len(frames)):] {
		if f.msg[5] == typ {
			n++
		}
	}
	return n
}

func (c *gobgpChecker) peerUp(n int) func([]bmpFrame) bool {
	return func(f []bmpFrame) bool { return countType(f, 0, 3) >= n }
}
func (c *gobgpChecker) tables(withdrawn bool) func([]bmpFrame) bool {
	return func(f []bmpFrame) bool {
		if withdrawn {
			return countType(f, 0, 0) >= 21
		}
		return countType(f, 0, 0) >= 15
	}
}
func (c *gobgpChecker) peerDown(n int) func([]bmpFrame) bool {
	return func(f []bmpFrame) bool { return countType(f, n, 2) >= 1 }
}
func (c *gobgpChecker) readvertised(n int) func([]bmpFrame) bool {
	return func(f []bmpFrame) bool { return countType(f, n, 0) >= 9 }
}
func (c *gobgpChecker) final([]bmpFrame) {}
