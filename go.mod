module github.com/orderintake/edge

go 1.26.8

require (
	github.com/google/uuid v1.6.0
	github.com/syumai/workers v0.32.0
)
