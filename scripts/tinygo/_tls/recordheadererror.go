package tls

import "net"

// RecordHeaderError is the standard library's type, which net/http refers
// to and TinyGo's crypto/tls lacks. `make tinygo` copies this file there;
// nothing here makes one, since this crypto/tls does no TLS itself.
type RecordHeaderError struct {
	Msg          string
	RecordHeader [5]byte
	Conn         net.Conn
}

func (e RecordHeaderError) Error() string { return "tls: " + e.Msg }
