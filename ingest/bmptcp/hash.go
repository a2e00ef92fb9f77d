package bmptcp

import (
	"crypto/md5"
	"net/netip"
)

// The hashes OpenBMP puts in its v1.7 header. They follow the collector that
// introduced the binary header (SNAS/openbmp, branch v2-beta, the CAIDA
// rewrite that RouteViews runs):
//
//   - collector hash: src/Config.cpp, MD5(collector_name, strlen(collector_name)),
//     the admin id as ASCII;
//   - router hash: src/Encapsulator.cpp set_router_hash_id,
//     MD5(router_ip, strlen(router_ip)) over router_ip_raw, the 16-byte
//     router IP field (the IPv4 address in its first 4 bytes, then zeros;
//     src/SockBuffer.cpp). strlen stops at the first zero byte, so the hash
//     covers the address bytes before its first zero byte.
//
// RouteViews' published headers (../shared/testdata/real/openbmp, admin ids
// is-ah-bmp1 and is-cc-bmp1, routers 128.223.51.102, .105 and 195.66.241.146)
// carry exactly these hashes; the tests check them.

// CollectorHash returns OpenBMP's collector hash: the MD5 of the admin id.
func CollectorHash(adminID string) [16]byte { return md5.Sum([]byte(adminID)) }

// RouterHash returns the router hash the collector writes by default: the
// MD5 of the router's address bytes (4 for IPv4, 16 for IPv6). It equals
// OpenBMP's [OpenBMPRouterHash] for every address without a zero byte (all
// of RouteViews' routers), and keeps apart the routers OpenBMP's strlen
// makes collide (10.0.0.1 and 10.0.0.2 both hash "\x0a" there), whose BMP
// sessions a consumer keyed by router hash would otherwise mix.
func RouterHash(ip netip.Addr) [16]byte {
	ip = ip.Unmap()
	if ip.Is4() {
		a := ip.As4()
		return md5.Sum(a[:])
	}
	a := ip.As16()
	return md5.Sum(a[:])
}

// OpenBMPRouterHash returns the router hash exactly as OpenBMP's collector
// computes it: the MD5 of the 16-byte router IP field up to its first zero
// byte (strlen on a binary address). Different routers can share it.
func OpenBMPRouterHash(ip netip.Addr) [16]byte {
	ip = ip.Unmap()
	var field [16]byte
	if ip.Is4() {
		a := ip.As4()
		copy(field[:], a[:])
	} else {
		field = ip.As16()
	}
	n := 0
	for n < len(field) && field[n] != 0 {
		n++
	}
	return md5.Sum(field[:n])
}
