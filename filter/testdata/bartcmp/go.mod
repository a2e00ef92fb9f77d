module bartcmp

go 1.26.0

replace github.com/bgp-connector/bgp-connector => ../../..

require (
	github.com/bgp-connector/bgp-connector v0.0.0
	github.com/gaissmai/bart v0.26.1
)
