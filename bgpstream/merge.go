package bgpstream

import (
	"context"

	"github.com/bgp-connector/bgp-connector/decode"
)

// The merge orders the records of every open resource into one stream
// exactly as bgpreader does (libbgpstream v2.3.0,
// lib/bgpstream_resource_mgr.c). This file is a port of its queue:
//
//   - Resources are kept in groups by the time (whole seconds) of their
//     next record; before a resource is opened its time is its initial
//     time. The queue is ordered by group time, oldest first.
//   - A group has a list of RIB resources and a list of update resources;
//     a resource added to a group goes to the front of its list (LIFO).
//   - Before reading, every group of the head's "batch" is opened: the head
//     group, then each following group while it overlaps the ones before
//     it (a group's overlap window is [time, time+duration), starting
//     `duration` early for RIBs, which can be stamped before their nominal
//     time). Opened resources whose real next-record time differs from
//     their initial time are moved to the group of that time.
//   - The next record comes from the head group: from the head of its RIB
//     list if it has one, else from the head of its update list. After the
//     read, a resource whose next-record time changed moves to the group of
//     its new time (front of the list), and one at its end is dropped.
//
// A corrupted or unsupported record does not move its resource (bgpreader
// does not update a reader's time for them).
//
// Opening a resource here starts its reader goroutine and waits for its
// first batch (bgpreader's open_wait, which prefetches the first record).

// mres is one resource in the queue.
type mres struct {
	r      *resource
	rd     *reader // nil until opened
	opened bool    // the first batch arrived (open_wait done)

	prev, next *mres
}

// nextTime returns bgpreader's get_next_time: the time of the resource's
// next record once opened, its initial time before.
func (e *mres) nextTime() int64 {
	if e.rd != nil && e.opened {
		return e.rd.nextTime
	}
	return e.r.InitialTime
}

func (e *mres) isRIB() bool { return e.r.Type == decode.RecordRIB }

// mgroup is the resources whose next record has one time.
type mgroup struct {
	time                     int64
	overlapStart, overlapEnd int64
	lists                    [2]*mres // [update, RIB]
	cnt, openCnt, checkedCnt int
	prev, next               *mgroup
}

func listIdx(e *mres) int {
	if e.isRIB() {
		return 1
	}
	return 0
}

func (g *mgroup) updateOverlap(e *mres) {
	// RIBs can start early: the first RIB of a group moves the overlap
	// start back by its duration.
	if e.isRIB() && g.lists[1] == nil && g.overlapStart > e.r.Duration {
		g.overlapStart -= e.r.Duration
	}
	if g.time+e.r.Duration > g.overlapEnd {
		g.overlapEnd = g.time + e.r.Duration
	}
}

// queue is the resource manager.
type queue struct {
	head, tail *mgroup
	cnt        int
	open       func(*mres) error // starts a resource's reader
	wait       func(*mres) error // waits for its first batch
}

func newGroup(e *mres) *mgroup {
	g := &mgroup{}
	g.time = e.nextTime()
	g.overlapStart = g.time
	g.updateOverlap(e)
	g.lists[listIdx(e)] = e
	e.next, e.prev = nil, nil
	g.cnt = 1
	if e.rd != nil {
		g.openCnt++
		if e.opened {
			g.checkedCnt++
		}
	}
	return g
}

// add puts e at the front of its list in g and reports whether g now holds
// both open and unopened resources (it needs opening again).
func (g *mgroup) add(e *mres) bool {
	g.updateOverlap(e)
	i := listIdx(e)
	e.prev = nil
	e.next = g.lists[i]
	if e.next != nil {
		e.next.prev = e
	}
	g.lists[i] = e
	g.cnt++
	dirty := false
	if e.rd != nil {
		g.openCnt++
		dirty = g.cnt > g.openCnt
		if e.opened {
			g.checkedCnt++
		}
	}
	return dirty
}

// insert places e in the group of its next time, creating the group if
// needed, searching from the nearer end of the queue as libbgpstream does.
// It returns 1 when a group became dirty.
func (q *queue) insert(e *mres) int {
	q.cnt++
	t := e.nextTime()
	if q.head == nil {
		g := newGroup(e)
		q.head, q.tail = g, g
		return 0
	}
	abs := func(x int64) int64 {
		if x < 0 {
			return -x
		}
		return x
	}
	// The groups either side of t: before.time <= t <= after.time, one of
	// them equal to t when a group of that time exists.
	var before, after *mgroup
	if abs(t-q.head.time) < abs(t-q.tail.time) {
		after = q.head // from the head, towards the tail
		for after != nil && after.time < t {
			before, after = after, after.next
		}
	} else {
		before = q.tail // from the tail, towards the head
		for before != nil && before.time > t {
			after, before = before, before.prev
		}
	}
	for _, g := range [2]*mgroup{after, before} {
		if g != nil && g.time == t {
			if g.add(e) {
				return 1
			}
			return 0
		}
	}
	g := newGroup(e)
	g.prev, g.next = before, after
	if before == nil {
		q.head = g
	} else {
		before.next = g
	}
	if after == nil {
		q.tail = g
	} else {
		after.prev = g
	}
	return 0
}

// remove takes e out of g.
func (q *queue) remove(g *mgroup, e *mres) {
	if e.next != nil {
		e.next.prev = e.prev
	}
	if e.prev != nil {
		e.prev.next = e.next
	}
	i := listIdx(e)
	if g.lists[i] == e {
		g.lists[i] = e.next
	}
	g.cnt--
	q.cnt--
	if e.opened {
		g.openCnt--
		g.checkedCnt--
	}
	e.prev, e.next = nil, nil
}

// dropGroup unlinks an empty group.
func (q *queue) dropGroup(g *mgroup) {
	if g.next != nil {
		g.next.prev = g.prev
	}
	if g.prev != nil {
		g.prev.next = g.next
	}
	if q.head == g {
		q.head = g.next
	}
	if q.tail == g {
		q.tail = g.prev
	}
	g.prev, g.next = nil, nil
}

// openList opens every unopened resource of a list.
func (q *queue) openList(g *mgroup, e *mres) error {
	for ; e != nil; e = e.next {
		if e.rd != nil {
			continue
		}
		if err := q.open(e); err != nil {
			return err
		}
		g.openCnt++
	}
	return nil
}

func (q *queue) openGroup(g *mgroup) error {
	if g.openCnt == g.cnt {
		return nil
	}
	if err := q.openList(g, g.lists[1]); err != nil { // RIBs first
		return err
	}
	return q.openList(g, g.lists[0])
}

// openBatch opens the groups that overlap the head group.
func (q *queue) openBatch(g *mgroup) error {
	first := true
	var lastEnd, origTime int64
	for cur := g; cur != nil && (first || lastEnd > cur.overlapStart); cur = cur.next {
		if err := q.openGroup(cur); err != nil {
			return err
		}
		if first {
			origTime = cur.time
		}
		if first || cur.overlapEnd > lastEnd {
			first = false
			// Only a group that starts at or before the batch's start
			// extends the overlap, or a collector out of sync with the
			// others could extend it forever.
			if cur.time <= origTime {
				lastEnd = cur.overlapEnd
			}
		}
	}
	return nil
}

// sortList waits for the opened resources of a list and moves those whose
// next-record time is not their initial time.
func (q *queue) sortList(g *mgroup, e *mres) (int, error) {
	dirty := 0
	for e != nil {
		nxt := e.next
		if e.opened || e.rd == nil {
			e = nxt
			continue
		}
		if err := q.wait(e); err != nil {
			return 0, err
		}
		e.opened = true
		g.checkedCnt++
		if e.nextTime() != e.r.InitialTime {
			q.remove(g, e)
			dirty = q.insert(e)
		}
		e = nxt
	}
	return dirty, nil
}

func (q *queue) sortGroup(g *mgroup) (int, error) {
	du, err := q.sortList(g, g.lists[0]) // updates first, as libbgpstream
	if err != nil {
		return 0, err
	}
	dr, err := q.sortList(g, g.lists[1])
	return du + dr, err
}

// sortBatch re-sorts the opened groups from the head; it returns the
// number of groups made dirty.
func (q *queue) sortBatch() (int, error) {
	total, empty := 0, 0
	for cur := q.head; cur != nil && cur.openCnt != 0; cur = cur.next {
		if cur.checkedCnt == cur.openCnt {
			continue
		}
		d, err := q.sortGroup(cur)
		if err != nil {
			return 0, err
		}
		total += d
		if cur.cnt == 0 {
			empty++
		}
	}
	if empty > 0 {
		for g := q.head; g != nil; {
			nxt := g.next
			if g.cnt == 0 {
				q.dropGroup(g)
			}
			g = nxt
		}
	}
	return total, nil
}

// ready opens and sorts until the head group is fully open; it returns the
// resource to read from next (nil when the queue is empty).
func (q *queue) ready(ctx context.Context) (*mres, error) {
	for q.cnt > 0 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		dirty := 0
		for q.head != nil && (q.head.openCnt != q.head.cnt || dirty > 0) {
			if err := q.openBatch(q.head); err != nil {
				return nil, err
			}
			d, err := q.sortBatch()
			if err != nil {
				return nil, err
			}
			dirty = d
		}
		if q.head == nil {
			return nil, nil
		}
		if e := q.head.lists[1]; e != nil {
			return e, nil
		}
		return q.head.lists[0], nil
	}
	return nil, nil
}

// advanced repositions e after a record was read from it: prev is its time
// before, eos whether it ended.
func (q *queue) advanced(e *mres, prev int64, eos bool) {
	if !eos && e.nextTime() == prev {
		return
	}
	g := q.head
	q.remove(g, e)
	if g.cnt == 0 {
		q.dropGroup(g)
	}
	if !eos {
		q.insert(e)
	}
}
